/**
 * A standard diffusers/optimum Stable Diffusion ONNX export (model_index.json layout, e.g. SD-Turbo) read
 * as a BundleSpec: what our manifest states is derived here from model_index.json and the components'
 * configs, and refined from the ONNX sessions' own input metadata once they exist (shapeCheck.ts). Such a
 * folder has no hashes, so its files are used unverified.
 */

import { BundleFormatError, type BundleSpec, type Recipe, type UnetSpec } from './bundle';
import { Fields, isRecord } from './manifest';

export const MODEL_INDEX_FILE = 'model_index.json';

export const SD_PATHS = {
  textEncoder: 'text_encoder/model.onnx',
  unet: 'unet/model.onnx',
  vaeDecoder: 'vae_decoder/model.onnx',
  tokenizer: 'tokenizer',
  scheduler: 'scheduler/scheduler_config.json',
  unetConfig: 'unet/config.json',
  vaeConfig: 'vae_decoder/config.json',
  textConfig: 'text_encoder/config.json',
} as const;

/** Few-step recipes for any epsilon model: Imagine Flash's student timesteps, no CFG (SD-Turbo style). */
export const FLASH_TIMESTEPS: Record<1 | 2 | 3, number[]> = { 1: [999], 2: [999, 666], 3: [999, 750, 500] };
export const STANDARD_TEACHER_STEPS = 25;
export const STANDARD_TEACHER_GUIDANCE = 7.5;

/** numpy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** diffusers' "linspace" timestep spacing: linspace(0, N−1, n+1).round()[::-1][:-1]. */
export function linspaceTimesteps(n: number, numTrain = 1000): number[] {
  const out: number[] = [];
  for (let k = n; k >= 1; k--) out.push(roundHalfEven(k === n ? numTrain - 1 : (k * (numTrain - 1)) / n));
  return out;
}

export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';

/** DPMSolverMultistepScheduler.set_timesteps for `spacing`, so a folder's teacher steps where diffusers would. */
export function dpmTimesteps(n: number, spacing: TimestepSpacing, numTrain = 1000, stepsOffset = 0): number[] {
  switch (spacing) {
    case 'linspace':
      return linspaceTimesteps(n, numTrain);
    case 'leading': {
      const ratio = Math.floor(numTrain / (n + 1));
      return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
    }
    case 'trailing': {
      const ratio = numTrain / n;
      return Array.from({ length: n }, (_, i) => roundHalfEven(numTrain - i * ratio) - 1);
    }
    default: {
      const never: never = spacing;
      throw new Error(`unknown spacing ${String(never)}`);
    }
  }
}

export function standardRecipes(teacherTimesteps: number[] = linspaceTimesteps(STANDARD_TEACHER_STEPS)): UnetSpec[] {
  const flash = ([1, 2, 3] as const).map(
    (k): UnetSpec => ({
      id: `flash-${k}`,
      path: SD_PATHS.unet,
      role: 'flash',
      recipe: { sampler: 'ddim', timesteps: FLASH_TIMESTEPS[k], guidanceScale: 1, noiseCorrection: true },
    }),
  );
  const teacher: Recipe = {
    sampler: 'dpmsolver++',
    timesteps: teacherTimesteps,
    guidanceScale: STANDARD_TEACHER_GUIDANCE,
    solverOrder: 2,
  };
  return [...flash, { id: 'teacher', path: SD_PATHS.unet, role: 'teacher', recipe: teacher }];
}

export function checkModelIndex(json: unknown): void {
  if (!isRecord(json)) throw new BundleFormatError(MODEL_INDEX_FILE, 'is not a JSON object');
  const f = new Fields(MODEL_INDEX_FILE, json);
  for (const part of ['text_encoder', 'unet', 'vae_decoder', 'tokenizer', 'scheduler']) {
    const v = f.raw(part);
    if (!Array.isArray(v) || v[0] === null || v[0] === undefined) {
      f.fail(part, 'is missing: an ONNX Stable Diffusion folder needs text_encoder, unet, vae_decoder, tokenizer and scheduler');
    }
  }
}

export interface StandardConfigs {
  unet: unknown;
  vae: unknown;
  text: unknown;
  scheduler: unknown;
}

/** Latent and image size from the configs; shapeCheck.ts replaces them with concrete ONNX input dims. */
export function standardSpec(baseUrl: string, configs: StandardConfigs): Omit<BundleSpec, 'schedule'> {
  const unet = new Fields(SD_PATHS.unetConfig, isRecord(configs.unet) ? configs.unet : {});
  const vae = new Fields(SD_PATHS.vaeConfig, isRecord(configs.vae) ? configs.vae : {});
  const text = new Fields(SD_PATHS.textConfig, isRecord(configs.text) ? configs.text : {});
  const sched = new Fields(SD_PATHS.scheduler, isRecord(configs.scheduler) ? configs.scheduler : {});
  const spacingName = sched.has('timestep_spacing') ? sched.string('timestep_spacing') : 'linspace';
  const spacing: TimestepSpacing =
    spacingName === 'leading' || spacingName === 'trailing' || spacingName === 'linspace'
      ? spacingName
      : sched.fail('timestep_spacing', `"${spacingName}" is not supported (linspace, leading or trailing)`);
  const numTrain = sched.has('num_train_timesteps') ? sched.int('num_train_timesteps', 2) : 1000;
  const offset = sched.has('steps_offset') ? sched.int('steps_offset', 0) : 0;
  const channels = unet.has('in_channels') ? unet.int('in_channels', 1) : 4;
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
    unets: standardRecipes(dpmTimesteps(STANDARD_TEACHER_STEPS, spacing, numTrain, offset)),
    vocabulary: null,
    files: null,
  };
}
