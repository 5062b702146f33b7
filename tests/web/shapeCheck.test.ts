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

describe('checkSession: graphs a folder cannot run are refused by name', () => {
  const withInputs = (file: string, inputs: InputMeta[], outputs: InputMeta[] = []): ModelSession => session(file, inputs, outputs);
  const base: InputMeta[] = [
    { name: 'sample', type: 'float32', shape: ['batch', 4, 16, 16] },
    { name: 'timestep', type: 'float32', shape: [] },
    { name: 'encoder_hidden_states', type: 'float32', shape: ['batch', 77, 32] },
  ];

  it("accepts optimum's rank-0 timestep in float32, float16 (on shader-f16) and int64", () => {
    const gpu: BackendInfo = { kind: 'webgpu', adapter: 'test', shaderF16: true };
    for (const type of ['float32', 'float16', 'int64']) {
      const inputs = base.map((m) => (m.name === 'timestep' ? { ...m, type } : m));
      expect(() => checkSession(spec('diffusers'), 'unet/model.onnx', withInputs('unet/model.onnx', inputs), gpu)).not.toThrow();
    }
  });

  it('an input the app does not feed (an LCM UNet\'s timestep_cond, a text encoder\'s attention_mask)', () => {
    const lcm = withInputs('unet/model.onnx', [...base, { name: 'timestep_cond', type: 'float32', shape: ['batch', 256] }]);
    expect(() => checkSession(spec('diffusers'), 'unet/model.onnx', lcm, WASM)).toThrow(
      'unet/model.onnx: has input "timestep_cond", which this app does not feed a UNet (it feeds sample, timestep, encoder_hidden_states)',
    );
    const te = withInputs('text_encoder/model.onnx', [
      { name: 'input_ids', type: 'int64', shape: ['batch', 77] },
      { name: 'attention_mask', type: 'int64', shape: ['batch', 77] },
    ]);
    expect(() => checkSession(spec('diffusers'), 'text_encoder/model.onnx', te, WASM)).toThrow(/text_encoder\/model.onnx: has input "attention_mask", which this app does not feed a text encoder/);
  });

  it('a timestep of rank 2 or of another type', () => {
    const rank2 = withInputs('unet/model.onnx', base.map((m) => (m.name === 'timestep' ? { ...m, shape: [1, 1] } : m)));
    expect(() => checkSession(spec('diffusers'), 'unet/model.onnx', rank2, WASM)).toThrow('unet/model.onnx: input "timestep" has rank 2 ([1, 1]); a scalar or one value per batch row expected');
    const bool = withInputs('unet/model.onnx', base.map((m) => (m.name === 'timestep' ? { ...m, type: 'bool' } : m)));
    expect(() => checkSession(spec('diffusers'), 'unet/model.onnx', bool, WASM)).toThrow(/input "timestep" has type bool/);
  });

  it('fp16 outputs alone are enough to refuse a graph without shader-f16', () => {
    const te = withInputs('text_encoder/model.onnx', [{ name: 'input_ids', type: 'int64', shape: ['batch', 77] }], [{ name: 'last_hidden_state', type: 'float16', shape: ['batch', 77, 32] }]);
    expect(() => checkSession(spec('diffusers'), 'text_encoder/model.onnx', te, WASM)).toThrow(
      'text_encoder/model.onnx: computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only (float16: output "last_hidden_state")',
    );
    const noF16: BackendInfo = { kind: 'webgpu', adapter: 'test', shaderF16: false };
    expect(() => checkSession(spec('diffusers'), 'text_encoder/model.onnx', te, noF16)).toThrow(/needs WebGPU with shader-f16/);
  });

  it('SDXL: the UNet must take text_embeds and time_ids, the encoders must give hidden states and the pooled embedding', () => {
    const xl: BundleSpec = { ...spec('diffusers'), sdxl: { textEncoder2: 'text_encoder_2/model.onnx', tokenizer2: 'tokenizer_2', zeroUncond: true } };
    expect(() => checkSession(xl, 'unet/model.onnx', withInputs('unet/model.onnx', base), WASM)).toThrow(/has no inputs "text_embeds" and "time_ids": model_index.json describes an SDXL pipeline/);
    const ids: InputMeta[] = [{ name: 'input_ids', type: 'int64', shape: ['batch', 77] }];
    const lastOnly = withInputs('text_encoder_2/model.onnx', ids, [{ name: 'text_embeds', type: 'float32', shape: ['batch', 32] }, { name: 'last_hidden_state', type: 'float32', shape: null }]);
    expect(() => checkSession(xl, 'text_encoder_2/model.onnx', lastOnly, WASM)).toThrow(/text_encoder_2\/model.onnx: has no hidden_states.<layer> outputs/);
    const hidden: InputMeta[] = ['hidden_states.0', 'hidden_states.1', 'hidden_states.2'].map((name) => ({ name, type: 'float32', shape: null }));
    expect(() => checkSession(xl, 'text_encoder_2/model.onnx', withInputs('text_encoder_2/model.onnx', ids, hidden), WASM)).toThrow(/has no output "text_embeds"/);
    expect(() => checkSession(xl, 'text_encoder/model.onnx', withInputs('text_encoder/model.onnx', ids, hidden), WASM)).not.toThrow();
  });
});
