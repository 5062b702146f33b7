/**
 * The three graphs as functions: the text encoder (token ids → hidden states), the UNet as an ε-model with
 * classifier-free guidance, and the VAE decoder (latents → RGBA). Each meters its session.run calls into the
 * bucket the caller hands it.
 */

import type { BundleSpec } from './bundle';
import type { EpsModel } from './ddim';
import { sampleToRgba, type RgbaImage } from './image';
import { meteredRun, type RunMeter } from './profile';
import type { ModelSession } from './runtime';
import { asFloats, fixedDim, floatTensor, intTensor, meta, outputName, timestepTensor } from './tensors';
import type { Tokenized } from './tokenizer';

/** Hidden states the UNet is conditioned on: one row per prompt, with CFG's empty prompt first. */
export interface Embeddings {
  data: Float32Array;
  rows: 1 | 2;
}

/** The prompt's ids, and the empty prompt's when the recipe uses CFG. */
export interface PromptTokens {
  cond: Tokenized;
  uncond: Tokenized | null;
}

/** One prompt's hidden states, batch 1. */
async function encodeIds(session: ModelSession, ids: number[], contextLength: number, meter: RunMeter): Promise<Float32Array> {
  const m = meta(session, 'input_ids');
  const out = outputName(session, 'last_hidden_state');
  const res = await meteredRun(session, { [m.name]: intTensor(m, session.file, ids, [1, contextLength]) }, meter);
  return asFloats(res[out], session.file, out);
}

/**
 * The empty prompt's hidden states are the same for every generation, so each text encoder session encodes
 * them once. Keyed by session, so a session recreated on another backend encodes them afresh.
 */
const uncondBySession = new WeakMap<ModelSession, Promise<Float32Array>>();

function encodeUncond(session: ModelSession, ids: number[], contextLength: number, meter: RunMeter): Promise<Float32Array> {
  const cached = uncondBySession.get(session);
  if (cached) return cached;
  const encoding = encodeIds(session, ids, contextLength, meter);
  uncondBySession.set(session, encoding);
  encoding.catch(() => {
    if (uncondBySession.get(session) === encoding) uncondBySession.delete(session);
  });
  return encoding;
}

/** The prompt's hidden states, preceded by the empty prompt's when `uncond` is given (CFG). */
export async function encodePrompt(
  session: ModelSession,
  tokens: PromptTokens,
  contextLength: number,
  meter: RunMeter,
): Promise<Embeddings> {
  const cond = await encodeIds(session, tokens.cond.ids, contextLength, meter);
  if (!tokens.uncond) return { data: cond, rows: 1 };
  const uncond = await encodeUncond(session, tokens.uncond.ids, contextLength, meter);
  const both = new Float32Array(uncond.length + cond.length);
  both.set(uncond);
  both.set(cond, uncond.length);
  return { data: both, rows: 2 };
}

function repeat(x: Float32Array, times: number): Float32Array {
  const out = new Float32Array(x.length * times);
  for (let i = 0; i < times; i++) out.set(x, i * x.length);
  return out;
}

/**
 * ε̂(x, t) from the UNet `session`; with two embedding rows, classifier-free guidance ε̂_u + w·(ε̂_c − ε̂_u).
 * Both rows go in one batch unless the graph fixes its batch at 1; then one run per row.
 */
export function guidedEps(
  session: ModelSession,
  spec: Pick<BundleSpec, 'latentShape' | 'contextLength'>,
  embeddings: Embeddings,
  guidance: number,
  meter: RunMeter,
): EpsModel {
  const sample = meta(session, 'sample');
  const tMeta = meta(session, 'timestep');
  const ehs = meta(session, 'encoder_hidden_states');
  const out = outputName(session, 'out_sample');
  const [c, h, w] = spec.latentShape;
  const { data, rows } = embeddings;
  const perRow = data.length / rows;
  const hidden = perRow / spec.contextLength;
  const oneAtATime = fixedDim(sample, 0) === 1 && rows > 1;
  const run = async (x: Float32Array, t: number, b: number, emb: Float32Array): Promise<Float32Array> => {
    const res = await meteredRun(
      session,
      {
        [sample.name]: floatTensor(sample, session.file, repeat(x, b), [b, c, h, w]),
        [tMeta.name]: timestepTensor(tMeta, session.file, t, b),
        [ehs.name]: floatTensor(ehs, session.file, emb, [b, spec.contextLength, hidden]),
      },
      meter,
    );
    return asFloats(res[out], session.file, out);
  };
  return async (x, t) => {
    let eps: Float32Array;
    if (rows === 1) return run(x, t, 1, data);
    if (oneAtATime) {
      const eu = await run(x, t, 1, data.subarray(0, perRow));
      const ec = await run(x, t, 1, data.subarray(perRow));
      eps = new Float32Array(eu.length + ec.length);
      eps.set(eu);
      eps.set(ec, eu.length);
    } else {
      eps = await run(x, t, 2, data);
    }
    const n = x.length;
    const guided = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = eps[i] as number;
      guided[i] = u + guidance * ((eps[n + i] as number) - u);
    }
    return guided;
  };
}

/** The image of latents `x0`, at the size the decoder reports (the spec's when it reports none). */
export async function decodeLatents(
  session: ModelSession,
  spec: Pick<BundleSpec, 'latentShape' | 'vaeScalingFactor' | 'imageSize'>,
  x0: Float32Array,
  meter: RunMeter,
): Promise<RgbaImage> {
  const [c, h, w] = spec.latentShape;
  const m = meta(session, 'latent_sample');
  const scaled = x0.map((v) => v / spec.vaeScalingFactor);
  const out = outputName(session, 'sample');
  const res = await meteredRun(session, { [m.name]: floatTensor(m, session.file, scaled, [1, c, h, w]) }, meter);
  const value = res[out];
  const [H, W] = value?.dims.length === 4 ? [value.dims[2] as number, value.dims[3] as number] : spec.imageSize;
  return sampleToRgba(asFloats(value, session.file, out), H, W);
}
