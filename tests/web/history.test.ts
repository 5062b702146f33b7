import { describe, expect, it } from 'vitest';
import type { GenerateOutput } from '../../src/pipeline/pipeline';
import type { GeneratedImage } from '../../src/state/generationSlice';
import { HISTORY_LIMIT, HISTORY_NOT_KEPT } from '../../src/state/historySlice';
import { createMemoryHistoryStore, sortStored, type HistoryStore } from '../../src/state/historyStore';
import { createAppStore } from '../../src/state/store';
import { backendLabel, backendNote, imageSearch, madeOn, parseUrlState } from '../../src/state/urlState';
import type { Variant } from '../../src/worker/protocol';

let seq = 0;
function image(over: Partial<Omit<GeneratedImage, 'variant'>> & { variant?: Partial<Variant> } = {}): GeneratedImage {
  seq += 1;
  const variant: Variant = { model: 'flash', steps: 2, noiseCorrection: true, ...over.variant };
  const output: GenerateOutput = {
    image: { width: 1, height: 1, data: new Uint8ClampedArray([seq % 256, 0, 0, 255]) },
    timings: [{ stage: 'unet', label: 'step 1', ms: 1 }],
    profile: { totalMs: 1, sessionRunMs: 1, textEncoderRunMs: 0, unetRunMs: [1], vaeRunMs: 0, schedulerMs: 0 },
    tokenCount: 4,
    truncated: false,
    unetId: `flash-${variant.steps}`,
    recipe: 'DDIM',
    noiseCorrection: variant.noiseCorrection,
  };
  return { key: `k${seq}`, prompt: 'a red circle', seed: 1, bundle: 'tiny', backend: 'WASM', output, ...over, variant };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function storeWith(history?: HistoryStore, searches: string[] = []) {
  return createAppStore({ engine: null, setSearch: (s) => searches.push(s), history });
}

describe('history: one entry per request', () => {
  it('an identical request replaces its older entry in front instead of adding a duplicate', () => {
    const store = storeWith();
    const first = image();
    const other = image({ seed: 2 });
    store.getState().addToHistory(first);
    store.getState().addToHistory(other);
    for (let i = 0; i < 30; i++) store.getState().addToHistory(image());
    const { history } = store.getState();
    expect(history).toHaveLength(2);
    expect(history[0]?.seed).toBe(1);
    expect(history[1]?.key).toBe(other.key);
  });

  it('bundle, prompt, seed, model, steps and noise correction each make a request different', () => {
    const store = storeWith();
    const variants = [
      image(),
      image({ bundle: 'other' }),
      image({ prompt: 'a blue star' }),
      image({ seed: 9 }),
      image({ variant: { model: 'teacher' } }),
      image({ variant: { steps: 3 } }),
      image({ variant: { noiseCorrection: false } }),
    ];
    for (const v of variants) store.getState().addToHistory(v);
    expect(store.getState().history).toHaveLength(variants.length);
  });

  it('keeps the newest HISTORY_LIMIT', () => {
    const store = storeWith();
    for (let i = 0; i < HISTORY_LIMIT + 3; i++) store.getState().addToHistory(image({ seed: i }));
    const { history } = store.getState();
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history[0]?.seed).toBe(HISTORY_LIMIT + 2);
  });
});

describe('history: the address bar names the image shown', () => {
  it('clicking an entry puts that image’s link in the URL', () => {
    const searches: string[] = [];
    const store = storeWith(undefined, searches);
    const old = image({ prompt: 'two green stars', seed: 1234, variant: { steps: 3, noiseCorrection: false } });
    store.getState().addToHistory(old);
    store.getState().addToHistory(image({ seed: 5 }));
    store.getState().showFromHistory(old.key);
    expect(searches).toEqual(['?prompt=two+green+stars&seed=1234&steps=3&model=flash&nc=0&bundle=tiny&made=wasm']);
    expect(store.getState().current?.key).toBe(old.key);
    expect(store.getState().seedText).toBe('1234');
  });

  it('a forced backend stays in the link; `made` records where the image was made', () => {
    const gpu = image({ backend: 'WebGPU' });
    expect(imageSearch(gpu, 'wasm')).toBe('?prompt=a+red+circle&seed=1&steps=2&model=flash&nc=1&bundle=tiny&backend=wasm&made=webgpu');
    expect(parseUrlState(imageSearch(gpu, 'auto'))).toMatchObject({ made: 'webgpu' });
    expect(parseUrlState('?made=cuda')).toEqual({});
  });
});

