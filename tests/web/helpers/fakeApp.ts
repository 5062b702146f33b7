/** Fakes for the store's tests of live mode and the seed grid: a bundle with the ShapeScenes grammar, and engines. */
import { readFileSync } from 'node:fs';
import type { BackendInfo } from '../../../src/pipeline/backend';
import { parseManifest } from '../../../src/pipeline/manifest';
import type { BundleSummary, GenerateOutput, GenerateParams, GridOutput } from '../../../src/pipeline/pipeline';
import { createAppStore } from '../../../src/state/store';
import { InferenceClient, type Engine, type GenerateHandlers, type Result, type WorkerLike } from '../../../src/worker/client';
import { InferenceHost, type EngineCallbacks, type HostEngine } from '../../../src/worker/host';
import type { GenerateDone, GridDone, LoadDone, Variant, WorkerEvent, WorkerRequest } from '../../../src/worker/protocol';

export const wasm: BackendInfo = { kind: 'wasm', reason: 'test', threads: 1 };

const manifest = JSON.parse(readFileSync(new URL('../../fixtures/tiny-bundle/manifest.json', import.meta.url), 'utf8')) as unknown;
const vocabulary = parseManifest(manifest, 'http://test/').spec.vocabulary;

/** tiny-bundle as the worker summarises it: a teacher, flash-1/2/3, and the grammar's words. */
export const grammarBundle: BundleSummary = {
  name: 'tiny-bundle',
  baseUrl: '/models/tiny-bundle/',
  source: 'manifest',
  verified: true,
  imageSize: [2, 2],
  latentShape: [4, 1, 1],
  contextLength: 77,
  unets: [
    { id: 'teacher', file: 'unet/model.onnx', role: 'teacher', steps: 25, label: 'DPM-Solver++ 25 steps, CFG 4' },
    { id: 'flash-1', file: 'unet-flash-1/model.onnx', role: 'flash', steps: 1, label: 'DDIM 1 step' },
    { id: 'flash-2', file: 'unet-flash-2/model.onnx', role: 'flash', steps: 2, label: 'DDIM 2 steps' },
    { id: 'flash-3', file: 'unet-flash-3/model.onnx', role: 'flash', steps: 3, label: 'DDIM 3 steps' },
  ],
  vocabulary: vocabulary?.words ?? null,
  grammar: vocabulary?.grammar ?? null,
};

/** An image that says which seed and step count made it (first pixel: seed, steps). */
export function fakeOutput(v: Pick<Variant, 'model' | 'steps'>, seed: number): GenerateOutput {
  return {
    image: { width: 1, height: 1, data: new Uint8ClampedArray([seed % 256, v.steps, 0, 255]) },
    timings: [{ stage: 'unet', label: 'step 1', ms: 1 }],
    profile: { totalMs: 1, sessionRunMs: 1, textEncoderRunMs: 0, unetRunMs: [1], vaeRunMs: 0, schedulerMs: 0 },
    tokenCount: 4,
    truncated: false,
    unetId: v.model === 'teacher' ? 'teacher' : `flash-${v.steps}`,
    recipe: 'DDIM',
    noiseCorrection: false,
  };
}

export interface Call {
  prompt: string;
  seeds: number[];
  variants: Variant[];
}

/** Answers every request on the next microtask and records it; `batched` is what its grids report. */
export function instantEngine(bundle: BundleSummary = grammarBundle, backend: BackendInfo = wasm, batched = true): Engine & { calls: Call[] } {
  let id = 0;
  const calls: Call[] = [];
  const answer = <T>(images: (h: GenerateHandlers) => void, value: T, h: GenerateHandlers) => ({
    id: ++id,
    done: Promise.resolve().then((): Result<T> => (images(h), { ok: true, value })),
  });
  return {
    calls,
    load: () => ({ id: ++id, done: Promise.resolve<Result<LoadDone>>({ ok: true, value: { bundle, backend, ms: 1, unetFailures: [] } }) }),
    generate: (prompt, seed, variants, h = {}) => {
      calls.push({ prompt, seeds: [seed], variants });
      return answer<GenerateDone>((hh) => variants.forEach((v, i) => hh.onImage?.(i, fakeOutput(v, seed))), { images: variants.length }, h);
    },
    grid: (prompt, seeds, variant, h = {}) => {
      calls.push({ prompt, seeds, variants: [variant] });
      return answer<GridDone>((hh) => seeds.forEach((s, i) => hh.onImage?.(i, fakeOutput(variant, s))), { images: seeds.length, batched }, h);
    },
    cancel: () => undefined,
    loseDevice: async () => ({ ok: true, value: { done: false } }),
  };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A worker engine whose images take `steps` × `stepMs`, stopping between steps when its job is aborted. */
export class SlowEngine implements HostEngine {
  /** per generation: its prompt and how it ended */
  runs: { prompt: string; end: 'image' | 'aborted' | null }[] = [];
  constructor(
    private readonly bundle: BundleSummary,
    private readonly stepMs = 20,
  ) {}
  async load(): Promise<LoadDone> {
    return { bundle: this.bundle, backend: wasm, ms: 1, unetFailures: [] };
  }
  async generate(p: GenerateParams, cb: EngineCallbacks): Promise<GenerateOutput> {
    const run = { prompt: p.prompt, end: null as 'image' | 'aborted' | null };
    this.runs.push(run);
    const steps = p.model === 'teacher' ? 25 : p.steps * 5;
    try {
      for (let i = 0; i < steps; i++) {
        await cb.yieldToEvents();
        cb.signal.throwIfAborted();
        await tick(this.stepMs);
      }
      cb.signal.throwIfAborted();
    } catch (err) {
      run.end = 'aborted';
      throw err;
    }
    run.end = 'image';
    return fakeOutput(p, p.seed);
  }
  async generateGrid(p: GenerateParams, seeds: readonly number[], cb: EngineCallbacks): Promise<GridOutput> {
    const images: GenerateOutput[] = [];
    for (const seed of seeds) images.push(await this.generate({ ...p, seed }, cb));
    return { images, batched: false };
  }
  async loseDevice(): Promise<boolean> {
    return false;
  }
}

/** The store on a real InferenceClient and InferenceHost (messages as tasks, as a worker's are) over `engine`. */
export function storeOverHost(engine: HostEngine) {
  let toPage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
  const host = new InferenceHost(engine, (e) => void setTimeout(() => toPage?.({ data: e } as MessageEvent<WorkerEvent>), 0), 0);
  const requests: WorkerRequest[] = [];
  const worker: WorkerLike = {
    postMessage: (m: WorkerRequest) => {
      requests.push(m);
      setTimeout(() => host.handle(m), 0);
    },
    addEventListener: ((type: string, l: (e: MessageEvent<WorkerEvent>) => void) => {
      if (type === 'message') toPage = l;
    }) as WorkerLike['addEventListener'],
  };
  const store = createAppStore({ engine: new InferenceClient(worker), setSearch: () => undefined });
  return { store, host, requests };
}

export const indexFetch: typeof fetch = async () => new Response('{"bundles": ["tiny-bundle"]}', { status: 200 });
