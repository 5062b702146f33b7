"""Imagine Flash distillation (Kohler et al. 2024, §4; DESIGN.md "Imagine Flash distillation").

A student UNet Θ, initialised from the teacher Φ, learns to sample in 1–3 steps:
  1. Backward distillation: the student's input at timestep t is x_{T→t}^Θ, the end of its own no-grad DDIM
     trajectory from pure noise (noise correction at T) — the inputs it will see at inference — instead of
     q(x0_data, ε, t) (forward distillation, the ablation).
  2. Shifted Reconstruction Loss: stopgrad(x̂0^Θ) is re-noised to t_Φ = γ(t) and the teacher runs k DDIM steps
     with CFG to 0; the target is that x̂0^Φ. High t: the teacher re-draws structure; low t: only details.
     Without SRL (Eq. 7) the teacher starts from x_{T→t}^Θ itself.
  3. Adversarial loss: a discriminator on features of the frozen teacher UNet encoder at noised inputs
     (real = data latents, fake = student x̂0).

python -m distill flash --teacher ~/.cache/imagine-flash/teacher/pipeline --steps 3 --run-dir ~/.cache/imagine-flash/flash-3
"""
from __future__ import annotations

import argparse
import copy
import json
import os
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import UNet2DConditionModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel

from ..networks.pipeline import encode_prompts
from ..runs.checkpoint import as_dict, load_checkpoint, save_atomic
from ..runs.compute import WITH_GRAD, budget_spent, discriminator_passes, guided_passes, resumed_passes
from ..runs.config import load_config
from ..runs.training import RunTimer, add_data_arg, add_run_args
from ..sampling.ddim import alpha_sigma, ddim_trajectory, guided, predict_x0, sample_ddim
from ..sampling.recipes import student_recipe
from .common import (DISC_LEVELS, StudentConfig, adversarial_loss, check_sources, discriminator_step,
                     evaluate_student, make_discriminator, periodic_eval_rows, pool_and_rng, run_sources, save_snapshot,
                     start_run)
from .dmd import dm_loss, dm_passes, fake_score_step
from .flash_state import averaged, carry_state, save_students
from .srl import reconstruction_distance, shifted_timestep, srl_noise, teacher_x0


STUDENT_TIMESTEPS = {1: (999,), 2: (999, 666), 3: (999, 750, 500)}


