"""Portable seeded Gaussian noise: the same numbers in Python and in the browser (src/pipeline/noise.ts), so a
prompt and seed give the same image in both. torch.randn cannot be reproduced in JavaScript.

Spec: mulberry32 (32-bit state = seed) gives uniforms u = next() / 2^32; each pair (u1, u2) gives
z0 = sqrt(-2 ln(1 - u1)) cos(2π u2), z1 = sqrt(-2 ln(1 - u1)) sin(2π u2), computed in float64, then float32."""
from __future__ import annotations

import math

import numpy as np


MAX_SEED = 2**32 - 1


def _mulberry32(seed: int):
    a = seed & 0xFFFFFFFF
    while True:
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = ((a ^ (a >> 15)) * (1 | a)) & 0xFFFFFFFF
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & 0xFFFFFFFF)) & 0xFFFFFFFF) ^ t
        yield ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0


def gaussian_noise(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """float32 standard normal noise of `shape`, determined by an integer seed in [0, 2^32)."""
    if not (isinstance(seed, (int, np.integer)) and 0 <= seed <= MAX_SEED):
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    n = int(np.prod(shape))
    rng = _mulberry32(int(seed))
    out = np.empty(n + (n % 2), dtype=np.float64)
    for i in range(0, n, 2):
        u1, u2 = next(rng), next(rng)
        r = math.sqrt(-2.0 * math.log(1.0 - u1))
        out[i], out[i + 1] = r * math.cos(2 * math.pi * u2), r * math.sin(2 * math.pi * u2)
    return out[:n].astype(np.float32).reshape(shape)
