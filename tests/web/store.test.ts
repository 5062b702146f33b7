import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import type { BundleSummary, GenerateOutput } from '../../src/pipeline/pipeline';
import { compareVariants } from '../../src/state/compareSlice';
import { HISTORY_LIMIT } from '../../src/state/historySlice';
import { createAppStore } from '../../src/state/store';
import { parseUrlState, toSearch, type UrlState } from '../../src/state/urlState';
import type { Engine, GenerateHandlers, Result } from '../../src/worker/client';
import type { GenerateDone, LoadDone, Variant } from '../../src/worker/protocol';

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
    { id: 'teacher', role: 'teacher', steps: 25, label: 'DPM-Solver++ 25 steps, CFG 4' },
    { id: 'flash-1', role: 'flash', steps: 1, label: 'DDIM 1 step' },
    { id: 'flash-2', role: 'flash', steps: 2, label: 'DDIM 2 steps' },
    { id: 'flash-3', role: 'flash', steps: 3, label: 'DDIM 3 steps' },
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
      return { id: ++id, done: Promise.resolve<Result<LoadDone>>({ ok: true, value: { bundle, backend: wasm, ms: 1 } }) };
    },
    generate: (_p, _s, variants, h: GenerateHandlers = {}) => {
      generated.push(variants);
      const done = Promise.resolve().then((): Result<GenerateDone> => {
        variants.forEach((v, i) => h.onImage?.(i, output(v)));
        return { ok: true, value: { images: variants.length } };
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
