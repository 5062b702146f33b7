import type { BackendInfo } from '../pipeline/backend';
import { fetchModelIndex, type BundleRef, type IndexResult } from '../pipeline/modelIndex';
import type { BundleSummary, LoadProgress } from '../pipeline/pipeline';
import type { OpenOptions } from '../pipeline/sdFolder';
import type { Variant, WorkerError } from '../worker/protocol';
import type { SliceCreator, StoreDeps } from './types';

export type ModelIndexState = { kind: 'loading' } | IndexResult;

export type LoadState =
  | { kind: 'idle' }
  | { kind: 'loading'; progress: LoadProgress | null }
  | { kind: 'ready'; summary: BundleSummary; ms: number }
  | { kind: 'error'; error: WorkerError };

/** A file of the loaded bundle that failed (verification, download or session) while the rest works. */
export interface FileFailure {
  file: string;
  message: string;
  /** the UNet whose load or run failed on the file; null when no one UNet's was (a file every run reads) */
  unetId: string | null;
}

/** The UNet of the bundle that runs `variant`. */
export function unetOf(summary: BundleSummary, variant: Variant): BundleSummary['unets'][number] | undefined {
  return summary.unets.find((u) => (variant.model === 'teacher' ? u.role === 'teacher' : u.role === 'flash' && u.steps === variant.steps));
}

/** A folder under /models/, nested ones too (models/exports/sd-turbo): no '..', no empty or hidden segments. */
const SAFE_FOLDER = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
export const MAX_GUIDANCE = 30;

/** The guidance a user typed for a folder: blank is none (each recipe keeps its own). */
export function parseGuidance(text: string): { ok: true; value: number | null } | { ok: false; message: string } {
  const t = text.trim();
  if (t === '') return { ok: true, value: null };
  const v = Number(t);
  if (!Number.isFinite(v) || v < 0 || v > MAX_GUIDANCE) return { ok: false, message: `Guidance "${text}" is not a number from 0 to ${MAX_GUIDANCE}.` };
  return { ok: true, value: v };
}

export interface ModelSlice {
  modelIndex: ModelIndexState;
  bundle: BundleRef | null;
  load: LoadState;
  /** how the current folder was opened (the guidance typed for it); a bundle picked from the list has none */
  openOptions: OpenOptions;
  /** true once the bundle's shared sessions are created (tokenizer, text encoder, VAE decoder) */
  modelReady: boolean;
  /** files of the loaded bundle that failed at load or in a later run, until a run that needs them works */
  fileFailures: FileFailure[];
  /** `variant`: the run that failed on it, when the error is that one UNet's */
  noteFileError: (error: WorkerError, variant?: Variant) => void;
  /** a run with this UNet worked: the files that failed for it (or for another UNet of the same graph) are fine now */
  noteUnetWorks: (unetId: string) => void;
  loadModelIndex: (fetchFn: typeof fetch, preferred?: string) => Promise<void>;
  selectBundle: (id: string) => void;
  /** a standard SD ONNX folder (or another bundle) served under /models/<name>/, with the guidance typed for its recipes (blank: theirs) */
  openFolder: (name: string, guidance?: string) => { ok: true } | { ok: false; message: string };
  loadBundle: () => void;
}

export const createModelSlice =
  (deps: StoreDeps): SliceCreator<ModelSlice> =>
  (set, get) => {
    let loadId: number | null = null;
    const graphOf = (unetId: string): string | undefined => {
      const { load } = get();
      return load.kind === 'ready' ? load.summary.unets.find((u) => u.id === unetId)?.file : undefined;
    };
    const noteFailure = (error: WorkerError, unetId: string | null): void => {
      if (error.kind !== 'file' && error.kind !== 'model') return;
      const failure: FileFailure = { file: error.file, message: error.message, unetId };
      set({ fileFailures: [...get().fileFailures.filter((f) => f.file !== error.file), failure] });
    };
    return {
      modelIndex: { kind: 'loading' },
      bundle: null,
      openOptions: {},
      load: { kind: 'idle' },
      modelReady: false,
      fileFailures: [],
      noteFileError: (error, variant) => {
        const { load } = get();
        noteFailure(error, variant && load.kind === 'ready' ? (unetOf(load.summary, variant)?.id ?? null) : null);
      },
      noteUnetWorks: (unetId) => {
        const { fileFailures } = get();
        const graph = graphOf(unetId);
        if (graph === undefined) return;
        // exactly the UNet's own failures: a UNet beside it in the same folder has its own graph and weights
        const works = (f: FileFailure): boolean => f.file === graph || (f.unetId !== null && graphOf(f.unetId) === graph);
        if (fileFailures.some(works)) set({ fileFailures: fileFailures.filter((f) => !works(f)) });
      },
      loadModelIndex: async (fetchFn, preferred) => {
        set({ modelIndex: { kind: 'loading' }, bundle: null, modelReady: false });
        const result = await fetchModelIndex(fetchFn);
        const bundles = result.kind === 'found' ? result.bundles : [];
        const bundle = bundles.find((b) => b.id === preferred) ?? bundles[0] ?? null;
        set({ modelIndex: result, bundle });
        if (preferred && !bundles.some((b) => b.id === preferred)) get().openFolder(preferred);
        else if (bundle) get().loadBundle();
      },
      selectBundle: (id) => {
        const index = get().modelIndex;
        const bundle = index.kind === 'found' ? index.bundles.find((b) => b.id === id) : undefined;
        if (bundle && bundle.id !== get().bundle?.id) {
          set({ bundle, openOptions: {} });
          get().loadBundle();
        }
      },
      openFolder: (name, guidance = '') => {
        const id = name.trim().replace(/^\/?models\//, '').replace(/\/+$/, '');
        if (!SAFE_FOLDER.test(id)) return { ok: false, message: `"${name}" is not a folder name under /models/` };
        const g = parseGuidance(guidance);
        if (!g.ok) return g;
        set({ bundle: { id, title: id, url: `/models/${id}/` }, openOptions: { guidanceScale: g.value } });
        get().loadBundle();
        return { ok: true };
      },
      loadBundle: () => {
        const { bundle, backendPref, model, steps, noiseCorrection, openOptions } = get();
        if (!bundle || !deps.engine) return;
        if (loadId !== null) deps.engine.cancel(loadId);
        set({ load: { kind: 'loading', progress: null }, modelReady: false, backendNotice: null, fileFailures: [] });
        const handlers = {
          onProgress: (progress: LoadProgress) => {
            if (loadId === job.id) set({ load: { kind: 'loading', progress } });
          },
          onBackend: (backend: BackendInfo, reason: string) => get().setBackend(backend, reason),
        };
        const job = deps.engine.load(bundle.url, backendPref, { model, steps, noiseCorrection }, handlers, openOptions);
        loadId = job.id;
        void job.done.then((r) => {
          if (loadId !== job.id) return;
          loadId = null;
          if (!r.ok) {
            set({ load: { kind: 'error', error: r.error }, modelReady: false });
            return;
          }
          set({ load: { kind: 'ready', summary: r.value.bundle, ms: r.value.ms }, modelReady: true });
          for (const f of r.value.unetFailures) noteFailure(f.error, f.unetId);
          // said at once, not only at the first Generate: the form may be on the UNet that failed
          const failed = r.value.unetFailures[0];
          if (failed) set({ status: 'error', error: failed.error });
          get().fitModelToBundle(r.value.bundle);
          get().setBackend(r.value.backend);
          if (get().autoGenerate) get().requestGenerate();
        });
      },
    };
  };
