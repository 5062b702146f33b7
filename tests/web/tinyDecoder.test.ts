import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import { BundleFormatError, decoderOf, type BundleSpec } from '../../src/pipeline/bundle';
import { SD_SCHEDULE } from '../../src/pipeline/ddim';
import { ModelError } from '../../src/pipeline/errors';
import { parseManifest } from '../../src/pipeline/manifest';
import type { InputMeta, ModelSession } from '../../src/pipeline/runtime';
import { checkSession } from '../../src/pipeline/shapeCheck';
import { BASE, fixtureBytes } from './helpers/nodeIo';

// The optional tiny VAE decoder (vae_decoder_tiny/ in manifest.json): tiny-bundle has one (tools/fixtures.py's random
// TinyDecoder), tiny-sd has none. Its runs on the real graphs are in pipeline.test.ts (one file loads onnxruntime).

const TINY = 'vae_decoder_tiny/model.onnx';
const manifest = (): Record<string, unknown> => JSON.parse(new TextDecoder().decode(fixtureBytes('tiny-bundle/manifest.json'))) as Record<string, unknown>;
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
