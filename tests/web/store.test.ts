import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import type { BundleSummary, GenerateOutput } from '../../src/pipeline/pipeline';
import { compareVariants } from '../../src/state/compareSlice';
import { HISTORY_LIMIT } from '../../src/state/historySlice';
import { createAppStore } from '../../src/state/store';
import { parseUrlState, toSearch, type UrlState } from '../../src/state/urlState';
import type { Engine, GenerateHandlers, Result } from '../../src/worker/client';
import type { GenerateDone, GridDone, LoadDone, Variant } from '../../src/worker/protocol';

const wasm: BackendInfo = { kind: 'wasm', reason: 'test', threads: 1 };
const summary: BundleSummary = {
  name: 'tiny',
  baseUrl: '/models/tiny/',
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
  vocabulary: ['a', 'red', 'circle'],
};

const output = (v: Variant): GenerateOutput => ({
  image: { width: 1, height: 1, data: new Uint8ClampedArray([v.steps, 0, 0, 255]) },
  timings: [{ stage: 'unet', label: 'step 1', ms: 1 }],
  profile: { totalMs: 1, sessionRunMs: 1, textEncoderRunMs: 0, unetRunMs: [1], vaeRunMs: 0, schedulerMs: 0 },
  tokenCount: 4,
  truncated: false,
  unetId: v.model === 'teacher' ? 'teacher' : `flash-${v.steps}`,
  recipe: 'DDIM',
  noiseCorrection: v.noiseCorrection,
});

