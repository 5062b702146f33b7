"""diffusers' LCMScheduler on the teacher's schedule: the consistency parameterisation that LCM and ADD-style
students train, and the multistep sampler that evaluates it."""
from __future__ import annotations

import numpy as np
import torch
from diffusers import LCMScheduler

from ..networks.pipeline import decode_latents, encode_prompts
from .ddim import alpha_sigma
from .noise import gaussian_noise


def lcm_scheduler(scheduler_config, original_inference_steps: int = 50,
                  timestep_scaling: float = 10.0) -> LCMScheduler:
    """diffusers' LCMScheduler on the teacher's noise schedule (no clipping, ε-prediction)."""
    return LCMScheduler.from_config(scheduler_config, original_inference_steps=original_inference_steps,
                                    timestep_scaling=timestep_scaling, clip_sample=False, thresholding=False,
                                    prediction_type="epsilon")


def consistency_fn(lcm: LCMScheduler, x_t, eps, t, alphas_cumprod) -> torch.Tensor:
    """f(x_t, t) = c_skip(t)·x_t + c_out(t)·x̂0(x_t, ε̂, t): the consistency models' parameterisation (Song et al.
    2023), kept by LCM, with LCMScheduler's own c_skip/c_out so that its sampler evaluates exactly the trained f."""
    c_skip, c_out = lcm.get_scalings_for_boundary_condition_discrete(t.double().view(-1, 1, 1, 1))
    a, s = alpha_sigma(alphas_cumprod, t)
    x0 = (x_t.double() - s * eps.double()) / a
    return (c_skip * x_t.double() + c_out * x0).float()


@torch.no_grad()
def sample_lcm_recipe(pipe, unet, recipe: dict, prompts: list[str], seeds: list[int]) -> np.ndarray:
    """An "lcm" recipe through diffusers' LCMScheduler: x_T from the portable seeded noise, the scheduler's re-noising
    from one CPU torch.Generator per image (seeded with its seed), no CFG. Either "steps" (LCMScheduler's own
    spacing on its original_inference_steps grid) or custom "timesteps". uint8 [B, H, W, 3]."""
    if recipe.get("sampler") != "lcm":
        raise ValueError(f"not an lcm recipe: {recipe}")
    if recipe.get("guidance_scale", 1.0) != 1.0 or recipe.get("noise_correction", False):
        raise ValueError(f"lcm recipes sample without CFG and noise correction: {recipe}")
    if len(prompts) != len(seeds):
        raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    scheduler = lcm_scheduler(pipe.scheduler.config, recipe.get("original_inference_steps", 50),
                              recipe.get("timestep_scaling", 10.0))
    if recipe.get("timesteps"):
        scheduler.set_timesteps(timesteps=[int(t) for t in recipe["timesteps"]], device=unet.device)
    else:
        scheduler.set_timesteps(int(recipe["steps"]), device=unet.device)
    cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, prompts)  # [B, 77, D]
    shape = (unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    x = torch.from_numpy(np.stack([gaussian_noise(s, shape) for s in seeds])).to(unet.device)  # x_T [B, 4, h, w]
    x = x * scheduler.init_noise_sigma
    generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    denoised = x
    for t in scheduler.timesteps:
        eps = unet(x, t.expand(x.shape[0]), cond).sample
        x, denoised = scheduler.step(eps, t, x, generator=generators, return_dict=False)
    return decode_latents(pipe.vae, denoised)
