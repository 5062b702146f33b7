"""The Shifted Reconstruction Loss's target (paper §4.2; flash.py trains with it): γ(t) with the resolution shift,
the noise x̂0 is re-noised with, the teacher's k steps back to x̂0, and the per-element distance to it."""
from __future__ import annotations

import numpy as np
import torch

from ..sampling.ddim import sample_ddim


def shifted_timestep(t: int, gamma, shift: float = 1.0, shift_above: int = -1, alphas_cumprod=None) -> int:
    """γ(t) of the Shifted Reconstruction Loss (paper §4.2), optionally moved by a resolution shift: the timestep
    whose SNR = ᾱ/(1 − ᾱ) is SNR(γ(t))·shift² (shift > 1: less noise, for latents smaller than the paper's)."""
    for above, target in gamma:
        if t > above:
            break
    else:
        raise ValueError(f"γ is not defined for t={t}: {gamma}")
    if shift == 1.0 or t <= shift_above:
        return target
    if alphas_cumprod is None:
        raise ValueError("a γ shift needs the noise schedule (alphas_cumprod)")
    log_snr = torch.log(alphas_cumprod.double() / (1 - alphas_cumprod.double()))
    return int(torch.argmin((log_snr - (log_snr[target] + 2 * np.log(shift))).abs()))


def srl_noise(mode: str, x_T: torch.Tensor | None, x0: torch.Tensor) -> torch.Tensor:
    """The noise SRL re-noises x̂0 with: fresh, the student's own x_T, or x_T for the first half of the rows."""
    if mode == "x_T":
        return x_T
    noise = torch.randn_like(x0)
    if mode == "mix":
        noise[: len(noise) // 2] = x_T[: len(noise) // 2]
    return noise


def reconstruction_distance(diff: torch.Tensor, kind: str, c: float) -> torch.Tensor:
    """Per-element distance of the student's x̂0 to the target (FlashConfig.reconstruction_loss)."""
    if kind == "mse":
        return diff.pow(2)
    if kind == "pseudo_huber":
        return torch.sqrt(diff.pow(2) + c * c) - c
    raise ValueError(f"unknown reconstruction_loss {kind!r}")


def teacher_x0(teacher_model, x_start: torch.Tensor, t_start: int, k: int, alphas_cumprod) -> torch.Tensor:
    """The teacher's x̂0 after k uniformly spaced DDIM steps from t_start to 0 (CFG inside teacher_model)."""
    timesteps = [int(round(v)) for v in np.linspace(t_start, 0, k + 1)[:-1]]
    return sample_ddim(teacher_model, x_start, timesteps, alphas_cumprod=alphas_cumprod, noise_correction=False)
