/**
 * The three graphs as functions: the text encoder (token ids → hidden states, through the embedding cache), the
 * UNet as an ε-model with classifier-free guidance, and the VAE decoder (latents → RGBA). The UNet and the decoder
 * take several latents at once (the seed grid). Each meters its session.run calls into the bucket the caller hands it.
 */

import type { BundleSpec } from './bundle';
import type { EpsModel } from './ddim';
import { embeddingCache, type EmbeddingCache } from './embeddingCache';
import { sampleToRgba, type RgbaImage } from './image';
import { meteredRun, type RunMeter } from './profile';
import type { ModelSession } from './runtime';
import { asFloats, fixedDim, floatTensor, intTensor, meta, outputName, timestepTensor } from './tensors';
import type { Tokenized } from './tokenizer';

/** Hidden states the UNet is conditioned on: one row per prompt, with CFG's empty prompt first. */
export interface Embeddings {
  data: Float32Array;
  rows: 1 | 2;
  /** the prompt's row came from the embedding cache: the text encoder did not run for it */
  cached: boolean;
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

/** The prompt's hidden states (from `cache` when this encoder has encoded its ids before), preceded by the empty prompt's when `uncond` is given (CFG). */
export async function encodePrompt(
  session: ModelSession,
  tokens: PromptTokens,
  contextLength: number,
  meter: RunMeter,
  cache: EmbeddingCache = embeddingCache,
): Promise<Embeddings> {
  const hit = cache.get(session, tokens.cond.ids);
  const cond = hit ?? (await encodeIds(session, tokens.cond.ids, contextLength, meter));
  if (!hit) cache.set(session, tokens.cond.ids, cond);
  const cached = hit !== undefined;
  if (!tokens.uncond) return { data: cond, rows: 1, cached };
  const uncond = await encodeUncond(session, tokens.uncond.ids, contextLength, meter);
  const both = new Float32Array(uncond.length + cond.length);
  both.set(uncond);
  both.set(cond, uncond.length);
  return { data: both, rows: 2, cached };
}

function repeat(x: Float32Array, times: number): Float32Array {
  const out = new Float32Array(x.length * times);
  for (let i = 0; i < times; i++) out.set(x, i * x.length);
  return out;
}

/** Whether a graph input takes several images in one run: its batch axis is symbolic, not fixed (at 1). */
export function takesBatch(session: ModelSession, input: string): boolean {
  return fixedDim(meta(session, input), 0) === null;
}

/**
 * ε̂(x, t) from the UNet `session` for `images` latents stacked in x; with two embedding rows, classifier-free
 * guidance ε̂_u + w·(ε̂_c − ε̂_u). Everything goes in one batch (uncond rows first) unless the graph fixes its
 * batch at 1; then one run per latent and row.
 */
export function guidedEps(
  session: ModelSession,
  spec: Pick<BundleSpec, 'latentShape' | 'contextLength'>,
  embeddings: Pick<Embeddings, 'data' | 'rows'>,
  guidance: number,
  meter: RunMeter,
  images = 1,
): EpsModel {
  const sample = meta(session, 'sample');
  const tMeta = meta(session, 'timestep');
  const ehs = meta(session, 'encoder_hidden_states');
  const out = outputName(session, 'out_sample');
  const [c, h, w] = spec.latentShape;
  const { data, rows } = embeddings;
  const perRow = data.length / rows;
  const hidden = perRow / spec.contextLength;
  // per batch row: the uncond rows of every image, then the cond rows
  const emb = rows === 1 ? repeat(data, images) : concat([repeat(data.subarray(0, perRow), images), repeat(data.subarray(perRow), images)]);
  const batch = rows * images;
  const one = fixedDim(sample, 0) === 1;
  const run = async (x: Float32Array, t: number, b: number, e: Float32Array): Promise<Float32Array> => {
    const res = await meteredRun(
      session,
      {
        [sample.name]: floatTensor(sample, session.file, x, [b, c, h, w]),
        [tMeta.name]: timestepTensor(tMeta, session.file, t, b),
        [ehs.name]: floatTensor(ehs, session.file, e, [b, spec.contextLength, hidden]),
      },
      meter,
    );
    return asFloats(res[out], session.file, out);
  };
  return async (x, t) => {
    const xs = repeat(x, rows);
    let eps: Float32Array;
    if (one && batch > 1) {
      const size = x.length / images;
      const parts: Float32Array[] = [];
      for (let i = 0; i < batch; i++) parts.push(await run(xs.subarray(i * size, (i + 1) * size), t, 1, emb.subarray(i * perRow, (i + 1) * perRow)));
      eps = concat(parts);
    } else {
      eps = await run(xs, t, batch, emb);
    }
    if (rows === 1) return eps;
    const n = x.length;
    const guided = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = eps[i] as number;
      guided[i] = u + guidance * ((eps[n + i] as number) - u);
    }
    return guided;
  };
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The images of `images` latents stacked in `x0`, in one decoder run, at the size the decoder reports (the spec's when it reports none). */
export async function decodeLatents(
  session: ModelSession,
  spec: Pick<BundleSpec, 'latentShape' | 'vaeScalingFactor' | 'imageSize'>,
  x0: Float32Array,
  meter: RunMeter,
  images = 1,
): Promise<RgbaImage[]> {
  const [c, h, w] = spec.latentShape;
  const m = meta(session, 'latent_sample');
  const scaled = x0.map((v) => v / spec.vaeScalingFactor);
  const out = outputName(session, 'sample');
  const res = await meteredRun(session, { [m.name]: floatTensor(m, session.file, scaled, [images, c, h, w]) }, meter);
  const value = res[out];
  const [H, W] = value?.dims.length === 4 ? [value.dims[2] as number, value.dims[3] as number] : spec.imageSize;
  const all = asFloats(value, session.file, out);
  const plane = 3 * H * W;
  return Array.from({ length: images }, (_, i) => sampleToRgba(all.subarray(i * plane, (i + 1) * plane), H, W));
}
