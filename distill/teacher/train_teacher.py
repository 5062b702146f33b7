"""Stage 3: train the teacher UNet (diffusers UNet2DConditionModel, epsilon prediction) on VAE latents of
ShapeScenes, conditioned on the tiny-CLIP text encoder (fine-tuned jointly), with classifier-free-guidance dropout,
min-SNR loss weighting and EMA weights. The result is saved as a diffusers Stable Diffusion folder.

python -m distill train-teacher --config distill/configs/teacher.json --vae-run ~/.cache/imagine-flash/vae \
    --text-run ~/.cache/imagine-flash/text --run-dir ~/.cache/imagine-flash/teacher
"""
from __future__ import annotations

import argparse
import copy
import json
import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..domain.analyzer import accuracy_by_category
from ..domain.prompts import DEV_PROMPTS, eval_subset
from ..domain.scenes import caption
from ..networks.architectures import UNetConfig, build_unet, make_noise_scheduler, tokenize
from ..networks.latents import latent_pool
from ..networks.loaders import load_text_encoder, load_vae_with_latent_id
from ..networks.pipeline import assemble_pipeline
from ..networks.text_conditioned import TextConditionedUNet, relation_targets
from ..runs.accel import make_accelerator
from ..runs.checkpoint import as_dict, load_checkpoint, save_atomic
from ..runs.config import load_config
from ..runs.training import RunTimer, add_run_args
from ..runs.weights import load_stage
from ..sampling.recipes import sample_with_pipeline


@dataclass
class TrainTeacherConfig:
    model: UNetConfig = field(default_factory=UNetConfig)
    pool_size: int = 60000  # scenes whose latents are precomputed once; captions are re-drawn every time
    batch_size: int = 64
    learning_rate: float = 5e-4
    weight_decay: float = 0.0
    max_steps: int = 20000
    warmup_steps: int = 500
    cfg_dropout: float = 0.1
    # the text encoder is fine-tuned with the UNet at this learning rate (0: frozen). A contrastive text tower
    # pools away what the UNet needs (measured: "left of" vs "right of" pooled cosine 0.9997), so the
    # diffusion loss shapes the token states it cross-attends to.
    text_learning_rate: float = 1e-4
    # weight of the relation loss on the text encoder's token states (0: off). Measured on the step-5,596 teacher
    # (reports/relations/teacher-5596.md): its text states carry a prompt's relation only at the relation word
    # (linear probe 92.5%; the end-of-text state 57.2%, 4-way), and the UNet ignores it (the relation holds 31.6%
    # of the time whether asked or reversed). The loss makes every state after the relation word say where its
    # object lies: the words of the second object its side of the first, every end-of-text state the relation;
    # these are the states the UNet cross-attends to.
    relation_loss_weight: float = 0.0
    relation_share: float = 0.0  # chance a batch item is drawn from the relation scenes (else from the whole pool)
    decay_start_step: int = -1  # from this step the learning rates fall linearly to 10% at max_steps (-1: constant)
    min_snr_gamma: float = 5.0
    ema_decay: float = 0.999
    eval_every: int = 1000
    eval_prompts_per_category: int = 8
    guidance_scale: float = 4.0
    log_every: int = 50
    checkpoint_minutes: float = 5.0
    mixed_precision: str = "no"  # "bf16": autocast forward passes (operational: a run may switch on resume)
    seed: int = 0


def build_latent_pool(vae, n: int, seed: int):
    """n scenes encoded once, fp16 (posterior mean), and SD's scaling factor for them (1/std of the latents)."""
    scenes, latents = latent_pool(vae, n, np.random.default_rng([seed, 777]))
    latents = latents.half()
    return scenes, latents, float(1.0 / latents.float().std())


