/**
 * The layouts of standard SD ONNX folders that exist (optimum's current index, the older ONNX-pipeline index, no
 * index at all), read into a BundleSpec; and a folder that cannot run refused when it opens, naming the file.
 */
import { describe, expect, it } from 'vitest';
import { BundleFormatError } from '../../src/pipeline/bundle';
import { BundleFileError, type FileIo } from '../../src/pipeline/files';
import { ModelError } from '../../src/pipeline/errors';
import { openBundle } from '../../src/pipeline/openBundle';
import { Pipeline } from '../../src/pipeline/pipeline';
import type { ModelSession, Runtime } from '../../src/pipeline/runtime';
import { readModelIndex } from '../../src/pipeline/sdFolder';
import { BASE, nodeIo } from './helpers/nodeIo';
import { nodeRuntime } from './helpers/nodeRuntime';

/** `io` with some files of the folder replaced: null = 404, an object = that JSON. */
function withFiles(io: FileIo, folder: string, files: Record<string, unknown>): FileIo {
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    for (const [path, body] of Object.entries(files)) {
      if (!url.endsWith(`/models/${folder}/${path}`)) continue;
      return body === null ? new Response('Not found', { status: 404 }) : new Response(JSON.stringify(body), { status: 200 });
    }
    return io.fetch(input, init);
  };
  return { ...io, fetch: fetchFn as typeof fetch };
}

const url = (folder: string): string => `${BASE}${folder}/`;

describe('model_index.json layouts', () => {
  it("optimum's current index (StableDiffusionPipeline, key vae): the decoder in vae_decoder/, the scheduler's settings, the configs' sizes", async () => {
    const spec = await openBundle(nodeIo(), url('optimum/sd15-fp32'));
    expect(spec).toMatchObject({
      source: 'diffusers',
      name: 'sd15-fp32',
      vaeDecoder: 'vae_decoder/model.onnx',
      imageSize: [64, 64],
      latentShape: [4, 8, 8],
      prediction: 'epsilon',
      sdxl: null,
    });
    // DDIM, leading, steps_offset 1: the flash steps are where diffusers' set_timesteps puts them
    expect(spec.unets.map((u) => u.recipe.timesteps[0])).toEqual([1, 501, 667, 951]);
    expect(spec.unets.find((u) => u.id === 'teacher')?.recipe).toMatchObject({ sampler: 'dpmsolver++', guidanceScale: 7.5 });
  });

  it('SD 2.x v_prediction at 96×96 and an SDXL folder (EulerDiscreteScheduler, trailing) with its second encoder', async () => {
    const sd2 = await openBundle(nodeIo(), url('optimum/sd2-vpred-fp32'));
    expect(sd2).toMatchObject({ prediction: 'v_prediction', imageSize: [96, 96], latentShape: [4, 12, 12] });
    const xl = await openBundle(nodeIo(), url('optimum/sdxl-fp32'));
    expect(xl).toMatchObject({ imageSize: [128, 128], vaeScalingFactor: 0.13025, sdxl: { textEncoder2: 'text_encoder_2/model.onnx', tokenizer2: 'tokenizer_2', zeroUncond: true } });
    expect(xl.unets.find((u) => u.id === 'flash-2')?.recipe).toMatchObject({ timesteps: [999, 499], eulerStart: true });
  });

  it('the older OnnxStableDiffusionPipeline index (key vae_decoder) still opens', async () => {
    const spec = await openBundle(nodeIo(), url('tiny-sd'));
    expect(spec).toMatchObject({ source: 'diffusers', vaeDecoder: 'vae_decoder/model.onnx', sdxl: null });
    expect(readModelIndex({ _class_name: 'ORTStableDiffusionXLPipeline', text_encoder: ['optimum', 'x'], text_encoder_2: ['optimum', 'x'], tokenizer: ['t', 'x'], tokenizer_2: ['t', 'x'], unet: ['o', 'x'], vae_decoder: ['o', 'x'], scheduler: ['d', 'x'] })).toEqual({
      className: 'ORTStableDiffusionXLPipeline',
      sdxl: true,
      zeroUncond: true,
    });
  });

  it('a folder without model_index.json is read by its subfolders, SDXL by text_encoder_2/', async () => {
    const noIndex = withFiles(nodeIo(), 'optimum/sd15-fp32', { 'model_index.json': null });
    const spec = await openBundle(noIndex, url('optimum/sd15-fp32'));
    expect(spec).toEqual(await openBundle(nodeIo(), url('optimum/sd15-fp32')));
    const xl = await openBundle(withFiles(nodeIo(), 'optimum/sdxl-fp32', { 'model_index.json': null }), url('optimum/sdxl-fp32'));
    expect(xl.sdxl).toMatchObject({ textEncoder2: 'text_encoder_2/model.onnx' });
  });

  it('names what is missing from an index, and the class it describes', () => {
    const index = { _class_name: 'StableDiffusion3Pipeline', transformer: ['diffusers', 'SD3Transformer2DModel'], text_encoder: ['t', 'x'], tokenizer: ['t', 'x'], scheduler: ['d', 'x'], vae: ['d', 'x'] };
    expect(() => readModelIndex(index)).toThrow(
      'model_index.json: "unet" is missing: an ONNX Stable Diffusion folder needs text_encoder, tokenizer, unet, vae (or vae_decoder) and scheduler (this index is a StableDiffusion3Pipeline)',
    );
    const xl = { _class_name: 'StableDiffusionXLPipeline', text_encoder: ['t', 'x'], tokenizer: ['t', 'x'], unet: ['d', 'x'], scheduler: ['d', 'x'], vae: ['d', 'x'] };
    expect(() => readModelIndex(xl)).toThrow(/"text_encoder_2" is missing: an ONNX Stable Diffusion XL folder needs/);
    expect(() => readModelIndex({ ...xl, text_encoder_2: ['t', 'x'], tokenizer_2: ['t', 'x'], vae: [null, null] })).toThrow(/"vae" is missing/);
    expect(() => readModelIndex([])).toThrow(BundleFormatError);
  });

  it('a folder with neither an index nor the standard subfolders, or no scheduler config, is named', async () => {
    await expect(openBundle(nodeIo(), url('no-such-folder'))).rejects.toThrow(/neither manifest.json nor model_index.json was found in \/models\/no-such-folder\/, nor the standard subfolders/);
    const noScheduler = withFiles(nodeIo(), 'optimum/sd15-fp32', { 'scheduler/scheduler_config.json': null });
    await expect(openBundle(noScheduler, url('optimum/sd15-fp32'))).rejects.toThrow('scheduler/scheduler_config.json: is missing from the folder (HTTP 404)');
  });

  it('an inpainting UNet (9 channels in, 4 out) is refused by its config', async () => {
    const config = JSON.parse(await (await nodeIo().fetch(`${url('optimum/sd15-fp32')}unet/config.json`)).text()) as Record<string, unknown>;
    const io = withFiles(nodeIo(), 'optimum/sd15-fp32', { 'unet/config.json': { ...config, in_channels: 9 } });
    await expect(openBundle(io, url('optimum/sd15-fp32'))).rejects.toThrow(
      'unet/config.json: "in_channels" is 9 but "out_channels" is 4 (an inpainting UNet, which needs an image and a mask): not supported',
    );
  });

  it('a guidance scale chosen for the folder applies to all its recipes', async () => {
    const spec = await openBundle(nodeIo(), url('optimum/sd15-fp32'), undefined, { guidanceScale: 4 });
    expect(spec.unets.map((u) => u.recipe.guidanceScale)).toEqual([4, 4, 4, 4]);
  });
});