@dataclass
class FlashConfig(StudentConfig):
    student_steps: int = 3
    timesteps: tuple[int, ...] = ()  # empty: STUDENT_TIMESTEPS[student_steps]
    step_counts: tuple[int, ...] = ()  # more step counts the same student learns (one student for 1, 2 and 3 steps)
    backward: bool = True  # False: forward distillation (student input q(x0_data, ε, t))
    srl: bool = True  # False: Eq. 7 target (teacher k steps from the student's own input x_t)
    noise_correction: bool = True  # in the backward trajectory and in the student's recipe
    adversarial_weight: float = 0.1  # 0 disables the discriminator
    # the teacher-encoder features the discriminator sees: "mid" (the mid-block, 4×4 at our latents) or "all" (a head
    # per level: 16², 8² and the mid-block's 4²), so shape detail finer than the mid-block's cells is judged too
    disc_levels: str = "mid"
    teacher_steps: int = 8  # k
    gamma: tuple[tuple[int, int], ...] = ((900, 990), (500, 950), (-1, 200))  # (t above, t_Φ): γ(t>900)=990, …
    # resolution-aware γ: t_Φ becomes the timestep whose SNR is SNR(γ(t))·shift² (1 = the paper's γ). The same t
    # destroys more of a small latent than of a large one; Emu's 128² latents vs our 16² suggest a shift of 8.
    gamma_shift: float = 1.0
    gamma_shift_above: int = -1  # the shift applies to student timesteps t > this (500: the structure steps only)
    guidance_scale: float = 4.0  # the teacher's CFG in the SRL target
    # the noise SRL re-noises stopgrad(x̂0^Θ) with: "fresh" (the paper's) makes the target random given the student's
    # x_T, so MSE learns the mean of several teacher re-draws; "x_T" re-uses the student's own starting noise, so the
    # target is a function of x_T and the student is pulled to a fixed point of the teacher's refinement; "mix": the
    # first half of each trajectory's rows x_T, the rest fresh
    srl_noise: str = "fresh"
    # the reconstruction distance per latent element: "mse" (the paper's) is minimised by the mean of the target's
    # random re-draws, which blurs a shape's edge into grey; "pseudo_huber" (√(d² + c²) − c) is L1-like beyond c, so
    # its minimiser is the per-element median, which keeps an edge where most re-draws put it
    reconstruction_loss: str = "mse"
    huber_c: float = 0.05
    # a frozen few-step student (a saved unet/ folder with its recipe.json) whose guidance-free DDIM sample from the
    # row's own x_T is the target of the last `guide_share` of each trajectory's rows instead of SRL's: a function of
    # x_T, as deterministic as the teacher's ODE but close to the student's own noise → image map (the 3-step
    # student's first step is a 1-step sample), and len(its timesteps) passes instead of k CFG teacher steps
    guide_unet: str = ""
    guide_share: float = 0.5
    timestep_balance: str = "single"  # "single": one t per batch (the paper's); "split": every t in every batch
    timestep_shares: tuple[float, ...] = ()  # split: each trajectory's share of the batch (trajectories() order; empty: equal)
    lr_schedule: str = "constant"  # any diffusers.optimization scheduler name ("cosine", "linear", …)
    warmup_steps: int = 0
    lr_schedule_steps: int = 0  # the schedule's length; 0: max_steps (then a resume that changes max_steps moves it)
    ema_decay: float = 0.0  # > 0: an EMA of the student's weights, which is what is evaluated and saved
    disc_learning_rate: float = 2e-4  # (the student's stays 5e-5: 2e-4 was unstable, t=500 loss 0.47 vs 0.095)
    # distribution matching beside the reconstruction loss (dmd.py): its weight (0: off, the paper's method), the
    # real score's CFG, and the fake score's optimizer (TTUR: fake_updates of its steps per student step)
    dm_weight: float = 0.0
    dm_guidance_scale: float = 4.0
    fake_learning_rate: float = 1e-4
    fake_updates: int = 1
    max_steps: int = 1000

    def __post_init__(self):
        if self.timestep_balance not in ("single", "split"):
            raise ValueError(f"timestep_balance must be 'single' or 'split', got {self.timestep_balance!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.timestep_shares and (len(self.timestep_shares) != len(self.trajectories())
                                     or min(self.timestep_shares) <= 0 or self.timestep_balance != "split"):
            raise ValueError(f"timestep_shares needs timestep_balance 'split' and one share > 0 per trajectory "
                             f"{self.trajectories()}: {self.timestep_shares}")
        if self.srl_noise not in ("fresh", "x_T", "mix") or (self.srl_noise != "fresh" and not self.backward):
            raise ValueError(f"srl_noise must be 'fresh', 'x_T' or 'mix' (x_T needs backward distillation, whose "
                             f"trajectory starts at a noise x_T), got {self.srl_noise!r} with backward={self.backward}")
        if self.reconstruction_loss not in ("mse", "pseudo_huber") or self.huber_c <= 0:
            raise ValueError(f"reconstruction_loss must be 'mse' or 'pseudo_huber' (with huber_c > 0), got "
                             f"{self.reconstruction_loss!r}, huber_c={self.huber_c}")
        if self.guide_unet and (not 0.0 < self.guide_share <= 1.0 or not self.backward):
            raise ValueError(f"guide_unet needs 0 < guide_share <= 1 and backward distillation (its target starts at "
                             f"the row's x_T), got guide_share={self.guide_share}, backward={self.backward}")
        if self.disc_levels not in DISC_LEVELS:
            raise ValueError(f"disc_levels must be one of {DISC_LEVELS}, got {self.disc_levels!r}")
        if self.dm_weight < 0 or self.fake_updates < 1:
            raise ValueError(f"dm_weight must be >= 0 and fake_updates >= 1, got {self.dm_weight}, {self.fake_updates}")
        if self.gamma_shift <= 0:
            raise ValueError(f"gamma_shift must be > 0, got {self.gamma_shift}")
        unknown = [k for k in (self.student_steps, *self.step_counts) if k not in STUDENT_TIMESTEPS]
        if unknown or (self.step_counts and self.timesteps):
            raise ValueError(f"step counts must be among {sorted(STUDENT_TIMESTEPS)} (and step_counts needs the "
                             f"standard timesteps): {self.student_steps}, {self.step_counts}, {self.timesteps}")

    def student_timesteps(self, steps: int | None = None) -> tuple[int, ...]:
        if steps is not None and steps != self.student_steps:
            return STUDENT_TIMESTEPS[steps]
        return tuple(self.timesteps) or STUDENT_TIMESTEPS[self.student_steps]

    def all_step_counts(self) -> list[int]:
        return [self.student_steps] + [k for k in self.step_counts if k != self.student_steps]

    def trajectories(self) -> list[tuple[int, ...]]:
        """Every state a training step may start the student at: a schedule's prefix, ending at the t trained."""
        out: list[tuple[int, ...]] = []
        for k in self.all_step_counts():
            ts = self.student_timesteps(k)
            out += [ts[: i + 1] for i in range(len(ts)) if ts[: i + 1] not in out]
        return out

    def recipe(self, steps: int | None = None) -> dict:
        return {"sampler": "ddim", "timesteps": list(self.student_timesteps(steps)), "guidance_scale": 1.0,
                "noise_correction": self.noise_correction}


