/**
 * The worker side of the protocol: one job at a time, each with its own AbortController.
 * Latest wins: a new generate or grid aborts the running generate or grid (it stops between UNet steps) and
 * replaces any queued one, so rapid clicks and live typing never pile up; a new load aborts whatever runs and
 * drops everything queued. A generate that arrives during a load waits for it. A comparison (several variants)
 * goes on past a variant whose file or model fails, reporting it with a `variant-error` event.
 */

import type { BackendInfo, BackendPreference } from '../pipeline/backend';
import { BundleFormatError } from '../pipeline/bundle';
import { InputError, isAbortError, ModelError, VocabularyError } from '../pipeline/errors';
import { BundleFileError } from '../pipeline/files';
import type { GenerateOutput, GenerateParams, GridOutput, LoadProgress, StepProgress } from '../pipeline/pipeline';
import type { OpenOptions } from '../pipeline/sdFolder';
import type { LoadDone, Variant, WorkerError, WorkerEvent, WorkerRequest } from './protocol';

export interface EngineCallbacks {
  signal: AbortSignal;
  onProgress: (p: LoadProgress) => void;
  onStep: (s: StepProgress) => void;
  onBackend: (b: BackendInfo, reason: string) => void;
  /** lets the worker read its messages (a cancel, a newer request) before the job goes on */
  yieldToEvents: () => Promise<void>;
}

/** What the host drives: implemented over the real pipeline in engine.ts, faked in tests. */
export interface HostEngine {
  load(bundleUrl: string, backend: BackendPreference, cb: EngineCallbacks, warm: Variant, options?: OpenOptions): Promise<LoadDone>;
  generate(params: GenerateParams, cb: EngineCallbacks): Promise<GenerateOutput>;
  /** one image per seed; `params.seed` is not used */
  generateGrid(params: GenerateParams, seeds: readonly number[], cb: EngineCallbacks): Promise<GridOutput>;
  loseDevice(): Promise<boolean>;
}

export type Post = (event: WorkerEvent, transfer?: Transferable[]) => void;

type Job = Extract<WorkerRequest, { type: 'load' | 'generate' | 'grid' }>;

/** The jobs that make images: a newer one supersedes them. */
const makesImages = (j: Job): boolean => j.type === 'generate' || j.type === 'grid';

export function toWorkerError(err: unknown): WorkerError {
  if (isAbortError(err)) return { kind: 'cancelled', message: 'Cancelled.' };
  if (err instanceof VocabularyError) {
    return { kind: 'vocabulary', message: err.message, unknown: err.unknown, suggestions: err.suggestions, known: err.known };
  }
  if (err instanceof InputError) return { kind: 'input', message: err.message };
  if (err instanceof BundleFileError || err instanceof BundleFormatError) return { kind: 'file', message: err.message, file: err.file };
  if (err instanceof ModelError) return { kind: 'model', message: err.message, file: err.file };
  return { kind: 'internal', message: err instanceof Error ? err.message : String(err) };
}

const cancelled = (why: string): WorkerError => ({ kind: 'cancelled', message: why });

/** A prompt or seed the model refuses fails every variant alike; anything else belongs to the one variant. */
function failsOneVariant(err: unknown): boolean {
  return !(isAbortError(err) || err instanceof InputError || err instanceof VocabularyError);
}

/**
 * Resolves in a later task, so the messages queued for this worker (a cancel, a newer generate) are handled
 * first: onnxruntime-web's WASM session.run computes synchronously and resolves through microtasks only, so a
 * loop that awaits nothing else never returns to the task queue. A MessageChannel message is a task without
 * delay; a nested setTimeout would be clamped to 4 ms per call.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * Step progress is posted at most once per this interval, and not in a job's first interval: each message makes
 * the page re-render and repaint its progress bar on the 2 cores the worker's WASM threads need (the teacher ran
 * 0.90× end to end without step messages, its time between UNet calls 28.6 → 0.9 ms; reports/BENCH_FIXES.md).
 * A person reads a bar updated ten times a second as smooth; a run shorter than this shows no progress at all.
 */
export const STEP_INTERVAL_MS = 100;

export class InferenceHost {
  private current: { job: Job; ctrl: AbortController } | null = null;
  private queue: Job[] = [];

  constructor(
    private readonly engine: HostEngine,
    private readonly post: Post,
    private readonly stepIntervalMs = STEP_INTERVAL_MS,
    private readonly yieldToEvents: () => Promise<void> = yieldToEventLoop,
  ) {}

  /** true while a job runs or waits (tests use it to wait for quiet) */
  get busy(): boolean {
    return this.current !== null || this.queue.length > 0;
  }

