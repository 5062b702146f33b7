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

python -m distill distill --teacher ~/.cache/imagine-flash/teacher/pipeline --steps 3 --run-dir ~/.cache/imagine-flash/flash-3
"""
from __future__ import annotations

import argparse
import copy
import json
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .accel import make_accelerator
from .training import DEV_PROMPTS, RunTimer, add_run_args, eval_subset
from .checkpoint import as_dict, load_checkpoint, refuse_record_only, save_atomic
from .config import load_config
from .data import caption, render, sample_scene
from .models import images_to_tensor
from .pipeline import encode_prompts, load_pipeline
from .recipes import sample_recipe
from .sampling import ddim_trajectory, guided, predict_x0, sample_ddim

STUDENT_TIMESTEPS = {1: (999,), 2: (999, 666), 3: (999, 750, 500)}


@dataclass
class FlashConfig:
    student_steps: int = 3
    timesteps: tuple[int, ...] = ()  # empty: STUDENT_TIMESTEPS[student_steps]
    backward: bool = True  # False: forward distillation (student input q(x0_data, ε, t))
    srl: bool = True  # False: Eq. 7 target (teacher k steps from the student's own input x_t)
    noise_correction: bool = True  # in the backward trajectory and in the student's recipe
    adversarial_weight: float = 0.1  # 0 disables the discriminator
    teacher_steps: int = 8  # k
    gamma: tuple[tuple[int, int], ...] = ((900, 990), (500, 950), (-1, 200))  # (t above, t_Φ): γ(t>900)=990, …
    guidance_scale: float = 4.0  # the teacher's CFG in the SRL target
    batch_size: int = 32
    learning_rate: float = 5e-5  # 2e-4 was unstable (t=500 loss 0.47 vs 0.095 at step 225, session 3)
    disc_learning_rate: float = 2e-4
    pool_size: int = 8000  # data latents for the forward ablation and the discriminator's real side
    max_steps: int = 1000
    eval_every: int = 250
    eval_prompts_per_category: int = 8
    log_every: int = 25
    checkpoint_minutes: float = 5.0
    mixed_precision: str = "no"  # "bf16": autocast every UNet pass (operational: a run may switch on resume)
    seed: int = 0

    def student_timesteps(self) -> tuple[int, ...]:
        return tuple(self.timesteps) or STUDENT_TIMESTEPS[self.student_steps]

    def recipe(self) -> dict:
        return {"sampler": "ddim", "timesteps": list(self.student_timesteps()), "guidance_scale": 1.0,
                "noise_correction": self.noise_correction}


def shifted_timestep(t: int, gamma) -> int:
    """γ(t) of the Shifted Reconstruction Loss (paper §4.2)."""
    for above, target in gamma:
        if t > above:
            return target
    raise ValueError(f"γ is not defined for t={t}: {gamma}")


def teacher_x0(teacher_model, x_start: torch.Tensor, t_start: int, k: int, alphas_cumprod) -> torch.Tensor:
    """The teacher's x̂0 after k uniformly spaced DDIM steps from t_start to 0 (CFG inside teacher_model)."""
    timesteps = [int(round(v)) for v in np.linspace(t_start, 0, k + 1)[:-1]]
    return sample_ddim(teacher_model, x_start, timesteps, alphas_cumprod=alphas_cumprod, noise_correction=False)


@torch.no_grad()
def data_latent_pool(pipe, size: int, seed: int, device) -> tuple[list, torch.Tensor]:
    """`size` ShapeScenes scenes and their scaled VAE latents [N, 4, h, w], rendered at the teacher's image size
    (64 for ours, 512 for SD 1.5); the same pool for a given seed in flash and the baselines."""
    rng = np.random.default_rng([seed, 31337])
    image_size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    scenes, latents = [], []
    for i in range(0, size, 256):
        chunk = [sample_scene(rng) for _ in range(min(256, size - i))]
        x = images_to_tensor(np.stack([render(s, size=image_size) for s in chunk])).to(device)
        latents.append(pipe.vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor)
        scenes += chunk
    return scenes, torch.cat(latents)


