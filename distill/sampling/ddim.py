"""Samplers as small pure functions with one signature (k-diffusion style):
sample_x(model, x, timesteps, extra_args, callback, ...) where model(x, t, **extra_args) -> ε̂.

Notation (DESIGN.md): x_t = α_t·x0 + σ_t·ε, α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t); x̂0(x_t, ε̂, t) = (x_t − σ_t·ε̂)/α_t."""
from __future__ import annotations

import torch


T_MAX = 999  # the last training timestep of SD's 1000-step schedule


def alpha_sigma(alphas_cumprod: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor]:
    """α_t, σ_t (float64): scalars at one timestep t, or [B, 1, 1, 1] at per-example timesteps t [B] (broadcast over
    latents), where t < 0 stands for clean data (α = 1, σ = 0)."""
    if isinstance(t, torch.Tensor) and t.dim() > 0:
        ac = torch.where(t >= 0, alphas_cumprod[t.clamp(min=0)], torch.ones_like(alphas_cumprod[0])).double()
        return ac.sqrt().view(-1, 1, 1, 1), (1 - ac).sqrt().view(-1, 1, 1, 1)
    if int(t) < 0:
        raise ValueError(f"timestep {int(t)} < 0: a scalar t must be a training timestep (0..999)")
    ac = alphas_cumprod[int(t)].double()
    return ac.sqrt(), (1 - ac).sqrt()


def predict_x0(x_t: torch.Tensor, eps: torch.Tensor, t: int, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    a, s = alpha_sigma(alphas_cumprod, t)
    return ((x_t.double() - s * eps.double()) / a).to(x_t.dtype)


def ddim_step(x_t, eps, t: int, s: int | None, alphas_cumprod, direction=None):
    """One deterministic DDIM step t -> s (Song et al. 2021, Eq. 12 with η = 0); s = None returns x̂0.
    `direction` replaces ε̂ in the direction term (noise correction passes x_T)."""
    # 1. predicted clean sample: x̂0 = (x_t − σ_t·ε̂) / α_t
    x0 = predict_x0(x_t, eps, t, alphas_cumprod)
    if s is None:
        return x0
    # 2. re-noise to s along the predicted direction: x_s = α_s·x̂0 + σ_s·ε̂
    a_s, s_s = alpha_sigma(alphas_cumprod, s)
    d = eps if direction is None else direction
    return (a_s * x0.double() + s_s * d.double()).to(x_t.dtype)


@torch.no_grad()
def ddim_trajectory(model, x, timesteps, extra_args=None, *, alphas_cumprod, noise_correction=False):
    """The DDIM state entering timesteps[-1]: steps through timesteps[:-1] only (no model call at the last)."""
    extra_args = extra_args or {}
    x_T = x
    for i, t in enumerate(timesteps[:-1]):
        eps = model(x, t, **extra_args)
        corrected = noise_correction and i == 0 and int(t) == T_MAX
        x = ddim_step(x, eps, t, timesteps[i + 1], alphas_cumprod, direction=x_T if corrected else None)
    return x


@torch.no_grad()
def sample_ddim(model, x, timesteps, extra_args=None, callback=None, *, alphas_cumprod, noise_correction=False):
    """Noise-corrected DDIM (Imagine Flash §4.3): at t = T the direction term uses x_T instead of ε̂."""
    extra_args = extra_args or {}
    x_T = x
    for i, t in enumerate(timesteps):
        eps = model(x, t, **extra_args)
        s = timesteps[i + 1] if i + 1 < len(timesteps) else None
        corrected = noise_correction and i == 0 and int(t) == T_MAX
        x_next = ddim_step(x, eps, t, s, alphas_cumprod, direction=x_T if corrected else None)
        if callback is not None:
            callback({"i": i, "t": int(t), "x": x, "eps": eps, "x_next": x_next})
        x = x_next
    return x


def guided(unet, cond, uncond=None, guidance_scale: float = 1.0):
    """ε̂ with classifier-free guidance: ε̂_u + w·(ε̂_c − ε̂_u); w = 1 (or no uncond) is the plain conditional model.
    The model takes one timestep t for the batch or per-example timesteps t [B]."""
    def model(x, t):
        if isinstance(t, torch.Tensor) and t.dim() > 0:
            tt = t.float()
        else:
            tt = torch.full((x.shape[0],), float(t), device=x.device)
        if uncond is None or guidance_scale == 1.0:
            return unet(x, tt, cond).sample
        e_u, e_c = unet(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([uncond, cond])).sample.chunk(2)
        return e_u + guidance_scale * (e_c - e_u)
    return model
