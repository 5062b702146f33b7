/**
 * A standard diffusers/optimum Stable Diffusion (1.x, 2.x, XL) ONNX export read as a BundleSpec: what our manifest
 * states is derived here from model_index.json (or, without one, the standard subfolders), the components' configs
 * and the scheduler config, and refined from the ONNX sessions' own input metadata once they exist (shapeCheck.ts).
 * Such a folder has no hashes, so its files are used unverified.
 */

import { BundleFormatError, type BundleSpec, type Recipe, type UnetSpec } from './bundle';
import { Fields, isRecord } from './manifest';
import { ddimTimesteps, dpmTimesteps, startsBelowUnitNoise, type FolderScheduler } from './schedulerConfig';

export const MODEL_INDEX_FILE = 'model_index.json';

export const SD_PATHS = {
  textEncoder: 'text_encoder/model.onnx',
  textEncoder2: 'text_encoder_2/model.onnx',
  unet: 'unet/model.onnx',
  vaeDecoder: 'vae_decoder/model.onnx',
  tokenizer: 'tokenizer',
  tokenizer2: 'tokenizer_2',
  scheduler: 'scheduler/scheduler_config.json',
  unetConfig: 'unet/config.json',
  vaeConfig: 'vae_decoder/config.json',
  textConfig: 'text_encoder/config.json',
  text2Config: 'text_encoder_2/config.json',
} as const;

export { dpmTimesteps, linspaceTimesteps, type TimestepSpacing } from './schedulerConfig';

export const STANDARD_TEACHER_STEPS = 25;
export const STANDARD_TEACHER_GUIDANCE = 7.5;

/** How a folder is opened: a guidance scale the user chose for its recipes (null: each recipe's own). */
export interface OpenOptions {
  guidanceScale?: number | null;
}

/** The few-step recipes step where the folder's own scheduler would; the many-step one is DPM-Solver++ on the folder's spacing. */
export function standardRecipes(scheduler: FolderScheduler, options: OpenOptions = {}): UnetSpec[] {
  const numTrain = scheduler.schedule.numTrainTimesteps;
  const guidance = options.guidanceScale ?? null;
  const flash = ([1, 2, 3] as const).map(
    (k): UnetSpec => ({
      id: `flash-${k}`,
      path: SD_PATHS.unet,
      role: 'flash',
      recipe: {
        sampler: 'ddim',
        timesteps: ddimTimesteps(k, scheduler.spacing, numTrain, scheduler.stepsOffset),
        // SD-Turbo style: no CFG
        guidanceScale: guidance ?? 1,
        noiseCorrection: true,
        eulerStart: startsBelowUnitNoise(scheduler),
      },
    }),
  );
  const teacher: Recipe = {
    sampler: 'dpmsolver++',
    timesteps: dpmTimesteps(STANDARD_TEACHER_STEPS, scheduler.spacing, numTrain, scheduler.stepsOffset),
    guidanceScale: guidance ?? STANDARD_TEACHER_GUIDANCE,
    solverOrder: 2,
  };
  return [...flash, { id: 'teacher', path: SD_PATHS.unet, role: 'teacher', recipe: teacher }];
}

/** What the folder's model_index.json (or, without one, its subfolders) says it holds. */
export interface FolderLayout {
  /** the pipeline class the index names (null without an index) */
  className: string | null;
  sdxl: boolean;
  /** SDXL's force_zeros_for_empty_prompt (true unless the index says otherwise) */
  zeroUncond: boolean;
}

const SD_PARTS = ['text_encoder', 'tokenizer', 'unet', 'scheduler'] as const;
const SDXL_PARTS = ['text_encoder_2', 'tokenizer_2'] as const;

/**
 * model_index.json of the layouts in use: diffusers' PyTorch index as current optimum writes it
 * (StableDiffusionPipeline / StableDiffusionXLPipeline, key `vae`), optimum's ORT pipeline names, and the older
 * OnnxStableDiffusionPipeline index (key `vae_decoder`). The decoder graph is vae_decoder/model.onnx in all of them.
 */