def unet_encoder_features(unet, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """The mid-block activations of a diffusers UNet2DConditionModel (its encoder half; the same steps as the
    first half of UNet2DConditionModel.forward). [B, C, h', w']"""
    emb = unet.time_embedding(unet.get_time_embed(sample=x, timestep=t))
    h = unet.conv_in(x)
    for block in unet.down_blocks:
        if getattr(block, "has_cross_attention", False):
            h, _ = block(hidden_states=h, temb=emb, encoder_hidden_states=cond)
        else:
            h, _ = block(hidden_states=h, temb=emb)
    return unet.mid_block(h, emb, encoder_hidden_states=cond)


class Discriminator(nn.Module):
    """A small head on frozen teacher-encoder features (computed with the empty prompt): it judges realism only;
    text alignment is the reconstruction target's job."""

    def __init__(self, channels: int, width: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.GroupNorm(8, width), nn.SiLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.GroupNorm(8, width), nn.SiLU())
        self.out = nn.Linear(width, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(features).mean((2, 3))).squeeze(1)  # [B]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Imagine Flash distillation of a diffusers SD teacher into a few-step student.")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder of the teacher")
    add_run_args(p, "FlashConfig")
    p.add_argument("--eval-prompts", default=DEV_PROMPTS, help="jsonl prompt file for the periodic evaluation")
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(FlashConfig, args.config, args.set)
    refuse_record_only(args.run_dir)  # before any loading: such a folder is never trained into
    accelerator = make_accelerator(cfg.mixed_precision)
    torch.manual_seed(cfg.seed + accelerator.process_index)
    pipe = load_pipeline(args.teacher)
    vae, text_encoder, tokenizer, teacher = pipe.vae, pipe.text_encoder, pipe.tokenizer, pipe.unet.eval()
    for m in (vae, text_encoder, teacher):
        m.requires_grad_(False)
    dev = accelerator.device
    for m in (vae, text_encoder, teacher):
        m.to(dev)
    ac = pipe.scheduler.alphas_cumprod.double().to(dev)  # [1000]
    timesteps = cfg.student_timesteps()
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    with torch.no_grad():
        probe = unet_encoder_features(teacher, torch.zeros(1, *_latent_shape(teacher), device=dev),
                                      torch.tensor([500.0], device=dev),
                                      torch.zeros(1, 77, text_encoder.config.hidden_size, device=dev))
    disc = Discriminator(probe.shape[1])
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=cfg.disc_learning_rate, betas=(0.0, 0.99))
    ckpt_path = os.path.join(args.run_dir, "ckpt.pt")
    step, history = 0, []
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind="flash")
        student.load_state_dict(ckpt["student"]); disc.load_state_dict(ckpt["discriminator"])
        opt.load_state_dict(ckpt["optimizer"]); opt_d.load_state_dict(ckpt["disc_optimizer"])
        step, history = ckpt["step"], ckpt["history"]
        if ckpt.get("teacher") != os.path.abspath(args.teacher):
            raise ValueError(f"{ckpt_path} distills {ckpt.get('teacher')}, not {os.path.abspath(args.teacher)}; "
                             "use another --run-dir")
        accelerator.print(f"resuming {ckpt_path} at step {step}")
    student_ddp, disc_ddp, opt, opt_d = accelerator.prepare(student, disc, opt, opt_d)

    # a fixed pool of data latents: the forward ablation's x0 and the discriminator's real samples
    scenes, latents = data_latent_pool(pipe, cfg.pool_size, cfg.seed, dev)  # [N, 4, h, w]
    rng = np.random.default_rng([cfg.seed, accelerator.process_index, step])
    torch.manual_seed(int(rng.integers(2**31)))  # noise draws differ after a resume, too
    uncond_1 = encode_prompts(text_encoder, tokenizer, [""])  # [1, 77, D]
    eval_rows = eval_subset(args.eval_prompts, cfg.eval_prompts_per_category)

    def checkpoint():
        if accelerator.is_main_process:
            save_atomic({"kind": "flash", "config": as_dict(cfg), "student": student.state_dict(),
                         "discriminator": disc.state_dict(), "optimizer": opt.state_dict(),
                         "disc_optimizer": opt_d.state_dict(), "step": step, "history": history,
                         "teacher": os.path.abspath(args.teacher)}, ckpt_path)
            save_student(student, cfg, os.path.join(args.run_dir, "unet"))

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while step < cfg.max_steps:
        b = cfg.batch_size
        idx = rng.integers(len(scenes), size=b)
        prompts = [caption(scenes[j], rng)[0] for j in idx]
        with torch.no_grad():
            cond = encode_prompts(text_encoder, tokenizer, prompts)  # [B, 77, D]
        uncond = uncond_1.expand(b, -1, -1)
        i = int(rng.integers(len(timesteps)))
        t = timesteps[i]

        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set; losses in fp32
            # 1. the student's input at t: its own trajectory from noise (backward) or forward noising (ablation)
            with torch.no_grad():
                if cfg.backward:
                    x_T = torch.randn(b, *latents.shape[1:], device=dev)
                    x_t = ddim_trajectory(guided(student, cond), x_T, timesteps[: i + 1], alphas_cumprod=ac,
                                          noise_correction=cfg.noise_correction)
                else:
                    x0_data = latents[torch.from_numpy(idx).to(dev)]
                    a, s = ac[t].sqrt().float(), (1 - ac[t]).sqrt().float()
                    x_t = a * x0_data + s * torch.randn_like(x0_data)

            # 2. the student's prediction, with gradient
            tt = torch.full((b,), float(t), device=dev)
            eps = student_ddp(x_t, tt, cond).sample
            x0_student = predict_x0(x_t, eps, t, ac)  # [B, 4, h, w]

            # 3. the target: SRL (re-noise stopgrad(x̂0^Θ) to γ(t), k teacher steps) or Eq. 7 (k steps from x_t)
            with torch.no_grad():
                teacher_model = guided(teacher, cond, uncond, cfg.guidance_scale)
                if cfg.srl:
                    t_phi = shifted_timestep(t, cfg.gamma)
                    a, s = ac[t_phi].sqrt().float(), (1 - ac[t_phi]).sqrt().float()
                    x_start = a * x0_student.detach() + s * torch.randn_like(x0_student)
                    target = teacher_x0(teacher_model, x_start, t_phi, cfg.teacher_steps, ac)
                else:
                    target = teacher_x0(teacher_model, x_t, t, cfg.teacher_steps, ac)
            loss_rec = F.mse_loss(x0_student.float(), target.float())

            # 4. adversarial: teacher-encoder features of noised real / fake latents; hinge loss
            loss_adv = torch.zeros(())
            if cfg.adversarial_weight > 0:
                t_d = torch.randint(0, 750, (b,), device=dev)
                noise = torch.randn_like(x0_student)
                a_d = ac[t_d].sqrt().float().view(-1, 1, 1, 1)
                s_d = (1 - ac[t_d]).sqrt().float().view(-1, 1, 1, 1)
                fake_in = a_d * x0_student + s_d * noise
                loss_adv = -disc_ddp(unet_encoder_features(teacher, fake_in, t_d.float(), uncond)).mean()
        loss = loss_rec + cfg.adversarial_weight * loss_adv
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()

        loss_d = torch.zeros(())
        if cfg.adversarial_weight > 0:
            real = latents[torch.from_numpy(rng.integers(len(latents), size=b)).to(dev)]
            with torch.no_grad(), accelerator.autocast():
                f_real = unet_encoder_features(teacher, a_d * real + s_d * noise, t_d.float(), uncond)
                f_fake = unet_encoder_features(teacher, fake_in.detach(), t_d.float(), uncond)
            loss_d = F.relu(1 - disc_ddp(f_real.float())).mean() + F.relu(1 + disc_ddp(f_fake.float())).mean()
            opt_d.zero_grad(set_to_none=True)
            accelerator.backward(loss_d)
            opt_d.step()

        step += 1
        if step % cfg.log_every == 0 or step == 1:
            history.append({"step": step, "loss": loss_rec.item(), "adv": loss_adv.item(), "disc": loss_d.item(),
                            "t": t, "minutes": timer.minutes()})
            accelerator.print(f"step {step} t {t} rec {loss_rec.item():.4f} adv {loss_adv.item():.3f} "
                              f"disc {loss_d.item():.3f} {timer.minutes():.1f} min")
        if step % cfg.eval_every == 0 and accelerator.is_main_process and eval_rows:
            metrics = evaluate_student(pipe, student.eval(), cfg, eval_rows)
            student.train()
            history.append({"step": step, **metrics})
            accelerator.print(f"step {step} eval {json.dumps(metrics)}")
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": step, "history": history}


def _latent_shape(unet) -> tuple[int, int, int]:
    return unet.config.in_channels, unet.config.sample_size, unet.config.sample_size


def save_student(student, cfg: FlashConfig, folder: str) -> None:
    student.save_pretrained(folder, safe_serialization=True)
    with open(os.path.join(folder, "recipe.json"), "w") as f:
        json.dump(cfg.recipe(), f, indent=2)


def evaluate_student(pipe, unet, cfg: FlashConfig, rows: list[dict]) -> dict:
    from .evaluate import accuracy_by_category
    images = sample_recipe(pipe, unet, cfg.recipe(), [r["prompt"] for r in rows], [0] * len(rows))
    return accuracy_by_category(rows, images, [0])


if __name__ == "__main__":
    main(parse_args())
