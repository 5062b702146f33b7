"""The few-step baselines of the paper's Table 1, distilled from the same teacher with the same initialisation
(the student starts as a copy of the teacher UNet), each through accelerate, resumable and time-boxed like flash.py:

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
               frozen teacher-encoder features (distill.flash.Discriminator, hinge loss). Recipe: ADD's multi-step
               sampling (x̂0, then forward-diffuse to the next timestep with fresh noise), which is LCMScheduler with
               custom timesteps.

Every student is saved like flash's: run_dir/unet/ (save_pretrained) + run_dir/unet/recipe.json. Sample any recipe
with distill.recipes.sample_recipe ("ddim": progressive; "lcm": LCM and ADD, through sample_lcm_recipe here).

python -m distill baseline --method progressive --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/progressive
python -m distill baseline --method lcm --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/lcm
python -m distill baseline --method add --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/add
"""
from __future__ import annotations

import argparse
import copy
import json
import os
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import LCMScheduler

from .accel import make_accelerator
from .checkpoint import as_dict, load_checkpoint, refuse_record_only, save_atomic
from .config import load_config
from .data import caption
from .flash import Discriminator, data_latent_pool, unet_encoder_features
from .pipeline import decode_latents, encode_prompts, load_pipeline
from .recipes import sample_recipe
from .training import DEV_PROMPTS, RunTimer, add_run_args, eval_subset

ADD_TIMESTEPS = (999, 749, 499, 249)


@dataclass
class ProgressiveConfig:
    start_steps: int = 32  # the first round's teacher runs this many DDIM steps
    target_steps: int = 4  # the last round's student; start_steps / target_steps must be a power of 2
    steps_per_round: int = 350  # 3 rounds (32→16→8→4) ≈ the 1,000 steps each flash student gets
    guidance_scale: float = 4.0  # CFG of the first round's teacher (the original model), baked into every student
    batch_size: int = 32
    learning_rate: float = 5e-5
    pool_size: int = 8000  # data latents: the students' inputs are forward-noised data (Algorithm 2)
    eval_every: int = 250
    eval_prompts_per_category: int = 8
    log_every: int = 25
    checkpoint_minutes: float = 5.0
    mixed_precision: str = "no"  # "bf16": autocast UNet passes (operational: may switch on resume)
    seed: int = 0

    def rounds(self) -> int:
        ratio = self.start_steps // max(self.target_steps, 1)
        if self.target_steps < 1 or ratio < 2 or ratio * self.target_steps != self.start_steps or ratio & (ratio - 1):
            raise ValueError(f"start_steps / target_steps must be a power of 2 ≥ 2, got {self.start_steps} / "
                             f"{self.target_steps}")
        return ratio.bit_length() - 1

    def student_steps(self, round_: int) -> int:
        return self.start_steps // 2 ** (round_ + 1)

    def recipe(self, student_steps: int | None = None) -> dict:
        return {"sampler": "ddim", "timesteps": uniform_timesteps(student_steps or self.target_steps),
                "guidance_scale": 1.0, "noise_correction": False}


@dataclass
class LCMConfig:
    num_ddim_timesteps: int = 50  # the DDIM solver's skip grid: k = 1000 // 50 = 20 (diffusers' default)
    guidance_scale: float = 4.0  # fixed teacher CFG, Imagen convention ε̂_u + w(ε̂_c − ε̂_u) (= LCM's w + 1)
    timestep_scaling: float = 10.0  # c_skip/c_out of the boundary condition (LCMScheduler.timestep_scaling)
    huber_c: float = 0.001
    ema_decay: float = 0.95  # the target network θ⁻ (diffusers' default)
    recipe_steps: int = 4  # steps written to recipe.json; one run serves any step count (eval may override)
    batch_size: int = 32
    learning_rate: float = 1e-4  # diffusers' default
    weight_decay: float = 1e-2  # diffusers' default
    pool_size: int = 8000
    max_steps: int = 1000
    eval_every: int = 250
    eval_prompts_per_category: int = 8
    log_every: int = 25
    checkpoint_minutes: float = 5.0
    mixed_precision: str = "no"  # "bf16": autocast UNet passes (operational: may switch on resume)
    seed: int = 0

    def recipe(self) -> dict:
        return {"sampler": "lcm", "steps": self.recipe_steps, "original_inference_steps": self.num_ddim_timesteps,
                "timestep_scaling": self.timestep_scaling, "guidance_scale": 1.0, "noise_correction": False}


