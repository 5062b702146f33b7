import { describe, expect, it } from 'vitest';
import { MAX_SEED } from '../../src/pipeline/noise';
import { gridSeeds, GRID_SIZE } from '../../src/state/gridSlice';
import { createAppStore } from '../../src/state/store';
import { InferenceClient, type WorkerLike } from '../../src/worker/client';
import { InferenceHost } from '../../src/worker/host';
import type { WorkerEvent, WorkerRequest } from '../../src/worker/protocol';
import { grammarBundle, indexFetch, instantEngine, SlowEngine } from './helpers/fakeApp';

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
