"""Latent consistency distillation (Luo et al. 2023), a Table 1 baseline, as diffusers' examples/
consistency_distillation/train_lcm_distill_sd_wds.py does it: a DDIM solver of the CFG teacher over num_ddim_timesteps
skip steps, an online student, an EMA target network, LCMScheduler's c_skip/c_out boundary condition, Huber loss.
Recipe: diffusers' LCMScheduler (sampling.lcm.sample_lcm_recipe)."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from ..runs.compute import WITH_GRAD, budget_spent, guided_passes
from ..runs.training import RunTimer
from ..sampling.ddim import alpha_sigma, guided
from ..sampling.lcm import consistency_fn, lcm_scheduler
from .common import StudentConfig, log, maybe_evaluate, maybe_snapshot, save_checkpoint, setup


@dataclass
class LCMConfig(StudentConfig):
    num_ddim_timesteps: int = 50  # the DDIM solver's skip grid: k = 1000 // 50 = 20 (diffusers' default)
    guidance_scale: float = 4.0  # fixed teacher CFG, Imagen convention ε̂_u + w(ε̂_c − ε̂_u) (= LCM's w + 1)
    timestep_scaling: float = 10.0  # c_skip/c_out of the boundary condition (LCMScheduler.timestep_scaling)
    huber_c: float = 0.001
    ema_decay: float = 0.95  # the target network θ⁻ (diffusers' default)
    recipe_steps: int = 4  # steps written to recipe.json; one run serves any step count (eval may override)
    learning_rate: float = 1e-4  # diffusers' default
    weight_decay: float = 1e-2  # diffusers' default
    max_steps: int = 1000

    def recipe(self) -> dict:
        return {"sampler": "lcm", "steps": self.recipe_steps, "original_inference_steps": self.num_ddim_timesteps,
                "timestep_scaling": self.timestep_scaling, "guidance_scale": 1.0, "noise_correction": False}


def lcm_step_passes(cfg: LCMConfig) -> int:
    """UNet passes (runs.compute) of one step: the online student with gradient, the CFG teacher's solver step
    and the target network, once per sample each."""
    return cfg.batch_size * (WITH_GRAD + guided_passes(cfg.guidance_scale) + 1)


def train_lcm(args, cfg: LCMConfig) -> dict:
    """Consistency distillation with a DDIM solver (Luo et al. 2023; diffusers' train_lcm_distill_sd_wds.py).

    Our UNet has no guidance embedding (no time_cond_proj_dim), so the teacher's CFG is one fixed w baked into the
    student, instead of LCM's w ~ U[w_min, w_max] fed to the student as an embedding."""
    run = setup(args, cfg, "lcm", lambda steps: steps * lcm_step_passes(cfg))
    accelerator, teacher, ac, dev = run.accelerator, run.teacher, run.ac, run.dev
    lcm = lcm_scheduler(run.pipe.scheduler.config, cfg.num_ddim_timesteps, cfg.timestep_scaling)
    k = lcm.config.num_train_timesteps // cfg.num_ddim_timesteps  # the skip between solver timesteps
    ddim_timesteps = torch.arange(1, cfg.num_ddim_timesteps + 1, device=dev) * k - 1  # [19, 39, …, 999]
    student = copy.deepcopy(teacher).train().requires_grad_(True)  # online θ
    target = copy.deepcopy(teacher).requires_grad_(False)  # θ⁻, an EMA of θ
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    if run.ckpt is not None:
        student.load_state_dict(run.ckpt["student"]); target.load_state_dict(run.ckpt["target"])
        opt.load_state_dict(run.ckpt["optimizer"])
    student_ddp, opt = accelerator.prepare(student, opt)

    def checkpoint():
        # the shipped student is the target network θ⁻ (the EMA), as consistency models sample with their EMA
        state = {"student": student.state_dict(), "target": target.state_dict(), "optimizer": opt.state_dict()}
        save_checkpoint(run, args, cfg, "lcm", state, target, cfg.recipe())

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while run.step < cfg.max_steps and not budget_spent(run.passes, cfg.max_unet_passes):
        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set
            x0, cond, uncond = run.batch()  # [B, 4, h, w], [B, 77, D]
            b = x0.shape[0]
            # 1. t_{n+k} uniform on the solver grid, t_n = t_{n+k} − k (clamped at 0, as diffusers does)
            index = torch.from_numpy(run.rng.integers(cfg.num_ddim_timesteps, size=b)).to(dev)
            start = ddim_timesteps[index]  # [B]
            t_n = (start - k).clamp(min=0)  # [B]
            a_s, s_s = alpha_sigma(ac, start)
            noisy = (a_s * x0.double() + s_s * torch.randn_like(x0).double()).float()  # z_{t_{n+k}}

            # 2. the online student's consistency function f_θ(z_{t_{n+k}}, t_{n+k})
            pred = consistency_fn(lcm, noisy, guided(student_ddp, cond)(noisy, start), start, ac)

            with torch.no_grad():
                # 3. one DDIM solver step of the CFG teacher t_{n+k} → t_n: x̂_{t_n} = α_{t_n}·x̂0 + σ_{t_n}·ε̂
                eps = guided(teacher, cond, uncond, cfg.guidance_scale)(noisy, start)
                a_n, s_n = alpha_sigma(ac, t_n)
                x_prev = (a_n * (noisy.double() - s_s * eps.double()) / a_s + s_n * eps.double()).float()
                # 4. the target network's f_θ⁻(x̂_{t_n}, t_n)
                target_pred = consistency_fn(lcm, x_prev, guided(target, cond)(x_prev, t_n), t_n, ac)

            # 5. pseudo-Huber loss d(x, y) = √(‖x − y‖² + c²) − c, elementwise as diffusers does
            loss = torch.mean(torch.sqrt((pred - target_pred) ** 2 + cfg.huber_c**2) - cfg.huber_c)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()
        # 6. θ⁻ ← μ·θ⁻ + (1 − μ)·θ
        with torch.no_grad():
            for p_target, p in zip(target.parameters(), student.parameters()):
                p_target.mul_(cfg.ema_decay).add_(p.detach(), alpha=1 - cfg.ema_decay)

        run.step += 1
        run.passes += lcm_step_passes(cfg)
        if run.step % cfg.log_every == 0 or run.step == 1:
            log(run, timer, loss=loss.item())
        maybe_evaluate(run, cfg, target, cfg.recipe())
        maybe_snapshot(run, args, cfg, "lcm", target, cfg.recipe())
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": run.step, "unet_passes": run.passes, "history": run.history}