@dataclass
class ADDConfig:
    timesteps: tuple[int, ...] = ADD_TIMESTEPS  # the student's s (ADD's 4-step schedule)
    guidance_scale: float = 4.0  # the teacher's CFG in the distillation target
    teacher_t_range: tuple[int, int] = (0, 999)  # t of the re-noised student output, uniform (inclusive)
    adversarial_weight: float = 0.1  # as Imagine Flash (flash.FlashConfig); 0 disables the discriminator
    timestep_scaling: float = 10.0  # the recipe's LCMScheduler boundary condition, trained with (see train_add)
    batch_size: int = 32
    learning_rate: float = 5e-5
    disc_learning_rate: float = 2e-4
    pool_size: int = 8000
    max_steps: int = 1000
    eval_every: int = 250
    eval_prompts_per_category: int = 8
    log_every: int = 25
    checkpoint_minutes: float = 5.0
    mixed_precision: str = "no"  # "bf16": autocast UNet passes (operational: may switch on resume)
    seed: int = 0

    def recipe(self) -> dict:
        # original_inference_steps 1000: every t is on LCMScheduler's grid (k = 1), so custom timesteps are valid
        return {"sampler": "lcm", "timesteps": sorted(self.timesteps, reverse=True), "original_inference_steps": 1000,
                "timestep_scaling": self.timestep_scaling, "guidance_scale": 1.0, "noise_correction": False}


CONFIGS = {"progressive": ProgressiveConfig, "lcm": LCMConfig, "add": ADDConfig}


def uniform_timesteps(n: int) -> list[int]:
    """n DDIM timesteps at 1000·(n−j)/n − 1, ending at x0 ("trailing" spacing): [999, 749, 499, 249] for n = 4. The
    2n-step grid holds the n-step grid at its even entries, which progressive distillation's t→t'→t'' needs."""
    return [int(round(1000 * (n - j) / n)) - 1 for j in range(n)]


