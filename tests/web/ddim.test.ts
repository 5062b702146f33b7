import { describe, expect, it } from 'vitest';
import {
  alphasCumprod,
  ddimStep,
  predictX0,
  qSample,
  sampleDdim,
  SD_SCHEDULE,
  type EpsModel,
  type StepInfo,
} from '../../src/pipeline/ddim';

/** Deterministic standard normals (mulberry32 + Box–Muller), independent of the code under test. */
function randn(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(uniform(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  }
  return out;
}

/** ᾱ_t of SD's schedule computed from scratch: ᾱ_t = Π_{i≤t} (1 − β_i), β_i = (√β0 + i·(√β1 − √β0)/999)². */
function referenceAbar(t: number): number {
  let prod = 1;
  for (let i = 0; i <= t; i++) {
    let root = Math.sqrt(0.00085);
    const stepSize = (Math.sqrt(0.012) - Math.sqrt(0.00085)) / 999;
    for (let k = 0; k < i; k++) root += stepSize; // the "double loop": linspace by repeated addition
    prod *= 1 - root * root;
  }
  return prod;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const ac = alphasCumprod(SD_SCHEDULE);
const sigma = (t: number): number => Math.sqrt(1 - (ac[t] as number));
const alpha = (t: number): number => Math.sqrt(ac[t] as number);

/** A non-trivial deterministic fake UNet: ε̂ = 0.7·x + 0.3·sin(x + t/100). */
const fakeModel: EpsModel = async (x, t) => x.map((v) => 0.7 * v + 0.3 * Math.sin(v + t / 100));

describe('SD scaled_linear schedule', () => {
  it('matches an independent computation of alphas_cumprod', () => {
    expect(ac.length).toBe(1000);
    expect(ac[0]).toBeCloseTo(1 - 0.00085, 12);
    for (const t of [0, 1, 250, 500, 666, 750, 999]) expect(ac[t]).toBeCloseTo(referenceAbar(t), 12);
    // SD's well-known terminal value: ᾱ_999 ≈ 0.00466 (α_T ≈ 0.068, so x_T is almost pure noise).
    expect(ac[999]).toBeGreaterThan(0.0046);
    expect(ac[999]).toBeLessThan(0.0047);
    for (let t = 1; t < 1000; t++) expect(ac[t]).toBeLessThan(ac[t - 1] as number);
  });
});

describe('x̂0 and DDIM steps', () => {
  const n = 4 * 8 * 8;
  const x0 = randn(n, 1);
  const eps = randn(n, 2);

  it('inverts the forward process: x̂0(q(x0, ε, t), ε, t) = x0', () => {
    for (const t of [0, 200, 500, 999]) {
      const xt = qSample(ac, x0, eps, t);
      expect(maxAbsDiff(predictX0(ac, xt, eps, t), x0)).toBeLessThan(2e-5);
    }
  });

  it('takes a step t→s as α_s·x̂0 + σ_s·ε̂, and returns x̂0 on the last step', () => {
    const xt = qSample(ac, x0, eps, 750);
    // with the true noise, a DDIM step lands exactly on q(x0, ε, s)
    expect(maxAbsDiff(ddimStep(ac, xt, eps, 750, 500), qSample(ac, x0, eps, 500))).toBeLessThan(1e-5);
    expect(maxAbsDiff(ddimStep(ac, xt, eps, 750, null), x0)).toBeLessThan(1e-5);
  });
});

describe('sampleDdim', () => {
  const n = 4 * 8 * 8;
  const xT = randn(n, 3);

  it('a 1-step sample is x̂0(x_T, ε̂, 999), and noise correction changes nothing', async () => {
    const epsT = await fakeModel(xT, 999);
    const expected = predictX0(ac, xT, epsT, 999);
    const plain = await sampleDdim(fakeModel, xT, [999]);
    const corrected = await sampleDdim(fakeModel, xT, [999], { noiseCorrection: true });
    expect(maxAbsDiff(plain, expected)).toBe(0);
    expect(maxAbsDiff(corrected, plain)).toBe(0);
  });

  it('noise correction shifts the first 2-step update by exactly σ_s·(x_T − ε̂)', async () => {
    const steps: Record<string, StepInfo[]> = { plain: [], corrected: [] };
    const record = (key: string) => (s: StepInfo) => steps[key]?.push(s);
    const xTcopy = xT.slice();
    await sampleDdim(fakeModel, xT, [999, 666], { onStep: record('plain') });
    await sampleDdim(fakeModel, xT, [999, 666], { noiseCorrection: true, onStep: record('corrected') });
    expect(maxAbsDiff(xT, xTcopy)).toBe(0); // input untouched
    const [p, c] = [steps.plain?.[0], steps.corrected?.[0]];
    if (!p || !c) throw new Error('onStep not called');
    const epsT = await fakeModel(xT, 999);
    const shift = xT.map((v, i) => sigma(666) * (v - (epsT[i] as number)));
    const diff = c.x.map((v, i) => v - (p.x[i] as number));
    expect(maxAbsDiff(diff, shift)).toBeLessThan(1e-5);
    expect(maxAbsDiff(shift, new Float32Array(n))).toBeGreaterThan(0.01); // the test has teeth
    // the second (last) step is plain DDIM on both paths: it returns x̂0 of its input
    const last = steps.corrected?.[1];
    if (!last) throw new Error('second step missing');
    expect(maxAbsDiff(last.x, predictX0(ac, c.x, await fakeModel(c.x, 666), 666))).toBe(0);
  });

  it('for a linear model ε̂ = k·x the final 2-step difference is (1 − σ_s·k)/α_s · σ_s·(x_T − ε̂_T)', async () => {
    const k = 0.9;
    const linear: EpsModel = async (x) => x.map((v) => k * v);
    const plain = await sampleDdim(linear, xT, [999, 666]);
    const corrected = await sampleDdim(linear, xT, [999, 666], { noiseCorrection: true });
    const gain = ((1 - sigma(666) * k) / alpha(666)) * sigma(666);
    const expected = xT.map((v) => gain * (v - k * v));
    expect(maxAbsDiff(corrected.map((v, i) => v - (plain[i] as number)), expected)).toBeLessThan(1e-4);
  });

  it('an oracle model recovers x0 for 1, 2 and 3 steps, with and without noise correction', async () => {
    const x0 = randn(n, 4);
    const oracle: EpsModel = async (x, t) => x.map((v, i) => (v - alpha(t) * (x0[i] as number)) / sigma(t));
    for (const ts of [[999], [999, 666], [999, 750, 500]]) {
      for (const noiseCorrection of [false, true]) {
        const out = await sampleDdim(oracle, xT, ts, { noiseCorrection });
        expect(maxAbsDiff(out, x0)).toBeLessThan(1e-4);
      }
    }
  });

  it('rejects bad timesteps and mis-shaped model outputs', async () => {
    await expect(sampleDdim(fakeModel, xT, [])).rejects.toThrow(/empty/);
    await expect(sampleDdim(fakeModel, xT, [500, 999])).rejects.toThrow(/decrease/);
    await expect(sampleDdim(fakeModel, xT, [1000])).rejects.toThrow(/outside/);
    await expect(sampleDdim(async () => new Float32Array(3), xT, [999])).rejects.toThrow(/length/);
  });
});