describe('history: kept across visits', () => {
  it('a new page loads what the last one kept, newest first, behind what it made itself', async () => {
    const kept = createMemoryHistoryStore();
    const first = storeWith(kept);
    const a = image({ seed: 1 });
    const b = image({ seed: 2 });
    first.getState().addToHistory(a);
    first.getState().addToHistory(b);
    first.getState().addToHistory(image({ seed: 1 })); // replaces a
    await settle();
    expect([...kept.records.keys()]).not.toContain(a.key);

    const second = storeWith(kept);
    const made = image({ seed: 3 });
    second.getState().addToHistory(made);
    await second.getState().loadHistory();
    expect(second.getState().history.map((h) => h.seed)).toEqual([3, 1, 2]);
    expect(second.getState().history[2]?.output.image.data).toEqual(b.output.image.data);
  });

  it('the cap applies to the stored copy too, and Clear clears it', async () => {
    const kept = createMemoryHistoryStore();
    const store = storeWith(kept);
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) store.getState().addToHistory(image({ seed: i }));
    await settle();
    expect(kept.records.size).toBe(HISTORY_LIMIT);
    store.getState().clearHistory();
    await settle();
    expect(kept.records.size).toBe(0);
    const next = storeWith(kept);
    await next.getState().loadHistory();
    expect(next.getState().history).toEqual([]);
  });

  it('a Clear while the kept history is loading is not undone by the load', async () => {
    const kept = createMemoryHistoryStore();
    await kept.put(image());
    const store = storeWith(kept);
    const loading = store.getState().loadHistory();
    store.getState().clearHistory();
    await loading;
    expect(store.getState().history).toEqual([]);
  });

  it('records of another layout are skipped, not shown', () => {
    const good = image();
    expect(sortStored([{ v: 1, savedAt: 2, image: good }, { v: 1, savedAt: 3, image: { ...good, output: null } }, { v: 2, savedAt: 4, image: good }, 'junk'])).toEqual([good]);
  });

  it('storage that fails (quota, private mode, no IndexedDB): history stays in memory, said once', async () => {
    let calls = 0;
    const refusing: HistoryStore = {
      load: async () => {
        calls += 1;
        throw new DOMException('The user denied permission to access the database.', 'InvalidStateError');
      },
      put: async () => {
        calls += 1;
        throw new DOMException('quota', 'QuotaExceededError');
      },
      remove: async () => undefined,
      clear: async () => undefined,
    };
    const store = storeWith(refusing);
    store.getState().addToHistory(image({ seed: 1 }));
    await settle();
    expect(store.getState().historyNotice).toBe(HISTORY_NOT_KEPT);
    store.getState().addToHistory(image({ seed: 2 }));
    await store.getState().loadHistory();
    expect(calls).toBe(1);
    expect(store.getState().history.map((h) => h.seed)).toEqual([2, 1]);
  });
});

describe('history: a failed write stops the writes, not the deletes', () => {
  /** IndexedDB with the images of an earlier visit, whose puts fail from now on (a full quota) */
  async function fullStore() {
    const idb = createMemoryHistoryStore();
    for (let i = 0; i < HISTORY_LIMIT; i++) await idb.put(image({ seed: 100 + i }));
    const calls: string[] = [];
    const full: HistoryStore = {
      load: idb.load,
      put: async () => {
        calls.push('put');
        throw new DOMException('quota', 'QuotaExceededError');
      },
      remove: async (keys) => {
        calls.push('remove');
        await idb.remove(keys);
      },
      clear: async () => {
        calls.push('clear');
        await idb.clear();
      },
    };
    const store = storeWith(full);
    await store.getState().loadHistory();
    return { idb, calls, store };
  }

  it('Clear after a failed write still empties IndexedDB, so the cleared images do not come back', async () => {
    const { idb, calls, store } = await fullStore();
    store.getState().addToHistory(image({ seed: 1 }));
    await settle();
    expect(store.getState().historyNotice).toBe(HISTORY_NOT_KEPT);
    store.getState().addToHistory(image({ seed: 2 }));
    store.getState().clearHistory();
    await settle();
    expect(calls.filter((c) => c === 'put')).toHaveLength(1);
    expect(idb.records.size).toBe(0);
  });

  it('images trimmed after a failed write are still dropped from IndexedDB', async () => {
    const { idb, store } = await fullStore();
    store.getState().addToHistory(image({ seed: 0 }));
    await settle();
    expect(store.getState().historyNotice).toBe(HISTORY_NOT_KEPT);
    for (let i = 1; i < 5; i++) store.getState().addToHistory(image({ seed: i }));
    await settle();
    const kept = new Set(store.getState().history.map((h) => h.key));
    expect(kept.size).toBe(HISTORY_LIMIT);
    expect([...idb.records.keys()].every((k) => kept.has(k))).toBe(true);
    expect(idb.records.size).toBe(HISTORY_LIMIT - 5);
  });
});

describe('backend note for a shared link', () => {
  it('the label an image keeps names its backend, and a link reads it back', () => {
    expect([backendLabel('webgpu'), backendLabel('wasm'), backendLabel(undefined)]).toEqual(['WebGPU', 'WASM', 'WASM']);
    expect([madeOn(backendLabel('webgpu')), madeOn(backendLabel('wasm'))]).toEqual(['webgpu', 'wasm']);
  });

  const link = parseUrlState('?prompt=a+red+circle&seed=1&steps=2&model=flash&nc=1&bundle=tiny&made=webgpu');

  it('names both backends when the link’s image was made on another one', () => {
    expect(backendNote(link, image())).toBe("This link's image was made with WebGPU; this one was made with WASM, so pixels may differ slightly.");
    expect(backendNote(link, image({ backend: 'WebGPU' }))).toBeNull();
  });

  it('says nothing for another image, or a link that does not say where its image was made', () => {
    expect(backendNote(link, image({ seed: 2 }))).toBeNull();
    expect(backendNote(link, image({ variant: { steps: 3 } }))).toBeNull();
    expect(backendNote(parseUrlState('?prompt=a+red+circle&seed=1'), image())).toBeNull();
    expect(backendNote(null, image())).toBeNull();
    expect(backendNote(link, null)).toBeNull();
  });

  it('the store keeps the opened link while the address bar moves on', () => {
    const store = storeWith();
    store.getState().setOpenedLink(link);
    store.getState().addToHistory(image());
    const shown = store.getState().history[0];
    if (!shown) throw new Error('no image');
    store.getState().showFromHistory(shown.key);
    expect(backendNote(store.getState().openedLink, store.getState().current)).toContain('made with WebGPU');
  });
});
