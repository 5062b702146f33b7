import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import { BundleFileError } from '../../src/pipeline/files';
import type { GenerateOutput, GenerateParams, GridOutput } from '../../src/pipeline/pipeline';
import { InferenceClient, type WorkerLike } from '../../src/worker/client';
import { InferenceHost, yieldToEventLoop, type EngineCallbacks, type HostEngine } from '../../src/worker/host';
import { VocabularyError } from '../../src/pipeline/errors';
import type { LoadDone, Variant, WorkerEvent, WorkerRequest } from '../../src/worker/protocol';

const wasm: BackendInfo = { kind: 'wasm', reason: 'test', threads: 1 };
const noProfile: GenerateOutput['profile'] = { totalMs: 0, sessionRunMs: 0, textEncoderRunMs: 0, unetRunMs: [], vaeRunMs: 0, schedulerMs: 0 };
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fake engine whose generations take `steps` ticks and honour the abort signal between them. */
class FakeEngine implements HostEngine {
  started: string[] = [];
  async load(url: string, _b: unknown, cb: EngineCallbacks, warm: Variant): Promise<LoadDone> {
    this.started.push(`load ${url} ${warm.steps}`);
    cb.onProgress({ file: 'unet/model.onnx', loaded: 1, total: 2, fromCache: false, bytesDone: 1, bytesTotal: 2 });
    await tick(5);
    cb.signal.throwIfAborted();
    if (url.includes('broken')) throw new BundleFileError('unet/model.onnx', 'sha256 mismatch');
    return {
      bundle: { name: url, baseUrl: url, source: 'manifest', verified: true, imageSize: [2, 2], latentShape: [4, 1, 1], contextLength: 77, unets: [], vocabulary: null },
      backend: wasm,
      ms: 5,
      unetFailures: [],
    };
  }
  async generate(p: GenerateParams, cb: EngineCallbacks): Promise<GenerateOutput> {
    this.started.push(`gen ${p.prompt} ${p.steps}`);
    for (let i = 0; i < p.steps; i++) {
      cb.signal.throwIfAborted();
      cb.onStep({ index: i, total: p.steps, t: 999 });
      await tick(5);
    }
    cb.signal.throwIfAborted();
    return { image: { width: 1, height: 1, data: new Uint8ClampedArray(4) }, timings: [], profile: noProfile, tokenCount: 3, truncated: false, unetId: `flash-${p.steps}`, recipe: 'DDIM', noiseCorrection: true };
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

const output = (unetId: string): GenerateOutput => ({
  image: { width: 1, height: 1, data: new Uint8ClampedArray(4) },
  timings: [],
  profile: noProfile,
  tokenCount: 3,
  truncated: false,
  unetId,
  recipe: 'DDIM',
  noiseCorrection: true,
});

/**
 * Generates as onnxruntime-web's WASM backend does: each step is synchronous work, and between steps it awaits
 * nothing but the host's yield, so a job never returns to the task queue unless that yield does.
 */
class BusyEngine extends FakeEngine {
  steps = 0;
  constructor(private readonly stepMs = 3) {
    super();
  }
  override async generate(p: GenerateParams, cb: EngineCallbacks): Promise<GenerateOutput> {
    this.started.push(`gen ${p.prompt} ${p.steps}`);
    for (let i = 0; i < 20; i++) {
      await cb.yieldToEvents();
      cb.signal.throwIfAborted();
      const end = performance.now() + this.stepMs;
      while (performance.now() < end) {
        // a UNet step computing on this thread
      }
      this.steps++;
    }
    await cb.yieldToEvents();
    cb.signal.throwIfAborted();
    return output(`flash-${p.steps}`);
  }
}

interface WireOptions {
  /** how the page's messages reach the host: a microtask, or a task as a real worker's message is */
  deliver?: (run: () => void) => void;
  yieldToEvents?: () => Promise<void>;
}

/** Host and client wired back to back, as the worker boundary would (asynchronously). */
function wire(engine = new FakeEngine(), stepIntervalMs = 0, o: WireOptions = {}): { client: InferenceClient; engine: FakeEngine; events: WorkerEvent[] } {
  const events: WorkerEvent[] = [];
  let toPage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
  const deliver = o.deliver ?? queueMicrotask;
  const host = new InferenceHost(
    engine,
    (e) => {
      events.push(e);
      queueMicrotask(() => toPage?.({ data: e } as MessageEvent<WorkerEvent>));
    },
    stepIntervalMs,
    o.yieldToEvents,
  );
  const worker: WorkerLike = {
    postMessage: (m: WorkerRequest) => deliver(() => host.handle(m)),
    addEventListener: ((type: string, l: (e: MessageEvent<WorkerEvent>) => void) => {
      if (type === 'message') toPage = l;
    }) as WorkerLike['addEventListener'],
  };
  return { client: new InferenceClient(worker), engine, events };
}

const flash = (steps: 1 | 2 | 3): Variant => ({ model: 'flash', steps, noiseCorrection: true });

describe('inference worker protocol', () => {
  it('load reports progress and resolves ok', async () => {
    const { client } = wire();
    const progress: number[] = [];
    const r = await client.load('/models/a/', 'auto', flash(2), { onProgress: (p) => progress.push(p.bytesDone) }).done;
    expect(r).toMatchObject({ ok: true, value: { backend: wasm } });
    expect(progress).toEqual([1]);
  });

  it('rapid repeated generates: the latest wins, earlier ones end cancelled, none piles up', async () => {
    const { client, engine } = wire();
    await client.load('/models/a/', 'auto', flash(2)).done;
    const images: string[] = [];
    const runs = ['one', 'two', 'three', 'four', 'five'].map((prompt) =>
      client.generate(prompt, 1, [flash(3)], { onImage: () => images.push(prompt) }).done,
    );
    const results = await Promise.all(runs);
    expect(results.slice(0, 4).every((r) => !r.ok && r.error.kind === 'cancelled')).toBe(true);
    expect(results[4]).toEqual({ ok: true, value: { images: 1 } });
    expect(images).toEqual(['five']);
    // only the first (already running when the others arrived) and the last ever started
    expect(engine.started.filter((s) => s.startsWith('gen'))).toEqual(['gen one 3', 'gen five 3']);
  });

  it('cancel stops a running generation between steps', async () => {
    const { client } = wire();
    await client.load('/models/a/', 'auto', flash(2)).done;
    const steps: number[] = [];
    const job = client.generate('p', 1, [flash(3)], { onStep: (_v, s) => steps.push(s.index) });
    await tick(7);
    client.cancel(job.id);
    const r = await job.done;
    expect(r).toEqual({ ok: false, error: { kind: 'cancelled', message: 'Cancelled.' } });
    expect(steps.length).toBeLessThan(3);
  });

  it('step progress is throttled: a job shorter than the interval posts none', async () => {
    for (const [intervalMs, expected] of [[0, [0, 1, 2]], [60_000, []]] as const) {
      const { client } = wire(new FakeEngine(), intervalMs);
      await client.load('/models/a/', 'auto', flash(3)).done;
      const steps: number[] = [];
      const r = await client.generate('p', 1, [flash(3)], { onStep: (_v, s) => steps.push(s.index) }).done;
      expect(r.ok).toBe(true);
      expect(steps).toEqual(expected);
    }
  });

  it('a generate sent during a load waits for it; a comparison yields one image per variant', async () => {
    const { client, engine } = wire();
    const load = client.load('/models/a/', 'auto', flash(1)).done;
    const images: number[] = [];
    const gen = client.generate('p', 1, [flash(1), flash(2), flash(3), { model: 'teacher', steps: 2, noiseCorrection: false }], {
      onImage: (v) => images.push(v),
    }).done;
    expect((await load).ok).toBe(true);
    expect(await gen).toEqual({ ok: true, value: { images: 4 } });
    expect(images).toEqual([0, 1, 2, 3]);
    expect(engine.started[0]).toBe('load /models/a/ 1');
  });

  it('a new load supersedes a running load; file errors come back with the file named', async () => {
    const { client } = wire();
    const first = client.load('/models/a/', 'auto', flash(2)).done;
    const second = client.load('/models/broken/', 'auto', flash(2)).done;
    expect(await first).toMatchObject({ ok: false, error: { kind: 'cancelled' } });
    expect(await second).toEqual({ ok: false, error: { kind: 'file', file: 'unet/model.onnx', message: 'unet/model.onnx: sha256 mismatch' } });
  });

  // page → worker messages as tasks (a real worker's), not microtasks
  const asTask = (run: () => void): void => void setTimeout(run, 0);

  it('a cancel lands between synchronous steps only because the host yields to its task queue', async () => {
    for (const [yieldToEvents, cancelled] of [[yieldToEventLoop, true], [() => Promise.resolve(), false]] as const) {
      const engine = new BusyEngine();
      const { client } = wire(engine, 0, { deliver: asTask, yieldToEvents });
      await client.load('/models/a/', 'auto', flash(2)).done;
      const job = client.generate('p', 1, [flash(2)]);
      setTimeout(() => client.cancel(job.id), 12);
      const r = await job.done;
      if (cancelled) {
        expect(r).toEqual({ ok: false, error: { kind: 'cancelled', message: 'Cancelled.' } });
        expect(engine.steps).toBeLessThan(20);
      } else {
        // the root cause: a yield that resolves through microtasks leaves the cancel unread until the job is over
        expect(r).toMatchObject({ ok: true });
        expect(engine.steps).toBe(20);
      }
    }
  });

  it('rapid generates during synchronous steps: each newer one stops the running job, only the last makes an image', async () => {
    const engine = new BusyEngine();
    const { client } = wire(engine, 0, { deliver: asTask });
    await client.load('/models/a/', 'auto', flash(2)).done;
    const images: string[] = [];
    const runs: Promise<unknown>[] = [];
    for (const prompt of ['one', 'two', 'three', 'four', 'five']) {
      runs.push(client.generate(prompt, 1, [flash(1)], { onImage: () => images.push(prompt) }).done);
      await tick(5);
    }
    await Promise.all(runs);
    expect(images).toEqual(['five']);
    // every job started and was stopped within a few steps: far from the 5 × 20 steps of running them all
    expect(engine.started.filter((x) => x.startsWith('gen'))).toHaveLength(5);
    expect(engine.steps).toBeLessThan(20 + 4 * 10);
  });

  it('a comparison goes on past a variant whose file fails; a prompt the model refuses fails it as a whole', async () => {
    const engine = new FakeEngine();
    const generate = engine.generate.bind(engine);
    engine.generate = async (p, cb) => {
      if (p.prompt.includes('zebra')) throw new VocabularyError('unknown "zebra"', ['zebra'], {}, ['a']);
      if (p.steps === 2) throw new BundleFileError('unet-flash-2/model.onnx', 'sha256 does not match the manifest');
      return generate(p, cb);
    };
    const { client } = wire(engine);
    await client.load('/models/a/', 'auto', flash(1)).done;
    const got: string[] = [];
    const h = { onImage: (v: number) => got.push(`image ${v}`), onVariantError: (v: number, e: { message: string }) => got.push(`error ${v}: ${e.message}`) };
    const r = await client.generate('p', 1, [flash(1), flash(2), flash(3)], h).done;
    expect(r).toEqual({ ok: true, value: { images: 2 } });
    expect(got).toEqual(['image 0', 'error 1: unet-flash-2/model.onnx: sha256 does not match the manifest', 'image 2']);
    got.length = 0;
    const refused = await client.generate('a zebra', 1, [flash(1), flash(3)], h).done;
    expect(refused).toMatchObject({ ok: false, error: { kind: 'vocabulary', unknown: ['zebra'] } });
    expect(got).toEqual([]);
    // one variant alone: its failure is the run's result, not a variant-error event
    expect(await client.generate('p', 1, [flash(2)], h).done).toMatchObject({ ok: false, error: { kind: 'file', file: 'unet-flash-2/model.onnx' } });
    expect(got).toEqual([]);
  });
});
