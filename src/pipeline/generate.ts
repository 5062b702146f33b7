/**
 * Prompt → image on a Loader's sessions: check the request, pick the UNet, recipe and decoder, load what is missing,
 * tokenize, encode, sample, decode; or the same for several seeds at once (the seed grid). The Profiler
 * records where the time went.
 */

import { assertNever, decoderOf, describeRecipe, type BundleSpec, type DecoderChoice, type Recipe, type UnetSpec } from './bundle';
import { asEpsModel, sampleDdim, type EpsModel } from './ddim';
import { sampleDpmSolver } from './dpmSolver';
import { InputError } from './errors';
import type { Loader } from './loader';
import { decodeLatents, encodePrompt, encodePromptXl, guidedEps, takesBatch, type Embeddings, type PromptTokens } from './modelCalls';
import { gaussianNoise, isValidSeed, MAX_SEED } from './noise';
import { Profiler } from './profile';
import { closedVocabularyText } from './promptCheck';
import { tokenizeForModel, type PromptTokenizer } from './tokenizer';
import type { GenerateOutput, GenerateParams, GridOutput, RunOptions } from './types';

export async function generate(loader: Loader, alphasCumprod: Float64Array, params: GenerateParams, opts: RunOptions = {}): Promise<GenerateOutput> {
  const run = await condition(loader, params, opts);
  const [output] = await draw(loader, alphasCumprod, run, [params.seed], opts);
  if (!output) throw new Error('internal: a generation made no image');
  return output;
}

/**
 * One image per seed of one request. In one batch of model calls when the UNet and the VAE decoder take a batch
 * (their batch axis is symbolic); a graph that fixes its batch at 1 gets one generation per seed instead, whose
 * prompt encoding after the first comes from the embedding cache.
 */
export async function generateGrid(loader: Loader, alphasCumprod: Float64Array, params: GenerateParams, seeds: readonly number[], opts: RunOptions = {}): Promise<GridOutput> {
  const [first, ...rest] = seeds;
  if (first === undefined) throw new InputError('A seed grid needs at least one seed.');
  const bad = seeds.find((s) => !isValidSeed(s));
  if (bad !== undefined) throw new InputError(`Seed must be a whole number from 0 to ${MAX_SEED}, not ${bad}.`);
  const run = await condition(loader, { ...params, seed: first }, opts);
  const unet = await loader.session(run.unet.path);
  const vae = await loader.session(run.decoder.path);
  if (takesBatch(unet, 'sample') && takesBatch(vae, 'latent_sample')) return { batched: true, images: await draw(loader, alphasCumprod, run, seeds, opts) };
  const images = await draw(loader, alphasCumprod, run, [first], opts);
  for (const seed of rest) images.push(await generate(loader, alphasCumprod, { ...params, seed }, opts));
  return { batched: false, images };
}

/** What every image of a request shares: its UNet, recipe and decoder, the sessions loaded, the prompt encoded. */
interface Conditioned {
  spec: BundleSpec;
  unet: UnetSpec;
  recipe: Recipe;
  decoder: { path: string; choice: DecoderChoice };
  tokens: PromptTokens;
  embeddings: Embeddings;
  prof: Profiler;
}

async function condition(loader: Loader, params: GenerateParams, opts: RunOptions): Promise<Conditioned> {
  const text = promptText(params, loader.spec);
  const { unet, recipe } = resolveUnet(loader.spec, params);
  const prof = new Profiler(opts.signal);
  await prof.load(() => loader.prepare([unet.id], opts));
  // read after loading: a standard folder's shapes come from its sessions
  const spec = loader.spec;
  const tokenizers = await loader.tokenizers();
  const cfg = recipe.guidanceScale > 1;
  const tokens = await prof.stage('tokenize', 'tokenize', () => tokenizePrompt(tokenizers.first, text, spec.contextLength, cfg));
  const embeddings = await prof.stage('encode', 'encode', async () => {
    const first = await loader.session(spec.textEncoder);
    if (!spec.sdxl) return encodePrompt(first, tokens, spec.contextLength, prof.textEncoder);
    if (!tokenizers.second) throw new Error('internal: the SDXL tokenizer_2 was not loaded');
    const tokens2 = tokenizePrompt(tokenizers.second, text, spec.contextLength, cfg);
    const second = await loader.session(spec.sdxl.textEncoder2);
    return encodePromptXl({ first, second, tokens2, zeroUncond: spec.sdxl.zeroUncond }, tokens, spec.contextLength, prof.textEncoder);
  });
  if (embeddings.cached) prof.embeddingFromCache();
  return { spec, unet, recipe, decoder: decoderOf(spec, params.decoder), tokens, embeddings, prof };
}

