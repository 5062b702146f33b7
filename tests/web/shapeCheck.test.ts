import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import { SD_SCHEDULE } from '../../src/pipeline/ddim';
import type { BundleSpec } from '../../src/pipeline/bundle';
import { ModelError } from '../../src/pipeline/errors';
import type { InputMeta, ModelSession } from '../../src/pipeline/runtime';
import { checkSession } from '../../src/pipeline/shapeCheck';

const WASM: BackendInfo = { kind: 'wasm', reason: 'tests', threads: 1 };

function spec(source: BundleSpec['source']): BundleSpec {
  return {
    source,
    name: 'test',
    baseUrl: 'http://test/',
    imageSize: [64, 64],
    latentShape: [4, 16, 16],
    vaeScalingFactor: 0.18215,
    contextLength: 77,
    textEncoder: 'text_encoder/model.onnx',
    vaeDecoder: 'vae_decoder/model.onnx',
    tokenizer: 'tokenizer',
    unets: [{ id: 'teacher', path: 'unet/model.onnx', role: 'teacher', recipe: { sampler: 'ddim', timesteps: [999], guidanceScale: 1, noiseCorrection: false } }],
    schedule: SD_SCHEDULE,
    vocabulary: null,
    files: null,
  };
}

function session(file: string, inputs: InputMeta[], outputs: InputMeta[] = []): ModelSession {
  return { file, inputs, outputs, run: () => Promise.reject(new Error('not run in these tests')), release: async () => undefined };
}

const unet = (sampleShape: (number | string)[], type = 'float32'): ModelSession =>
  session('unet/model.onnx', [
    { name: 'sample', type, shape: sampleShape },
    { name: 'timestep', type: 'float32', shape: [1] },
    { name: 'encoder_hidden_states', type: 'float32', shape: ['batch', 77, 32] },
  ]);

const vae = (h: number, w: number): ModelSession =>
  session('vae_decoder/model.onnx', [{ name: 'latent_sample', type: 'float32', shape: [1, 4, 16, 16] }], [{ name: 'sample', type: 'float32', shape: [1, 3, h, w] }]);

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

describe('checkSession', () => {
  it('does not mutate the spec it is given: a standard folder adopts the graphs\' shapes in a new spec', () => {
    const input = deepFreeze(spec('diffusers'));
    const before = structuredClone(input);
    const afterUnet = checkSession(input, 'unet/model.onnx', unet(['batch', 4, 8, 8]), WASM);
    expect(afterUnet).not.toBe(input);
    expect(afterUnet.latentShape).toEqual([4, 8, 8]);
    const afterVae = checkSession(afterUnet, 'vae_decoder/model.onnx', vae(32, 32), WASM);
    expect(afterVae.imageSize).toEqual([32, 32]);
    expect(afterVae.latentShape).toEqual([4, 8, 8]);
    expect(input).toEqual(before);
    expect(afterUnet.imageSize).toEqual([64, 64]);
  });

  it('returns a new spec with its own shape arrays even when nothing changes', () => {
    const input = spec('manifest');
    const out = checkSession(input, 'unet/model.onnx', unet([1, 4, 16, 16]), WASM);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(out.latentShape).not.toBe(input.latentShape);
    expect(out.imageSize).not.toBe(input.imageSize);
  });

  it('keeps symbolic dims as the spec has them', () => {
    const out = checkSession(spec('diffusers'), 'unet/model.onnx', unet(['batch', 'channels', 'height', 'width']), WASM);
    expect(out.latentShape).toEqual([4, 16, 16]);
  });

  it('refuses a manifest bundle whose graphs disagree with manifest.json, naming the file and both shapes', () => {
    const input = deepFreeze(spec('manifest'));
    expect(() => checkSession(input, 'unet/model.onnx', unet([1, 4, 8, 8]), WASM)).toThrow(
      'unet/model.onnx: input "sample" is [1, 4, 8, 8]; manifest.json says latent_shape [4, 16, 16]',
    );
    expect(() => checkSession(input, 'vae_decoder/model.onnx', vae(32, 32), WASM)).toThrow(
      'vae_decoder/model.onnx: decodes 32×32 images; manifest.json says image_size [64, 64]',
    );
  });

  it('refuses a float16 UNet without WebGPU shader-f16, and a graph missing an input', () => {
    const fp16 = unet([1, 4, 16, 16], 'float16');
    expect(() => checkSession(spec('diffusers'), 'unet/model.onnx', fp16, WASM)).toThrow(/computes in float16, which needs WebGPU with shader-f16/);
    const gpu: BackendInfo = { kind: 'webgpu', adapter: 'test', shaderF16: true };
    expect(checkSession(spec('diffusers'), 'unet/model.onnx', fp16, gpu).latentShape).toEqual([4, 16, 16]);
    const noIds = session('text_encoder/model.onnx', [{ name: 'tokens', type: 'int64', shape: [1, 77] }]);
    const err = (() => {
      try {
        checkSession(spec('manifest'), 'text_encoder/model.onnx', noIds, WASM);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe('text_encoder/model.onnx: has no input "input_ids" (inputs: tokens)');
  });
});