export function readModelIndex(json: unknown): FolderLayout {
  if (!isRecord(json)) throw new BundleFormatError(MODEL_INDEX_FILE, 'is not a JSON object');
  const f = new Fields(MODEL_INDEX_FILE, json);
  const className = typeof json._class_name === 'string' ? json._class_name : null;
  const present = (part: string): boolean => {
    const v = f.raw(part);
    return Array.isArray(v) && v[0] !== null && v[0] !== undefined;
  };
  const sdxl = SDXL_PARTS.some(present) || (className !== null && /XL/.test(className));
  const needed = sdxl ? 'text_encoder, text_encoder_2, tokenizer, tokenizer_2, unet, vae (or vae_decoder) and scheduler' : 'text_encoder, tokenizer, unet, vae (or vae_decoder) and scheduler';
  const what = `an ONNX Stable Diffusion${sdxl ? ' XL' : ''} folder needs ${needed}${className ? ` (this index is a ${className})` : ''}`;
  for (const part of [...SD_PARTS, ...(sdxl ? SDXL_PARTS : [])]) {
    if (!present(part)) f.fail(part, `is missing: ${what}`);
  }
  if (!present('vae') && !present('vae_decoder')) f.fail('vae', `is missing: ${what}`);
  const zeros = json.force_zeros_for_empty_prompt;
  return { className, sdxl, zeroUncond: typeof zeros === 'boolean' ? zeros : true };
}

export interface StandardConfigs {
  unet: unknown;
  vae: unknown;
  text: unknown;
  scheduler: FolderScheduler;
}

/** Latent and image size from the configs; shapeCheck.ts replaces them with concrete ONNX input dims. */
export function standardSpec(baseUrl: string, configs: StandardConfigs, layout: FolderLayout, options: OpenOptions = {}): BundleSpec {
  const unet = new Fields(SD_PATHS.unetConfig, isRecord(configs.unet) ? configs.unet : {});
  const vae = new Fields(SD_PATHS.vaeConfig, isRecord(configs.vae) ? configs.vae : {});
  const text = new Fields(SD_PATHS.textConfig, isRecord(configs.text) ? configs.text : {});
  const channels = unet.has('in_channels') ? unet.int('in_channels', 1) : 4;
  const outChannels = unet.has('out_channels') ? unet.int('out_channels', 1) : channels;
  if (outChannels !== channels) {
    // an inpainting UNet (latents + mask + masked image in) cannot denoise its own output
    unet.fail('in_channels', `is ${channels} but "out_channels" is ${outChannels} (an inpainting UNet, which needs an image and a mask): not supported`);
  }
  const sample = unet.has('sample_size') ? unet.int('sample_size', 1) : 64;
  const blocks = vae.has('block_out_channels') ? vae.ints('block_out_channels').length : 4;
  const factor = 2 ** Math.max(0, blocks - 1);
  return {
    source: 'diffusers',
    name: baseUrl,
    baseUrl,
    imageSize: [sample * factor, sample * factor],
    latentShape: [channels, sample, sample],
    vaeScalingFactor: vae.has('scaling_factor') ? vae.number('scaling_factor', Number.MIN_VALUE) : 0.18215,
    contextLength: text.has('max_position_embeddings') ? text.int('max_position_embeddings', 1) : 77,
    textEncoder: SD_PATHS.textEncoder,
    vaeDecoder: SD_PATHS.vaeDecoder,
    tokenizer: SD_PATHS.tokenizer,
    unets: standardRecipes(configs.scheduler, options),
    schedule: configs.scheduler.schedule,
    vocabulary: null,
    files: null,
    prediction: configs.scheduler.prediction,
    sdxl: layout.sdxl ? { textEncoder2: SD_PATHS.textEncoder2, tokenizer2: SD_PATHS.tokenizer2, zeroUncond: layout.zeroUncond } : null,
  };
}
