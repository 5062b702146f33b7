import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import type { BundleSummary } from '../../src/pipeline/pipeline';
import { isLiveOn, liveAvailable, LIVE_DEBOUNCE_MS, LIVE_KEEP_MS } from '../../src/state/liveSlice';
import { createAppStore } from '../../src/state/store';
import { imageSearch, parseUrlState, toSearch } from '../../src/state/urlState';
import type { Engine } from '../../src/worker/client';
import { grammarBundle, indexFetch, instantEngine, SlowEngine, storeOverHost, wasm } from './helpers/fakeApp';

const swiftShader: BackendInfo = { kind: 'webgpu', adapter: 'Google SwiftShader', shaderF16: false, fallback: true };
const hardwareGpu: BackendInfo = { kind: 'webgpu', adapter: 'nvidia', shaderF16: true };
const FINAL = 'a red circle above a blue star';

async function readyStore(engine: Engine, searches: string[] = []) {
  const store = createAppStore({ engine, setSearch: (s) => searches.push(s) });
  await store.getState().loadModelIndex(indexFetch);
  await vi.advanceTimersByTimeAsync(0);
  return store;
}

/** Types `text` one character at a time, `gapMs` apart, as a person would. */
async function type(store: ReturnType<typeof createAppStore>, text: string, gapMs: number, from = ''): Promise<void> {
  for (let i = from.length + 1; i <= text.length; i++) {
    store.getState().setPrompt(text.slice(0, i));
    await vi.advanceTimersByTimeAsync(gapMs);
  }
}

