import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alphasCumprod, asEpsModel, sampleDdim, SD_SCHEDULE, type EpsModel } from '../../src/pipeline/ddim';
import { sampleDpmSolver } from '../../src/pipeline/dpmSolver';
import { ddimTimesteps, dpmTimesteps, parseFolderScheduler, startsBelowUnitNoise, type TimestepSpacing } from '../../src/pipeline/schedulerConfig';

/** diffusers' own schedulers on the configs SD exports ship (tests/web/scheduler_vectors.py). */
interface TimestepCase {
  scheduler: string;
  spacing: TimestepSpacing;
  steps_offset: number;
  steps: number;
  timesteps: number[];
  init_noise_sigma?: number;
}
interface RunCase {
  name: string;
  scheduler: string;
  config: { prediction_type: 'epsilon' | 'v_prediction'; timestep_spacing: TimestepSpacing; steps_offset: number };
  noise: number[];
  timesteps: number[];
  steps: { t: number; model_input: number[]; model_output: number[] }[];
  final: number[];
  last_x0: number[] | null;
}
const vectors = JSON.parse(readFileSync(new URL('./scheduler_vectors.json', import.meta.url), 'utf8')) as {
  alphas_cumprod: number[];
  timesteps: TimestepCase[];
  runs: RunCase[];
};
const ac = vectors.alphas_cumprod;
const TOL = 1e-5;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** numpy's round (half to even), for Euler's fractional "linspace" timesteps. */
const npRound = (x: number): number => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));

describe('set_timesteps of DDIM, DPM-Solver++ and Euler for every spacing and steps_offset', () => {
  it('the vectors cover the three classes and spacings', () => {
    expect(vectors.timesteps).toHaveLength(3 * 3 * 2 * 5);
    expect(alphasCumprod(SD_SCHEDULE).length).toBe(ac.length);
  });

  for (const c of vectors.timesteps) {
    it(`${c.scheduler} ${c.spacing} offset ${c.steps_offset}, ${c.steps} step(s): ${c.timesteps.slice(0, 4).join(', ')}${c.steps > 4 ? ', …' : ''}`, () => {
      const ours = (c.scheduler === 'DPMSolverMultistepScheduler' ? dpmTimesteps : ddimTimesteps)(c.steps, c.spacing, 1000, c.steps_offset);
      // Euler keeps linspace's fractional timesteps; our samplers step on the nearest whole ones
      expect(ours).toEqual(c.timesteps.map(npRound));
      if (c.init_noise_sigma === undefined) return;
      const t0 = ours[0] as number;
      const abar = ac[t0] as number;
      // init_noise_sigma in the VP scaling (× α_t0): √(1 − ᾱ_t0) where our DDIM starts below unit noise, else 1
      const start = c.init_noise_sigma * Math.sqrt(abar);
      const below = startsBelowUnitNoise({ className: c.scheduler, spacing: c.spacing });
      if (c.spacing === 'linspace' && c.steps === 1) return; // t0 = 0: σ̃ and 1 agree to 4e-4, nothing to tell apart
      expect(start).toBeCloseTo(below ? Math.sqrt(1 - abar) : 1, 5);
    });
  }
});

describe('sampling a folder with its scheduler config (epsilon, v_prediction; DDIM, DPM-Solver++, Euler) matches diffusers', () => {
  for (const c of vectors.runs) {
    it(c.name, async () => {
      const cfg = parseFolderScheduler({ _class_name: c.scheduler, beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, ...c.config }, 'scheduler/scheduler_config.json');
      const n = c.timesteps.length;
      const timesteps = c.scheduler === 'DPMSolverMultistepScheduler' ? dpmTimesteps(n, cfg.spacing, 1000, cfg.stepsOffset) : ddimTimesteps(n, cfg.spacing, 1000, cfg.stepsOffset);
      expect(timesteps).toEqual(c.timesteps);
      let i = 0;
      const raw: EpsModel = async (x, t) => {
        const step = c.steps[i++];
        if (!step) throw new Error('the sampler called the model too often');
        expect(t).toBe(step.t);
        // the UNet is handed what diffusers hands it (Euler's scale_model_input is our VP sample)
        expect(maxAbsDiff(x, step.model_input)).toBeLessThan(TOL);
        return Float32Array.from(step.model_output);
      };
      const model = asEpsModel(raw, ac, cfg.prediction);
      const noise = Float32Array.from(c.noise);
      const out =
        c.scheduler === 'DPMSolverMultistepScheduler'
          ? await sampleDpmSolver(model, noise, timesteps, { alphasCumprod: ac, solverOrder: 2 })
          : await sampleDdim(model, noise, timesteps, { alphasCumprod: ac, eulerStart: startsBelowUnitNoise(cfg) });
      expect(i).toBe(n);
      // DDIM returns the last step's x̂0 (diffusers' pred_original_sample); Euler's and DPM-Solver's last step lands on it
      const expected = c.scheduler === 'DDIMScheduler' ? c.last_x0 : c.final;
      expect(maxAbsDiff(out, expected ?? [])).toBeLessThan(TOL);
    });
  }

  it('the v_prediction conversion is needed: treating v as ε misses diffusers', async () => {
    const c = vectors.runs.find((r) => r.name === 'ddim v_prediction trailing');
    if (!c) throw new Error('no case');
    let i = 0;
    const asIfEps: EpsModel = async () => Float32Array.from(c.steps[i++]?.model_output ?? []);
    const out = await sampleDdim(asIfEps, Float32Array.from(c.noise), c.timesteps, { alphasCumprod: ac });
    expect(maxAbsDiff(out, c.last_x0 ?? [])).toBeGreaterThan(1e-2);
  });
});

describe('parseFolderScheduler', () => {
  const base = { _class_name: 'DDIMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000 };
  const file = 'scheduler/scheduler_config.json';

  it('reads prediction_type, spacing and steps_offset, with diffusers\' defaults', () => {
    expect(parseFolderScheduler(base, file)).toMatchObject({ className: 'DDIMScheduler', prediction: 'epsilon', spacing: 'linspace', stepsOffset: 0 });
    expect(parseFolderScheduler({ ...base, prediction_type: 'v_prediction', timestep_spacing: 'trailing', steps_offset: 1 }, file)).toMatchObject({
      prediction: 'v_prediction',
      spacing: 'trailing',
      stepsOffset: 1,
    });
  });

  it('refuses what the samplers would get wrong, naming the file and field', () => {
    expect(() => parseFolderScheduler({ ...base, prediction_type: 'sample' }, file)).toThrow('scheduler/scheduler_config.json: "prediction_type" "sample" is not supported (epsilon or v_prediction)');
    expect(() => parseFolderScheduler({ ...base, timestep_spacing: 'karras' }, file)).toThrow(/"timestep_spacing" "karras" is not supported/);
    expect(() => parseFolderScheduler({ ...base, rescale_betas_zero_snr: true }, file)).toThrow(/"rescale_betas_zero_snr" is true, which is not supported/);
    expect(() => parseFolderScheduler([], file)).toThrow(/is not a JSON object/);
  });
});
