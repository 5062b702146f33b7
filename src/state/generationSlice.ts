import type { GenerateOutput, StepProgress } from '../pipeline/pipeline';
import type { Variant, WorkerError } from '../worker/protocol';
import type { GenerateRequest } from './formSlice';
import type { AppState, SliceCreator, StoreDeps } from './types';
import { backendLabel, imageSearch } from './urlState';

export interface GeneratedImage {
  key: string;
  prompt: string;
  seed: number;
  variant: Variant;
  output: GenerateOutput;
  /** the bundle's id, as a link names it */
  bundle: string;
  backend: string;
}

export type GenerationStatus = 'idle' | 'running' | 'done' | 'error';

/** A run the user asked for (Generate, Enter, a link, an example) or one live mode started after a pause in typing. */
export type RunKind = 'chosen' | 'live';

export interface GenerationSlice {
  status: GenerationStatus;
  current: GeneratedImage | null;
  error: WorkerError | null;
  step: StepProgress | null;
  /** the kind of the last run started (what `status` is about) */
  runKind: RunKind;
  /** a live run's image is shown but joins the history only once the user stays on it (liveSlice) */
  startGeneration: (request: GenerateRequest, kind?: RunKind) => void;
  cancelGeneration: () => void;
  showInputError: (message: string) => void;
}

let keySeq = 0;
function imageKey(): string {
  keySeq += 1;
  return `img-${Date.now().toString(36)}-${keySeq}`;
}

/** A finished image with what made it: the request, and the bundle and backend it ran on. */
export function newImage(s: AppState, req: GenerateRequest, output: GenerateOutput): GeneratedImage {
  const bundle = s.load.kind === 'ready' ? (s.bundle?.id ?? '') : '';
  return { key: imageKey(), prompt: req.prompt, seed: req.seed, variant: req.variant, output, bundle, backend: backendLabel(s.backend?.kind) };
}

export const createGenerationSlice =
  (deps: StoreDeps): SliceCreator<GenerationSlice> =>
  (set, get) => {
    let jobId: number | null = null;
    return {
      status: 'idle',
      current: null,
      error: null,
      step: null,
      runKind: 'chosen',
      showInputError: (message) => set({ status: 'error', error: { kind: 'input', message } }),
      // Stopped for the page at once: whatever the worker still sends for the job (an image it finished before it
      // read the cancel) is dropped.
      cancelGeneration: () => {
        if (jobId === null) return;
        deps.engine?.cancel(jobId);
        jobId = null;
        set({ status: 'idle', step: null });
      },
      startGeneration: (req, kind = 'chosen') => {
        const engine = deps.engine;
        if (!engine) return;
        // a pending live run would replace this run's image with a 1-step one
        if (kind === 'chosen') get().stopLive();
        set({ status: 'running', error: null, step: null, runKind: kind });
        const job = engine.generate(req.prompt, req.seed, [req.variant], {
          onStep: (_v, step) => {
            if (jobId === job.id) set({ step });
          },
          onBackend: (backend, reason) => get().setBackend(backend, reason),
          onImage: (_v, output) => {
            // the latest request wins: an image of a superseded or cancelled job is not shown nor kept
            if (jobId !== job.id) return;
            get().noteUnetWorks(output.unetId);
            const image = newImage(get(), req, output);
            set({ current: image });
            if (kind === 'live') get().liveShown(image);
            else get().addToHistory(image);
          },
        });
        jobId = job.id;
        void job.done.then((r) => {
          // A superseded job's "cancelled" must not overwrite the newer job's state.
          if (jobId !== job.id) return;
          jobId = null;
          if (r.ok) {
            set({ status: 'done', step: null });
            // The URL names the image on screen. Not at the click: history.replaceState costs the browser's
            // main thread ~10 ms right when the worker starts, which made flash-1 ~1.25× slower (BENCH_FIXES.md).
            const shown = get().current;
            if (shown) deps.setSearch(imageSearch(shown, get().backendPref, get().livePref));
          } else {
            get().noteFileError(r.error, req.variant);
            set({ status: r.error.kind === 'cancelled' ? 'idle' : 'error', error: r.error.kind === 'cancelled' ? null : r.error, step: null });
          }
          if (kind === 'chosen') get().resumeLive();
        });
      },
    };
  };