/** The Node runtime, recording which sessions were created and released. */
function trackingRuntime(): { runtime: Runtime; open: Set<string> } {
  const rt = nodeRuntime();
  const open = new Set<string>();
  const runtime: Runtime = {
    backend: rt.backend,
    lost: rt.lost,
    createSession: async (bytes, file, data) => {
      const s = await rt.createSession(bytes, file, data);
      open.add(file);
      const tracked: ModelSession = { file: s.file, inputs: s.inputs, outputs: s.outputs, run: (f) => s.run(f), release: () => (open.delete(file), s.release()) };
      return tracked;
    },
  };
  return { runtime, open };
}

describe('refused when the folder opens, nothing left loaded', () => {
  const load = async (folder: string, io: FileIo) => {
    const { runtime, open } = trackingRuntime();
    const pipe = new Pipeline(await openBundle(io, url(folder)), io, runtime);
    const err = await pipe.prepare(['flash-1']).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 10)); // drop() releases asynchronously
    return { err, open };
  };

  it('a missing graph is named, and the sessions already created are released', { timeout: 60_000 }, async () => {
    const io = withFiles(nodeIo(), 'optimum/sd15-fp32', { 'vae_decoder/model.onnx': null });
    const { err, open } = await load('optimum/sd15-fp32', io);
    expect(err).toBeInstanceOf(BundleFileError);
    expect((err as Error).message).toBe('vae_decoder/model.onnx: is missing from the bundle (HTTP 404)');
    expect([...open]).toEqual([]);
  });

  it('an fp16 text encoder on WASM: the text encoder is named with its float16 outputs, no session stays open', { timeout: 60_000 }, async () => {
    const { err, open } = await load('optimum/sd15-fp16', nodeIo());
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/^text_encoder\/model.onnx: computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only \(float16: output "last_hidden_state"/);
    expect([...open]).toEqual([]);
  });

  it('an SDXL UNet in a folder whose index describes SD 1.x names its inputs', { timeout: 60_000 }, async () => {
    // sdxl-fp32 with an SD 1.x index and without text_encoder_2: the UNet's extra inputs are refused, not fed
    const sd1Index = { _class_name: 'StableDiffusionPipeline', text_encoder: ['t', 'x'], tokenizer: ['t', 'x'], unet: ['d', 'x'], scheduler: ['d', 'x'], vae: ['d', 'x'] };
    const io = withFiles(nodeIo(), 'optimum/sdxl-fp32', { 'model_index.json': sd1Index });
    const { err, open } = await load('optimum/sdxl-fp32', io);
    expect((err as Error).message).toBe('unet/model.onnx: takes "text_embeds" and "time_ids" (an SDXL UNet), but the folder has no text_encoder_2 and tokenizer_2 to make them');
    expect([...open]).toEqual([]);
  });

  it('a tokenizer without tokenizer.json or vocab.json names the file, before any graph is read', { timeout: 60_000 }, async () => {
    const io = withFiles(nodeIo(), 'optimum/sd15-fp32', { 'tokenizer/vocab.json': null });
    const { err, open } = await load('optimum/sd15-fp32', io);
    expect(err).toBeInstanceOf(BundleFileError);
    expect((err as Error).message).toBe('tokenizer/vocab.json: is missing (HTTP 404): tokenizer/ has neither tokenizer.json nor vocab.json with merges.txt');
    expect([...open]).toEqual([]);
  });
});
