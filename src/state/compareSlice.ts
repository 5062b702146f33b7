import type { BundleSummary } from '../pipeline/pipeline';
import type { Variant, WorkerError } from '../worker/protocol';
import { imageKey, type GeneratedImage } from './generationSlice';
import type { SliceCreator, StoreDeps } from './types';

export interface CompareEntry {
  label: string;
  variant: Variant;
  image: GeneratedImage | null;
}

export interface CompareSlice {
  compareStatus: 'idle' | 'running' | 'done' | 'error';
  compareError: WorkerError | null;
  compare: CompareEntry[];
  /** indices into `compare` shown left and right of the split */
  compareLeft: number;
  compareRight: number;
  /** divider position, percent of the width from the left */
  split: number;
  startCompare: () => void;
  setCompareSides: (left: number, right: number) => void;
  setSplit: (percent: number) => void;
}

/** 1, 2 and 3 flash steps and the teacher, as far as the bundle has them. */
export function compareVariants(summary: BundleSummary, noiseCorrection: boolean): CompareEntry[] {
  const entries: CompareEntry[] = [];
  for (const steps of [1, 2, 3] as const) {
    if (summary.unets.some((u) => u.role === 'flash' && u.steps === steps)) {
      entries.push({ label: `${steps} step${steps === 1 ? '' : 's'}`, variant: { model: 'flash', steps, noiseCorrection }, image: null });
    }
  }
  const teacher = summary.unets.find((u) => u.role === 'teacher');
  if (teacher) entries.push({ label: `Teacher (${teacher.steps} steps)`, variant: { model: 'teacher', steps: 2, noiseCorrection: false }, image: null });
  return entries;
}

export const createCompareSlice =
  (deps: StoreDeps): SliceCreator<CompareSlice> =>
  (set, get) => {
    let jobId: number | null = null;
    return {
      compareStatus: 'idle',
      compareError: null,
      compare: [],
      compareLeft: 0,
      compareRight: 3,
      split: 50,
      setCompareSides: (left, right) => set({ compareLeft: left, compareRight: right }),
      setSplit: (percent) => set({ split: Math.min(100, Math.max(0, percent)) }),
      startCompare: () => {
        const { load, engine } = { load: get().load, engine: deps.engine };
        if (load.kind !== 'ready' || !engine) return;
        const r = get().formRequest();
        if (!r.ok) {
          set({ view: 'compare', compareStatus: 'error', compareError: { kind: 'input', message: r.message } });
          return;
        }
        const { prompt, seed } = r.request;
        const entries = compareVariants(load.summary, get().noiseCorrection);
        set({ view: 'compare', compare: entries, compareStatus: 'running', compareError: null, compareLeft: 0, compareRight: Math.max(0, entries.length - 1) });
        const job = engine.generate(prompt, seed, entries.map((e) => e.variant), {
          onBackend: (backend, reason) => get().setBackend(backend, reason),
          onImage: (i, output) => {
            if (jobId !== job.id) return;
            const entry = get().compare[i];
            if (!entry) return;
            const image: GeneratedImage = { key: imageKey(), prompt, seed, variant: entry.variant, output, bundle: get().bundle?.id ?? '', backend: get().backend?.kind === 'webgpu' ? 'WebGPU' : 'WASM' };
            set({ compare: get().compare.map((e, k) => (k === i ? { ...e, image } : e)) });
          },
        });
        jobId = job.id;
        void job.done.then((res) => {
          if (jobId !== job.id) return;
          jobId = null;
          if (res.ok) set({ compareStatus: 'done' });
          else set({ compareStatus: res.error.kind === 'cancelled' ? 'idle' : 'error', compareError: res.error.kind === 'cancelled' ? null : res.error });
        });
      },
    };
  };
