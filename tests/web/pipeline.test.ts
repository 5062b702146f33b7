import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BundleFileError } from '../../src/pipeline/files';
import { InputError, ModelError, VocabularyError } from '../../src/pipeline/errors';
import { openBundle } from '../../src/pipeline/openBundle';
import { Pipeline, type GenerateParams, type StepCount } from '../../src/pipeline/pipeline';
import type { Runtime } from '../../src/pipeline/runtime';
import { BASE, memoryCaches, nodeIo, type NodeIoOptions } from './helpers/nodeIo';
import { nodeRuntime } from './helpers/nodeRuntime';
import { countingRuntime, staticBatchRuntime } from './helpers/runtimes';

/** Images from tests/web/python_parity.py: the Python side's pieces on onnxruntime (CPU). */
interface ParityCase {
  bundle: string;
  prompt: string;
  seed: number;
  model: 'flash' | 'teacher';
  steps: StepCount;
  noise_correction: boolean;
  /** the VAE decoder: the bundle's own, or its tiny one (vae_decoder_tiny/) */
  decoder: 'full' | 'tiny';
  width: number;
  height: number;
  rgb_base64: string;
}
const parity = JSON.parse(readFileSync(new URL('./python_parity.json', import.meta.url), 'utf8')) as { cases: ParityCase[] };

/** Goal of issue 6: the same prompt and seed give the same image as Python, within 2/255. */
const MAX_PIXEL_DIFF = 2;

async function open(bundle: string, io = nodeIo()): Promise<Pipeline> {
  return new Pipeline(await openBundle(io, `${BASE}${bundle}/`), io, nodeRuntime());
}

function maxPixelDiff(rgba: Uint8ClampedArray, rgb: Uint8Array): number {
  let m = 0;
  for (let p = 0; p < rgb.length / 3; p++) {
    for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs((rgba[p * 4 + c] as number) - (rgb[p * 3 + c] as number)));
  }
  return m;
}

const params = (p: Partial<GenerateParams>): GenerateParams => ({
  prompt: 'a red circle to the left of a blue square',
  seed: 7,
  model: 'flash',
  steps: 2,
  noiseCorrection: true,
  ...p,
});