def batch_groups(trajectories: list[tuple[int, ...]], batch_size: int, balance: str, rng,
                 shares: tuple[float, ...] = ()) -> list[tuple[tuple, int]]:
    """(trajectory, rows) pairs filling one batch: one random trajectory ("single"), or all of them ("split": in
    equal shares or the given ones, at least one row each), so every t is in every batch and Adam's statistics and
    the clip are not set by one t."""
    if balance == "single":
        return [(trajectories[int(rng.integers(len(trajectories)))], batch_size)]
    if batch_size < len(trajectories):
        raise ValueError(f"batch_size {batch_size} < {len(trajectories)} trajectories: cannot split the batch")
    w = np.asarray(shares or [1.0] * len(trajectories), dtype=float)
    exact = 1 + (batch_size - len(trajectories)) * w / w.sum()  # one row each, the rest by share
    sizes = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - sizes), kind="stable")[: batch_size - sizes.sum()]:  # largest remainders
        sizes[i] += 1
    return list(zip(trajectories, sizes.tolist()))


def guide_rows(cfg: FlashConfig, n: int) -> int:
    """How many of a trajectory's n rows take the guide's target (the last ones)."""
    return int(round(n * cfg.guide_share)) if cfg.guide_unet else 0


def step_passes(cfg: FlashConfig, groups: list[tuple[tuple, int]], guide_steps: int = 0) -> int:
    """UNet passes (runs.compute) of one step on these (trajectory, rows) groups: per row the student's no-grad DDIM
    steps to its t (backward distillation), the student with gradient, the target (k CFG teacher steps, or the
    guide's `guide_steps`) and the discriminator's teacher-encoder passes."""
    per_row = WITH_GRAD + (discriminator_passes() if cfg.adversarial_weight > 0 else 0)
    guided_rows = sum(guide_rows(cfg, n) for _, n in groups)
    rows = sum(n for _, n in groups)
    target = (rows - guided_rows) * cfg.teacher_steps * guided_passes(cfg.guidance_scale) + guided_rows * guide_steps
    trajectory = sum((len(ts) - 1) * n for ts, n in groups) if cfg.backward else 0
    dm = dm_passes(rows, cfg.dm_guidance_scale, cfg.fake_updates) if cfg.dm_weight > 0 else 0
    return per_row * rows + target + trajectory + dm