/** An engine that answers at once (next microtask) and records what it was asked. */
function fakeEngine(bundle: BundleSummary = summary): Engine & { generated: Variant[][]; loads: string[] } {
  let id = 0;
  const generated: Variant[][] = [];
  const loads: string[] = [];
  return {
    generated,
    loads,
    load: (url) => {
      loads.push(url);
      return { id: ++id, done: Promise.resolve<Result<LoadDone>>({ ok: true, value: { bundle, backend: wasm, ms: 1, unetFailures: [] } }) };
    },
    generate: (_p, _s, variants, h: GenerateHandlers = {}) => {
      generated.push(variants);
      const done = Promise.resolve().then((): Result<GenerateDone> => {
        variants.forEach((v, i) => h.onImage?.(i, output(v)));
        return { ok: true, value: { images: variants.length } };
      });
      return { id: ++id, done };
    },
    grid: (_p, seeds, variant, h: GenerateHandlers = {}) => {
      const done = Promise.resolve().then((): Result<GridDone> => {
        seeds.forEach((_s, i) => h.onImage?.(i, output(variant)));
        return { ok: true, value: { images: seeds.length, batched: true } };
      });
      return { id: ++id, done };
    },
    cancel: () => undefined,
    loseDevice: async () => ({ ok: true, value: { done: false } }),
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const indexFetch: typeof fetch = async () => new Response('{"bundles": ["tiny", "tiny-sd"]}', { status: 200 });

describe('URL state', () => {
  it('round-trips through the query string', () => {
    const s: UrlState = { prompt: 'a red circle & a blue star', seed: '42', steps: 3, model: 'teacher', nc: false, bundle: 'shapescenes', backend: 'wasm' };
    expect(parseUrlState(toSearch(s))).toEqual(s);
    expect(toSearch({ prompt: 'a red circle', seed: '7', steps: 1, model: 'flash', nc: true })).toBe('?prompt=a+red+circle&seed=7&steps=1&model=flash&nc=1');
    expect(toSearch({})).toBe('');
  });

  it('drops malformed values but keeps a bad seed as text, to be explained', () => {
    expect(parseUrlState('?steps=7&model=dragon&nc=yes&bundle=../x&backend=cuda&seed=abc')).toEqual({ seed: 'abc' });
    expect(parseUrlState('?backend=auto')).toEqual({});
  });
});

describe('store with a fake engine', () => {
  it('a link opens the listed bundle, restores the form and generates once the model is ready', async () => {
    const engine = fakeEngine();
    const searches: string[] = [];
    const store = createAppStore({ engine, setSearch: (s) => searches.push(s) });
    store.getState().applyUrlState(parseUrlState('?prompt=a+red+circle&seed=9&steps=3&model=flash&nc=0&bundle=tiny-sd'));
    await store.getState().loadModelIndex(indexFetch, 'tiny-sd');
    await settle();
    expect(engine.loads).toEqual(['/models/tiny-sd/']);
    expect(engine.generated).toEqual([[{ model: 'flash', steps: 3, noiseCorrection: false }]]);
    const st = store.getState();
    expect(st.current?.seed).toBe(9);
    expect(st.status).toBe('done');
    expect(st.history).toHaveLength(1);
    expect(searches).toEqual(['?prompt=a+red+circle&seed=9&steps=3&model=flash&nc=0&bundle=tiny-sd&made=wasm']);
  });

  it('the URL changes when the image is done, not at the click; a failed run leaves it', async () => {
    const engine = fakeEngine();
    const finish: ((r: Result<GenerateDone>) => void)[] = [];
    engine.generate = (_p, _s, variants, h = {}) => {
      engine.generated.push(variants);
      // a run that succeeds sends its image before its end, as the worker does
      const done = new Promise<Result<GenerateDone>>((resolve) =>
        finish.push((r) => {
          if (r.ok) variants.forEach((v, i) => h.onImage?.(i, output(v)));
          resolve(r);
        }),
      );
      return { id: 99, done };
    };
    const searches: string[] = [];
    const store = createAppStore({ engine, setSearch: (s) => searches.push(s) });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    store.getState().setPrompt('a red circle');
    store.getState().requestGenerate();
    expect(store.getState().status).toBe('running');
    expect(searches).toEqual([]);
    finish[0]?.({ ok: true, value: { images: 1 } });
    await settle();
    expect(searches).toEqual([expect.stringContaining('prompt=a+red+circle')]);
    store.getState().setPrompt('a blue star');
    store.getState().requestGenerate();
    finish[1]?.({ ok: false, error: { kind: 'internal', message: 'boom' } });
    await settle();
    expect(store.getState().status).toBe('error');
    expect(searches).toHaveLength(1);
  });

  it('a bundle that is not in the index is opened as a folder under /models/', async () => {
    const engine = fakeEngine();
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch, 'sd-turbo');
    expect(engine.loads).toEqual(['/models/sd-turbo/']);
    expect(store.getState().openFolder('../../etc')).toEqual({ ok: false, message: '"../../etc" is not a folder name under /models/' });
  });

  it('the comparison asks for 1, 2, 3 steps and the teacher in one job', async () => {
    const engine = fakeEngine();
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    store.getState().startCompare();
    await settle();
    const st = store.getState();
    expect(st.view).toBe('compare');
    expect(st.compare.map((e) => e.label)).toEqual(['1 step', '2 steps', '3 steps', 'Teacher (25 steps)']);
    expect(st.compare.every((e) => e.image !== null)).toBe(true);
    expect([st.compareLeft, st.compareRight]).toEqual([0, 3]);
    expect(compareVariants({ ...summary, unets: summary.unets.slice(1, 3) }, false).map((e) => e.label)).toEqual(['1 step', '2 steps']);
    st.setSplit(140);
    expect(store.getState().split).toBe(100);
  });

  it('history keeps the newest images, and showing one restores its settings', async () => {
    const engine = fakeEngine();
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    for (let i = 0; i < HISTORY_LIMIT + 3; i++) {
      store.getState().setSeedText(String(i));
      store.getState().requestGenerate();
      await settle();
    }
    const { history } = store.getState();
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history[0]?.seed).toBe(HISTORY_LIMIT + 2);
    const old = history[5];
    if (!old) throw new Error('missing');
    store.getState().setSteps(1);
    store.getState().showFromHistory(old.key);
    expect(store.getState().seedText).toBe(String(old.seed));
    expect(store.getState().steps).toBe(2);
    expect(store.getState().current?.key).toBe(old.key);
  });

  const teacherOnly: BundleSummary = { ...summary, name: 'ShapeScenes', unets: summary.unets.filter((u) => u.role === 'teacher') };

  it('a teacher-only bundle opens on the Teacher, Generate works, and no notice is shown', async () => {
    const engine = fakeEngine(teacherOnly);
    const store = createAppStore({ engine, setSearch: () => undefined });
    expect(store.getState().model).toBe('flash');
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    expect(store.getState()).toMatchObject({ model: 'teacher', modelReady: true, modelNotice: null });
    store.getState().requestGenerate();
    await settle();
    expect(engine.generated).toEqual([[{ model: 'teacher', steps: 2, noiseCorrection: true }]]);
    expect(store.getState().status).toBe('done');
  });

  it('a link asking for a model the bundle lacks: the form switches, says why, and does not generate', async () => {
    const engine = fakeEngine(teacherOnly);
    const store = createAppStore({ engine, setSearch: () => undefined });
    store.getState().applyUrlState(parseUrlState('?prompt=a+red+circle&seed=3&steps=1&model=flash'));
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    const st = store.getState();
    expect(st.model).toBe('teacher');
    expect(st.modelNotice).toBe('This link asks for a Flash model, which ShapeScenes does not have; the Teacher is selected instead.');
    expect(engine.generated).toEqual([]);
    st.requestGenerate();
    await settle();
    expect(engine.generated).toEqual([[{ model: 'teacher', steps: 1, noiseCorrection: true }]]);
    store.getState().setModel('teacher');
    expect(store.getState().modelNotice).toBeNull();
  });

  it('a flash bundle without the default step count moves to the nearest one it has', async () => {
    const engine = fakeEngine({ ...summary, unets: summary.unets.filter((u) => u.id === 'flash-3') });
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    expect(store.getState()).toMatchObject({ model: 'flash', steps: 3, modelNotice: null });
  });

  it('changing the backend preference reloads the bundle', async () => {
    const engine = fakeEngine();
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    store.getState().setBackendPref('wasm');
    store.getState().setBackendPref('wasm');
    expect(engine.loads).toEqual(['/models/tiny/', '/models/tiny/']);
  });
});