/** Samples and decodes one image per seed, all in the same model calls. */
async function draw(loader: Loader, alphasCumprod: Float64Array, run: Conditioned, seeds: readonly number[], opts: RunOptions): Promise<GenerateOutput[]> {
  const { spec, unet, recipe, decoder, tokens, embeddings, prof } = run;
  const [c, h, w] = spec.latentShape;
  const size = c * h * w;
  const xT = new Float32Array(seeds.length * size);
  seeds.forEach((seed, i) => xT.set(gaussianNoise(seed, size), i * size));
  const output = guidedEps(await loader.session(unet.path), spec, embeddings, recipe.guidanceScale, prof.unet, seeds.length);
  const eps = asEpsModel(output, alphasCumprod, spec.prediction ?? 'epsilon');
  const beforeStep = async (index: number, t: number): Promise<void> => {
    await yieldToEvents(opts);
    opts.onStep?.({ index, total: recipe.timesteps.length, t });
  };
  const x0 = await prof.sampling((model) => runSampler(recipe, model, xT, alphasCumprod), eps, beforeStep);
  await yieldToEvents(opts);
  const images = await prof.stage('decode', prof.decodeLabel(decoder.choice), async () => decodeLatents(await loader.session(decoder.path), spec, x0, prof.vae, seeds.length));
  prof.batchOf(seeds.length);
  const measured = prof.finish();
  return images.map((image) => ({
    image,
    ...measured,
    tokenCount: tokens.cond.tokenCount,
    truncated: tokens.cond.truncated,
    unetId: unet.id,
    recipe: describeRecipe(recipe),
    noiseCorrection: recipe.sampler === 'ddim' && recipe.noiseCorrection,
  }));
}

/** The UNet and recipe that serve `params`. */
export function resolveUnet(spec: Pick<BundleSpec, 'unets'>, params: Pick<GenerateParams, 'model' | 'steps' | 'noiseCorrection'>): { unet: UnetSpec; recipe: Recipe } {
  const { unets } = spec;
  const unet =
    params.model === 'teacher'
      ? unets.find((u) => u.role === 'teacher')
      : (unets.find((u) => u.id === `flash-${params.steps}`) ?? unets.find((u) => u.role === 'flash' && u.recipe.timesteps.length === params.steps));
  if (!unet) {
    const what = params.model === 'teacher' ? 'Teacher model' : `${params.steps}-step Flash model`;
    throw new InputError(`This bundle has no ${what}.`);
  }
  const recipe: Recipe = unet.recipe.sampler === 'ddim' ? { ...unet.recipe, noiseCorrection: params.noiseCorrection } : unet.recipe;
  return { unet, recipe };
}

/** The text the model is given, or an InputError (or VocabularyError) before anything loads. */
function promptText(params: GenerateParams, spec: Pick<BundleSpec, 'vocabulary'>): string {
  const prompt = params.prompt.trim();
  if (prompt === '') throw new InputError('Enter a prompt first.');
  if (!isValidSeed(params.seed)) throw new InputError(`Seed must be a whole number from 0 to ${MAX_SEED}.`);
  // a bundle with a vocabulary reads the prompt the way it was trained to (promptCheck.ts); an SD folder, as typed
  return spec.vocabulary ? closedVocabularyText(prompt, spec.vocabulary) : prompt;
}

function tokenizePrompt(tokenizer: PromptTokenizer, text: string, contextLength: number, cfg: boolean): PromptTokens {
  const cond = tokenizeForModel(tokenizer, text, contextLength);
  return { cond, uncond: cfg ? tokenizeForModel(tokenizer, '', contextLength) : null };
}

/** Lets the caller's event loop run, so that an abort asked for meanwhile stops the run here. */
async function yieldToEvents(opts: RunOptions): Promise<void> {
  await opts.yieldToEvents?.();
  opts.signal?.throwIfAborted();
}

function runSampler(recipe: Recipe, model: EpsModel, xT: Float32Array, alphasCumprod: Float64Array): Promise<Float32Array> {
  switch (recipe.sampler) {
    case 'ddim':
      return sampleDdim(model, xT, recipe.timesteps, { alphasCumprod, noiseCorrection: recipe.noiseCorrection, eulerStart: recipe.eulerStart ?? false });
    case 'dpmsolver++':
      return sampleDpmSolver(model, xT, recipe.timesteps, { alphasCumprod, solverOrder: recipe.solverOrder });
    default:
      return assertNever(recipe);
  }
}
