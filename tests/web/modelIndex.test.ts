import { describe, expect, it } from 'vitest';
import { fetchModelIndex, parseModelIndex } from '../../src/pipeline/modelIndex';
import { createAppStore } from '../../src/state/store';

const respond = (status: number, body: string): typeof fetch => async () => new Response(body, { status });

describe('parseModelIndex', () => {
  it('accepts a list of ids, of objects, or {bundles}', () => {
    const expected = [{ id: 'flash', title: 'flash', url: '/models/flash/' }];
    expect(parseModelIndex(['flash'])).toEqual(expected);
    expect(parseModelIndex({ bundles: [{ id: 'flash' }] })).toEqual(expected);
    expect(parseModelIndex([{ id: 'a', title: 'Shapes' }])[0]?.title).toBe('Shapes');
  });

  it('rejects unsafe or missing ids', () => {
    expect(() => parseModelIndex(['../etc'])).toThrow(/bad id/);
    expect(() => parseModelIndex([{ title: 'x' }])).toThrow(/bad id/);
    expect(() => parseModelIndex({ nope: 1 })).toThrow(/list of bundles/);
  });
});

describe('fetchModelIndex', () => {
  it('reports a clear message when index.json is absent or empty', async () => {
    const none = { kind: 'none', message: 'No model bundle found under /models/' };
    expect(await fetchModelIndex(respond(404, 'Not found'))).toEqual(none);
    expect(await fetchModelIndex(respond(200, '[]'))).toEqual(none);
  });

  it('reports errors without throwing', async () => {
    expect(await fetchModelIndex(respond(200, '<!doctype html>'))).toMatchObject({ kind: 'error' });
    expect(await fetchModelIndex(respond(500, ''))).toMatchObject({ kind: 'error', message: /HTTP 500/ });
    const offline: typeof fetch = () => Promise.reject(new TypeError('offline'));
    expect(await fetchModelIndex(offline)).toMatchObject({ kind: 'error', message: /offline/ });
  });
});

describe('app store', () => {
  it('selects the first bundle found and keeps Generate blocked until a model is ready', async () => {
    const store = createAppStore();
    await store.getState().loadModelIndex(respond(200, '{"bundles": ["flash", "teacher"]}'));
    expect(store.getState().bundle?.id).toBe('flash');
    store.getState().requestGenerate();
    expect(store.getState().lastRequest).toBeNull();
    store.setState({ modelReady: true });
    store.getState().setSteps(3);
    store.getState().setSteps(7); // ignored
    store.getState().setSeedText('-5.5');
    store.getState().requestGenerate();
    expect(store.getState().lastRequest).toBeNull();
    expect(store.getState().error).toEqual({ kind: 'input', message: 'Seed "-5.5" is not a whole number from 0 to 4294967295.' });
    store.getState().setSeedText(' 12 ');
    store.getState().requestGenerate();
    expect(store.getState().lastRequest).toEqual({
      prompt: 'a red circle to the left of a blue square',
      seed: 12,
      variant: { model: 'flash', steps: 3, noiseCorrection: true },
    });
  });
});
