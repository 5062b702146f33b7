"""The teacher as a standard diffusers Stable Diffusion folder, and the frozen pieces around a UNet.

Everything downstream (sampling, distillation, export, eval) takes such a folder, so a user can point
the same commands at a real SD checkpoint."""
from __future__ import annotations

import numpy as np
import torch
from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline

from ..domain.render import tensor_to_images
from .architectures import make_noise_scheduler, tokenize


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