def flash_passes(cfg: FlashConfig, steps: int) -> float:
    """UNet passes of `steps` steps: exact for a split batch, the mean over the trajectory draw for "single"."""
    n = len(student_recipe(cfg.guide_unet, "guide_unet")["timesteps"]) if cfg.guide_unet else 0
    if cfg.timestep_balance == "split":
        return steps * step_passes(cfg, batch_groups(cfg.trajectories(), cfg.batch_size, "split", None,
                                                     cfg.timestep_shares), n)
    per_step = [step_passes(cfg, [(ts, cfg.batch_size)], n) for ts in cfg.trajectories()]
    return steps * sum(per_step) / len(per_step)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Imagine Flash distillation of a diffusers SD teacher into a few-step student.")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder of the teacher")
    add_run_args(p, "FlashConfig")
    p.add_argument("--init-student", default=None, metavar="UNET",
                   help="start a new run from these student weights (a saved unet/ folder, e.g. committed fp16 EMA "
                        "weights) instead of the teacher's")
    p.add_argument("--continue-from", default=None, metavar="RUN_DIR",
                   help="start a new run (this config, its own lr schedule and step count) from another flash run's "
                        "whole state: student, EMA, discriminator and both optimizers' moments, so the new recipe "
                        "does not begin with a fresh discriminator and Adam warm-up")
    add_data_arg(p)
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(FlashConfig, args.config, args.set)
    accelerator, pipe, teacher, ac = start_run(args, cfg)
    text_encoder, tokenizer, dev = pipe.text_encoder, pipe.tokenizer, accelerator.device
    trajectories = cfg.trajectories()
    gamma = {ts[-1]: shifted_timestep(ts[-1], cfg.gamma, cfg.gamma_shift, cfg.gamma_shift_above, ac)
             for ts in trajectories}
    accelerator.print(f"student timesteps and their t_Φ = γ(t): {gamma}")
    ckpt_path = os.path.join(args.run_dir, "ckpt.pt")
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    guide, guide_steps = None, 0
    if cfg.guide_unet:
        guide = UNet2DConditionModel.from_pretrained(cfg.guide_unet).to(dev).eval().requires_grad_(False)
        guide_plan = student_recipe(cfg.guide_unet, "guide_unet")
        guide_steps = len(guide_plan["timesteps"])
        accelerator.print(f"guide target for {cfg.guide_share:.0%} of each trajectory's rows: {cfg.guide_unet} "
                          f"{guide_plan}")
    if args.init_student and args.continue_from:
        raise ValueError("--init-student and --continue-from both give the starting student: pass one")
    if args.init_student and not os.path.exists(ckpt_path):
        student.load_state_dict(UNet2DConditionModel.from_pretrained(args.init_student).to(dev).state_dict())
    disc = make_discriminator(teacher, text_encoder.config.hidden_size, cfg.disc_levels)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=cfg.disc_learning_rate, betas=(0.0, 0.99))
    ema = EMAModel(student.parameters(), decay=cfg.ema_decay) if cfg.ema_decay > 0 else None
    fake = opt_f = None  # DMD's fake score: starts as the teacher, learns the student's outputs
    if cfg.dm_weight > 0:
        fake = copy.deepcopy(teacher).train().requires_grad_(True)
        opt_f = torch.optim.AdamW(fake.parameters(), lr=cfg.fake_learning_rate, weight_decay=0.0)
    if args.continue_from and not os.path.exists(ckpt_path):
        carry_state(args, student, disc, opt, opt_d, ema, cfg, fake, opt_f)
    lr_sched = get_scheduler(cfg.lr_schedule, opt, num_warmup_steps=cfg.warmup_steps,
                             num_training_steps=cfg.lr_schedule_steps or cfg.max_steps)
    start = args.continue_from or args.init_student
    step, history, rng_state, init_student = 0, [], None, start and os.path.abspath(start)
    passes = 0  # UNet passes spent (runs.compute); a run from --init-student counts its own only
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind="flash", defaults=as_dict(FlashConfig()))
        student.load_state_dict(ckpt["student"]); disc.load_state_dict(ckpt["discriminator"])
        opt.load_state_dict(ckpt["optimizer"]); opt_d.load_state_dict(ckpt["disc_optimizer"])
        if "lr_scheduler" in ckpt:
            lr_sched.load_state_dict(ckpt["lr_scheduler"])
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        if fake is not None:
            fake.load_state_dict(ckpt["fake_score"]); opt_f.load_state_dict(ckpt["fake_optimizer"])
        step, history, rng_state, init_student = ckpt["step"], ckpt["history"], ckpt.get("rng"), ckpt.get("init_student")
        passes = resumed_passes(ckpt, step, lambda steps: flash_passes(cfg, steps))
        check_sources(ckpt, ckpt_path, args)
        accelerator.print(f"resuming {ckpt_path} at step {step}")
    student_ddp, disc_ddp, opt, opt_d = accelerator.prepare(student, disc, opt, opt_d)
    if fake is not None:
        fake_ddp, opt_f = accelerator.prepare(fake, opt_f)

    captions, latents, rng = pool_and_rng(pipe, cfg, accelerator, step, args.data_dir)  # forward x0, the real side
    if rng_state is not None:  # a checkpoint that saved its random state continues exactly where it stopped
        rng.bit_generator.state = rng_state["numpy"]
        torch.set_rng_state(rng_state["torch"])
    uncond_1 = encode_prompts(text_encoder, tokenizer, [""])  # [1, 77, D]
    eval_rows = periodic_eval_rows(args, cfg.eval_prompts_per_category, accelerator.print)

    def checkpoint():
        if accelerator.is_main_process:
            save_atomic({"kind": "flash", "config": as_dict(cfg), "student": student.state_dict(),
                         "discriminator": disc.state_dict(), "optimizer": opt.state_dict(),
                         "disc_optimizer": opt_d.state_dict(), "lr_scheduler": lr_sched.state_dict(),
                         "ema": ema.state_dict() if ema is not None else None,
                         "fake_score": fake and fake.state_dict(), "fake_optimizer": opt_f and opt_f.state_dict(),
                         "step": step,
                         "unet_passes": passes, "history": history,
                         "rng": {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()},
                         **run_sources(args), "init_student": init_student}, ckpt_path)
            save_students(averaged(student, ema), cfg, args.run_dir)

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while step < cfg.max_steps and not budget_spent(passes, cfg.max_unet_passes):
        b = cfg.batch_size
        idx = rng.integers(len(captions), size=b)
        prompts = captions.draw(idx, rng)
        with torch.no_grad():
            cond = encode_prompts(text_encoder, tokenizer, prompts)  # [B, 77, D]
        uncond = uncond_1.expand(b, -1, -1)
        groups = batch_groups(trajectories, b, cfg.timestep_balance, rng, cfg.timestep_shares)
        ends = np.cumsum([n for _, n in groups]).tolist()
        rows = [slice(end - n, end) for (_, n), end in zip(groups, ends)]

        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set; losses in fp32
            # 1. the student's input at t: its own trajectory from noise (backward) or forward noising (ablation)
            with torch.no_grad():
                x_t, x_T = [], []
                for (ts, n), r in zip(groups, rows):
                    if cfg.backward:
                        x_T.append(torch.randn(n, *latents.shape[1:], device=dev))
                        x_t.append(ddim_trajectory(guided(student, cond[r]), x_T[-1], ts, alphas_cumprod=ac,
                                                   noise_correction=cfg.noise_correction))
                    else:
                        x0_data = latents[torch.from_numpy(idx[r]).to(dev)]
                        a, s = (v.float() for v in alpha_sigma(ac, ts[-1]))
                        x_t.append(a * x0_data + s * torch.randn_like(x0_data))
                x_t = torch.cat(x_t)

            # 2. the student's prediction, with gradient: one pass for every t of the batch
            tt = torch.cat([torch.full((n,), float(ts[-1]), device=dev) for ts, n in groups])
            eps = student_ddp(x_t, tt, cond).sample
            x0_student = torch.cat([predict_x0(x_t[r], eps[r], ts[-1], ac) for (ts, _), r in zip(groups, rows)])

            # 3. the target: SRL (re-noise stopgrad(x̂0^Θ) to γ(t), k teacher steps) or Eq. 7 (k steps from x_t)
            with torch.no_grad():
                target = []
                for g, ((ts, _), r) in enumerate(zip(groups, rows)):
                    m = guide_rows(cfg, r.stop - r.start)  # the last m rows: the guide's sample from their x_T
                    own = slice(r.start, r.stop - m)
                    teacher_model = guided(teacher, cond[own], uncond[own], cfg.guidance_scale)
                    if own.start < own.stop and not cfg.srl:  # Eq. 7: k teacher steps from x_t itself
                        target.append(teacher_x0(teacher_model, x_t[own], ts[-1], cfg.teacher_steps, ac))
                    elif own.start < own.stop:
                        t_phi = gamma[ts[-1]]
                        a, s = (v.float() for v in alpha_sigma(ac, t_phi))
                        noise = srl_noise(cfg.srl_noise, x_T[g][: own.stop - own.start] if x_T else None,
                                          x0_student[own])
                        x_start = a * x0_student[own].detach() + s * noise
                        target.append(teacher_x0(teacher_model, x_start, t_phi, cfg.teacher_steps, ac))
                    if m:
                        target.append(sample_ddim(guided(guide, cond[own.stop:r.stop]), x_T[g][-m:],
                                                  guide_plan["timesteps"], alphas_cumprod=ac,
                                                  noise_correction=guide_plan["noise_correction"]))
                target = torch.cat(target)
            per_row = reconstruction_distance(x0_student.float() - target.float(), cfg.reconstruction_loss,
                                              cfg.huber_c).flatten(1).mean(1)  # [B]
            loss_rec = per_row.mean()

            # 4. adversarial: teacher-encoder features of noised real / fake latents; hinge loss
            loss_adv = torch.zeros(())
            if cfg.adversarial_weight > 0:
                loss_adv, noising = adversarial_loss(teacher, disc_ddp, x0_student, ac, uncond, cfg.disc_levels)

            # 5. distribution matching (dmd.py): the teacher's score against the fake score at the student's x̂0
            loss_dm = torch.zeros(())
            if fake is not None:
                loss_dm = dm_loss(teacher, fake_ddp, x0_student, cond, uncond, cfg.dm_guidance_scale, ac)
        loss = loss_rec + cfg.adversarial_weight * loss_adv + cfg.dm_weight * loss_dm
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()
        lr_sched.step()
        if ema is not None:
            ema.step(student.parameters())

        loss_d = torch.zeros(())
        if cfg.adversarial_weight > 0:
            real = latents[torch.from_numpy(rng.integers(len(latents), size=b)).to(dev)]
            loss_d = discriminator_step(teacher, disc_ddp, opt_d, accelerator, real, noising, uncond)
        loss_f = torch.zeros(())
        for _ in range(cfg.fake_updates if fake is not None else 0):
            loss_f = fake_score_step(fake_ddp, opt_f, x0_student, cond, ac, accelerator)

        step += 1
        passes += step_passes(cfg, groups, guide_steps)
        if step % cfg.log_every == 0 or step == 1:
            by_t = {str(ts[-1]): round(per_row[r].mean().item(), 5) for (ts, _), r in zip(groups, rows)}
            dm_log = {"dm": loss_dm.item(), "fake": loss_f.item()} if fake is not None else {}
            history.append({"step": step, "loss": loss_rec.item(), "adv": loss_adv.item(), "disc": loss_d.item(),
                            **dm_log, "t": groups[0][0][-1], "loss_by_t": by_t, "lr": lr_sched.get_last_lr()[0],
                            "unet_passes": passes, "minutes": timer.minutes()})
            accelerator.print(f"step {step} rec {loss_rec.item():.4f} {by_t} adv {loss_adv.item():.3f} "
                              f"disc {loss_d.item():.3f} " + "".join(f"{k} {v:.4f} " for k, v in dm_log.items())
                              + f"{timer.minutes():.1f} min")
        if step % cfg.eval_every == 0 and accelerator.is_main_process and eval_rows:
            model = averaged(student, ema).eval()
            for k in cfg.all_step_counts():
                metrics = evaluate_student(pipe, model, cfg.recipe(k), eval_rows)
                history.append({"step": step, "student_steps": k, "unet_passes": passes, **metrics})
                accelerator.print(f"step {step} eval {k}-step {json.dumps(metrics)}")
            student.train()
        if step in cfg.snapshot_steps and accelerator.is_main_process:
            save_snapshot(args.run_dir, "flash", cfg, step, passes, history,
                          lambda folder: save_students(averaged(student, ema), cfg, folder))
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": step, "unet_passes": passes, "history": history}


if __name__ == "__main__":
    main(parse_args())