  handle(req: WorkerRequest): void {
    switch (req.type) {
      case 'load':
        this.current?.ctrl.abort('Superseded by another model load.');
        this.dropQueued(() => true, 'Superseded by another model load.');
        this.queue.push(req);
        break;
      case 'generate':
      case 'grid':
        if (this.current && makesImages(this.current.job)) this.current.ctrl.abort('Superseded by a newer request.');
        this.dropQueued(makesImages, 'Superseded by a newer request.');
        this.queue.push(req);
        break;
      case 'cancel': {
        const running = this.current?.job.id === req.target;
        if (running) this.current?.ctrl.abort('Cancelled.');
        const queued = this.dropQueued((j) => j.id === req.target, 'Cancelled.');
        this.post({ id: req.id, type: 'result', request: 'cancel', ok: true, value: { cancelled: running || queued > 0 } });
        break;
      }
      case 'debug':
        void this.engine.loseDevice().then(
          (done) => this.post({ id: req.id, type: 'result', request: 'debug', ok: true, value: { done } }),
          (err: unknown) => this.post({ id: req.id, type: 'result', request: 'debug', ok: false, error: toWorkerError(err) }),
        );
        return;
      default: {
        const never: never = req;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
    void this.pump();
  }

  private dropQueued(match: (j: Job) => boolean, why: string): number {
    const dropped = this.queue.filter(match);
    this.queue = this.queue.filter((j) => !match(j));
    for (const j of dropped) this.post({ id: j.id, type: 'result', request: j.type, ok: false, error: cancelled(why) });
    return dropped.length;
  }

  private async pump(): Promise<void> {
    if (this.current) return;
    const job = this.queue.shift();
    if (!job) return;
    const ctrl = new AbortController();
    this.current = { job, ctrl };
    try {
      await this.run(job, ctrl.signal);
    } finally {
      this.current = null;
      void this.pump();
    }
  }

  private callbacks(id: number, signal: AbortSignal, variant: () => number): EngineCallbacks {
    let lastPost = performance.now();
    return {
      signal,
      onProgress: (progress) => this.post({ id, type: 'progress', progress }),
      onStep: (step) => {
        const now = performance.now();
        if (now - lastPost < this.stepIntervalMs) return;
        lastPost = now;
        this.post({ id, type: 'step', variant: variant(), step });
      },
      onBackend: (backend, reason) => this.post({ id, type: 'backend', backend, reason }),
      yieldToEvents: this.yieldToEvents,
    };
  }

  private async run(job: Job, signal: AbortSignal): Promise<void> {
    try {
      switch (job.type) {
        case 'load': {
          const value = await this.engine.load(job.bundleUrl, job.backend, this.callbacks(job.id, signal, () => 0), job.warm, job.options ?? {});
          signal.throwIfAborted();
          this.post({ id: job.id, type: 'result', request: 'load', ok: true, value });
          break;
        }
        case 'generate': {
          let index = 0;
          let images = 0;
          const cb = this.callbacks(job.id, signal, () => index);
          const comparison = job.variants.length > 1;
          for (; index < job.variants.length; index++) {
            const v = job.variants[index];
            if (!v) break;
            let output: GenerateOutput;
            try {
              output = await this.engine.generate({ prompt: job.prompt, seed: job.seed, ...v }, cb);
            } catch (err) {
              if (!comparison || signal.aborted || !failsOneVariant(err)) throw err;
              this.post({ id: job.id, type: 'variant-error', variant: index, error: toWorkerError(err) });
              continue;
            }
            signal.throwIfAborted();
            this.post({ id: job.id, type: 'image', variant: index, output }, [output.image.data.buffer]);
            images++;
          }
          this.post({ id: job.id, type: 'result', request: 'generate', ok: true, value: { images } });
          break;
        }
        case 'grid': {
          const params = { prompt: job.prompt, seed: job.seeds[0] ?? 0, ...job.variant };
          const grid = await this.engine.generateGrid(params, job.seeds, this.callbacks(job.id, signal, () => 0));
          signal.throwIfAborted();
          grid.images.forEach((output, i) => this.post({ id: job.id, type: 'image', variant: i, output }, [output.image.data.buffer]));
          this.post({ id: job.id, type: 'result', request: 'grid', ok: true, value: { images: grid.images.length, batched: grid.batched } });
          break;
        }
        default: {
          const never: never = job;
          throw new Error(`unknown job ${JSON.stringify(never)}`);
        }
      }
    } catch (err) {
      const error = signal.aborted ? cancelled(typeof signal.reason === 'string' ? signal.reason : 'Cancelled.') : toWorkerError(err);
      this.post({ id: job.id, type: 'result', request: job.type, ok: false, error });
    }
  }
}
