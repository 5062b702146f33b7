import { describe, expect, it } from 'vitest';
import type { EpsModel } from '../../src/pipeline/ddim';
import { Profiler } from '../../src/pipeline/profile';

describe('Profiler', () => {
  it('adds a load row only when something was loaded', async () => {
    const cold = new Profiler(undefined);
    await cold.load(async () => true);
    expect(cold.finish().timings.map((t) => t.stage)).toEqual(['load']);
    const warm = new Profiler(undefined);
    await warm.load(async () => false);
    expect(warm.finish().timings).toEqual([]);
  });

  it('times each ε̂ call as a unet stage with its own session.run bucket, after the step hook', async () => {
    const prof = new Profiler(undefined);
    const events: string[] = [];
    const eps: EpsModel = async (x, t) => {
      events.push(`eps ${t}`);
      prof.unet(2);
      prof.unet(3);
      return x;
    };
    const sampler = async (model: EpsModel): Promise<Float32Array> => {
      const x = await model(new Float32Array(4), 999);
      return model(x, 500);
    };
    await prof.sampling(sampler, eps, async (index, t) => void events.push(`before ${index} ${t}`));
    prof.textEncoder(1);
    prof.vae(4);
    const { timings, profile } = prof.finish();
    expect(events).toEqual(['before 0 999', 'eps 999', 'before 1 500', 'eps 500']);
    expect(timings.map((t) => [t.stage, t.label])).toEqual([
      ['unet', 'step 1 (t=999)'],
      ['unet', 'step 2 (t=500)'],
    ]);
    expect(profile).toMatchObject({ unetRunMs: [5, 5], textEncoderRunMs: 1, vaeRunMs: 4, sessionRunMs: 15 });
    expect(profile.schedulerMs).toBeGreaterThanOrEqual(0);
  });

  it('does not start a stage once the run is aborted', async () => {
    const ctrl = new AbortController();
    const prof = new Profiler(ctrl.signal);
    ctrl.abort();
    let ran = false;
    await expect(prof.stage('decode', 'decode', () => void (ran = true))).rejects.toMatchObject({ name: 'AbortError' });
    expect(ran).toBe(false);
  });
});
