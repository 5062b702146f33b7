import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import { BundleFormatError, decoderOf, type BundleSpec } from '../../src/pipeline/bundle';
import { SD_SCHEDULE } from '../../src/pipeline/ddim';
import { ModelError } from '../../src/pipeline/errors';
import { parseManifest } from '../../src/pipeline/manifest';
import { openBundle } from '../../src/pipeline/openBundle';
import { Pipeline, type GenerateParams } from '../../src/pipeline/pipeline';
import type { InputMeta, ModelSession, Runtime } from '../../src/pipeline/runtime';
import { checkSession } from '../../src/pipeline/shapeCheck';
import { BASE, fixtureBytes, nodeIo, type NodeIoOptions } from './helpers/nodeIo';
import { nodeRuntime } from './helpers/nodeRuntime';
import { countingRuntime } from './helpers/runtimes';

// The optional tiny VAE decoder (vae_decoder_tiny/ in manifest.json): tiny-bundle has one (tools/fixtures.py's random
// TinyDecoder), tiny-sd has none.

const TINY = 'vae_decoder_tiny/model.onnx';
const manifest = (): Record<string, unknown> => JSON.parse(new TextDecoder().decode(fixtureBytes('tiny-bundle/manifest.json'))) as Record<string, unknown>;
const request: GenerateParams = { prompt: 'a red circle above a blue star', seed: 3, model: 'flash', steps: 1, noiseCorrection: true };

async function open(bundle: string, io = nodeIo(), rt: Runtime = nodeRuntime()): Promise<Pipeline> {
  return new Pipeline(await openBundle(io, `${BASE}${bundle}/`), io, rt);
}

const flip = (b: Uint8Array): Uint8Array => {
  const c = b.slice();
  c[c.length >> 1] = (c[c.length >> 1] as number) ^ 0xff;
  return c;
};

