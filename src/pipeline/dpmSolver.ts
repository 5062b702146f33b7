/**
 * DPM-Solver++ (multistep, order ≤ 2, "midpoint"), the teacher's sampler, reproducing diffusers'
 * DPMSolverMultistepScheduler (algorithm_type "dpmsolver++", prediction_type "epsilon", no thresholding)
 * so the browser's teacher images match the Python side's.
 *
 * diffusers works in the σ-parameterisation of the VP process: σ̃_t = √((1 − ᾱ_t)/ᾱ_t) (float32 table),
 * α_t = 1/√(σ̃²+1), σ_t = σ̃·α_t, λ_t = ln α_t − ln σ_t. A final σ̃ of 0 ("zero") makes the last update
 * return x̂0. The first step is first order (no history yet), and so is the last one when
 * lower_order_final applies (always with final_sigmas_type "zero").
 */

import { alphaSigma, alphasCumprod, SD_SCHEDULE, type EpsModel, type StepInfo } from './ddim';

export interface DpmSolverOptions {
  /** ᾱ table; defaults to Stable Diffusion's schedule */
  alphasCumprod?: ArrayLike<number>;
  /** 1 = DDIM-equivalent first order; 2 = DPM-Solver++(2M) */
  solverOrder?: 1 | 2;
  /** diffusers' lower_order_final (default true) */
  lowerOrderFinal?: boolean;
  /** what σ̃ the last step lands on: 0 (diffusers' default) or σ̃ at t = 0 */
  finalSigmasType?: 'zero' | 'sigma_min';
  onStep?: (info: StepInfo) => void;
}

/** σ̃ = √((1 − ᾱ)/ᾱ) rounded like diffusers' float32 tensor ops (each op is correctly rounded). */
function sigmaTilde(abar: number): number {
  const a = Math.fround(abar);
  return Math.fround(Math.sqrt(Math.fround(Math.fround(1 - a) / a)));
}

interface Coefs {
  alpha: number;
  sigma: number;
  lambda: number;
}

function coefs(sigmaT: number): Coefs {
  const alpha = 1 / Math.sqrt(sigmaT * sigmaT + 1);
  const sigma = sigmaT * alpha;
  // σ̃ = 0 gives λ = +∞, and then exp(−h) = 0: the update returns x̂0 exactly, as in diffusers.
  return { alpha, sigma, lambda: Math.log(alpha) - Math.log(sigma) };
}

function checkTimesteps(ac: ArrayLike<number>, timesteps: readonly number[]): void {
  if (timesteps.length === 0) throw new RangeError('timesteps is empty');
  timesteps.forEach((t, i) => {
    alphaSigma(ac, t);
    const prev = timesteps[i - 1];
    if (prev !== undefined && t >= prev) throw new RangeError(`timesteps must decrease: ${timesteps.join(',')}`);
  });
}

/**
 * Samples from x_T along strictly decreasing integer `timesteps` (for diffusers' "linspace" spacing and
 * 25 steps: 999, 959, …, 40) and returns the final sample. `xT` is not modified.
 */
export async function sampleDpmSolver(
  model: EpsModel,
  xT: Float32Array,
  timesteps: readonly number[],
  options: DpmSolverOptions = {},
): Promise<Float32Array> {
  const ac = options.alphasCumprod ?? alphasCumprod(SD_SCHEDULE);
  const order = options.solverOrder ?? 2;
  const lowerOrderFinal = options.lowerOrderFinal ?? true;
  const finalType = options.finalSigmasType ?? 'zero';
  checkTimesteps(ac, timesteps);

  const n = timesteps.length;
  const sigmas = timesteps.map((t) => sigmaTilde(ac[t] as number));
  sigmas.push(finalType === 'zero' ? 0 : sigmaTilde(ac[0] as number));
  const c = sigmas.map(coefs);

  let x = xT;
  let prevX0: Float32Array | null = null;
  for (let i = 0; i < n; i++) {
    const t = timesteps[i] as number;
    const eps = await model(x, t);
    if (eps.length !== x.length) throw new RangeError(`model output at t=${t}: length ${eps.length} ≠ ${x.length}`);
    const s0 = c[i] as Coefs;
    const tgt = c[i + 1] as Coefs;
    const x0 = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) x0[k] = ((x[k] as number) - s0.sigma * (eps[k] as number)) / s0.alpha;

    const isLast = i === n - 1;
    const lowerFinal = isLast && ((lowerOrderFinal && n < 15) || finalType === 'zero');
    const firstOrder = order === 1 || prevX0 === null || lowerFinal;
    const h = tgt.lambda - s0.lambda;
    const ratio = tgt.sigma / s0.sigma;
    const phi = tgt.alpha * (Math.exp(-h) - 1);
    const next = new Float32Array(x.length);
    if (firstOrder || prevX0 === null) {
      for (let k = 0; k < x.length; k++) next[k] = ratio * (x[k] as number) - phi * (x0[k] as number);
    } else {
      const s1 = c[i - 1] as Coefs;
      const r0 = (s0.lambda - s1.lambda) / h;
      for (let k = 0; k < x.length; k++) {
        const d0 = x0[k] as number;
        const d1 = (d0 - (prevX0[k] as number)) / r0;
        next[k] = ratio * (x[k] as number) - phi * d0 - 0.5 * phi * d1;
      }
    }
    options.onStep?.({ index: i, t, s: timesteps[i + 1] ?? null, eps, x: next });
    prevX0 = x0;
    x = next;
  }
  return x;
}