def relation_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the token states that have a target; 0 (with gradients to every weight, which DDP
    needs) when the batch holds no relation prompt."""
    total = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100, reduction="sum")
    return total / (targets != -100).sum().clamp(min=1)


def min_snr_weights(scheduler, timesteps: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-γ weighting for epsilon prediction (Hang et al. 2023): min(SNR, γ) / SNR."""
    ac = scheduler.alphas_cumprod.to(timesteps.device)[timesteps]
    snr = ac / (1 - ac)
    return torch.clamp(snr, max=gamma) / snr


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the teacher UNet on ShapeScenes latents.")
    add_run_args(p, "TrainTeacherConfig")
    p.add_argument("--vae-run", required=True, help="run folder of train-vae (its ckpt.pt is used)")
    p.add_argument("--text-run", required=True, help="run folder of train-text (its ckpt.pt is used)")
    p.add_argument("--eval-prompts", default=DEV_PROMPTS, help="jsonl prompt file for the periodic evaluation")
    p.add_argument("--init-weights", default=None, help="packed teacher weights (`distill weights`) to continue from, "
                   "e.g. checkpoints/teacher, committed so that another machine continues; ignored when the run folder has a checkpoint")
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(TrainTeacherConfig, args.config, args.set)
    accelerator = make_accelerator(cfg.mixed_precision)
    torch.manual_seed(cfg.seed + accelerator.process_index)
    os.makedirs(args.run_dir, exist_ok=True)
    vae, vae_id = load_vae_with_latent_id(args.vae_run)  # a decoder-only fine-tune keeps its encoder's id
    text_encoder, tokenizer = load_text_encoder(args.text_run)
    scheduler = make_noise_scheduler()

    pool_path = os.path.join(args.run_dir, "pool.pt")
    if os.path.exists(pool_path):
        pool = torch.load(pool_path, weights_only=False)
        if (pool["size"], pool.get("vae")) != (cfg.pool_size, vae_id):
            raise ValueError(f"{pool_path} was made with another VAE or pool size (it holds {pool['size']} scenes, "
                             f"config asks for {cfg.pool_size}); use another --run-dir")
    else:
        scenes, latents, scale = build_latent_pool(vae, cfg.pool_size, cfg.seed)
        pool = {"size": cfg.pool_size, "scenes": scenes, "latents": latents, "scaling_factor": scale, "vae": vae_id}
        if accelerator.is_main_process:
            save_atomic(pool, pool_path)
    scenes, latents, scaling_factor = pool["scenes"], pool["latents"], pool["scaling_factor"]
    vae.register_to_config(scaling_factor=scaling_factor)
    accelerator.print(f"latent pool: {len(scenes)} scenes, scaling factor {scaling_factor:.4f}")

    unet = build_unet(cfg.model)
    text_encoder.requires_grad_(cfg.text_learning_rate > 0).train(cfg.text_learning_rate > 0)
    if cfg.relation_loss_weight > 0 and cfg.text_learning_rate <= 0:
        raise ValueError("relation_loss_weight > 0 trains the text encoder: it needs text_learning_rate > 0")
    net = TextConditionedUNet(unet, text_encoder, relation_head=cfg.relation_loss_weight > 0)
    ema = copy.deepcopy(net).requires_grad_(False).eval()
    groups = [{"params": list(unet.parameters()), "peak_lr": cfg.learning_rate}]
    if cfg.text_learning_rate > 0:
        text_params = list(text_encoder.parameters())
        if net.relation_head is not None:
            text_params += list(net.relation_head.parameters())
        groups.append({"params": text_params, "peak_lr": cfg.text_learning_rate})
    opt = torch.optim.AdamW(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    ckpt_path = os.path.join(args.run_dir, "ckpt.pt")
    step, history, warm_from = 0, [], 0  # warm_from: the step a fresh optimizer started at (its warmup)
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind="teacher")
        net.load_state_dict(ckpt["model"]); ema.load_state_dict(ckpt["ema"]); opt.load_state_dict(ckpt["optimizer"])
        step, history, warm_from = ckpt["step"], ckpt["history"], ckpt.get("warm_from", 0)
        accelerator.print(f"resuming {ckpt_path} at step {step}")
    elif args.init_weights:
        packed = load_stage(args.init_weights, "teacher")  # the committed fp16 EMA weights (a run continued on another machine)
        if packed.get("vae") != vae_id:
            raise ValueError(f"{args.init_weights} was trained on the latents of another VAE than {args.vae_run}")
        for module in (net, ema):  # the relation head is training-only: absent weights start untrained, unused are dropped
            missing, unexpected = module.load_state_dict(packed["ema"], strict=False)
            if any(not k.startswith("relation_head.") for k in missing + unexpected):
                raise ValueError(f"{args.init_weights} does not fit this UNet config (missing {missing[:5]}, "
                                 f"unexpected {unexpected[:5]})")
        step = warm_from = packed["step"]
        accelerator.print(f"continuing from {args.init_weights} at step {step} (fresh optimizer state)")
    n_params = sum(p.numel() for p in unet.parameters())
    accelerator.print(f"UNet: {n_params / 1e6:.2f}M parameters")
    model, opt = accelerator.prepare(net, opt)
    rng = np.random.default_rng([cfg.seed, accelerator.process_index, step])
    torch.manual_seed(int(rng.integers(2**31)))  # noise and timesteps differ after a resume, too
    dev = accelerator.device
    ema.to(dev)
    latents = latents.to(dev)
    eval_rows = eval_subset(args.eval_prompts, cfg.eval_prompts_per_category)
    relation_scenes = np.array([i for i, s in enumerate(scenes) if s.relation is not None])
    if cfg.relation_share > 0 and len(relation_scenes) == 0:
        raise ValueError("relation_share > 0 but the latent pool holds no relation scene")

    def checkpoint():
        if accelerator.is_main_process:
            save_atomic({"kind": "teacher", "config": as_dict(cfg), "model": net.state_dict(), "ema": ema.state_dict(),
                         "optimizer": opt.state_dict(), "step": step, "history": history,
                         "vae_run": os.path.abspath(args.vae_run), "text_run": os.path.abspath(args.text_run),
                         "scaling_factor": scaling_factor, "warm_from": warm_from, "vae": vae_id}, ckpt_path)

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while step < cfg.max_steps:
        factor = min(1.0, (step - warm_from + 1) / cfg.warmup_steps)
        if 0 <= cfg.decay_start_step <= step:
            factor *= 1 - 0.9 * (step - cfg.decay_start_step) / max(1, cfg.max_steps - cfg.decay_start_step)
        for g in opt.param_groups:
            g["lr"] = g["peak_lr"] * factor
        lr = cfg.learning_rate * factor
        idx = rng.integers(len(scenes), size=cfg.batch_size)
        if cfg.relation_share > 0:
            from_relations = rng.random(cfg.batch_size) < cfg.relation_share
            idx[from_relations] = rng.choice(relation_scenes, size=int(from_relations.sum()))
        prompts = [caption(scenes[i], rng)[0] if rng.random() >= cfg.cfg_dropout else "" for i in idx]
        x0 = latents[torch.from_numpy(idx).to(dev)].float() * scaling_factor  # [B, 4, 16, 16]
        noise = torch.randn_like(x0)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (cfg.batch_size,), device=dev)
        xt = scheduler.add_noise(x0, noise, t)
        input_ids = tokenize(tokenizer, prompts)
        with accelerator.autocast():
            eps, relation_logits = model(xt, t, input_ids.to(dev))  # [B, 4, 16, 16], [B, 77, 4] or None
        per_sample = F.mse_loss(eps.float(), noise, reduction="none").mean((1, 2, 3))
        loss = diffusion_loss = (per_sample * min_snr_weights(scheduler, t, cfg.min_snr_gamma)).mean()
        rel_loss = None
        if relation_logits is not None:
            rel_loss = relation_loss(relation_logits, relation_targets(tokenizer, input_ids).to(dev))
            loss = diffusion_loss + cfg.relation_loss_weight * rel_loss
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        with torch.no_grad():
            decay = min(cfg.ema_decay, (1 + step) / (10 + step))
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.lerp_(p, 1 - decay)
        if step % cfg.log_every == 0 or step == 1:
            entry = {"step": step, "loss": diffusion_loss.item(), "minutes": timer.minutes()}
            if rel_loss is not None:
                entry["relation_loss"] = rel_loss.item()
            history.append(entry)
            extra = f" relation {rel_loss.item():.4f}" if rel_loss is not None else ""
            accelerator.print(f"step {step} loss {diffusion_loss.item():.4f}{extra} lr {lr:.2e} {timer.minutes():.1f} min")
        if step % cfg.eval_every == 0 and accelerator.is_main_process:
            metrics = evaluate_teacher(vae, ema.text_encoder, tokenizer, ema.unet, eval_rows, cfg.guidance_scale)
            history.append({"step": step, **metrics})
            accelerator.print(f"step {step} eval {json.dumps(metrics)}")
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": step, "history": history}


@torch.no_grad()
def evaluate_teacher(vae, text_encoder, tokenizer, unet, rows: list[dict], guidance_scale: float, steps: int = 25) -> dict:
    """Analyzer accuracy per category on a few prompts (seed 0), DPM-Solver++ 25 steps with CFG."""
    if not rows:
        return {}
    pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet.eval())
    pipe.set_progress_bar_config(disable=True)
    images = sample_with_pipeline(pipe, [r["prompt"] for r in rows], [0] * len(rows), steps, guidance_scale)
    return accuracy_by_category(rows, images, [0])


if __name__ == "__main__":
    main(parse_args())