function maxDiff(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('manifest.json: vae_decoder_tiny', () => {
  it('is read when present, null when absent, and must be listed in "files" like every graph', () => {
    expect(parseManifest(manifest(), `${BASE}tiny-bundle/`).spec.vaeDecoderTiny).toBe(TINY);
    const without = manifest();
    delete without.vae_decoder_tiny;
    expect(parseManifest(without, `${BASE}tiny-bundle/`).spec.vaeDecoderTiny).toBeNull();
    const unlisted = manifest();
    unlisted.files = (unlisted.files as { path: string }[]).filter((f) => f.path !== TINY);
    expect(() => parseManifest(unlisted, `${BASE}tiny-bundle/`)).toThrow(BundleFormatError);
    expect(() => parseManifest(unlisted, `${BASE}tiny-bundle/`)).toThrow(/"files" has no size and sha256 for vae_decoder_tiny\/model\.onnx/);
    const outside = { ...manifest(), vae_decoder_tiny: '../tiny.onnx' };
    expect(() => parseManifest(outside, `${BASE}tiny-bundle/`)).toThrow(/"vae_decoder_tiny" is not a relative path/);
  });

  it('decoderOf: the tiny graph only where the bundle has one', () => {
    const spec = { vaeDecoder: 'vae_decoder/model.onnx', vaeDecoderTiny: TINY };
    expect(decoderOf(spec, 'tiny')).toEqual({ path: TINY, choice: 'tiny' });
    expect(decoderOf(spec, 'full')).toEqual({ path: 'vae_decoder/model.onnx', choice: 'full' });
    expect(decoderOf(spec)).toEqual({ path: 'vae_decoder/model.onnx', choice: 'full' });
    expect(decoderOf({ vaeDecoder: 'vae_decoder/model.onnx', vaeDecoderTiny: null }, 'tiny')).toEqual({ path: 'vae_decoder/model.onnx', choice: 'full' });
  });
});

describe('the tiny decoder in the pipeline (onnxruntime-web in Node)', () => {
  it('is loaded with the shared parts when the bundle has one, and said in the summary; a bundle without one loads as before', { timeout: 60_000 }, async () => {
    const log: string[] = [];
    const pipe = await open('tiny-bundle', nodeIo({ log }));
    expect(pipe.summary().tinyDecoder).toBe(true);
    await pipe.prepare(['flash-1']);
    expect(log).toContain(`/models/tiny-bundle/${TINY}`);
    const sdLog: string[] = [];
    const sd = await open('tiny-sd', nodeIo({ log: sdLog }));
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
    const pipe = await open('tiny-bundle', nodeIo(), countingRuntime(runs));
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
    const pipe = await open('tiny-bundle', nodeIo(), countingRuntime(runs));
    const grid = await pipe.generateGrid({ ...request, decoder: 'tiny' }, [1, 2, 3, 4]);
    expect(grid.batched).toBe(true);
    expect(grid.images.map((o) => o.profile.decoder)).toEqual(['tiny', 'tiny', 'tiny', 'tiny']);
    expect([runs.get(TINY), runs.get('vae_decoder/model.onnx')]).toEqual([1, undefined]);
  });

  it('a broken tiny decoder refuses the load, naming its file: corrupt, missing, or not a decoder', { timeout: 60_000 }, async () => {
    const refuses = async (opts: NodeIoOptions, message: RegExp): Promise<void> => {
      const pipe = await open('tiny-bundle', nodeIo(opts));
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

describe('shape checks of the tiny decoder', () => {
  const WASM: BackendInfo = { kind: 'wasm', reason: 'tests', threads: 1 };
  const spec: BundleSpec = {
    source: 'manifest',
    name: 'test',
    baseUrl: 'http://test/',
    imageSize: [64, 64],
    latentShape: [4, 16, 16],
    vaeScalingFactor: 0.5,
    contextLength: 77,
    textEncoder: 'text_encoder/model.onnx',
    vaeDecoder: 'vae_decoder/model.onnx',
    vaeDecoderTiny: TINY,
    tokenizer: 'tokenizer',
    unets: [{ id: 'flash-1', path: 'unet/model.onnx', role: 'flash', recipe: { sampler: 'ddim', timesteps: [999], guidanceScale: 1, noiseCorrection: true } }],
    schedule: SD_SCHEDULE,
    vocabulary: null,
    files: null,
  };
  const decoder = (latent: (number | string)[], out: (number | string)[], extra: InputMeta[] = []): ModelSession => ({
    file: TINY,
    inputs: [{ name: 'latent_sample', type: 'float32', shape: latent }, ...extra],
    outputs: [{ name: 'sample', type: 'float32', shape: out }],
    run: () => Promise.reject(new Error('not run')),
    release: async () => undefined,
  });
  const check = (s: ModelSession): BundleSpec => checkSession(spec, TINY, s, WASM);

  it('takes the bundle\'s latents and makes its image size; symbolic axes pass', () => {
    expect(check(decoder(['batch', 4, 16, 16], ['batch', 3, 64, 64])).imageSize).toEqual([64, 64]);
    expect(() => check(decoder(['b', 'c', 'h', 'w'], ['b', 3, 'H', 'W']))).not.toThrow();
  });

  it('refuses other latents, another image size or more inputs, naming the file', () => {
    const refused = (s: ModelSession, message: RegExp): void => {
      let err: unknown;
      try {
        check(s);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).file).toBe(TINY);
      expect((err as Error).message).toMatch(message);
    };
    refused(decoder(['batch', 16, 16, 16], ['batch', 3, 64, 64]), /input "latent_sample" is \[batch, 16, 16, 16\]; the bundle's latents are \[4, 16, 16\]/);
    refused(decoder(['batch', 4, 16, 16], ['batch', 3, 32, 32]), /outputs \[batch, 3, 32, 32\]; the full decoder's images are \[3, 64, 64\]/);
    refused(decoder(['batch', 4, 16, 16], ['batch', 3, 64, 64], [{ name: 'timestep', type: 'float32', shape: [1] }]), /has input "timestep", which this app does not feed the tiny VAE decoder/);
  });
});
