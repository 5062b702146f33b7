/**
 * The graphs as functions: the text encoder(s) (token ids → hidden states, through the embedding cache; SDXL's two
 * side by side with the second one's pooled embedding), the UNet as a model of its prediction with classifier-free
 * guidance, and the VAE decoder (latents → RGBA). The UNet and the decoder take several latents at once (the seed
 * grid). Each meters its session.run calls into the bucket the caller hands it.
 */

import type { BundleSpec } from './bundle';
import type { EpsModel } from './ddim';
import { embeddingCache, type EmbeddingCache } from './embeddingCache';
import { sampleToRgba, type RgbaImage } from './image';
import { meteredRun, type RunMeter } from './profile';
import type { ModelSession, TensorValue } from './runtime';
import { asFloats, fixedDim, floatTensor, intTensor, meta, outputName, penultimateHiddenStates, timestepTensor } from './tensors';
import type { Tokenized } from './tokenizer';

/** Hidden states the UNet is conditioned on: one row per prompt, with CFG's empty prompt first. */
export interface Embeddings {
  data: Float32Array;
  rows: 1 | 2;
  /** the prompt's row came from the embedding cache: the text encoder did not run for it */
  cached: boolean;
  /** SDXL: the pooled `text_embeds` of each row, in the same order */
  pooled?: Float32Array;
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

/** SDXL's two text encoders and what the second one's tokenizer made of the prompt. */
export interface SdxlEncoders {
  first: ModelSession;
  second: ModelSession;
  tokens2: PromptTokens;
  /** force_zeros_for_empty_prompt: CFG's empty prompt is zeros, not its encoding */
  zeroUncond: boolean;
}

/** One prompt through both encoders, batch 1: their penultimate hidden states side by side per token, and the pooled embedding. */
async function encodeIdsXl(enc: SdxlEncoders, ids1: number[], ids2: number[], contextLength: number, meter: RunMeter): Promise<{ hidden: Float32Array; pooled: Float32Array }> {
  const layer = async (session: ModelSession, ids: number[]) => {
    const m = meta(session, 'input_ids');
    const name = penultimateHiddenStates(session);
    if (name === null) throw new Error(`internal: ${session.file} has no hidden_states outputs`);
    const res = await meteredRun(session, { [m.name]: intTensor(m, session.file, ids, [1, contextLength]) }, meter);
    return { hidden: asFloats(res[name], session.file, name), res };
  };
  const a = await layer(enc.first, ids1);
  const b = await layer(enc.second, ids2);
  const pooled = asFloats(b.res.text_embeds, enc.second.file, 'text_embeds');
  const [d1, d2] = [a.hidden.length / contextLength, b.hidden.length / contextLength];
  const hidden = new Float32Array(contextLength * (d1 + d2));
  for (let k = 0; k < contextLength; k++) {
    hidden.set(a.hidden.subarray(k * d1, (k + 1) * d1), k * (d1 + d2));
    hidden.set(b.hidden.subarray(k * d2, (k + 1) * d2), k * (d1 + d2) + d1);
  }
  return { hidden, pooled: Float32Array.from(pooled) };
}

const uncondXlBySession = new WeakMap<ModelSession, Promise<{ hidden: Float32Array; pooled: Float32Array }>>();

/**
 * SDXL conditioning as diffusers' StableDiffusionXLPipeline.encode_prompt makes it, the empty prompt's first when
 * `tokens.uncond` is given (CFG). Cached by both tokenizers' ids: the hidden states under the first encoder, the
 * pooled embedding under the second.
 */
export async function encodePromptXl(enc: SdxlEncoders, tokens: PromptTokens, contextLength: number, meter: RunMeter, cache: EmbeddingCache = embeddingCache): Promise<Embeddings> {
  const key = [...tokens.cond.ids, -1, ...enc.tokens2.cond.ids];
  const hitHidden = cache.get(enc.first, key);
  const hitPooled = cache.get(enc.second, key);
  const cached = hitHidden !== undefined && hitPooled !== undefined;
  const cond = cached ? { hidden: hitHidden, pooled: hitPooled } : await encodeIdsXl(enc, tokens.cond.ids, enc.tokens2.cond.ids, contextLength, meter);
  if (!cached) {
    cache.set(enc.first, key, cond.hidden);
    cache.set(enc.second, key, cond.pooled);
  }
  const uncondIds = tokens.uncond?.ids;
  const uncondIds2 = enc.tokens2.uncond?.ids;
  if (!uncondIds || !uncondIds2) return { data: cond.hidden, rows: 1, cached, pooled: cond.pooled };
  let uncond: { hidden: Float32Array; pooled: Float32Array };
  if (enc.zeroUncond) {
    uncond = { hidden: new Float32Array(cond.hidden.length), pooled: new Float32Array(cond.pooled.length) };
  } else {
    const known = uncondXlBySession.get(enc.second);
    const encoding = known ?? encodeIdsXl(enc, uncondIds, uncondIds2, contextLength, meter);
    if (!known) {
      uncondXlBySession.set(enc.second, encoding);
      encoding.catch(() => uncondXlBySession.delete(enc.second));
    }
    uncond = await encoding;
  }
  return { data: concat([uncond.hidden, cond.hidden]), rows: 2, cached, pooled: concat([uncond.pooled, cond.pooled]) };
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
  spec: Pick<BundleSpec, 'latentShape' | 'contextLength'> & { imageSize?: [number, number] },
  embeddings: Pick<Embeddings, 'data' | 'rows' | 'pooled'>,
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
  const byRow = (all: Float32Array): Float32Array => {
    const n = all.length / rows;
    return rows === 1 ? repeat(all, images) : concat([repeat(all.subarray(0, n), images), repeat(all.subarray(n), images)]);
  };
  const emb = byRow(data);
  const added = sdxlInputs(session, spec, embeddings, byRow);
  const batch = rows * images;
  const one = fixedDim(sample, 0) === 1;
  const run = async (x: Float32Array, t: number, b: number, row: number): Promise<Float32Array> => {
    const feeds = {
      [sample.name]: floatTensor(sample, session.file, x, [b, c, h, w]),
      [tMeta.name]: timestepTensor(tMeta, session.file, t, b),
      [ehs.name]: floatTensor(ehs, session.file, emb.subarray(row * perRow, (row + b) * perRow), [b, spec.contextLength, hidden]),
      ...(added ? added(row, b) : {}),
    };
    const res = await meteredRun(session, feeds, meter);
    return asFloats(res[out], session.file, out);
  };
  return async (x, t) => {
    const xs = repeat(x, rows);
    let eps: Float32Array;
    if (one && batch > 1) {
      const size = x.length / images;
      const parts: Float32Array[] = [];
      for (let i = 0; i < batch; i++) parts.push(await run(xs.subarray(i * size, (i + 1) * size), t, 1, i));
      eps = concat(parts);
    } else {
      eps = await run(xs, t, batch, 0);
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

/**
 * SDXL's added conditioning for batch rows [row, row + b): the pooled `text_embeds` of each row and `time_ids`
 * (original size, crop top-left, target size: [H, W, 0, 0, H, W], as diffusers' _get_add_time_ids makes them for
 * an uncropped image of the output size). Null for a UNet without them.
 */
function sdxlInputs(
  session: ModelSession,
  spec: { imageSize?: [number, number] },
  embeddings: Pick<Embeddings, 'rows' | 'pooled'>,
  byRow: (all: Float32Array) => Float32Array,
): ((row: number, b: number) => Record<string, TensorValue>) | null {
  const te = session.inputs.find((m) => m.name === 'text_embeds');
  const ti = session.inputs.find((m) => m.name === 'time_ids');
  if (!te || !ti) return null;
  if (!embeddings.pooled || !spec.imageSize) throw new Error(`internal: ${session.file} takes text_embeds and time_ids, and no pooled embedding was made`);
  const [H, W] = spec.imageSize;
  const pooled = byRow(embeddings.pooled);
  const dim = embeddings.pooled.length / embeddings.rows;
  const ids = [H, W, 0, 0, H, W];
  return (row, b) => ({
    [te.name]: floatTensor(te, session.file, pooled.subarray(row * dim, (row + b) * dim), [b, dim]),
    [ti.name]: floatTensor(ti, session.file, Float32Array.from({ length: b * ids.length }, (_, i) => ids[i % ids.length] as number), [b, ids.length]),
  });
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
