import { describe, expect, it } from 'vitest';
import { encodePrompt, guidedEps } from '../../src/pipeline/modelCalls';
import type { InputMeta, ModelSession, TensorValue } from '../../src/pipeline/runtime';

const SPEC = { latentShape: [1, 1, 2] as [number, number, number], contextLength: 2 };
const noMeter = (): void => undefined;

/** A session that records the batch of each run and answers with `answer(feeds)`. */
function fakeSession(file: string, inputs: InputMeta[], answer: (feeds: Record<string, TensorValue>) => Float32Array, output: string) {
  const batches: number[] = [];
  const session: ModelSession = {
    file,
    inputs,
    outputs: [{ name: output, type: 'float32', shape: null }],
    run: async (feeds) => {
      const first = Object.values(feeds)[0] as TensorValue;
      batches.push(first.dims[0] as number);
      const data = answer(feeds);
      return { [output]: { type: 'float32', data, dims: [data.length] } };
    },
    release: async () => undefined,
  };
  return { session, batches };
}

/** ε̂ = the conditioning's first hidden value of each row, so uncond and cond rows are told apart. */
function unet(batch: number | string) {
  return fakeSession(
    'unet/model.onnx',
    [
      { name: 'sample', type: 'float32', shape: [batch, 1, 1, 2] },
      { name: 'timestep', type: 'int64', shape: [batch] },
      { name: 'encoder_hidden_states', type: 'float32', shape: [batch, 2, 1] },
    ],
    (feeds) => {
      const ehs = feeds.encoder_hidden_states as TensorValue & { data: Float32Array };
      const rows = ehs.dims[0] as number;
      return Float32Array.from({ length: rows * 2 }, (_, i) => ehs.data[Math.floor(i / 2) * 2] as number);
    },
    'out_sample',
  );
}

describe('guidedEps', () => {
  const embeddings = { data: Float32Array.from([1, 1, 3, 3]), rows: 2 as const };

  it('runs both CFG rows in one batch and returns ε̂_u + w·(ε̂_c − ε̂_u)', async () => {
    const { session, batches } = unet('batch');
    const eps = await guidedEps(session, SPEC, embeddings, 4, noMeter)(new Float32Array(2), 999);
    expect(Array.from(eps)).toEqual([9, 9]);
    expect(batches).toEqual([2]);
  });

  it('runs one row at a time when the graph fixes its batch at 1, with the same result', async () => {
    const { session, batches } = unet(1);
    const eps = await guidedEps(session, SPEC, embeddings, 4, noMeter)(new Float32Array(2), 999);
    expect(Array.from(eps)).toEqual([9, 9]);
    expect(batches).toEqual([1, 1]);
  });
});

describe('encodePrompt', () => {
  const tokens = (ids: number[]) => ({ ids, tokenCount: ids.length, truncated: false });
  const textEncoder = () =>
    fakeSession('text_encoder/model.onnx', [{ name: 'input_ids', type: 'int64', shape: [1, 2] }], (feeds) => {
      const ids = (feeds.input_ids as TensorValue & { data: BigInt64Array }).data;
      return Float32Array.from(ids, Number);
    }, 'last_hidden_state');

  it('puts the empty prompt first and encodes it once per text encoder session; the prompt comes from the cache the second time', async () => {
    const { session, batches } = textEncoder();
    const both = { cond: tokens([5, 6]), uncond: tokens([1, 2]) };
    const first = await encodePrompt(session, both, 2, noMeter);
    expect(first).toEqual({ data: Float32Array.from([1, 2, 5, 6]), rows: 2, cached: false });
    expect(await encodePrompt(session, both, 2, noMeter)).toEqual({ data: Float32Array.from([1, 2, 5, 6]), rows: 2, cached: true });
    expect(batches).toHaveLength(2);
    const other = textEncoder();
    await encodePrompt(other.session, both, 2, noMeter);
    expect(other.batches).toHaveLength(2);
  });

  it('without CFG encodes the prompt alone', async () => {
    const { session } = textEncoder();
    expect(await encodePrompt(session, { cond: tokens([5, 6]), uncond: null }, 2, noMeter)).toEqual({ data: Float32Array.from([5, 6]), rows: 1, cached: false });
  });
});

describe('timestep feeds', () => {
  it("a rank-0 timestep (optimum's exports) gets one scalar for the whole batch; a [batch] one a value per row", async () => {
    for (const [shape, dims] of [
      [[], []],
      [['batch'], [2]],
    ] as const) {
      let seen: TensorValue | undefined;
      const { session } = fakeSession(
        'unet/model.onnx',
        [
          { name: 'sample', type: 'float32', shape: ['batch', 1, 1, 2] },
          { name: 'timestep', type: 'float16', shape: [...shape] },
          { name: 'encoder_hidden_states', type: 'float32', shape: ['batch', 2, 1] },
        ],
        (feeds) => {
          seen = feeds.timestep;
          return new Float32Array(4);
        },
        'out_sample',
      );
      await guidedEps(session, SPEC, { data: Float32Array.from([1, 1, 3, 3]), rows: 2 }, 4, noMeter)(new Float32Array(2), 501);
      expect(seen).toMatchObject({ type: 'float16', dims: [...dims] });
      expect(seen?.data).toHaveLength(dims.length === 0 ? 1 : 2);
    }
  });
});
