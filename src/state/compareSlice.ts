import type { BundleSummary } from '../pipeline/pipeline';
import type { Variant, WorkerError } from '../worker/protocol';
import { newImage, type GeneratedImage } from './generationSlice';
import type { SliceCreator, StoreDeps } from './types';

export interface CompareEntry {
  label: string;
  variant: Variant;
  image: GeneratedImage | null;
  /** why this variant has no image (its UNet's file failed, say) while the others may have one */
  error: WorkerError | null;
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
  /** stops a running comparison, for the worker too; what it still sends is dropped */
  cancelCompare: () => void;
  setCompareSides: (left: number, right: number) => void;
  setSplit: (percent: number) => void;
}

/** 1, 2 and 3 flash steps and the teacher, as far as the bundle has them. */
export function compareVariants(summary: BundleSummary, noiseCorrection: boolean): CompareEntry[] {
  const entries: CompareEntry[] = [];
  for (const steps of [1, 2, 3] as const) {
    if (summary.unets.some((u) => u.role === 'flash' && u.steps === steps)) {
      entries.push({ label: `${steps} step${steps === 1 ? '' : 's'}`, variant: { model: 'flash', steps, noiseCorrection }, image: null, error: null });
    }
  }
  const teacher = summary.unets.find((u) => u.role === 'teacher');
  if (teacher) entries.push({ label: `Teacher (${teacher.steps} steps)`, variant: { model: 'teacher', steps: 2, noiseCorrection: false }, image: null, error: null });
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
      cancelCompare: () => {
        if (jobId === null) return;
        deps.engine?.cancel(jobId);
        jobId = null;
        set({ compareStatus: 'idle' });
      },
      startCompare: () => {
        const { load, engine } = { load: get().load, engine: deps.engine };
        if (load.kind !== 'ready' || !engine) return;
        get().stopLive();
        const entries = compareVariants(load.summary, get().noiseCorrection);
        const sides = { compareLeft: 0, compareRight: Math.max(0, entries.length - 1) };
        const r = get().formRequest();
        if (!r.ok) {
          // the previous comparison's images belong to another request: they are not shown under this error
          get().cancelCompare();
          set({ view: 'compare', compare: entries, ...sides, compareStatus: 'error', compareError: { kind: 'input', message: r.message } });
          return;
        }
        const { prompt, seed } = r.request;
        set({ view: 'compare', compare: entries, ...sides, compareStatus: 'running', compareError: null });
        const patch = (i: number, change: Partial<CompareEntry>): void => set({ compare: get().compare.map((e, k) => (k === i ? { ...e, ...change } : e)) });
        const job = engine.generate(prompt, seed, entries.map((e) => e.variant), {
          onBackend: (backend, reason) => get().setBackend(backend, reason),
          onImage: (i, output) => {
            const entry = get().compare[i];
            if (jobId !== job.id || !entry) return;
            get().noteUnetWorks(output.unetId);
            const image = newImage(get(), { prompt, seed, variant: entry.variant }, output);
            patch(i, { image });
          },
          onVariantError: (i, error) => {
            if (jobId !== job.id) return;
            get().noteFileError(error, entries[i]?.variant);
            patch(i, { error });
          },
        });
        jobId = job.id;
        void job.done.then((res) => {
          if (jobId !== job.id) return;
          jobId = null;
          if (res.ok) {
            set({ compareStatus: 'done' });
            return;
          }
          get().noteFileError(res.error);
          set({ compareStatus: res.error.kind === 'cancelled' ? 'idle' : 'error', compareError: res.error.kind === 'cancelled' ? null : res.error });
        });
      },
    };
  };