describe('pipeline on onnxruntime-web (WASM, Node) vs the Python pipeline', () => {
  const pipelines = new Map<string, Promise<Pipeline>>();
  const pipelineFor = (bundle: string): Promise<Pipeline> => {
    const p = pipelines.get(bundle) ?? open(bundle);
    pipelines.set(bundle, p);
    return p;
  };

  for (const c of parity.cases) {
    const name = `${c.bundle} ${c.model}${c.model === 'flash' ? `-${c.steps}` : ''}${c.noise_correction ? ' +NC' : ''}${c.decoder === 'tiny' ? ', tiny decoder' : ''}`;
    it(`${name}: max pixel difference ≤ ${MAX_PIXEL_DIFF}/255`, { timeout: 60_000 }, async () => {
      const pipe = await pipelineFor(c.bundle);
      const out = await pipe.generate(params({ prompt: c.prompt, seed: c.seed, model: c.model, steps: c.steps, noiseCorrection: c.noise_correction, decoder: c.decoder }));
      expect(out.profile.decoder).toBe(c.decoder);
      expect([out.image.height, out.image.width]).toEqual([c.height, c.width]);
      const diff = maxPixelDiff(out.image.data, new Uint8Array(Buffer.from(c.rgb_base64, 'base64')));
      console.info(`parity ${name}: max |Δpixel| = ${diff}/255`);
      expect(diff).toBeLessThanOrEqual(MAX_PIXEL_DIFF);
      const unetSteps = out.timings.filter((t) => t.stage === 'unet').length;
      expect(unetSteps).toBe(c.model === 'teacher' ? 25 : c.steps);
      expect(out.timings.map((t) => t.stage)).toEqual(expect.arrayContaining(['tokenize', 'encode', 'unet', 'decode']));
      expect(out.timings.find((t) => t.stage === 'decode')?.label).toBe(c.decoder === 'tiny' ? 'decode (tiny)' : 'decode');
      // the benchmark's breakdown: one session.run bucket per step, all inside the total
      const p = out.profile;
      expect(p.unetRunMs).toHaveLength(unetSteps);
      expect(p.sessionRunMs).toBeCloseTo(p.textEncoderRunMs + p.unetRunMs.reduce((a, b) => a + b, 0) + p.vaeRunMs, 6);
      expect(p.sessionRunMs).toBeLessThanOrEqual(p.totalMs);
      expect(p.schedulerMs).toBeGreaterThanOrEqual(0);
    });
  }

  it('reads a standard SD folder: input dtypes from the sessions (int32 ids, int64 timestep), 8×8 latents', { timeout: 60_000 }, async () => {
    const pipe = await pipelineFor('tiny-sd');
    const s = pipe.summary();
    expect(s).toMatchObject({ source: 'diffusers', verified: false, latentShape: [4, 8, 8], imageSize: [64, 64], vocabulary: null });
    expect(s.unets.map((u) => u.id)).toEqual(['flash-1', 'flash-2', 'flash-3', 'teacher']);
  });

  it('rejects words outside the bundle vocabulary, naming them and offering the known ones', { timeout: 60_000 }, async () => {
    const pipe = await pipelineFor('tiny-bundle');
    const err = await pipe.generate(params({ prompt: 'a red circel and a zebra' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VocabularyError);
    const v = err as VocabularyError;
    expect(v.unknown).toEqual(['circel', 'zebra']);
    expect(v.suggestions).toEqual({ circel: 'circle' });
    expect(v.known).toContain('triangle');
    expect(v.message).toMatch(/"circel" \(did you mean "circle"\?\), "zebra"/);
  });

  it('refuses an empty prompt and a bad seed', async () => {
    const pipe = await pipelineFor('tiny-bundle');
    await expect(pipe.generate(params({ prompt: '   ' }))).rejects.toBeInstanceOf(InputError);
    await expect(pipe.generate(params({ seed: 2 ** 32 }))).rejects.toThrow(/whole number from 0 to 4294967295/);
    await expect(pipe.generate(params({ seed: 1.5 }))).rejects.toBeInstanceOf(InputError);
  });

  it('truncates a prompt longer than 77 tokens and says so', { timeout: 60_000 }, async () => {
    // an SD folder: our bundles' grammar allows no prompt this long
    const pipe = await pipelineFor('tiny-sd');
    const long = Array.from({ length: 30 }, () => 'a red circle').join(' and ');
    const out = await pipe.generate(params({ prompt: long, steps: 1 }));
    expect(out.truncated).toBe(true);
    expect(out.tokenCount).toBeGreaterThan(77);
  });

  it('stops between UNet steps when aborted', { timeout: 60_000 }, async () => {
    const pipe = await pipelineFor('tiny-bundle');
    const ctrl = new AbortController();
    const seen: number[] = [];
    const run = pipe.generate(params({ model: 'teacher' }), {
      signal: ctrl.signal,
      onStep: (s) => {
        seen.push(s.index);
        if (s.index === 2) ctrl.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([0, 1, 2]);
  });
});

describe('tokenizer (transformers.js from the bundle files)', () => {
  it('gives the Python ids for tiny-sd\'s CLIP BPE tokenizer (reference.json), padded with EOS to 77', async () => {
    const { createTokenizer, tokenizeForModel } = await import('../../src/pipeline/tokenizer');
    const read = (f: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/tiny-sd/tokenizer/${f}`, import.meta.url), 'utf8'));
    const ref = JSON.parse(readFileSync(new URL('../fixtures/tiny-sd/reference.json', import.meta.url), 'utf8')) as { prompt: string; input_ids: number[] };
    const tok = createTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    const t = tokenizeForModel(tok, ref.prompt, 77);
    expect(t.ids).toEqual(ref.input_ids);
    expect(t).toMatchObject({ tokenCount: 6, truncated: false });
    // truncation keeps the end token in the last slot, like Python's fast tokenizers
    const long = tokenizeForModel(tok, Array(100).fill('red').join(' '), 77);
    expect(long.truncated).toBe(true);
    expect(long.tokenCount).toBeGreaterThan(77);
    expect(long.ids).toHaveLength(77);
    expect(long.ids[76]).toBe(520);
    expect(long.ids[0]).toBe(519);
  });
});

describe('a standard folder with only vocab.json + merges.txt (no tokenizer.json)', () => {
  it('builds the same tokenizer and the same image', { timeout: 60_000 }, async () => {
    const { clipTokenizerJson } = await import('../../src/pipeline/clipTokenizer');
    const { createTokenizer, tokenizeForModel } = await import('../../src/pipeline/tokenizer');
    const read = (f: string): string => readFileSync(new URL(`../fixtures/tiny-sd/tokenizer/${f}`, import.meta.url), 'utf8');
    const config = JSON.parse(read('tokenizer_config.json')) as unknown;
    const fast = createTokenizer(JSON.parse(read('tokenizer.json')), config);
    const built = createTokenizer(clipTokenizerJson(JSON.parse(read('vocab.json')), read('merges.txt'), config), config);
    for (const p of ['a red circle', 'A  RED circles, 12 stars!', "it's a red-ish cirle", '']) {
      expect(tokenizeForModel(built, p, 77)).toEqual(tokenizeForModel(fast, p, 77));
    }
    const io = nodeIo();
    const noFast = { ...io, fetch: (async (u: RequestInfo | URL) => (String(u).endsWith('tokenizer/tokenizer.json') ? new Response('', { status: 404 }) : io.fetch(u))) as typeof fetch };
    const pipe = new Pipeline(await openBundle(noFast, `${BASE}tiny-sd/`), noFast, nodeRuntime());
    const c = parity.cases.find((k) => k.bundle === 'tiny-sd' && k.model === 'flash');
    if (!c) throw new Error('no case');
    const out = await pipe.generate(params({ prompt: c.prompt, seed: c.seed, steps: c.steps, noiseCorrection: c.noise_correction }));
    expect(maxPixelDiff(out.image.data, new Uint8Array(Buffer.from(c.rgb_base64, 'base64')))).toBeLessThanOrEqual(MAX_PIXEL_DIFF);
  });
});

describe('verified loading', () => {
  it('names the corrupted file and creates no session from it', { timeout: 60_000 }, async () => {
    const flip = (b: Uint8Array): Uint8Array => {
      const c = b.slice();
      c[c.length >> 1] = (c[c.length >> 1] as number) ^ 0xff;
      return c;
    };
    const io = nodeIo({ alter: { 'tiny-bundle/unet-flash-2/model.onnx': flip } });
    const pipe = await open('tiny-bundle', io);
    const err = await pipe.generate(params({ steps: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleFileError);
    expect((err as BundleFileError).file).toBe('unet-flash-2/model.onnx');
    expect((err as Error).message).toMatch(/sha256 .* does not match/);
    // the rest keeps working
    const ok = await pipe.generate(params({ steps: 1 }));
    expect(ok.unetId).toBe('flash-1');
  });

  it('a reload reads verified files from the Cache API instead of the network', { timeout: 60_000 }, async () => {
    const caches = memoryCaches();
    const first: string[] = [];
    const a = await open('tiny-bundle', nodeIo({ caches, log: first }));
    await a.prepare(['flash-1']);
    expect(first).toContain('/models/tiny-bundle/unet-flash-1/model.onnx');
    const second: string[] = [];
    const b = await open('tiny-bundle', nodeIo({ caches, log: second }));
    await b.prepare(['flash-1']);
    expect(second.filter((u) => u.endsWith('.onnx'))).toEqual([]);
    expect(second).toContain('/models/tiny-bundle/manifest.json');
  });

  it('a load row exactly when the run loaded a model, however long an empty prepare takes', { timeout: 60_000 }, async () => {
    const pipe = await open('tiny-bundle');
    expect(await pipe.prepare(['flash-1'])).toBe(true);
    expect(await pipe.prepare(['flash-1'])).toBe(false);
    const warm = await pipe.generate(params({ steps: 1 }));
    expect(warm.timings.map((t) => t.stage)).not.toContain('load');
    const cold = await pipe.generate(params({ steps: 2 })); // unet-flash-2 is not loaded yet
    expect(cold.timings.filter((t) => t.stage === 'load')).toHaveLength(1);
  });

  it('a missing file is an error naming it', async () => {
    const io = nodeIo({ alter: {} });
    const missing = { ...io, fetch: (async (u: RequestInfo | URL) => (String(u).endsWith('vae_decoder/model.onnx') ? new Response('', { status: 404 }) : io.fetch(u))) as typeof fetch };
    const pipe = await open('tiny-bundle', missing);
    await expect(pipe.prepare(['flash-1'])).rejects.toThrow(/^vae_decoder\/model\.onnx: is missing/);
  });
});

describe('a UNet that fails, and room for a cancel between steps', () => {
  const flip = (b: Uint8Array): Uint8Array => {
    const c = b.slice();
    c[c.length >> 1] = (c[c.length >> 1] as number) ^ 0xff;
    return c;
  };

  it('given a failures map, a corrupt UNet is recorded there while the shared parts load', { timeout: 60_000 }, async () => {
    const pipe = await open('tiny-bundle', nodeIo({ alter: { 'tiny-bundle/unet-flash-2/model.onnx': flip } }));
    const failures = new Map<string, unknown>();
    expect(await pipe.prepare(['flash-2'], {}, failures)).toBe(true);
    expect([...failures.keys()]).toEqual(['flash-2']);
    expect(failures.get('flash-2')).toBeInstanceOf(BundleFileError);
    expect((await pipe.generate(params({ steps: 1 }))).unetId).toBe('flash-1');
    // tried again (and named again) when asked for
    await expect(pipe.generate(params({ steps: 2 }))).rejects.toThrow(/^unet-flash-2\/model\.onnx: sha256/);
    // a shared part failing still fails the whole prepare
    const noVae = await open('tiny-bundle', nodeIo({ alter: { 'tiny-bundle/vae_decoder/model.onnx': flip } }));
    await expect(noVae.prepare(['flash-1'], {}, new Map())).rejects.toThrow(/^vae_decoder\/model\.onnx: sha256/);
  });

  it('yieldToEvents is awaited before each UNet step and before decoding, and an abort asked for there stops the run', { timeout: 60_000 }, async () => {
    const pipe = await open('tiny-bundle');
    let yields = 0;
    await pipe.generate(params({ steps: 2 }), { yieldToEvents: async () => void yields++ });
    expect(yields).toBe(3);
    const ctrl = new AbortController();
    const steps: number[] = [];
    const run = pipe.generate(params({ model: 'teacher' }), {
      signal: ctrl.signal,
      onStep: (s) => steps.push(s.index),
      yieldToEvents: async () => {
        if (steps.length === 3) ctrl.abort();
      },
    });
    await expect(run).rejects.toThrow();
    expect(steps).toEqual([0, 1, 2]);
  });
});

// The text-embedding cache and the seed grid on the real graphs. Here rather than in files of their own: a test
// file that opens a Pipeline loads onnxruntime-node through transformers.js, and in more of them its native addon
// failed at random to load in a later worker thread ("Module did not self-register").

describe('the embedding cache in generations (tiny-bundle on onnxruntime-web in Node)', () => {
  const request = (p: Partial<GenerateParams>): GenerateParams => ({ prompt: 'two green stars', seed: 1, model: 'flash', steps: 1, noiseCorrection: true, ...p });

  it('a repeated prompt is encoded once: the profile and the timings say so; another pipeline (new sessions) encodes it again', { timeout: 60_000 }, async () => {
    const pipe = await open('tiny-bundle');
    const first = await pipe.generate(request({ seed: 1 }));
    const again = await pipe.generate(request({ seed: 2, steps: 3 }));
    expect(first.profile).toMatchObject({ embeddingCacheHit: false });
    expect(first.profile.textEncoderRunMs).toBeGreaterThan(0);
    expect(again.profile).toMatchObject({ embeddingCacheHit: true, textEncoderRunMs: 0 });
    expect(again.timings.find((t) => t.stage === 'encode')?.label).toBe('encode (cached)');
    expect((await pipe.generate(request({ prompt: 'a red circle' }))).profile.embeddingCacheHit).toBe(false);
    // the teacher (CFG) reads the prompt's row from the cache too; the empty prompt's row has its own once-per-session memo
    expect((await pipe.generate(request({ model: 'teacher' }))).profile.embeddingCacheHit).toBe(true);
    const other = await open('tiny-bundle');
    expect((await other.generate(request({}))).profile.embeddingCacheHit).toBe(false);
  });
});

const maxDiff = (a: Uint8ClampedArray, b: Uint8ClampedArray): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('seed grid in the pipeline (tiny-bundle on onnxruntime-web in Node)', () => {
  const request: GenerateParams = { prompt: 'a red circle above a blue star', seed: 0, model: 'flash', steps: 2, noiseCorrection: true };
  const seeds = [3, 4, 5, 6];
  const openOn = async (rt: Runtime): Promise<Pipeline> => {
    const io = nodeIo();
    return new Pipeline(await openBundle(io, `${BASE}tiny-bundle/`), io, rt);
  };

  it('batches where the graphs take a batch (one UNet run per step, one decode); a graph fixed at batch 1 runs the seeds one after another; every tile is its seed\'s single image', { timeout: 60_000 }, async () => {
    const batchedRuns = new Map<string, number>();
    const pipe = await openOn(countingRuntime(batchedRuns));
    await pipe.prepare(['flash-2']);
    const batched = await pipe.generateGrid(request, seeds);
    expect(batched.batched).toBe(true);
    expect(batched.images).toHaveLength(4);
    expect(batched.images[0]?.profile.batch).toBe(4);
    expect([batchedRuns.get('unet-flash-2/model.onnx'), batchedRuns.get('vae_decoder/model.onnx')]).toEqual([2, 1]);

    const staticRuns = new Map<string, number>();
    const fixed = await openOn(staticBatchRuntime(staticRuns));
    const oneByOne = await fixed.generateGrid(request, seeds);
    expect(oneByOne.batched).toBe(false);
    expect([staticRuns.get('unet-flash-2/model.onnx'), staticRuns.get('vae_decoder/model.onnx'), staticRuns.get('text_encoder/model.onnx')]).toEqual([8, 4, 1]);
    expect(oneByOne.images.map((o) => o.profile.embeddingCacheHit)).toEqual([false, true, true, true]);

    for (const [i, seed] of seeds.entries()) {
      const single = await pipe.generate({ ...request, seed });
      const a = batched.images[i]?.image.data;
      const b = oneByOne.images[i]?.image.data;
      if (!a || !b) throw new Error('missing image');
      // a batched convolution may round its last bits differently
      expect(maxDiff(a, single.image.data), `seed ${seed}`).toBeLessThanOrEqual(2);
      expect(maxDiff(b, single.image.data), `seed ${seed}`).toBeLessThanOrEqual(2);
    }
    expect(maxDiff(batched.images[0]?.image.data ?? new Uint8ClampedArray(), batched.images[1]?.image.data ?? new Uint8ClampedArray())).toBeGreaterThan(2);
  });
});

describe('the tiny VAE decoder in the pipeline (tiny-bundle has vae_decoder_tiny, tiny-sd none)', () => {
  const TINY = 'vae_decoder_tiny/model.onnx';
  const request: GenerateParams = { prompt: 'a red circle above a blue star', seed: 3, model: 'flash', steps: 1, noiseCorrection: true };
  const openOn = async (bundle: string, io = nodeIo(), rt: Runtime = nodeRuntime()): Promise<Pipeline> => new Pipeline(await openBundle(io, `${BASE}${bundle}/`), io, rt);
  const flip = (b: Uint8Array): Uint8Array => {
    const c = b.slice();
    c[c.length >> 1] = (c[c.length >> 1] as number) ^ 0xff;
    return c;
  };

  it('is loaded with the shared parts when the bundle has one, and said in the summary; a bundle without one loads as before', { timeout: 60_000 }, async () => {
    const log: string[] = [];
    const pipe = await openOn('tiny-bundle', nodeIo({ log }));
    expect(pipe.summary().tinyDecoder).toBe(true);
    await pipe.prepare(['flash-1']);
    expect(log).toContain(`/models/tiny-bundle/${TINY}`);
    const sdLog: string[] = [];
    const sd = await openOn('tiny-sd', nodeIo({ log: sdLog }));
    expect(sd.summary().tinyDecoder).toBe(false);
    await sd.prepare(['flash-2']);
    expect(sdLog.some((u) => u.includes('decoder_tiny'))).toBe(false);
    // asked for where there is none: the full decoder, and the profile says so
    const out = await sd.generate({ ...request, prompt: 'a red circle', steps: 2, decoder: 'tiny' });
    expect(out.profile.decoder).toBe('full');
    expect(out.timings.find((t) => t.stage === 'decode')?.label).toBe('decode');
  });

  it('decoder "tiny" decodes with vae_decoder_tiny (its own session.run, another image); "full" and no choice with vae_decoder', { timeout: 60_000 }, async () => {
    const runs = new Map<string, number>();
    const pipe = await openOn('tiny-bundle', nodeIo(), countingRuntime(runs));
    const full = await pipe.generate(request);
    expect(full.profile.decoder).toBe('full');
    expect([runs.get('vae_decoder/model.onnx'), runs.get(TINY)]).toEqual([1, undefined]);
    const tiny = await pipe.generate({ ...request, decoder: 'tiny' });
    expect(tiny.profile.decoder).toBe('tiny');
    expect(tiny.timings.find((t) => t.stage === 'decode')?.label).toBe('decode (tiny)');
    expect(tiny.profile.vaeRunMs).toBeGreaterThan(0);
    expect([runs.get('vae_decoder/model.onnx'), runs.get(TINY)]).toEqual([1, 1]);
    expect([tiny.image.width, tiny.image.height]).toEqual([full.image.width, full.image.height]);
    expect(maxDiff(tiny.image.data, full.image.data)).toBeGreaterThan(10);
    expect((await pipe.generate({ ...request, decoder: 'full' })).profile.decoder).toBe('full');
    expect(runs.get('vae_decoder/model.onnx')).toBe(2);
  });

  it('a seed grid decodes its batch with the tiny decoder in one run', { timeout: 60_000 }, async () => {
    const runs = new Map<string, number>();
    const pipe = await openOn('tiny-bundle', nodeIo(), countingRuntime(runs));
    const grid = await pipe.generateGrid({ ...request, decoder: 'tiny' }, [1, 2, 3, 4]);
    expect(grid.batched).toBe(true);
    expect(grid.images.map((o) => o.profile.decoder)).toEqual(['tiny', 'tiny', 'tiny', 'tiny']);
    expect([runs.get(TINY), runs.get('vae_decoder/model.onnx')]).toEqual([1, undefined]);
  });

  it('a broken tiny decoder refuses the load, naming its file: corrupt, missing, or not a decoder', { timeout: 60_000 }, async () => {
    const refuses = async (opts: NodeIoOptions, message: RegExp): Promise<void> => {
      const pipe = await openOn('tiny-bundle', nodeIo(opts));
      // a UNet's failure may be spared; a shared part's never is
      await expect(pipe.prepare(['flash-1'], {}, new Map())).rejects.toThrow(message);
    };
    await refuses({ alter: { [`tiny-bundle/${TINY}`]: flip } }, /^vae_decoder_tiny\/model\.onnx: sha256 .* does not match/);
    await refuses({ alter: { [`tiny-bundle/${TINY}`]: (b) => b.subarray(0, 100) } }, /^vae_decoder_tiny\/model\.onnx: size is 100 bytes/);
    // the manifest names a graph of another contract (the text encoder's, listed with its true hash)
    const otherGraph = (b: Uint8Array): Uint8Array => {
      const m = JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
      const files = m.files as { path: string }[];
      m.files = [...files.filter((f) => f.path !== TINY), { ...files.find((f) => f.path === 'text_encoder/model.onnx'), path: TINY }];
      return new TextEncoder().encode(JSON.stringify(m));
    };
    const io = nodeIo({ alter: { 'tiny-bundle/manifest.json': otherGraph } });
    const swapped: typeof fetch = async (u) => (String(u).endsWith(TINY) ? io.fetch(String(u).replace(TINY, 'text_encoder/model.onnx')) : io.fetch(u));
    const pipe = new Pipeline(await openBundle({ ...io, fetch: swapped }, `${BASE}tiny-bundle/`), { ...io, fetch: swapped }, nodeRuntime());
    const err = await pipe.prepare(['flash-1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).file).toBe(TINY);
    expect((err as Error).message).toMatch(/has no input "latent_sample"|latent_sample/);
  });
});
