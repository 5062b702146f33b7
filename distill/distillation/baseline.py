"""`python -m distill baseline --method M`: the few-step baselines of the paper's Table 1 (one module each),
distilled from the same teacher with the same initialisation (the student starts as a copy of the teacher UNet),
each through accelerate, resumable and time-boxed like flash.py:

  progressive  Progressive distillation (Salimans & Ho 2022, Algorithm 2): rounds halve the DDIM step count from
               start_steps to target_steps; one student DDIM step t→t'' learns to match two teacher DDIM steps
               t→t'→t''. Classifier-free guidance is baked into the first round's teacher (ε̂ with CFG w); later
               rounds' teachers are the previous round's (frozen) student. Recipe: plain DDIM on target_steps
               uniform timesteps, no CFG.
  lcm          Latent consistency distillation (Luo et al. 2023) as diffusers' examples/consistency_distillation/
               train_lcm_distill_sd_wds.py does it: a DDIM solver of the CFG teacher over num_ddim_timesteps skip
               steps, an online student, an EMA target network, LCMScheduler's c_skip/c_out boundary condition,
               Huber loss. Recipe: diffusers' LCMScheduler (sample_lcm_recipe).
  add          ADD-style (Sauer et al. 2023, adversarial diffusion distillation): the student sees forward-noised
               real latents at s ∈ {999, 749, 499, 249}; its x̂0, re-noised to a random t, is denoised by the CFG
               teacher, whose x̂0 (stop-grad) is the target (ADD §3.2); plus Imagine Flash's discriminator on
               frozen teacher-encoder features (common.Discriminator, hinge loss). Recipe: ADD's multi-step
               sampling (x̂0, then forward-diffuse to the next timestep with fresh noise), which is LCMScheduler with
               custom timesteps.

Every student is saved like flash's: run_dir/unet/ (save_pretrained) + run_dir/unet/recipe.json. Sample any recipe
with distill.sampling.recipes.sample_recipe ("ddim": progressive; "lcm": LCM and ADD, through sampling.lcm.sample_lcm_recipe).

python -m distill baseline --method progressive --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/progressive
python -m distill baseline --method lcm --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/lcm
python -m distill baseline --method add --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/add
"""
from __future__ import annotations

import argparse

from ..domain.prompts import DEV_PROMPTS
from ..runs.config import load_config
from ..runs.training import add_run_args
from .add import ADDConfig, train_add
from .lcm import LCMConfig, train_lcm
from .progressive import ProgressiveConfig, train_progressive


CONFIGS = {"progressive": ProgressiveConfig, "lcm": LCMConfig, "add": ADDConfig}
TRAIN = {"progressive": train_progressive, "lcm": train_lcm, "add": train_add}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train a Table 1 baseline (progressive distillation, LCM or ADD-style) "
                                            "from a diffusers SD teacher.")
    p.add_argument("--method", required=True, choices=sorted(CONFIGS), help="which baseline to train")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder of the teacher")
    add_run_args(p, "ProgressiveConfig / LCMConfig / ADDConfig (by --method)")
    p.add_argument("--eval-prompts", default=DEV_PROMPTS, help="jsonl prompt file for the periodic evaluation")
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(CONFIGS[args.method], args.config, args.set)
    return TRAIN[args.method](args, cfg)


if __name__ == "__main__":
    main(parse_args())
