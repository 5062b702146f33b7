import { describe, expect, it } from 'vitest';
import { MAX_SEED, parseSeed } from '../../src/pipeline/noise';

describe('parseSeed', () => {
  it('reads whole numbers from 0 to 2^32 − 1, leading zeros included', () => {
    expect(parseSeed('0')).toEqual({ ok: true, seed: 0 });
    expect(parseSeed(' 42 ')).toEqual({ ok: true, seed: 42 });
    expect(parseSeed('00000000000000000001')).toEqual({ ok: true, seed: 1 });
    expect(parseSeed('0000000000000000000000000')).toEqual({ ok: true, seed: 0 });
    expect(parseSeed(`000000000000${MAX_SEED}`)).toEqual({ ok: true, seed: MAX_SEED });
    expect(parseSeed(String(MAX_SEED))).toEqual({ ok: true, seed: MAX_SEED });
  });

  it('refuses seeds out of range by their value, not by how many digits were typed', () => {
    expect(parseSeed('4294967296')).toEqual({ ok: false, message: 'Seed 4294967296 is too large: use a whole number from 0 to 4294967295.' });
    expect(parseSeed('0004294967296')).toMatchObject({ ok: false, message: expect.stringContaining('is too large') });
    // beyond 2^53 a JS number would round; the digit count catches it before converting
    expect(parseSeed('99999999999999999999999')).toMatchObject({ ok: false, message: expect.stringContaining('is too large') });
  });

  it('refuses what is not a whole number', () => {
    for (const text of ['abc', '-3', '1.5', '1e3', '+1', '0x10']) expect(parseSeed(text).ok, text).toBe(false);
    expect(parseSeed('   ')).toEqual({ ok: false, message: 'Seed is empty: enter a whole number from 0 to 4294967295.' });
  });
});
