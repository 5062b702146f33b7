import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alphasCumprod, sampleDdim, SD_SCHEDULE, type EpsModel } from '../../src/pipeline/ddim';
import { sampleDpmSolver } from '../../src/pipeline/dpmSolver';
import { parsePythonJson } from '../../src/pipeline/json';
import { gaussianNoise } from '../../src/pipeline/noise';

/** Vectors recorded by the Python side (tools/reference_vectors.py) with diffusers' float32 schedule. */
interface RefStep {
  t: number;
  x: number[];
  eps: number[];
  x_next: number[];
}
interface RefCase {
  sampler: 'ddim' | 'dpmsolver++';
  solver_order?: number;
  timesteps: number[];
  noise_correction: boolean;
  x_T: number[];
  steps: RefStep[];
  output: number[];
  config?: { lower_order_final: boolean; final_sigmas_type: string; solver_type: string; algorithm_type: string };
}
interface Reference {
  alphas_cumprod: number[];
  noise: { seed: number; shape: number[]; values: number[] };
  cases: RefCase[];
}

const ref = parsePythonJson(readFileSync(new URL('../fixtures/sampler_reference.json', import.meta.url), 'utf8')) as Reference;
const TOL = 1e-5;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Replays the recorded ε̂ of step i and checks the sampler hands the model the recorded x_t. */
function replay(c: RefCase): { model: EpsModel; calls: () => number } {
  let i = 0;
  const model: EpsModel = async (x, t) => {
    const step = c.steps[i];
    if (!step) throw new Error(`sampler called the model ${i + 1} times; ${c.steps.length} recorded`);
    expect(t).toBe(step.t);
    expect(maxAbsDiff(x, step.x)).toBeLessThan(TOL);
    i++;
    return Float32Array.from(step.eps);
  };
  return { model, calls: () => i };
}

describe('sampler reference vectors (diffusers / distill, tolerance 1e-5)', () => {
  it('the fixture holds the DDIM and DPM-Solver++ cases', () => {
    expect(ref.cases.filter((c) => c.sampler === 'ddim')).toHaveLength(6);
    expect(ref.cases.filter((c) => c.sampler === 'dpmsolver++')).toHaveLength(1);
  });

  it('our float64 SD schedule agrees with diffusers float32 alphas_cumprod', () => {
    expect(maxAbsDiff(alphasCumprod(SD_SCHEDULE), ref.alphas_cumprod)).toBeLessThan(1e-6);
  });

  for (const c of ref.cases) {
    const name = `${c.sampler} ${c.timesteps.length} step(s)${c.sampler === 'ddim' ? `, noise correction ${c.noise_correction ? 'on' : 'off'}` : ''}`;
    it(name, async () => {
      const { model, calls } = replay(c);
      const xT = Float32Array.from(c.x_T);
      const seen: Float32Array[] = [];
      const onStep = (s: { x: Float32Array }): void => void seen.push(s.x);
      const out =
        c.sampler === 'ddim'
          ? await sampleDdim(model, xT, c.timesteps, { alphasCumprod: ref.alphas_cumprod, noiseCorrection: c.noise_correction, onStep })
          : await sampleDpmSolver(model, xT, c.timesteps, {
              alphasCumprod: ref.alphas_cumprod,
              solverOrder: c.solver_order === 1 ? 1 : 2,
              lowerOrderFinal: c.config?.lower_order_final ?? true,
              finalSigmasType: c.config?.final_sigmas_type === 'sigma_min' ? 'sigma_min' : 'zero',
              onStep,
            });
      expect(calls()).toBe(c.steps.length);
      c.steps.forEach((s, i) => expect(maxAbsDiff(seen[i] ?? [], s.x_next)).toBeLessThan(TOL));
      expect(maxAbsDiff(out, c.output)).toBeLessThan(TOL);
    });
  }

  it('the DPM-Solver++ case really is second order (a first-order solver misses it)', async () => {
    const c = ref.cases.find((k) => k.sampler === 'dpmsolver++');
    if (!c) throw new Error('no dpmsolver++ case');
    let i = 0;
    const model: EpsModel = async () => Float32Array.from(c.steps[i++]?.eps ?? []);
    const out = await sampleDpmSolver(model, Float32Array.from(c.x_T), c.timesteps, { alphasCumprod: ref.alphas_cumprod, solverOrder: 1 });
    expect(maxAbsDiff(out, c.output)).toBeGreaterThan(1e-3);
  });
});

describe('portable noise (distill/sampling/noise.py)', () => {
  it('reproduces the Python values exactly in float32', () => {
    const { seed, shape, values } = ref.noise;
    const n = shape.reduce((a, b) => a * b, 1);
    const ours = gaussianNoise(seed, n);
    expect(ours.length).toBe(values.length);
    expect(maxAbsDiff(ours, Float32Array.from(values))).toBe(0);
  });
});
