/**
 * Deterministic DDIM (eta = 0) for epsilon-prediction models, with Imagine Flash's Noise Correction.
 *
 * Notation (diffusers): ᾱ_t = alphas_cumprod[t], α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t),
 *   x_t = α_t·x0 + σ_t·ε                     (forward process q)
 *   x̂0(x_t, ε̂, t) = (x_t − σ_t·ε̂) / α_t
 *   DDIM step t→s: x_s = α_s·x̂0 + σ_s·ε̂;  the last step returns x̂0 itself.
 * Noise Correction: the first step starts from pure noise x_T, where ε̂ is least reliable; its direction
 * term uses x_T in place of ε̂: x_s = α_s·x̂0(x_T, ε̂, T) + σ_s·x_T. Later steps are plain DDIM.
 *
 * Arrays are Float32Array (what ONNX models take and return); scalars and per-element arithmetic are
 * float64, rounded once on store.
 */

export interface NoiseSchedule {
  /** diffusers `num_train_timesteps` */
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  /** diffusers `beta_schedule` */
  betaSchedule: 'scaled_linear' | 'linear';
}

/** Stable Diffusion's schedule (scheduler_config.json of SD 1.x/2.x, SD-Turbo). */
export const SD_SCHEDULE: NoiseSchedule = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
};

/** ᾱ_t for t = 0..N−1: betas = linspace(√β0, √β1, N)² (scaled_linear) or linspace(β0, β1, N); ᾱ = cumprod(1 − β). */
export function alphasCumprod(schedule: NoiseSchedule = SD_SCHEDULE): Float64Array {
  const { numTrainTimesteps: n, betaStart, betaEnd, betaSchedule } = schedule;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`numTrainTimesteps must be an integer ≥ 2, got ${n}`);
  const scaled = betaSchedule === 'scaled_linear';
  const lo = scaled ? Math.sqrt(betaStart) : betaStart;
  const hi = scaled ? Math.sqrt(betaEnd) : betaEnd;
  const out = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    const b = lo + ((hi - lo) * i) / (n - 1);
    prod *= 1 - (scaled ? b * b : b);
    out[i] = prod;
  }
  return out;
}

