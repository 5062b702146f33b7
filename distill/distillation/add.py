"""ADD-style adversarial diffusion distillation (Sauer et al. 2023), a Table 1 baseline: the student sees
forward-noised real latents at s ∈ {999, 749, 499, 249}; its x̂0, re-noised to a random t, is denoised by the CFG
teacher, whose x̂0 (stop-grad) is the target (ADD §3.2); plus Imagine Flash's discriminator on frozen teacher-encoder
features (common.Discriminator, hinge loss). Recipe: ADD's multi-step sampling (x̂0, then forward-diffuse to the next
timestep with fresh noise), which is LCMScheduler with custom timesteps."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from ..runs.compute import WITH_GRAD, budget_spent, discriminator_passes, guided_passes
from ..runs.training import RunTimer
from ..sampling.ddim import alpha_sigma, guided
from ..sampling.lcm import consistency_fn, lcm_scheduler
from .common import (StudentConfig, adversarial_loss, discriminator_step, log, make_discriminator, maybe_evaluate,
                     maybe_snapshot, save_checkpoint, setup)


ADD_TIMESTEPS = (999, 749, 499, 249)


@dataclass
class ADDConfig(StudentConfig):
    timesteps: tuple[int, ...] = ADD_TIMESTEPS  # the student's s (ADD's 4-step schedule)
    guidance_scale: float = 4.0  # the teacher's CFG in the distillation target
    teacher_t_range: tuple[int, int] = (0, 999)  # t of the re-noised student output, uniform (inclusive)
    adversarial_weight: float = 0.1  # as Imagine Flash (flash.FlashConfig); 0 disables the discriminator
    timestep_scaling: float = 10.0  # the recipe's LCMScheduler boundary condition, trained with (see train_add)
    disc_learning_rate: float = 2e-4
    max_steps: int = 1000

    def recipe(self) -> dict:
        # original_inference_steps 1000: every t is on LCMScheduler's grid (k = 1), so custom timesteps are valid
        return {"sampler": "lcm", "timesteps": sorted(self.timesteps, reverse=True), "original_inference_steps": 1000,
                "timestep_scaling": self.timestep_scaling, "guidance_scale": 1.0, "noise_correction": False}


def add_step_passes(cfg: ADDConfig) -> int:
    """UNet passes (runs.compute) of one step: the student with gradient, the CFG teacher's x̂0 and the
    discriminator's teacher-encoder passes, per sample."""
    disc = discriminator_passes() if cfg.adversarial_weight > 0 else 0
    return cfg.batch_size * (WITH_GRAD + guided_passes(cfg.guidance_scale) + disc)


