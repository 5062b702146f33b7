/**
 * What a standard folder's scheduler/scheduler_config.json says about sampling it: the training noise schedule,
 * what the UNet predicts (epsilon or v_prediction), and where diffusers puts n inference steps (timestep_spacing,
 * steps_offset). Our samplers are fixed (DDIM for the few-step recipes, DPM-Solver++ for the many-step one);
 * they take their timesteps from the folder's settings as diffusers' set_timesteps would, so an image here is the
 * one diffusers makes from the same folder. Checked against diffusers in tests/web/scheduler_vectors.py.
 */

import type { NoiseSchedule } from './ddim';
import { Fields, isRecord, parseNoiseSchedule } from './manifest';
import { BundleFormatError } from './bundle';

export type PredictionType = 'epsilon' | 'v_prediction';
export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';

export interface FolderScheduler {
  /** `_class_name` (DDIMScheduler, EulerDiscreteScheduler, …); null when the config names none */
  className: string | null;
  schedule: NoiseSchedule;
  prediction: PredictionType;
  spacing: TimestepSpacing;
  stepsOffset: number;
}

export function parseFolderScheduler(json: unknown, file: string): FolderScheduler {
  if (!isRecord(json)) throw new BundleFormatError(file, 'is not a JSON object');
  const f = new Fields(file, json);
  const predictionName = f.has('prediction_type') ? f.string('prediction_type') : 'epsilon';
  const prediction: PredictionType =
    predictionName === 'epsilon' || predictionName === 'v_prediction'
      ? predictionName
      : f.fail('prediction_type', `"${predictionName}" is not supported (epsilon or v_prediction)`);
  // "linspace" is the default of DDIM, DPM-Solver and Euler alike
  const spacingName = f.has('timestep_spacing') ? f.string('timestep_spacing') : 'linspace';
  const spacing: TimestepSpacing =
    spacingName === 'leading' || spacingName === 'trailing' || spacingName === 'linspace'
      ? spacingName
      : f.fail('timestep_spacing', `"${spacingName}" is not supported (linspace, leading or trailing)`);
  return {
    className: f.has('_class_name') ? f.string('_class_name') : null,
    schedule: parseNoiseSchedule(f),
    prediction,
    spacing,
    stepsOffset: f.has('steps_offset') ? f.int('steps_offset', 0) : 0,
  };
}

/** numpy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** diffusers' "linspace" timestep spacing of DPM-Solver: linspace(0, N−1, n+1).round()[::-1][:-1]. */
export function linspaceTimesteps(n: number, numTrain = 1000): number[] {
  const out: number[] = [];
  for (let k = n; k >= 1; k--) out.push(roundHalfEven(k === n ? numTrain - 1 : (k * (numTrain - 1)) / n));
  return out;
}

/** np.arange(N, 0, −N/n).round() − 1: the same for every scheduler class. */
function trailing(n: number, numTrain: number): number[] {
  const ratio = numTrain / n;
  return Array.from({ length: n }, (_, i) => roundHalfEven(numTrain - i * ratio) - 1);
}

/** DPMSolverMultistepScheduler.set_timesteps for `spacing`, so a folder's many-step recipe steps where diffusers would. */
export function dpmTimesteps(n: number, spacing: TimestepSpacing, numTrain = 1000, stepsOffset = 0): number[] {
  switch (spacing) {
    case 'linspace':
      return linspaceTimesteps(n, numTrain);
    case 'leading': {
      const ratio = Math.floor(numTrain / (n + 1));
      return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return trailing(n, numTrain);
    default: {
      const never: never = spacing;
      throw new Error(`unknown spacing ${String(never)}`);
    }
  }
}

/**
 * DDIMScheduler.set_timesteps (EulerDiscreteScheduler's too, but for "linspace", where Euler keeps fractional
 * timesteps that are rounded here: our samplers step on whole training timesteps).
 */
export function ddimTimesteps(n: number, spacing: TimestepSpacing, numTrain = 1000, stepsOffset = 0): number[] {
  switch (spacing) {
    case 'linspace':
      return Array.from({ length: n }, (_, i) => roundHalfEven(n === 1 ? 0 : ((n - 1 - i) * (numTrain - 1)) / (n - 1)));
    case 'leading': {
      const ratio = Math.floor(numTrain / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return trailing(n, numTrain);
    default: {
      const never: never = spacing;
      throw new Error(`unknown spacing ${String(never)}`);
    }
  }
}

/**
 * Euler-type schedulers (SD-Turbo's and SDXL's) scale the initial noise by init_noise_sigma = σ̃_max for
 * "linspace" and "trailing" spacing, which in the VP scaling our samplers use is a start of √(1 − ᾱ_t0)·noise
 * rather than noise itself (for "leading" it is √(σ̃²+1), i.e. exactly noise). Their first-order step is DDIM's.
 */
export function startsBelowUnitNoise(s: Pick<FolderScheduler, 'className' | 'spacing'>): boolean {
  return s.className !== null && /^Euler/.test(s.className) && s.spacing !== 'leading';
}
