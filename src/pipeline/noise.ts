/**
 * Portable seeded Gaussian noise, bit-for-bit the numbers of distill/sampling/noise.py: torch.randn cannot be
 * reproduced in JavaScript, so both sides use this spec and a prompt + seed gives the same x_T here and
 * in Python.
 *
 * Spec: mulberry32 (32-bit state = seed) gives uniforms u = next() / 2^32; each pair (u1, u2) gives
 * z0 = √(−2 ln(1 − u1))·cos(2π u2), z1 = √(−2 ln(1 − u1))·sin(2π u2), in float64, then rounded to float32.
 */

import { clipWord } from './vocabulary';

export const MAX_SEED = 2 ** 32 - 1;

export type SeedParse = { ok: true; seed: number } | { ok: false; message: string };

const SEED_RANGE = `a whole number from 0 to ${MAX_SEED}`;

/** A seed typed by a user or read from a URL: digits only (no exponent, sign or fraction). */
export function parseSeed(text: string): SeedParse {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: `Seed is empty: enter ${SEED_RANGE}.` };
  if (!/^\d+$/.test(trimmed)) return { ok: false, message: `Seed "${clipWord(trimmed)}" is not ${SEED_RANGE}.` };
  // Digits beyond 2^53 would silently round in a JS number; reject by length before converting, counting
  // the digits that carry value ("0001" is 1).
  const digits = trimmed.replace(/^0+(?=\d)/, '');
  const seed = digits.length > 10 ? Infinity : Number(digits);
  if (seed > MAX_SEED) return { ok: false, message: `Seed ${clipWord(trimmed)} is too large: use ${SEED_RANGE}.` };
  return { ok: true, seed };
}

export function isValidSeed(seed: number): boolean {
  return Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED;
}

/** mulberry32: returns next() in [0, 1) as a float64 multiple of 2^-32. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` standard normal float32 values determined by `seed` (an integer in [0, 2^32 − 1]). */
export function gaussianNoise(seed: number, n: number): Float32Array {
  if (!isValidSeed(seed)) throw new RangeError(`seed must be ${SEED_RANGE}, got ${seed}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`noise length must be a non-negative integer, got ${n}`);
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = next();
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(1 - u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
