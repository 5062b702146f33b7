import { describe, expect, it } from 'vitest';
import { EmbeddingCache } from '../../src/pipeline/embeddingCache';
import { encodePrompt } from '../../src/pipeline/modelCalls';
import type { ModelSession, TensorValue } from '../../src/pipeline/runtime';

const hidden = (v: number): Float32Array => Float32Array.from([v, v]);
const noMeter = (): void => undefined;

describe('EmbeddingCache', () => {
  it('misses, then hits the same ids of the same encoder; another encoder (another bundle, or the same recreated) misses', () => {
    const cache = new EmbeddingCache(4);
    const encoder = {};
    expect(cache.get(encoder, [1, 2, 3])).toBeUndefined();
    cache.set(encoder, [1, 2, 3], hidden(1));
    expect(cache.get(encoder, [1, 2, 3])).toEqual(hidden(1));
    expect(cache.get(encoder, [1, 2])).toBeUndefined();
    expect(cache.get(encoder, [12, 3])).toBeUndefined();
    expect(cache.get({}, [1, 2, 3])).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its capacity; a hit counts as a use', () => {
    const cache = new EmbeddingCache(2);
    const encoder = {};
    cache.set(encoder, [1], hidden(1));
    cache.set(encoder, [2], hidden(2));
    expect(cache.get(encoder, [1])).toEqual(hidden(1));
    cache.set(encoder, [3], hidden(3));
    expect(cache.size).toBe(2);
    expect(cache.get(encoder, [2])).toBeUndefined();
    expect(cache.get(encoder, [1])).toEqual(hidden(1));
    expect(cache.get(encoder, [3])).toEqual(hidden(3));
    // setting a key again refreshes it rather than adding one
    cache.set(encoder, [1], hidden(4));
    cache.set(encoder, [5], hidden(5));
    expect([cache.get(encoder, [1]), cache.get(encoder, [3])]).toEqual([hidden(4), undefined]);
    expect(() => new EmbeddingCache(0)).toThrow(/capacity/);
  });

  it('encodePrompt runs the text encoder only on a miss, and says which it was', async () => {
    let runs = 0;
    const session: ModelSession = {
      file: 'text_encoder/model.onnx',
      inputs: [{ name: 'input_ids', type: 'int64', shape: ['batch', 2] }],
      outputs: [{ name: 'last_hidden_state', type: 'float32', shape: null }],
      run: async (feeds) => {
        runs++;
        const ids = (feeds.input_ids as TensorValue & { data: BigInt64Array }).data;
        return { last_hidden_state: { type: 'float32', data: Float32Array.from(ids, Number), dims: [1, 2] } };
      },
      release: async () => undefined,
    };
    const cache = new EmbeddingCache(1);
    const tokens = (ids: number[]) => ({ cond: { ids, tokenCount: 2, truncated: false }, uncond: null });
    expect(await encodePrompt(session, tokens([5, 6]), 2, noMeter, cache)).toMatchObject({ cached: false });
    expect(await encodePrompt(session, tokens([5, 6]), 2, noMeter, cache)).toEqual({ data: Float32Array.from([5, 6]), rows: 1, cached: true });
    expect(await encodePrompt(session, tokens([7, 8]), 2, noMeter, cache)).toMatchObject({ cached: false });
    expect(await encodePrompt(session, tokens([5, 6]), 2, noMeter, cache)).toMatchObject({ cached: false });
    expect(runs).toBe(3);
  });
});
