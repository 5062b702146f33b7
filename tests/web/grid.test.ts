import { describe, expect, it } from 'vitest';
import { MAX_SEED } from '../../src/pipeline/noise';
import { openBundle } from '../../src/pipeline/openBundle';
import { Pipeline, type GenerateParams } from '../../src/pipeline/pipeline';
import type { ModelSession, Runtime } from '../../src/pipeline/runtime';
import { gridSeeds, GRID_SIZE } from '../../src/state/gridSlice';
import { createAppStore } from '../../src/state/store';
import { InferenceClient, type WorkerLike } from '../../src/worker/client';
import { InferenceHost } from '../../src/worker/host';
import type { WorkerEvent, WorkerRequest } from '../../src/worker/protocol';
import { grammarBundle, indexFetch, instantEngine, SlowEngine } from './helpers/fakeApp';
import { BASE, nodeIo } from './helpers/nodeIo';
import { nodeRuntime } from './helpers/nodeRuntime';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('seed grid in the store', () => {
  it('seeds: the form seed and the ones after it, wrapping past the largest seed', () => {
    expect(GRID_SIZE).toBe(4);
    expect(gridSeeds(7)).toEqual([7, 8, 9, 10]);
    expect(gridSeeds(MAX_SEED - 1)).toEqual([MAX_SEED - 1, MAX_SEED, 0, 1]);
  });

  it("asks for 4 seeds of the form's request in one job; each tile shows the seed that made its image; a click makes it the main image and the form's seed", async () => {
    const engine = instantEngine();
    const searches: string[] = [];
    const store = createAppStore({ engine, setSearch: (s) => searches.push(s) });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    store.getState().setSeedText('7');
    store.getState().setSteps(3);
    store.getState().startGrid();
    expect(store.getState()).toMatchObject({ view: 'grid', gridStatus: 'running', gridBatched: null });
    await settle();
    expect(engine.calls).toEqual([{ prompt: 'a red circle to the left of a blue square', seeds: [7, 8, 9, 10], variants: [{ model: 'flash', steps: 3, noiseCorrection: true }] }]);
    const { grid, gridStatus, gridBatched, history } = store.getState();
    expect([gridStatus, gridBatched, history.length]).toEqual(['done', true, 0]);
    // the seed a tile is labelled with is the one its image came from (the fake engine writes it into the first pixel)
    expect(grid.map((t) => t.seed)).toEqual([7, 8, 9, 10]);
    expect(grid.map((t) => [t.image?.seed, t.image?.output.image.data[0]])).toEqual([[7, 7], [8, 8], [9, 9], [10, 10]]);

    store.getState().pickGridTile(2);
    const st = store.getState();
    expect(st).toMatchObject({ view: 'single', seedText: '9', status: 'done', current: { seed: 9, variant: { steps: 3 } } });
    expect(st.current?.output.image.data[0]).toBe(9);
    expect(st.history.map((h) => h.seed)).toEqual([9]);
    expect(searches.at(-1)).toContain('seed=9&steps=3');
  });

  it('reports a grid the graphs could not batch; Generate in the grid view runs the grid again; a bad seed is said there', async () => {
    const engine = instantEngine(grammarBundle, undefined, false);
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    store.getState().startGrid();
    await settle();
    expect(store.getState().gridBatched).toBe(false);
    store.getState().setSeedText('100');
    store.getState().requestGenerate();
    await settle();
    expect(engine.calls.map((c) => c.seeds)).toEqual([
      [0, 1, 2, 3],
      [100, 101, 102, 103],
    ]);
    store.getState().setSeedText('x');
    store.getState().requestGenerate();
    expect(store.getState()).toMatchObject({ view: 'grid', grid: [], gridStatus: 'error', gridError: { kind: 'input' } });
  });
});

