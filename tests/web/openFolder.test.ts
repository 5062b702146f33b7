/** Opening a folder under /models/ by name: nested folders, and the guidance typed for its recipes reaching the worker's load. */
import { describe, expect, it } from 'vitest';
import type { OpenOptions } from '../../src/pipeline/sdFolder';
import { parseGuidance } from '../../src/state/modelSlice';
import { createAppStore } from '../../src/state/store';
import { instantEngine, indexFetch } from './helpers/fakeApp';

function recordingEngine() {
  const engine = instantEngine();
  const loads: { url: string; options: OpenOptions | undefined }[] = [];
  const load = engine.load;
  engine.load = (url, backend, warm, h, options) => (loads.push({ url, options }), load(url, backend, warm, h, options));
  return { engine, loads };
}

describe('openFolder', () => {
  it('opens a nested folder with the guidance typed for it; a bundle picked from the list afterwards has none', async () => {
    const { engine, loads } = recordingEngine();
    const store = createAppStore({ engine, setSearch: () => undefined });
    await store.getState().loadModelIndex(indexFetch);
    expect(store.getState().openFolder('optimum/sd15-fp32', ' 4 ')).toEqual({ ok: true });
    expect(store.getState().openFolder('/models/exports/sd-turbo/', '')).toEqual({ ok: true });
    store.getState().selectBundle('tiny-bundle');
    expect(loads.map((l) => [l.url, l.options?.guidanceScale])).toEqual([
      ['/models/tiny-bundle/', undefined],
      ['/models/optimum/sd15-fp32/', 4],
      ['/models/exports/sd-turbo/', null],
      ['/models/tiny-bundle/', undefined],
    ]);
  });

  it('refuses paths outside /models/ and guidance that is not a number from 0 to 30, loading nothing', async () => {
    const { engine, loads } = recordingEngine();
    const store = createAppStore({ engine, setSearch: () => undefined });
    for (const bad of ['../etc', 'a/../b', 'a//b', '.hidden/x']) {
      expect(store.getState().openFolder(bad)).toEqual({ ok: false, message: `"${bad}" is not a folder name under /models/` });
    }
    expect(store.getState().openFolder('sd-turbo', 'lots')).toEqual({ ok: false, message: 'Guidance "lots" is not a number from 0 to 30.' });
    expect(loads).toEqual([]);
    expect(parseGuidance('7.5')).toEqual({ ok: true, value: 7.5 });
    expect(parseGuidance('-1').ok).toBe(false);
    expect(parseGuidance('31').ok).toBe(false);
  });
});