describe('cancel, latest wins, the comparison and failed files', () => {
  /** An engine whose jobs end when the test says, with the handlers each was given. */
  function manualEngine(bundle: BundleSummary = summary, unetFailures: LoadDone['unetFailures'] = []) {
    const engine = fakeEngine(bundle);
    const jobs: { variants: Variant[]; h: GenerateHandlers; finish: (r: Result<GenerateDone>) => void }[] = [];
    const cancelled: number[] = [];
    engine.load = () => ({ id: 1, done: Promise.resolve<Result<LoadDone>>({ ok: true, value: { bundle, backend: wasm, ms: 1, unetFailures } }) });
    engine.generate = (_p, _s, variants, h = {}) => {
      let finish: (r: Result<GenerateDone>) => void = () => undefined;
      const done = new Promise<Result<GenerateDone>>((resolve) => (finish = resolve));
      jobs.push({ variants, h, finish });
      return { id: 100 + jobs.length, done };
    };
    engine.cancel = (id) => void cancelled.push(id);
    return { engine, jobs, cancelled };
  }

  async function ready(engine: Engine) {
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    await settle();
    return store;
  }

  it('Cancel stops the run for the page at once; what the job still sends is dropped', async () => {
    const { engine, jobs, cancelled } = manualEngine();
    const store = await ready(engine);
    store.getState().requestGenerate();
    expect(store.getState().status).toBe('running');
    store.getState().cancelGeneration();
    expect(cancelled).toEqual([101]);
    expect(store.getState()).toMatchObject({ status: 'idle', step: null });
    // the worker had finished the image before it read the cancel
    const v = jobs[0]?.variants[0] as Variant;
    jobs[0]?.h.onImage?.(0, output(v));
    jobs[0]?.finish({ ok: true, value: { images: 1 } });
    await settle();
    expect(store.getState()).toMatchObject({ status: 'idle', current: null, history: [] });
  });

  it('the latest request wins: an image of a superseded job is neither shown nor kept', async () => {
    const { engine, jobs } = manualEngine();
    const store = await ready(engine);
    store.getState().setSeedText('1');
    store.getState().requestGenerate();
    store.getState().setSeedText('2');
    store.getState().requestGenerate();
    const [first, second] = jobs;
    first?.h.onImage?.(0, output(first.variants[0] as Variant));
    first?.finish({ ok: false, error: { kind: 'cancelled', message: 'Superseded by a newer request.' } });
    second?.h.onImage?.(0, output(second.variants[0] as Variant));
    second?.finish({ ok: true, value: { images: 1 } });
    await settle();
    const st = store.getState();
    expect(st.status).toBe('done');
    expect(st.history.map((h) => h.seed)).toEqual([2]);
    expect(st.current?.seed).toBe(2);
  });

  it('showing a history item during a run cancels the run: its image never replaces the one chosen', async () => {
    const { engine, jobs, cancelled } = manualEngine();
    const store = await ready(engine);
    store.getState().setSeedText('1');
    store.getState().requestGenerate();
    jobs[0]?.h.onImage?.(0, output(jobs[0].variants[0] as Variant));
    jobs[0]?.finish({ ok: true, value: { images: 1 } });
    await settle();
    const old = store.getState().current;
    store.getState().setSeedText('2');
    store.getState().requestGenerate();
    store.getState().showFromHistory(old?.key ?? '');
    expect(cancelled).toEqual([102]);
    jobs[1]?.h.onImage?.(0, output(jobs[1].variants[0] as Variant));
    jobs[1]?.finish({ ok: true, value: { images: 1 } });
    await settle();
    expect(store.getState()).toMatchObject({ status: 'done', current: { key: old?.key } });
    expect(store.getState().history.map((h) => h.seed)).toEqual([1]);
  });

  it("Generate while the comparison is shown re-runs the comparison with the form's request; its errors go to its banner", async () => {
    const { engine, jobs } = manualEngine();
    const store = await ready(engine);
    store.getState().startCompare();
    expect(jobs).toHaveLength(1);
    store.getState().setPrompt('a blue star');
    store.getState().requestGenerate();
    expect(jobs.map((j) => j.variants.length)).toEqual([4, 4]);
    expect(store.getState()).toMatchObject({ view: 'compare', compareStatus: 'running', status: 'idle' });
    jobs[1]?.finish({ ok: false, error: { kind: 'vocabulary', message: 'The model does not know "blue star"', unknown: [], suggestions: {}, known: [] } });
    await settle();
    expect(store.getState().compareError?.message).toBe('The model does not know "blue star"');
    // a form error: said in the comparison, and no stale images are left under it
    jobs[0]?.h.onImage?.(0, output(jobs[0].variants[0] as Variant));
    store.getState().setSeedText('abc');
    store.getState().requestGenerate();
    const st = store.getState();
    expect(jobs).toHaveLength(2);
    expect(st.compareError).toMatchObject({ kind: 'input', message: expect.stringContaining('Seed "abc"') });
    expect(st.compare.every((e) => e.image === null && e.error === null)).toBe(true);
    expect(st.history).toEqual([]);
  });

  it('a form error in the comparison cancels the comparison still running, in the worker too', async () => {
    const { engine, jobs, cancelled } = manualEngine();
    const store = await ready(engine);
    store.getState().startCompare();
    store.getState().setSeedText('abc');
    store.getState().startCompare();
    expect(jobs).toHaveLength(1);
    expect(cancelled).toEqual([101]);
    expect(store.getState()).toMatchObject({ compareStatus: 'error', compareError: { kind: 'input' } });
  });

  it('showing a history item during a comparison cancels the comparison', async () => {
    const { engine, jobs, cancelled } = manualEngine();
    const store = await ready(engine);
    store.getState().requestGenerate();
    jobs[0]?.h.onImage?.(0, output(jobs[0].variants[0] as Variant));
    jobs[0]?.finish({ ok: true, value: { images: 1 } });
    await settle();
    const old = store.getState().current;
    store.getState().startCompare();
    store.getState().showFromHistory(old?.key ?? '');
    expect(cancelled).toEqual([102]);
    jobs[1]?.h.onImage?.(0, output(jobs[1].variants[0] as Variant));
    jobs[1]?.finish({ ok: false, error: { kind: 'cancelled', message: 'Cancelled.' } });
    await settle();
    expect(store.getState()).toMatchObject({ view: 'single', compareStatus: 'idle', current: { key: old?.key } });
    expect(store.getState().compare.every((e) => e.image === null)).toBe(true);
  });

  it('a comparison variant that fails gets its own error, the others their images, and the file is listed as failed', async () => {
    const { engine, jobs } = manualEngine();
    const store = await ready(engine);
    store.getState().startCompare();
    const job = jobs[0];
    if (!job) throw new Error('no job');
    const error = { kind: 'file', file: 'unet-flash-2/model.onnx', message: 'unet-flash-2/model.onnx: sha256 mismatch' } as const;
    job.variants.forEach((v, i) => (i === 1 ? job.h.onVariantError?.(i, error) : job.h.onImage?.(i, output(v))));
    job.finish({ ok: true, value: { images: 3 } });
    await settle();
    const st = store.getState();
    expect(st.compareStatus).toBe('done');
    expect(st.compare.map((e) => [e.image !== null, e.error?.message ?? null])).toEqual([
      [true, null],
      [false, error.message],
      [true, null],
      [true, null],
    ]);
    expect(st.fileFailures).toEqual([{ file: error.file, message: error.message, unetId: 'flash-2' }]);
  });

  it('a UNet that works clears only its own failures, not those of a UNet beside it in the same folder', async () => {
    const shared: BundleSummary = {
      ...summary,
      unets: [
        { id: 'flash-1', file: 'unet/flash-1.onnx', role: 'flash', steps: 1, label: 'DDIM 1 step' },
        { id: 'flash-2', file: 'unet/flash-2.onnx', role: 'flash', steps: 2, label: 'DDIM 2 steps' },
      ],
    };
    // the weights kept beside flash-2's graph (ONNX external data) failed at load
    const error = { kind: 'file', file: 'unet/flash-2.onnx.data', message: 'unet/flash-2.onnx.data: sha256 mismatch' } as const;
    const { engine, jobs } = manualEngine(shared, [{ unetId: 'flash-2', error }]);
    const store = await ready(engine);
    const run = async (steps: 1 | 2): Promise<void> => {
      store.getState().setSteps(steps);
      store.getState().requestGenerate();
      const job = jobs[jobs.length - 1];
      job?.h.onImage?.(0, output(job.variants[0] as Variant));
      job?.finish({ ok: true, value: { images: 1 } });
      await settle();
    };
    await run(1);
    expect(store.getState().fileFailures).toEqual([{ file: error.file, message: error.message, unetId: 'flash-2' }]);
    await run(2);
    expect(store.getState().fileFailures).toEqual([]);
  });

  it('a run that fails on a file lists it under the UNet of that run', async () => {
    const { engine, jobs } = manualEngine();
    const store = await ready(engine);
    const error = { kind: 'file', file: 'unet-flash-3/weights.pb', message: 'unet-flash-3/weights.pb: 404' } as const;
    store.getState().setSteps(3);
    store.getState().requestGenerate();
    jobs[0]?.finish({ ok: false, error });
    await settle();
    expect(store.getState().fileFailures).toEqual([{ file: error.file, message: error.message, unetId: 'flash-3' }]);
  });

  it('a load whose warm UNet failed: usable, the failure shown and listed; a later run of that UNet that works clears it', async () => {
    const error = { kind: 'file', file: 'unet-flash-2/model.onnx', message: 'unet-flash-2/model.onnx: sha256 mismatch' } as const;
    const engine = fakeEngine();
    engine.load = () => ({ id: 1, done: Promise.resolve<Result<LoadDone>>({ ok: true, value: { bundle: summary, backend: wasm, ms: 1, unetFailures: [{ unetId: 'flash-2', error }] } }) });
    const store = await ready(engine);
    expect(store.getState()).toMatchObject({ modelReady: true, status: 'error', error, fileFailures: [{ file: error.file }] });
    store.getState().setSteps(1);
    store.getState().requestGenerate();
    await settle();
    expect(store.getState()).toMatchObject({ status: 'done', fileFailures: [{ file: error.file }] });
    store.getState().setSteps(2);
    store.getState().requestGenerate();
    await settle();
    expect(store.getState().fileFailures).toEqual([]);
  });
});