describe('live mode in the store (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is on by default on WASM or a hardware GPU with a 1-step student; off on a software adapter or without one; the user decides over it', async () => {
    vi.useFakeTimers();
    const on = async (backend: BackendInfo, bundle: BundleSummary = grammarBundle) => isLiveOn((await readyStore(instantEngine(bundle, backend))).getState());
    expect(await on(wasm)).toBe(true);
    expect(await on(hardwareGpu)).toBe(true);
    expect(await on(swiftShader)).toBe(false);
    const noOneStep = { ...grammarBundle, unets: grammarBundle.unets.filter((u) => u.id !== 'flash-1') };
    expect(await on(wasm, noOneStep)).toBe(false);
    // still offered: turned on, it draws with the fastest student there is
    const engine = instantEngine(noOneStep);
    const store = await readyStore(engine);
    expect(liveAvailable(store.getState())).toBe(true);
    store.getState().setLive(true);
    store.getState().setPrompt('two green stars');
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    expect(engine.calls.map((c) => c.variants)).toEqual([[{ model: 'flash', steps: 2, noiseCorrection: true }]]);
    const teacherOnly = { ...grammarBundle, unets: grammarBundle.unets.filter((u) => u.role === 'teacher') };
    const t = await readyStore(instantEngine(teacherOnly));
    t.getState().setLive(true);
    expect([liveAvailable(t.getState()), isLiveOn(t.getState())]).toEqual([false, false]);
  });

  it('debounce: a burst of keystrokes makes one generation, of the final text, with the 1-step student, after the pause', async () => {
    vi.useFakeTimers();
    const engine = instantEngine();
    const store = await readyStore(engine);
    store.getState().setSeedText('5');
    store.getState().setSteps(3);
    // 8 characters a second: "a red circle" (a whole prompt) passes by without a pause
    await type(store, FINAL, 125);
    expect(engine.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS - 125 - 1);
    expect(engine.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.calls).toEqual([{ prompt: FINAL, seeds: [5], variants: [{ model: 'flash', steps: 1, noiseCorrection: true }] }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getState()).toMatchObject({ status: 'done', runKind: 'live', steps: 3, current: { prompt: FINAL, seed: 5, variant: { steps: 1 } } });
  });

  it('an unfinished or invalid prompt makes no generate call: the live note says why and the last good image stays', async () => {
    vi.useFakeTimers();
    const engine = instantEngine();
    const store = await readyStore(engine);
    await type(store, 'a red circle', 10);
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    expect(engine.calls.map((c) => c.prompt)).toEqual(['a red circle']);
    const shown = store.getState().current?.key;
    const cases: [string, RegExp][] = [
      ['a red circle above a', /after "a", but the prompt ends there/],
      ['a red circle above', /the prompt ends there/],
      ['a red circel', /does not know the word "circel"/],
      ['circle red a blue', /at the start, not "circle"/],
      ['', /Enter a prompt first/],
    ];
    for (const [text, note] of cases) {
      store.getState().setPrompt(text);
      await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS * 3);
      expect(store.getState().liveNote, text).toMatch(note);
      expect(store.getState().current?.key).toBe(shown);
    }
    store.getState().setPrompt('a red circle');
    store.getState().setSeedText('abc');
    store.getState().setPrompt('two green stars');
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    expect(store.getState().liveNote).toMatch(/Seed/);
    expect(engine.calls).toHaveLength(1);
    // no error banner for any of them: the user is still typing
    expect(store.getState().error).toBeNull();
  });

  it('Generate runs the chosen steps at once, and a pause pending from the typing never replaces its image', async () => {
    vi.useFakeTimers();
    const engine = instantEngine();
    const store = await readyStore(engine);
    store.getState().setSteps(3);
    await type(store, 'two green stars', 20);
    store.getState().requestGenerate();
    await vi.advanceTimersByTimeAsync(LIVE_KEEP_MS * 2);
    expect(engine.calls.map((c) => c.variants[0]?.steps)).toEqual([3]);
    expect(store.getState()).toMatchObject({ runKind: 'chosen', current: { variant: { steps: 3 } } });
    expect(store.getState().history).toHaveLength(1);
  });

  it('history: a live image is kept once it has stayed on screen with the prompt unchanged; pauses while typing on leave nothing', async () => {
    vi.useFakeTimers();
    const engine = instantEngine();
    const store = await readyStore(engine);
    await type(store, 'a red circle', 20);
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS + LIVE_KEEP_MS - 100);
    expect(store.getState().current?.prompt).toBe('a red circle');
    // typing on before it was kept: it never is
    await type(store, FINAL, 20, 'a red circle');
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    expect(engine.calls.map((c) => c.prompt)).toEqual(['a red circle', FINAL]);
    expect(store.getState().history).toEqual([]);
    await vi.advanceTimersByTimeAsync(LIVE_KEEP_MS);
    expect(store.getState().history.map((h) => [h.prompt, h.variant.steps])).toEqual([[FINAL, 1]]);
    // the prompt back to the image on screen: nothing to draw
    await type(store, `${FINAL}s`, 20, FINAL);
    store.getState().setPrompt(FINAL);
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS + LIVE_KEEP_MS);
    expect(engine.calls).toHaveLength(2);
    expect(store.getState().history).toHaveLength(1);
  });

  it('turned off, typing starts nothing; the choice is kept in the link; in the comparison or the grid no live run starts', async () => {
    vi.useFakeTimers();
    const engine = instantEngine();
    const searches: string[] = [];
    const store = await readyStore(engine, searches);
    await type(store, 'a red circle', 20);
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    expect(searches.at(-1)).toBe('?prompt=a+red+circle&seed=0&steps=1&model=flash&nc=1&bundle=tiny-bundle&made=wasm');
    store.getState().setLive(false);
    expect(searches.at(-1)).toContain('&live=0&');
    await type(store, 'two green stars', 20);
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS * 2);
    expect(engine.calls).toHaveLength(1);
    store.getState().setLive(true);
    for (const view of ['compare', 'grid'] as const) {
      store.getState().setView(view);
      store.getState().setPrompt('two green stars');
      await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS * 2);
    }
    expect(engine.calls).toHaveLength(1);
    expect(parseUrlState('?live=1')).toEqual({ live: true });
    expect(parseUrlState('?live=yes')).toEqual({});
    expect(parseUrlState(toSearch({ live: false, backend: 'wasm' }))).toEqual({ live: false, backend: 'wasm' });
    const image = store.getState().current;
    if (!image) throw new Error('no image');
    expect(imageSearch(image, 'auto')).not.toContain('live');
  });
});

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('live mode over the worker host, with a slow engine (real timers)', () => {
  it('a newer keystroke supersedes the running live job: it stops between steps, its image never shows; the newer text is drawn', async () => {
    // flash-1 takes 5 × 40 ms here
    const engine = new SlowEngine(grammarBundle, 40);
    const { store } = storeOverHost(engine);
    await store.getState().loadModelIndex(indexFetch);
    await until(() => store.getState().modelReady);
    const shown: string[] = [];
    store.subscribe((s, prev) => {
      if (s.current && s.current !== prev.current) shown.push(s.current.prompt);
    });
    store.getState().setPrompt('a red circle');
    await until(() => engine.runs.length === 1);
    expect(store.getState()).toMatchObject({ status: 'running', runKind: 'live' });
    store.getState().setPrompt(FINAL);
    await until(() => store.getState().status === 'done', 5000);
    expect(engine.runs).toEqual([
      { prompt: 'a red circle', end: 'aborted' },
      { prompt: FINAL, end: 'image' },
    ]);
    expect(shown).toEqual([FINAL]);
  });

  it('a run the user asked for is not interrupted by typing; the live image of the new text follows it', async () => {
    const engine = new SlowEngine(grammarBundle, 15);
    const { store } = storeOverHost(engine);
    await store.getState().loadModelIndex(indexFetch);
    await until(() => store.getState().modelReady);
    store.getState().setModel('teacher');
    store.getState().requestGenerate();
    await until(() => engine.runs.length === 1);
    store.getState().setPrompt('two green stars');
    await new Promise((r) => setTimeout(r, LIVE_DEBOUNCE_MS + 50));
    expect(engine.runs).toHaveLength(1);
    await until(() => engine.runs.length === 2 && store.getState().status === 'done');
    expect(engine.runs).toEqual([
      { prompt: 'a red circle to the left of a blue square', end: 'image' },
      { prompt: 'two green stars', end: 'image' },
    ]);
    expect(store.getState().current).toMatchObject({ prompt: 'two green stars', variant: { model: 'flash', steps: 1 } });
    expect(store.getState().history.map((h) => h.variant.model)).toEqual(['teacher']);
  });
});