def train_add(args, cfg: ADDConfig) -> dict:
    """ADD (Sauer et al. 2023, §3): L = c(t)·‖x̂_θ − sg(x̂_ψ(α_t·x̂_θ + σ_t·ε', t))‖² + λ·L_adv.

    Distillation weighting: ADD's exponential weighting c(t) = ᾱ_t (= α_t² here): targets from heavily re-noised
    inputs, which the teacher redraws freely, count less. The student's x̂_θ is LCMScheduler's consistency
    parameterisation c_skip(s)·x_s + c_out(s)·x̂0 (consistency_fn), so the recipe's LCMScheduler sampler evaluates
    exactly the trained function; at ADD's s ≥ 249 with timestep_scaling 10, c_skip < 5e-8, i.e. it is x̂0.
    The adversarial term is Imagine Flash's (teacher-encoder features, hinge), not ADD's DINOv2 discriminator with
    R1 penalty; real samples are the batch's own data latents, as in ADD."""
    if not cfg.timesteps or any(not 0 < s <= 999 for s in cfg.timesteps):
        raise ValueError(f"ADD student timesteps must lie in 1..999, got {cfg.timesteps}")
    lo, hi = cfg.teacher_t_range
    if not 0 <= lo <= hi <= 999:
        raise ValueError(f"teacher_t_range must satisfy 0 ≤ lo ≤ hi ≤ 999, got {cfg.teacher_t_range}")
    run = setup(args, cfg, "add", lambda steps: steps * add_step_passes(cfg))
    accelerator, teacher, ac, dev = run.accelerator, run.teacher, run.ac, run.dev
    lcm = lcm_scheduler(run.pipe.scheduler.config, 1000, cfg.timestep_scaling)
    student_timesteps = torch.tensor(cfg.timesteps, device=dev)
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    disc = make_discriminator(teacher, run.pipe.text_encoder.config.hidden_size, "mid")
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=cfg.disc_learning_rate, betas=(0.0, 0.99))
    if run.ckpt is not None:
        student.load_state_dict(run.ckpt["student"]); disc.load_state_dict(run.ckpt["discriminator"])
        opt.load_state_dict(run.ckpt["optimizer"]); opt_d.load_state_dict(run.ckpt["disc_optimizer"])
    student_ddp, disc_ddp, opt, opt_d = accelerator.prepare(student, disc, opt, opt_d)

    def checkpoint():
        state = {"student": student.state_dict(), "discriminator": disc.state_dict(), "optimizer": opt.state_dict(),
                 "disc_optimizer": opt_d.state_dict()}
        save_checkpoint(run, args, cfg, "add", state, student, cfg.recipe())

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while run.step < cfg.max_steps and not budget_spent(run.passes, cfg.max_unet_passes):
        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set
            x0, cond, uncond = run.batch()  # [B, 4, h, w], [B, 77, D]
            b = x0.shape[0]
            # 1. the student's input: forward-noised real latents x_s at s ∈ T_student
            s = student_timesteps[torch.from_numpy(run.rng.integers(len(cfg.timesteps), size=b)).to(dev)]  # [B]
            a_s, s_s = alpha_sigma(ac, s)
            x_s = (a_s * x0.double() + s_s * torch.randn_like(x0).double()).float()
            x0_student = consistency_fn(lcm, x_s, guided(student_ddp, cond)(x_s, s), s, ac)  # x̂_θ [B, 4, h, w]

            # 2. distillation target: the CFG teacher's x̂0 of the student output re-noised to t (stop-grad, ADD §3.2)
            t = torch.from_numpy(run.rng.integers(lo, hi + 1, size=b)).to(dev)  # [B]
            a_t, s_t = alpha_sigma(ac, t)
            with torch.no_grad():
                x_t = (a_t * x0_student.double() + s_t * torch.randn_like(x0_student).double()).float()
                eps = guided(teacher, cond, uncond, cfg.guidance_scale)(x_t, t)
                target = ((x_t.double() - s_t * eps.double()) / a_t).float()
            c_t = (a_t**2).float()  # c(t) = ᾱ_t, ADD's exponential weighting
            loss_distill = (c_t * (x0_student - target) ** 2).mean()

            # 3. adversarial: teacher-encoder features of noised real / fake latents; hinge loss (as flash.py)
            loss_adv = torch.zeros((), device=dev)
            if cfg.adversarial_weight > 0:
                loss_adv, noising = adversarial_loss(teacher, disc_ddp, x0_student, ac, uncond)
            loss = loss_distill + cfg.adversarial_weight * loss_adv
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()

        loss_d = torch.zeros((), device=dev)
        if cfg.adversarial_weight > 0:
            loss_d = discriminator_step(teacher, disc_ddp, opt_d, accelerator, x0, noising, uncond)

        run.step += 1
        run.passes += add_step_passes(cfg)
        if run.step % cfg.log_every == 0 or run.step == 1:
            log(run, timer, loss=loss_distill.item(), adv=loss_adv.item(), disc=loss_d.item())
        maybe_evaluate(run, cfg, student, cfg.recipe())
        maybe_snapshot(run, args, cfg, "add", student, cfg.recipe())
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": run.step, "unet_passes": run.passes, "history": run.history}