def alpha_sigma(alphas_cumprod: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """α_t, σ_t [B, 1, 1, 1] (float64) at per-example timesteps t [B]; t < 0 stands for clean data (α = 1, σ = 0)."""
    ac = torch.where(t >= 0, alphas_cumprod[t.clamp(min=0)], torch.ones_like(alphas_cumprod[0]))
    return ac.sqrt().view(-1, 1, 1, 1), (1 - ac).sqrt().view(-1, 1, 1, 1)


def progressive_target(z_t, z_2, a_t, s_t, a_2, s_2) -> torch.Tensor:
    """x̃ = (z_t'' − (σ_t''/σ_t)·z_t) / (α_t'' − (σ_t''/σ_t)·α_t) (Salimans & Ho 2022, Algorithm 2): the x̂ with which
    one DDIM step t → t'' from z_t, α_t''·x̂ + (σ_t''/σ_t)·(z_t − α_t·x̂), lands on z_t''. t'' = 0 gives x̃ = z_0. float64"""
    ratio = s_2 / s_t
    return (z_2.double() - ratio * z_t.double()) / (a_2 - ratio * a_t)


def unet_eps(unet, x, t, cond, uncond=None, guidance_scale: float = 1.0) -> torch.Tensor:
    """ε̂ at per-example timesteps t [B]; with uncond, CFG ε̂_u + w·(ε̂_c − ε̂_u) (sampling.guided with a vector t)."""
    t = t.float()
    if uncond is None or guidance_scale == 1.0:
        return unet(x, t, cond).sample
    e_u, e_c = unet(torch.cat([x, x]), torch.cat([t, t]), torch.cat([uncond, cond])).sample.chunk(2)
    return e_u + guidance_scale * (e_c - e_u)


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


# --- shared set-up: teacher, data pool, resume --------------------------------------------------------------------

def setup(args, cfg, method: str):
    """The frozen teacher pieces, the data latent pool, the run's checkpoint (or None) and the batch sampler."""
    refuse_record_only(args.run_dir)  # before any loading: such a folder is never trained into
    accelerator = make_accelerator(cfg.mixed_precision)
    torch.manual_seed(cfg.seed + accelerator.process_index)
    pipe = load_pipeline(args.teacher)
    teacher = pipe.unet.eval()
    dev = accelerator.device
    for m in (pipe.vae, pipe.text_encoder, teacher):
        m.requires_grad_(False).to(dev)
    ac = pipe.scheduler.alphas_cumprod.double().to(dev)  # [1000]

    ckpt_path, ckpt, step, history = os.path.join(args.run_dir, "ckpt.pt"), None, 0, []
    if os.path.exists(ckpt_path):
        # the kind names the method: resuming a run with another --method raises here
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind=f"baseline-{method}")
        if ckpt.get("teacher") != os.path.abspath(args.teacher):
            raise ValueError(f"{ckpt_path} distills {ckpt.get('teacher')}, not {os.path.abspath(args.teacher)}; "
                             "use another --run-dir")
        step, history = ckpt["step"], ckpt["history"]
        accelerator.print(f"resuming {ckpt_path} ({method}) at step {step}")

    # a fixed pool of data latents (as flash.py): every baseline's student input is forward-noised data
    scenes, latents = data_latent_pool(pipe, cfg.pool_size, cfg.seed, dev)  # [N, 4, h, w]
    rng = np.random.default_rng([cfg.seed, accelerator.process_index, step])
    torch.manual_seed(int(rng.integers(2**31)))  # noise draws differ after a resume, too
    uncond_1 = encode_prompts(pipe.text_encoder, pipe.tokenizer, [""])  # [1, 77, D]

    def batch():
        """x0 [B, 4, h, w] data latents with their captions' embeddings cond, and the empty prompt's uncond."""
        idx = rng.integers(len(scenes), size=cfg.batch_size)
        with torch.no_grad():
            cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, [caption(scenes[j], rng)[0] for j in idx])
        return latents[torch.from_numpy(idx).to(dev)], cond, uncond_1.expand(len(idx), -1, -1)

    return SimpleNamespace(accelerator=accelerator, pipe=pipe, teacher=teacher, dev=dev, ac=ac, rng=rng, batch=batch,
                           ckpt_path=ckpt_path, ckpt=ckpt, step=step, history=history,
                           eval_rows=eval_subset(args.eval_prompts, cfg.eval_prompts_per_category))


def log(run, timer, **row) -> None:
    run.history.append({"step": run.step, **row, "minutes": timer.minutes()})
    run.accelerator.print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in
                                   run.history[-1].items()))


def maybe_evaluate(run, cfg, unet, recipe: dict) -> None:
    if run.step % cfg.eval_every == 0 and run.accelerator.is_main_process and run.eval_rows:
        from .evaluate import accuracy_by_category
        was_training = unet.training
        images = sample_recipe(run.pipe, unet.eval(), recipe, [r["prompt"] for r in run.eval_rows],
                               [0] * len(run.eval_rows))
        unet.train(was_training)
        metrics = accuracy_by_category(run.eval_rows, images, [0])
        run.history.append({"step": run.step, **metrics})
        run.accelerator.print(f"step {run.step} eval {json.dumps(metrics)}")


