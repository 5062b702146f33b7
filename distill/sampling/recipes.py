"""A recipe — the `recipe` of a UNet in manifest.json, or a student's recipe.json — turned into images.

Samplers by name:
  dpmsolver++  diffusers' DPMSolverMultistepScheduler through StableDiffusionPipeline (the teacher's recipe)
  ddim         deterministic DDIM (sampling.ddim.sample_ddim), optional noise correction at t = T, optional CFG
  lcm          diffusers' LCMScheduler (consistency models' multistep sampler; sampling.lcm)

Every sampler starts from the same portable seeded noise (sampling.noise), so one seed gives comparable images
across recipes and in the browser.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
from tqdm.auto import tqdm

from ..networks.architectures import make_noise_scheduler
from ..networks.pipeline import decode_latents, encode_prompts
from .ddim import guided, sample_ddim
from .lcm import sample_lcm_recipe
from .noise import gaussian_noise


SAMPLERS = ("dpmsolver++", "ddim", "lcm")

TEACHER_RECIPE = {"sampler": "dpmsolver++", "steps": 25, "guidance_scale": 4.0, "noise_correction": False}


def normalize_recipe(recipe: dict) -> dict:
    """Validates a recipe and fills its defaults; raises ValueError naming what is wrong."""
    sampler = recipe.get("sampler")
    if sampler not in SAMPLERS:
        raise ValueError(f"recipe sampler {sampler!r} is not one of {', '.join(SAMPLERS)}: {recipe}")
    out = {"guidance_scale": 1.0, "noise_correction": False, **recipe}
    if "steps" not in out and not out.get("timesteps"):
        raise ValueError(f"recipe needs 'steps' or 'timesteps': {recipe}")
    if out.get("timesteps"):
        ts = [int(t) for t in out["timesteps"]]
        if any(not 0 <= t <= 999 for t in ts) or ts != sorted(set(ts), reverse=True):
            raise ValueError(f"recipe timesteps must be distinct, decreasing and in [0, 999]: {ts}")
        out["timesteps"], out["steps"] = ts, len(ts)
    if int(out["steps"]) < 1:
        raise ValueError(f"recipe steps must be ≥ 1: {recipe}")
    if sampler == "ddim" and not out.get("timesteps"):
        out["timesteps"] = ddim_timesteps(int(out["steps"]))  # explicit, so reports say what ran
    if out["guidance_scale"] < 1.0:
        raise ValueError(f"recipe guidance_scale must be ≥ 1 (1 = no CFG): {recipe}")
    if sampler == "dpmsolver++" and out["noise_correction"]:
        raise ValueError("noise correction is defined for DDIM only (its direction term at t = T)")
    return out


def student_recipe(folder: str, what: str = "the student") -> dict:
    """A few-step student folder's recipe.json, which must be a guidance-free DDIM schedule (what flash saves);
    raises ValueError naming `what` when it is missing or another kind."""
    path = os.path.join(folder, "recipe.json")
    if not os.path.exists(path):
        raise ValueError(f"{what} {folder} has no recipe.json: save it with its DDIM recipe")
    with open(path) as f:
        recipe = normalize_recipe(json.load(f))
    if recipe["sampler"] != "ddim" or recipe["guidance_scale"] != 1.0:
        raise ValueError(f"{what} needs a guidance-free DDIM student recipe, got {recipe}")
    return recipe


def ddim_timesteps(steps: int) -> list[int]:
    """A teacher's DDIM schedule for a step count: diffusers' "trailing" spacing, which starts at t = 999
    (the default "leading"/"linspace" spacings start far below T at 1–4 steps and never see pure noise)."""
    sched = DDIMScheduler.from_config(_sd_schedule(), timestep_spacing="trailing")
    sched.set_timesteps(steps)
    return [int(t) for t in sched.timesteps]


def function_evaluations(recipe: dict) -> int:
    """UNet evaluations per image (NFE): one per step, two with classifier-free guidance."""
    return int(recipe["steps"]) * (2 if recipe["guidance_scale"] > 1.0 else 1)


@torch.no_grad()
def sample_recipe(pipe, unet, recipe: dict, prompts: list[str], seeds: list[int], batch_size: int = 100,
                  progress: bool = False) -> np.ndarray:
    """Images for (prompt, seed) pairs with `unet` (None: the pipeline's own) under a recipe. uint8 [B, H, W, 3]."""
    if len(prompts) != len(seeds):
        raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    recipe = normalize_recipe(recipe)
    unet = unet if unet is not None else pipe.unet
    out = []
    for i in tqdm(range(0, len(prompts), batch_size), desc=_describe(recipe), disable=not progress, leave=False):
        p, s = prompts[i:i + batch_size], seeds[i:i + batch_size]
        if recipe["sampler"] == "dpmsolver++":
            out.append(_sample_dpm(pipe, unet, recipe, p, s))
        elif recipe["sampler"] == "ddim":
            out.append(_sample_ddim(pipe, unet, recipe, p, s))
        elif recipe["sampler"] == "lcm":
            out.append(sample_lcm_recipe(pipe, unet, recipe, p, s))
        else:
            raise AssertionError(recipe["sampler"])  # normalize_recipe admits only SAMPLERS
    return np.concatenate(out)


def _sample_dpm(pipe, unet, recipe, prompts, seeds) -> np.ndarray:
    original = pipe.unet
    pipe.unet = unet
    try:
        return sample_with_pipeline(pipe, prompts, seeds, recipe["steps"], recipe["guidance_scale"], len(prompts))
    finally:
        pipe.unet = original


def _sample_ddim(pipe, unet, recipe, prompts, seeds) -> np.ndarray:
    return decode_latents(pipe.vae, ddim_latents(pipe, unet, recipe, prompts, seeds))


@torch.no_grad()
def ddim_latents(pipe, unet, recipe: dict, prompts: list[str], seeds: list[int]) -> torch.Tensor:
    """x̂0 latents [B, 4, h, w] (scaled as the UNet sees them) of a normalized DDIM recipe: portable seeded noise,
    the recipe's CFG and noise correction."""
    timesteps = recipe["timesteps"]
    shape = (unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, prompts)  # [B, 77, D]
    uncond = None
    if recipe["guidance_scale"] > 1.0:
        uncond = encode_prompts(pipe.text_encoder, pipe.tokenizer, [""]).expand_as(cond)  # [B, 77, D]
    x_T = torch.from_numpy(np.stack([gaussian_noise(s, shape) for s in seeds])).to(unet.device)  # [B, 4, h, w]
    x0 = sample_ddim(guided(unet, cond, uncond, recipe["guidance_scale"]), x_T, timesteps,
                     alphas_cumprod=pipe.scheduler.alphas_cumprod.double(),
                     noise_correction=recipe["noise_correction"])
    return x0


def _describe(recipe: dict) -> str:
    cfg = f" cfg {recipe['guidance_scale']:g}" if recipe["guidance_scale"] > 1 else ""
    nc = " nc" if recipe["noise_correction"] else ""
    return f"{recipe['sampler']} {recipe['steps']}{cfg}{nc}"


def _sd_schedule() -> dict:
    return dict(make_noise_scheduler().config)


@torch.no_grad()
def sample_with_pipeline(pipe: StableDiffusionPipeline, prompts: list[str], seeds: list[int], steps: int = 25,
                         guidance_scale: float = 4.0, batch_size: int = 64) -> np.ndarray:
    """The teacher's recipe through diffusers itself: DPM-Solver++ with CFG. Returns uint8 [B, H, W, 3]."""
    out = []
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    shape = (pipe.unet.config.in_channels, pipe.unet.config.sample_size, pipe.unet.config.sample_size)
    for i in range(0, len(prompts), batch_size):
        # portable seeded noise (sampling.noise): the browser draws the same x_T for the same seed
        latents = torch.from_numpy(np.stack([gaussian_noise(s, shape) for s in seeds[i:i + batch_size]]))
        images = pipe(prompts[i:i + batch_size], height=size, width=size, num_inference_steps=steps,
                      guidance_scale=guidance_scale, latents=latents, output_type="np").images
        out.append((np.clip(images, 0, 1) * 255).round().astype(np.uint8))
    return np.concatenate(out)
