/**
 * The page side of the protocol: numbered requests, events routed to the request they belong to, and a
 * promise per request that settles with its `result` ({ok: true|false}, never a rejection).
 */

import type { BackendInfo, BackendPreference } from '../pipeline/backend';
import type { GenerateOutput, LoadProgress, StepProgress } from '../pipeline/pipeline';
import type { OpenOptions } from '../pipeline/sdFolder';
import type { GenerateDone, GridDone, LoadDone, Variant, WorkerError, WorkerEvent, WorkerRequest } from './protocol';

export type Result<T> = { ok: true; value: T } | { ok: false; error: WorkerError };

export interface LoadHandlers {
  onProgress?: (p: LoadProgress) => void;
  onBackend?: (b: BackendInfo, reason: string) => void;
}

export interface GenerateHandlers {
  /** `variant`: the image's index in the request (a comparison's variant, a grid's seed) */
  onImage?: (variant: number, output: GenerateOutput) => void;
  /** a comparison's variant that failed on its own; the others still come */
  onVariantError?: (variant: number, error: WorkerError) => void;
  onStep?: (variant: number, step: StepProgress) => void;
  onBackend?: (b: BackendInfo, reason: string) => void;
}

/** What the store needs from inference; InferenceClient implements it over a Worker. */
export interface Engine {
  load(bundleUrl: string, backend: BackendPreference, warm: Variant, handlers?: LoadHandlers, options?: OpenOptions): { id: number; done: Promise<Result<LoadDone>> };
  generate(prompt: string, seed: number, variants: Variant[], handlers?: GenerateHandlers): { id: number; done: Promise<Result<GenerateDone>> };
  /** one image per seed (the seed grid); a newer generate or grid supersedes it, as it does them */
  grid(prompt: string, seeds: number[], variant: Variant, handlers?: GenerateHandlers): { id: number; done: Promise<Result<GridDone>> };
  cancel(id: number): void;
  loseDevice(): Promise<Result<{ done: boolean }>>;
}

export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerEvent>) => void): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent) => void): void;
}

interface Pending {
  onEvent: (e: RequestEvent) => void;
  settle: (e: Extract<WorkerEvent, { type: 'result' }>) => void;
}

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** The events a request gets before its result. */
type RequestEvent = Exclude<WorkerEvent, { type: 'result' }>;

function loadEvent(e: RequestEvent, h: LoadHandlers): void {
  switch (e.type) {
    case 'progress':
      h.onProgress?.(e.progress);
      return;
    case 'backend':
      h.onBackend?.(e.backend, e.reason);
      return;
    case 'step':
    case 'image':
    case 'variant-error':
      return; // a load makes no images
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

function generateEvent(e: RequestEvent, h: GenerateHandlers): void {
  switch (e.type) {
    case 'image':
      h.onImage?.(e.variant, e.output);
      return;
    case 'variant-error':
      h.onVariantError?.(e.variant, e.error);
      return;
    case 'step':
      h.onStep?.(e.variant, e.step);
      return;
    case 'backend':
      h.onBackend?.(e.backend, e.reason);
      return;
    case 'progress':
      return; // a UNet loaded on first use: the step progress covers the wait
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

export class InferenceClient implements Engine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly worker: WorkerLike) {
    worker.addEventListener('message', (e) => this.dispatch(e.data));
    // A worker that fails to start (or crashes) would leave every promise hanging: settle them with the reason.
    worker.addEventListener('error', (e) => {
      const error: WorkerError = { kind: 'internal', message: `The inference worker failed: ${e.message || 'unknown error'}` };
      for (const [id, p] of this.pending) p.settle({ id, type: 'result', request: 'load', ok: false, error });
      this.pending.clear();
    });
  }

  private dispatch(e: WorkerEvent): void {
    const p = this.pending.get(e.id);
    if (!p) return;
    if (e.type === 'result') {
      this.pending.delete(e.id);
      p.settle(e);
    } else {
      p.onEvent(e);
    }
  }

  private send<T>(body: RequestBody, onEvent: (e: RequestEvent) => void, pick: (r: Extract<WorkerEvent, { type: 'result' }>) => Result<T>): { id: number; done: Promise<Result<T>> } {
    const id = this.nextId++;
    const done = new Promise<Result<T>>((resolve) => {
      this.pending.set(id, { onEvent, settle: (r) => resolve(pick(r)) });
    });
    this.worker.postMessage({ ...body, id } as WorkerRequest);
    return { id, done };
  }

  load(bundleUrl: string, backend: BackendPreference, warm: Variant, h: LoadHandlers = {}, options: OpenOptions = {}): { id: number; done: Promise<Result<LoadDone>> } {
    return this.send<LoadDone>(
      { type: 'load', bundleUrl, backend, warm, options },
      (e) => loadEvent(e, h),
      (r) => (r.ok ? (r.request === 'load' ? { ok: true, value: r.value } : unexpected(r.request)) : { ok: false, error: r.error }),
    );
  }

  generate(prompt: string, seed: number, variants: Variant[], h: GenerateHandlers = {}): { id: number; done: Promise<Result<GenerateDone>> } {
    return this.send<GenerateDone>(
      { type: 'generate', prompt, seed, variants },
      (e) => generateEvent(e, h),
      (r) => (r.ok ? (r.request === 'generate' ? { ok: true, value: r.value } : unexpected(r.request)) : { ok: false, error: r.error }),
    );
  }

  grid(prompt: string, seeds: number[], variant: Variant, h: GenerateHandlers = {}): { id: number; done: Promise<Result<GridDone>> } {
    return this.send<GridDone>(
      { type: 'grid', prompt, seeds, variant },
      (e) => generateEvent(e, h),
      (r) => (r.ok ? (r.request === 'grid' ? { ok: true, value: r.value } : unexpected(r.request)) : { ok: false, error: r.error }),
    );
  }

  cancel(target: number): void {
    this.send<{ cancelled: boolean }>({ type: 'cancel', target }, () => undefined, (r) =>
      r.ok && r.request === 'cancel' ? { ok: true, value: r.value } : { ok: false, error: { kind: 'internal', message: 'cancel failed' } },
    );
  }

  loseDevice(): Promise<Result<{ done: boolean }>> {
    return this.send<{ done: boolean }>({ type: 'debug', action: 'lose-device' }, () => undefined, (r) =>
      r.ok ? (r.request === 'debug' ? { ok: true, value: r.value } : unexpected(r.request)) : { ok: false, error: r.error },
    ).done;
  }
}

function unexpected(request: string): { ok: false; error: WorkerError } {
  return { ok: false, error: { kind: 'internal', message: `mismatched result for a ${request} request` } };
}

export function createInferenceClient(): InferenceClient {
  const worker = new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module', name: 'inference' });
  return new InferenceClient(worker as unknown as WorkerLike);
}