def save_checkpoint(run, args, cfg, method: str, state: dict, shipped, recipe: dict) -> None:
    """ckpt.pt (atomic) with the run's state dicts and everything else a resume needs; the shipped UNet and its
    recipe in run_dir/unet/."""
    if run.accelerator.is_main_process:
        save_atomic({"kind": f"baseline-{method}", "method": method, "config": as_dict(cfg),
                     "step": run.step, "history": run.history, "teacher": os.path.abspath(args.teacher), **state},
                    run.ckpt_path)
        save_student(shipped, recipe, os.path.join(args.run_dir, "unet"))


# --- 1. progressive distillation -----------------------------------------------------------------------------------

def train_progressive(args, cfg: ProgressiveConfig) -> dict:
    """Salimans & Ho 2022, Algorithm 2, with the first round's teacher guided (w = cfg.guidance_scale)."""
    n_rounds = cfg.rounds()
    run = setup(args, cfg, "progressive")
    accelerator, teacher, ac, dev = run.accelerator, run.teacher, run.ac, run.dev
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    round_, round_teacher = 0, None  # round_teacher: the previous round's student, frozen (None in round 0)
    if run.ckpt is not None:
        student.load_state_dict(run.ckpt["student"]); opt.load_state_dict(run.ckpt["optimizer"])
        round_ = run.ckpt["round"]
        if run.ckpt["round_teacher"] is not None:
            round_teacher = copy.deepcopy(teacher)
            round_teacher.load_state_dict(run.ckpt["round_teacher"])
    # one AdamW for all rounds: Algorithm 2 keeps optimising η; only its teacher changes between rounds
    student_ddp, opt = accelerator.prepare(student, opt)

    def checkpoint():
        state = {"student": student.state_dict(), "optimizer": opt.state_dict(), "round": round_,
                 "round_teacher": None if round_teacher is None else round_teacher.state_dict()}
        save_checkpoint(run, args, cfg, "progressive", state, student, cfg.recipe(cfg.student_steps(round_)))

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    total = n_rounds * cfg.steps_per_round
    while run.step < total:
        if run.step // cfg.steps_per_round != round_:
            # a new round (Algorithm 2, θ ← η): its teacher is the student so far, frozen; the student carries on
            round_ = run.step // cfg.steps_per_round
            round_teacher = copy.deepcopy(student).eval().requires_grad_(False)
        n = cfg.student_steps(round_)  # N: the student's steps this round; the teacher takes 2N
        grid_s = torch.tensor(uniform_timesteps(n) + [-1], device=dev)  # [N + 1], −1 = x0
        grid_t = torch.tensor(uniform_timesteps(2 * n) + [-1], device=dev)  # [2N + 1]

        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set
            x0, cond, uncond = run.batch()  # [B, 4, h, w], [B, 77, D]
            b = x0.shape[0]
            # 1. i ~ U{1..N}: the student step t → t'' and the teacher's midpoint t'
            j = torch.from_numpy(run.rng.integers(n, size=b)).to(dev)
            t, t1, t2 = grid_s[j], grid_t[2 * j + 1], grid_s[j + 1]  # [B] each
            a_t, s_t = alpha_sigma(ac, t)
            a_1, s_1 = alpha_sigma(ac, t1)
            a_2, s_2 = alpha_sigma(ac, t2)
            z_t = (a_t * x0.double() + s_t * torch.randn_like(x0).double()).float()  # z_t = α_t·x + σ_t·ε

            # 2. two teacher DDIM steps t → t' → t'' (round 0: the original model with CFG)
            with torch.no_grad():
                if round_teacher is None:
                    eps = unet_eps(teacher, z_t, t, cond, uncond, cfg.guidance_scale)
                else:
                    eps = unet_eps(round_teacher, z_t, t, cond)
                z_1 = a_1 * (z_t - s_t * eps.double()) / a_t + s_1 * eps.double()  # z_t' = α_t'·x̂ + σ_t'·ε̂
                if round_teacher is None:
                    eps_1 = unet_eps(teacher, z_1.float(), t1, cond, uncond, cfg.guidance_scale)
                else:
                    eps_1 = unet_eps(round_teacher, z_1.float(), t1, cond)
                z_2 = a_2 * (z_1 - s_1 * eps_1.double()) / a_1 + s_2 * eps_1.double()  # z_t''
                # 3. the x̃ for which one student DDIM step t → t'' from z_t lands on z_t''
                target = progressive_target(z_t, z_2, a_t, s_t, a_2, s_2).float()  # [B, 4, h, w]

            # 4. the student's x̂ at t, loss in x-space with truncated-SNR weighting max(SNR, 1) (the paper's §4)
            eps_s = unet_eps(student_ddp, z_t, t, cond)
            x0_student = ((z_t.double() - s_t * eps_s.double()) / a_t).float()
            weight = torch.clamp(a_t**2 / s_t**2, min=1.0).float()  # [B, 1, 1, 1]
            loss = (weight * (x0_student - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()

        run.step += 1
        if run.step % cfg.log_every == 0 or run.step == 1:
            log(run, timer, loss=loss.item(), round=round_, student_steps=n)
        maybe_evaluate(run, cfg, student, cfg.recipe(n))
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": run.step, "history": run.history, "round": round_}


# --- 2. latent consistency distillation ----------------------------------------------------------------------------

def train_lcm(args, cfg: LCMConfig) -> dict:
    """Consistency distillation with a DDIM solver (Luo et al. 2023; diffusers' train_lcm_distill_sd_wds.py).

    Our UNet has no guidance embedding (no time_cond_proj_dim), so the teacher's CFG is one fixed w baked into the
    student, instead of LCM's w ~ U[w_min, w_max] fed to the student as an embedding."""
    run = setup(args, cfg, "lcm")
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
    while run.step < cfg.max_steps:
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
            pred = consistency_fn(lcm, noisy, unet_eps(student_ddp, noisy, start, cond), start, ac)

            with torch.no_grad():
                # 3. one DDIM solver step of the CFG teacher t_{n+k} → t_n: x̂_{t_n} = α_{t_n}·x̂0 + σ_{t_n}·ε̂
                eps = unet_eps(teacher, noisy, start, cond, uncond, cfg.guidance_scale)
                a_n, s_n = alpha_sigma(ac, t_n)
                x_prev = (a_n * (noisy.double() - s_s * eps.double()) / a_s + s_n * eps.double()).float()
                # 4. the target network's f_θ⁻(x̂_{t_n}, t_n)
                target_pred = consistency_fn(lcm, x_prev, unet_eps(target, x_prev, t_n, cond), t_n, ac)

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
        if run.step % cfg.log_every == 0 or run.step == 1:
            log(run, timer, loss=loss.item())
        maybe_evaluate(run, cfg, target, cfg.recipe())
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": run.step, "history": run.history}


# --- 3. ADD-style adversarial diffusion distillation ---------------------------------------------------------------

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
    run = setup(args, cfg, "add")
    accelerator, teacher, ac, dev = run.accelerator, run.teacher, run.ac, run.dev
    lcm = lcm_scheduler(run.pipe.scheduler.config, 1000, cfg.timestep_scaling)
    student_timesteps = torch.tensor(cfg.timesteps, device=dev)
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    with torch.no_grad():
        shape = (1, teacher.config.in_channels, teacher.config.sample_size, teacher.config.sample_size)
        probe = unet_encoder_features(teacher, torch.zeros(shape, device=dev), torch.tensor([500.0], device=dev),
                                      torch.zeros(1, 77, run.pipe.text_encoder.config.hidden_size, device=dev))
    disc = Discriminator(probe.shape[1])
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
    while run.step < cfg.max_steps:
        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set
            x0, cond, uncond = run.batch()  # [B, 4, h, w], [B, 77, D]
            b = x0.shape[0]
            # 1. the student's input: forward-noised real latents x_s at s ∈ T_student
            s = student_timesteps[torch.from_numpy(run.rng.integers(len(cfg.timesteps), size=b)).to(dev)]  # [B]
            a_s, s_s = alpha_sigma(ac, s)
            x_s = (a_s * x0.double() + s_s * torch.randn_like(x0).double()).float()
            x0_student = consistency_fn(lcm, x_s, unet_eps(student_ddp, x_s, s, cond), s, ac)  # x̂_θ [B, 4, h, w]

            # 2. distillation target: the CFG teacher's x̂0 of the student output re-noised to t (stop-grad, ADD §3.2)
            t = torch.from_numpy(run.rng.integers(lo, hi + 1, size=b)).to(dev)  # [B]
            a_t, s_t = alpha_sigma(ac, t)
            with torch.no_grad():
                x_t = (a_t * x0_student.double() + s_t * torch.randn_like(x0_student).double()).float()
                eps = unet_eps(teacher, x_t, t, cond, uncond, cfg.guidance_scale)
                target = ((x_t.double() - s_t * eps.double()) / a_t).float()
            c_t = (a_t**2).float()  # c(t) = ᾱ_t, ADD's exponential weighting
            loss_distill = (c_t * (x0_student - target) ** 2).mean()

            # 3. adversarial: teacher-encoder features of noised real / fake latents; hinge loss (as flash.py)
            loss_adv = torch.zeros((), device=dev)
            if cfg.adversarial_weight > 0:
                t_d = torch.randint(0, 750, (b,), device=dev)
                noise = torch.randn_like(x0_student)
                a_d, s_d = (v.float() for v in alpha_sigma(ac, t_d))
                fake_in = a_d * x0_student + s_d * noise
                loss_adv = -disc_ddp(unet_encoder_features(teacher, fake_in, t_d.float(), uncond)).mean()
            loss = loss_distill + cfg.adversarial_weight * loss_adv
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()

        loss_d = torch.zeros((), device=dev)
        if cfg.adversarial_weight > 0:
            with torch.no_grad(), accelerator.autocast():
                f_real = unet_encoder_features(teacher, a_d * x0 + s_d * noise, t_d.float(), uncond)
                f_fake = unet_encoder_features(teacher, fake_in.detach(), t_d.float(), uncond)
            loss_d = F.relu(1 - disc_ddp(f_real.float())).mean() + F.relu(1 + disc_ddp(f_fake.float())).mean()
            opt_d.zero_grad(set_to_none=True)
            accelerator.backward(loss_d)
            opt_d.step()

        run.step += 1
        if run.step % cfg.log_every == 0 or run.step == 1:
            log(run, timer, loss=loss_distill.item(), adv=loss_adv.item(), disc=loss_d.item())
        maybe_evaluate(run, cfg, student, cfg.recipe())
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": run.step, "history": run.history}


# --- students and their recipes ------------------------------------------------------------------------------------

def save_student(student, recipe: dict, folder: str) -> None:
    student.save_pretrained(folder, safe_serialization=True)
    with open(os.path.join(folder, "recipe.json"), "w") as f:
        json.dump(recipe, f, indent=2)


@torch.no_grad()
def sample_lcm_recipe(pipe, unet, recipe: dict, prompts: list[str], seeds: list[int]) -> np.ndarray:
    """An "lcm" recipe through diffusers' LCMScheduler: x_T from the portable seeded noise, the scheduler's re-noising
    from one CPU torch.Generator per image (seeded with its seed), no CFG. Either "steps" (LCMScheduler's own
    spacing on its original_inference_steps grid) or custom "timesteps". uint8 [B, H, W, 3]."""
    from .noise import gaussian_noise
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