/** α_t and σ_t for an integer training timestep t. */
export function alphaSigma(ac: ArrayLike<number>, t: number): { alpha: number; sigma: number } {
  if (!Number.isInteger(t) || t < 0 || t >= ac.length) {
    throw new RangeError(`timestep ${t} outside [0, ${ac.length - 1}]`);
  }
  const abar = ac[t] as number;
  return { alpha: Math.sqrt(abar), sigma: Math.sqrt(1 - abar) };
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: length ${b.length} ≠ ${a.length}`);
}

/** Forward process q(x_t | x0) with given noise: α_t·x0 + σ_t·ε. */
export function qSample(ac: ArrayLike<number>, x0: Float32Array, eps: Float32Array, t: number): Float32Array {
  checkSameLength(x0, eps, 'qSample eps');
  const { alpha, sigma } = alphaSigma(ac, t);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) out[i] = alpha * (x0[i] as number) + sigma * (eps[i] as number);
  return out;
}

/** x̂0(x_t, ε̂, t) = (x_t − σ_t·ε̂) / α_t. */
export function predictX0(ac: ArrayLike<number>, xt: Float32Array, eps: Float32Array, t: number): Float32Array {
  checkSameLength(xt, eps, 'predictX0 eps');
  const { alpha, sigma } = alphaSigma(ac, t);
  const out = new Float32Array(xt.length);
  for (let i = 0; i < xt.length; i++) out[i] = ((xt[i] as number) - sigma * (eps[i] as number)) / alpha;
  return out;
}

/**
 * One DDIM step t→s: α_s·x̂0(x_t, ε̂, t) + σ_s·direction, with direction = ε̂ (plain DDIM) or x_T
 * (Noise Correction). s = null means "last step": returns x̂0.
 */
export function ddimStep(
  ac: ArrayLike<number>,
  xt: Float32Array,
  eps: Float32Array,
  t: number,
  s: number | null,
  direction: Float32Array = eps,
): Float32Array {
  checkSameLength(xt, eps, 'ddimStep eps');
  checkSameLength(xt, direction, 'ddimStep direction');
  const { alpha: at, sigma: st } = alphaSigma(ac, t);
  const n = xt.length;
  const out = new Float32Array(n);
  if (s === null) {
    for (let i = 0; i < n; i++) out[i] = ((xt[i] as number) - st * (eps[i] as number)) / at;
    return out;
  }
  const { alpha: as, sigma: ss } = alphaSigma(ac, s);
  for (let i = 0; i < n; i++) {
    const x0 = ((xt[i] as number) - st * (eps[i] as number)) / at;
    out[i] = as * x0 + ss * (direction[i] as number);
  }
  return out;
}

/** An epsilon-prediction model at an integer timestep (guidance, if any, is the model's business). */
export type EpsModel = (x: Float32Array, t: number) => Promise<Float32Array>;

/**
 * A model that predicts `prediction` as an ε-model, so both samplers serve it: v = α_t·ε − σ_t·x0 gives
 * ε̂ = α_t·v̂ + σ_t·x_t (and x̂0 = α_t·x_t − σ_t·v̂, as diffusers computes it).
 */
export function asEpsModel(model: EpsModel, ac: ArrayLike<number>, prediction: 'epsilon' | 'v_prediction'): EpsModel {
  if (prediction === 'epsilon') return model;
  return async (x, t) => {
    const v = await model(x, t);
    checkSameLength(x, v, `model output at t=${t}`);
    const { alpha, sigma } = alphaSigma(ac, t);
    const eps = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) eps[i] = alpha * (v[i] as number) + sigma * (x[i] as number);
    return eps;
  };
}

export interface StepInfo {
  /** 0-based index into `timesteps` */
  index: number;
  t: number;
  /** next timestep, or null after the last step */
  s: number | null;
  eps: Float32Array;
  /** the sample after this step: x_s, or x̂0 after the last step */
  x: Float32Array;
}

export interface DdimOptions {
  /** use x_T instead of ε̂ for the direction term of the first step (Imagine Flash §4.3) */
  noiseCorrection?: boolean;
  /** ᾱ table; defaults to Stable Diffusion's schedule */
  alphasCumprod?: ArrayLike<number>;
  /**
   * start from √(1 − ᾱ_t0)·x_T instead of x_T: where diffusers' Euler schedulers start (init_noise_sigma = σ̃_max
   * for their linspace and trailing spacings), so that this DDIM, whose step is Euler's, gives their image.
   * Noise Correction still uses x_T itself.
   */
  eulerStart?: boolean;
  onStep?: (info: StepInfo) => void;
}

/**
 * Samples from x_T along strictly decreasing integer `timesteps` (e.g. [999], [999, 666],
 * [999, 750, 500]) and returns x̂0 of the last step. `xT` is not modified.
 */
export async function sampleDdim(
  model: EpsModel,
  xT: Float32Array,
  timesteps: readonly number[],
  options: DdimOptions = {},
): Promise<Float32Array> {
  const ac = options.alphasCumprod ?? alphasCumprod(SD_SCHEDULE);
  if (timesteps.length === 0) throw new RangeError('timesteps is empty');
  timesteps.forEach((t, i) => {
    alphaSigma(ac, t);
    const prev = timesteps[i - 1];
    if (prev !== undefined && t >= prev) throw new RangeError(`timesteps must decrease: ${timesteps.join(',')}`);
  });
  let x = xT;
  if (options.eulerStart) {
    const scale = alphaSigma(ac, timesteps[0] as number).sigma;
    x = xT.map((v) => v * scale);
  }
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i] as number;
    const s = timesteps[i + 1] ?? null;
    const eps = await model(x, t);
    checkSameLength(x, eps, `model output at t=${t}`);
    // Only x_T at t = T is pure noise; a schedule that starts later has nothing to correct (as in distill/sampling/ddim.py).
    const direction = i === 0 && options.noiseCorrection && t === ac.length - 1 ? xT : eps;
    x = ddimStep(ac, x, eps, t, s, direction);
    options.onStep?.({ index: i, t, s, eps, x });
  }
  return x;
}
