import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BundleSummary, GenerateOutput, GenerateParams } from '../../src/pipeline/pipeline';
import { chosenDecoder, tinyDecoderAvailable, withDecoder } from '../../src/state/decoderSlice';
import { LIVE_DEBOUNCE_MS, liveVariant } from '../../src/state/liveSlice';
import { createAppStore } from '../../src/state/store';
import type { EngineCallbacks } from '../../src/worker/host';
import { grammarBundle, indexFetch, instantEngine, SlowEngine, storeOverHost } from './helpers/fakeApp';

// The Decoder setting and live mode's decoder, in the store: tiny-bundle as the worker summarises it, with and
// without a tiny VAE decoder.

const withTiny: BundleSummary = { ...grammarBundle, tinyDecoder: true };
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function readyStore(bundle = withTiny) {
  const engine = instantEngine(bundle);
  const store = createAppStore({ engine, setSearch: () => undefined });
  await store.getState().loadModelIndex(indexFetch);
  await vi.advanceTimersByTimeAsync(0);
  return { store, engine };
}

describe('decoder choice in the store', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('offered where the bundle has a tiny decoder; Generate and the seed grid use the full one until the user picks the tiny one', async () => {
    vi.useFakeTimers();
    const { store, engine } = await readyStore();
    store.getState().setLive(false);
    expect(tinyDecoderAvailable(store.getState())).toBe(true);
    expect(chosenDecoder(store.getState())).toBe('full');
    store.getState().requestGenerate();
    store.getState().setDecoder('tiny');
    store.getState().requestGenerate();
    store.getState().startGrid();
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.calls.map((c) => c.variants[0]?.decoder)).toEqual([undefined, 'tiny', 'tiny']);
    expect(store.getState().lastRequest?.variant).toEqual({ model: 'flash', steps: 2, noiseCorrection: true, decoder: 'tiny' });
    // the step comparison keeps the full decoder
    store.getState().startCompare();
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.calls.at(-1)?.variants.map((v) => v.decoder)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('live mode previews with the tiny decoder whatever the setting; without one it uses the full one', async () => {
    vi.useFakeTimers();
    const { store, engine } = await readyStore();
    store.getState().setPrompt('two green stars');
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    expect(engine.calls.map((c) => c.variants)).toEqual([[{ model: 'flash', steps: 1, noiseCorrection: true, decoder: 'tiny' }]]);
    expect(liveVariant(grammarBundle, false)).toEqual({ model: 'flash', steps: 1, noiseCorrection: false });

    const none = await readyStore(grammarBundle);
    expect(tinyDecoderAvailable(none.store.getState())).toBe(false);
    // a choice made for another bundle asks for nothing this one lacks
    none.store.getState().setDecoder('tiny');
    expect(chosenDecoder(none.store.getState())).toBe('full');
    none.store.getState().setPrompt('two green stars');
    await vi.advanceTimersByTimeAsync(LIVE_DEBOUNCE_MS);
    none.store.getState().requestGenerate();
    await vi.advanceTimersByTimeAsync(0);
    expect(none.engine.calls.map((c) => c.variants[0]?.decoder)).toEqual([undefined, undefined]);
  });

  it('withDecoder leaves the full decoder unsaid (the protocol default)', () => {
    const v = { model: 'flash' as const, steps: 1 as const, noiseCorrection: true };
    expect(withDecoder(v, 'tiny')).toEqual({ ...v, decoder: 'tiny' });
    expect(withDecoder({ ...v, decoder: 'tiny' }, 'full')).toEqual(v);
  });
});

/** Records the decoder of every generation the worker host hands it. */
class DecoderEngine extends SlowEngine {
  decoders: (string | undefined)[] = [];
  override generate(p: GenerateParams, cb: EngineCallbacks): Promise<GenerateOutput> {
    this.decoders.push(p.decoder);
    return super.generate(p, cb);
  }
}

describe('the decoder over the worker protocol', () => {
  it('the host hands the variant\'s decoder to the engine: live runs and chosen tiny runs ask for the tiny one', async () => {
    const engine = new DecoderEngine(withTiny, 1);
    const { store, requests } = storeOverHost(engine);
    await store.getState().loadModelIndex(indexFetch);
    for (let i = 0; i < 50 && !store.getState().modelReady; i++) await settle();
    store.getState().setPrompt('two green stars');
    for (let i = 0; i < 200 && engine.decoders.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect(requests.filter((r) => r.type === 'generate').map((r) => (r.type === 'generate' ? r.variants[0]?.decoder : null))).toEqual(['tiny']);
    for (let i = 0; i < 200 && store.getState().status === 'running'; i++) await new Promise((r) => setTimeout(r, 5));
    store.getState().requestGenerate();
    store.getState().setDecoder('tiny');
    store.getState().requestGenerate();
    for (let i = 0; i < 200 && engine.decoders.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(engine.decoders).toEqual(['tiny', undefined, 'tiny']);
  });
});
