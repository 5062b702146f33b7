import { describe, expect, it } from 'vitest';
import { describeRecipe } from '../../src/pipeline/bundle';

describe('describeRecipe: the result line names what changed the image', () => {
  const ddim = (timesteps: number[], noiseCorrection: boolean) => ({ sampler: 'ddim', timesteps, guidanceScale: 1, noiseCorrection }) as const;

  it('names noise correction only where it acts: between steps, so from 2 steps up', () => {
    expect(describeRecipe(ddim([999], true))).toBe('1 step (DDIM)');
    expect(describeRecipe(ddim([999, 499], true))).toBe('2 steps (DDIM, noise correction)');
    expect(describeRecipe(ddim([999, 499], false))).toBe('2 steps (DDIM)');
    // a folder whose scheduler starts below t = 999 (leading spacing: 501, 1) has no pure noise to correct
    expect(describeRecipe(ddim([501, 1], true))).toBe('2 steps (DDIM)');
  });

  it('the teacher: its sampler and guidance', () => {
    expect(describeRecipe({ sampler: 'dpmsolver++', timesteps: Array.from({ length: 25 }, (_, i) => 999 - 40 * i), guidanceScale: 4, solverOrder: 2 })).toBe('25 steps (DPM-Solver++, CFG 4)');
  });
});
