/**
 * Folders written by optimum's own exporter (tests/fixtures/optimum, with Python onnxruntime reference images of a
 * fixed recipe) through the app's pipeline on onnxruntime-web (WASM, Node): each opens, and makes the reference's
 * image within 2/255; an fp16 folder is refused without shader-f16 and runs where it is (a runtime that says so).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/pipeline/errors';
import { openBundle } from '../../src/pipeline/openBundle';
import { Pipeline } from '../../src/pipeline/pipeline';
import type { Runtime } from '../../src/pipeline/runtime';
import { createTokenizer, tokenizeForModel } from '../../src/pipeline/tokenizer';
import { BASE, FIXTURES, nodeIo } from './helpers/nodeIo';
import { readPng } from './helpers/png';
import { nodeRuntime } from './helpers/nodeRuntime';

interface FixtureIndex {
  fixtures: Record<
    string,
    {
      image_size: [number, number];
      latent_shape: [number, number, number];
      scheduler: { _class_name: string; prediction_type: string };
      exercises: { fp16_inputs: string[]; fp16_outputs: string[]; sdxl_unet_inputs: string[] };
      reference: {
        timesteps: number[];
        recipe: { prompt: string; seed: number; num_inference_steps: number; guidance_scale: number };
        images: Record<string, { shape: [number, number, number]; sum: number }>;
      };
    }
  >;
}
const index = JSON.parse(readFileSync(`${FIXTURES}/optimum/index.json`, 'utf8')) as FixtureIndex;
const MAX_PIXEL_DIFF = 2;

/** The reference's uint8 RGB pixels. */
function referenceRgb(folder: string, file: string): Uint8Array {
  return readPng(`${FIXTURES}/optimum/${folder}/${file}`).rgb;
}

function maxPixelDiff(rgba: Uint8ClampedArray, rgb: Uint8Array): number {
  expect(rgba.length / 4).toBe(rgb.length / 3);
  let m = 0;
  for (let p = 0; p < rgb.length / 3; p++) {
    for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs((rgba[p * 4 + c] as number) - (rgb[p * 3 + c] as number)));
  }
  return m;
}

/** The Node WASM runtime, reported as WebGPU with shader-f16: the pipeline's fp16 path on a CPU that computes fp16. */
function f16Runtime(): Runtime {
  const rt = nodeRuntime();
  return { backend: { kind: 'webgpu', adapter: 'test (WASM underneath)', shaderF16: true }, lost: rt.lost, createSession: (b, f, d) => rt.createSession(b, f, d) };
}

async function open(folder: string, runtime: Runtime = nodeRuntime()): Promise<Pipeline> {
  const io = nodeIo();
  const { guidance_scale } = index.fixtures[folder]?.reference.recipe ?? { guidance_scale: 1 };
  return new Pipeline(await openBundle(io, `${BASE}optimum/${folder}/`, undefined, { guidanceScale: guidance_scale }), io, runtime);
}

describe('optimum exports: the fixture recipe matches the Python onnxruntime reference', () => {
  for (const [folder, fx] of Object.entries(index.fixtures)) {
    const fp16 = fx.exercises.fp16_outputs.length > 0;
    it(`${folder}${fp16 ? ' (on a shader-f16 runtime)' : ''}: ≤ ${MAX_PIXEL_DIFF}/255 of reference_x0.png`, { timeout: 120_000 }, async () => {
      const pipe = await open(folder, fp16 ? f16Runtime() : nodeRuntime());
      const { prompt, seed, num_inference_steps: steps } = fx.reference.recipe;
      expect(steps).toBe(2);
      const flash = pipe.spec.unets.find((u) => u.id === 'flash-2');
      // the folder's own scheduler decides the timesteps (leading + steps_offset, or trailing)
      expect(flash?.recipe.timesteps).toEqual(fx.reference.timesteps);
      const out = await pipe.generate({ prompt, seed, model: 'flash', steps: 2, noiseCorrection: false });
      expect(out.recipe).toBe('2 steps (DDIM, CFG 4)');
      expect([out.image.height, out.image.width]).toEqual(fx.image_size);
      expect(pipe.summary().latentShape).toEqual(fx.latent_shape);
      const ref = referenceRgb(folder, 'reference_x0.png');
      // the PNG reader gives the pixels Python wrote
      expect(ref.reduce((a, b) => a + b, 0)).toBe(fx.reference.images['reference_x0.png']?.sum);
      const diff = maxPixelDiff(out.image.data, ref);
      console.info(`${folder}: max |Δpixel| = ${diff}/255`);
      expect(diff).toBeLessThanOrEqual(MAX_PIXEL_DIFF);
    });
  }

  it('sd15-fp16 is refused on WASM when it opens, naming the file and its float16 outputs', { timeout: 60_000 }, async () => {
    const pipe = await open('sd15-fp16');
    const err = await pipe.prepare(['flash-2']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe(
      'text_encoder/model.onnx: computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only (float16: output "last_hidden_state", output "pooler_output")',
    );
  });

  it('sdxl-fp32: both tokenizers give the Python ids (tokenizer_2 pads with "!")', async () => {
    const ref = JSON.parse(readFileSync(`${FIXTURES}/optimum/sdxl-fp32/reference.json`, 'utf8')) as { input_ids: Record<string, number[]> };
    const { clipTokenizerJson } = await import('../../src/pipeline/clipTokenizer');
    for (const [encoder, dir] of [
      ['text_encoder', 'tokenizer'],
      ['text_encoder_2', 'tokenizer_2'],
    ] as const) {
      const read = (f: string): string => readFileSync(`${FIXTURES}/optimum/sdxl-fp32/${dir}/${f}`, 'utf8');
      const config = JSON.parse(read('tokenizer_config.json')) as unknown;
      const tok = createTokenizer(clipTokenizerJson(JSON.parse(read('vocab.json')), read('merges.txt'), config, dir), config);
      expect(tokenizeForModel(tok, 'a red circle', 77).ids).toEqual(ref.input_ids[encoder]);
    }
  });
});