describe('seed grid in the worker host', () => {
  it('posts one image per seed, then whether it batched; a newer generate supersedes a running grid', async () => {
    const engine = new SlowEngine(grammarBundle, 5);
    const events: WorkerEvent[] = [];
    let toPage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
    const host = new InferenceHost(engine, (e) => {
      events.push(e);
      queueMicrotask(() => toPage?.({ data: e } as MessageEvent<WorkerEvent>));
    }, 0);
    const worker: WorkerLike = {
      postMessage: (m: WorkerRequest) => setTimeout(() => host.handle(m), 0),
      addEventListener: ((type: string, l: (e: MessageEvent<WorkerEvent>) => void) => {
        if (type === 'message') toPage = l;
      }) as WorkerLike['addEventListener'],
    };
    const client = new InferenceClient(worker);
    const v = { model: 'flash' as const, steps: 1 as const, noiseCorrection: true };
    const got: number[] = [];
    expect(await client.grid('two green stars', [3, 4, 5, 6], v, { onImage: (i) => got.push(i) }).done).toEqual({ ok: true, value: { images: 4, batched: false } });
    expect(got).toEqual([0, 1, 2, 3]);
    const grid = client.grid('two green stars', [3, 4, 5, 6], v).done;
    await new Promise((r) => setTimeout(r, 30));
    const single = client.generate('a red circle', 1, [v]).done;
    expect(await grid).toMatchObject({ ok: false, error: { kind: 'cancelled' } });
    expect(await single).toMatchObject({ ok: true });
  });
});

/** Sessions as the runtime makes them, but reporting every batch axis fixed at 1 (as some exports do); counts runs per file. */
function staticBatchRuntime(runs: Map<string, number>): Runtime {
  const rt = nodeRuntime();
  return {
    backend: rt.backend,
    lost: rt.lost,
    createSession: async (bytes, file, data) => {
      const s = await rt.createSession(bytes, file, data);
      return countRuns({ ...s, file: s.file, release: () => s.release(), run: (f) => s.run(f), inputs: s.inputs.map((m) => ({ ...m, shape: m.shape ? [1, ...m.shape.slice(1)] : m.shape })), outputs: s.outputs }, runs);
    },
  };
}

function countRuns(s: ModelSession, runs: Map<string, number>): ModelSession {
  return { ...s, run: (f) => (runs.set(s.file, (runs.get(s.file) ?? 0) + 1), s.run(f)) };
}

function countingRuntime(runs: Map<string, number>): Runtime {
  const rt = nodeRuntime();
  return { backend: rt.backend, lost: rt.lost, createSession: async (b, f, d) => countRuns(await rt.createSession(b, f, d), runs) };
}

const maxDiff = (a: Uint8ClampedArray, b: Uint8ClampedArray): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('seed grid in the pipeline (tiny-bundle on onnxruntime-web in Node)', () => {
  const params: GenerateParams = { prompt: 'a red circle above a blue star', seed: 0, model: 'flash', steps: 2, noiseCorrection: true };
  const seeds = [3, 4, 5, 6];
  const open = async (rt: Runtime): Promise<Pipeline> => {
    const io = nodeIo();
    return new Pipeline(await openBundle(io, `${BASE}tiny-bundle/`), io, rt);
  };

  it('batches where the graphs take a batch (one UNet run per step, one decode); a graph fixed at batch 1 runs the seeds one after another; every tile is its seed\'s single image', { timeout: 60_000 }, async () => {
    const batchedRuns = new Map<string, number>();
    const pipe = await open(countingRuntime(batchedRuns));
    await pipe.prepare(['flash-2']);
    const batched = await pipe.generateGrid(params, seeds);
    expect(batched.batched).toBe(true);
    expect(batched.images).toHaveLength(4);
    expect(batched.images[0]?.profile.batch).toBe(4);
    expect([batchedRuns.get('unet-flash-2/model.onnx'), batchedRuns.get('vae_decoder/model.onnx')]).toEqual([2, 1]);

    const staticRuns = new Map<string, number>();
    const fixed = await open(staticBatchRuntime(staticRuns));
    const oneByOne = await fixed.generateGrid(params, seeds);
    expect(oneByOne.batched).toBe(false);
    expect([staticRuns.get('unet-flash-2/model.onnx'), staticRuns.get('vae_decoder/model.onnx'), staticRuns.get('text_encoder/model.onnx')]).toEqual([8, 4, 1]);
    expect(oneByOne.images.map((o) => o.profile.embeddingCacheHit)).toEqual([false, true, true, true]);

    for (const [i, seed] of seeds.entries()) {
      const single = await pipe.generate({ ...params, seed });
      const a = batched.images[i]?.image.data;
      const b = oneByOne.images[i]?.image.data;
      if (!a || !b) throw new Error('missing image');
      // a batched convolution may round its last bits differently
      expect(maxDiff(a, single.image.data), `seed ${seed}`).toBeLessThanOrEqual(2);
      expect(maxDiff(b, single.image.data), `seed ${seed}`).toBeLessThanOrEqual(2);
    }
    expect(maxDiff(batched.images[0]?.image.data ?? new Uint8ClampedArray(), batched.images[1]?.image.data ?? new Uint8ClampedArray())).toBeGreaterThan(2);
  });
});
