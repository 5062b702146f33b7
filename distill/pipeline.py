"""The teacher as a standard diffusers Stable Diffusion folder, and the frozen pieces around a UNet.

Everything downstream (sampling, distillation, export, eval) takes such a folder, so a user can point
the same commands at a real SD checkpoint."""
from __future__ import annotations

import numpy as np
import torch
from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline

from .models import make_noise_scheduler, tensor_to_images, tokenize


def assemble_pipeline(vae, text_encoder, tokenizer, unet) -> StableDiffusionPipeline:
    """An SD pipeline from our components, with SD's DDIM training schedule as its scheduler config."""
    scheduler = make_noise_scheduler()
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=dpm_solver(scheduler.config), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def dpm_solver(config) -> DPMSolverMultistepScheduler:
    """The teacher's sampler: DPM-Solver++ (2M) on SD's schedule."""
    return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2)


def load_pipeline(path: str) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(path, safety_checker=None, feature_extractor=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def encode_prompts(text_encoder, tokenizer, prompts: list[str]) -> torch.Tensor:
    """[B, 77, D] last hidden states, as SD feeds its UNet."""
    return text_encoder(tokenize(tokenizer, prompts).to(text_encoder.device))[0]


@torch.no_grad()
def decode_latents(vae: AutoencoderKL, latents: torch.Tensor) -> np.ndarray:
    """latents [B, 4, h, w] (scaled) -> uint8 [B, H, W, 3]."""
    return tensor_to_images(vae.decode(latents / vae.config.scaling_factor).sample)


@torch.no_grad()
def sample_with_pipeline(pipe: StableDiffusionPipeline, prompts: list[str], seeds: list[int], steps: int = 25,
                         guidance_scale: float = 4.0, batch_size: int = 64) -> np.ndarray:
    """The teacher's recipe through diffusers itself: DPM-Solver++ with CFG. Returns uint8 [B, H, W, 3]."""
    from .noise import gaussian_noise
    out = []
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    shape = (pipe.unet.config.in_channels, pipe.unet.config.sample_size, pipe.unet.config.sample_size)
    for i in range(0, len(prompts), batch_size):
        # portable seeded noise (distill.noise): the browser draws the same x_T for the same seed
        latents = torch.from_numpy(np.stack([gaussian_noise(s, shape) for s in seeds[i:i + batch_size]]))
        images = pipe(prompts[i:i + batch_size], height=size, width=size, num_inference_steps=steps,
                      guidance_scale=guidance_scale, latents=latents, output_type="np").images
        out.append((np.clip(images, 0, 1) * 255).round().astype(np.uint8))
    return np.concatenate(out)
