"""Stage 1: train the small AutoencoderKL on ShapeScenes renders (64×64 -> 16×16×4 latents).

python -m distill train-vae --config distill/configs/vae.json --run-dir ~/.cache/imagine-flash/vae
"""
from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from ..domain.analyzer import analyze_and_score
from ..domain.render import images_to_tensor, object_weight, render, tensor_to_images
from ..domain.scenes import caption, sample_scene
from ..networks.architectures import VAEConfig, build_vae
from ..networks.loaders import latent_id
from ..runs.accel import make_accelerator
from ..runs.checkpoint import as_dict, load_checkpoint, save_atomic
from ..runs.config import load_config
from ..runs.training import RunTimer, add_run_args
from ..runs.weights import load_stage


@dataclass
class TrainVAEConfig:
    model: VAEConfig = field(default_factory=VAEConfig)
    batch_size: int = 32
    learning_rate: float = 5e-4
    max_steps: int = 4000
    warmup_steps: int = 100
    eval_every: int = 500
    eval_scenes: int = 200
    log_every: int = 50
    initial_logvar: float = -8.0
    foreground_weight: float = 1.0
    # fine-tune only the decoder, the encoder frozen (as SD's ft-MSE decoders were): the latent space stays the
    # same, so a teacher and students trained on the starting VAE's latents stay valid with the new decoder
    decoder_only: bool = False
    checkpoint_minutes: float = 3.0
    seed: int = 0


def render_batch(rng: np.random.Generator, n: int):
    scenes = [sample_scene(rng) for _ in range(n)]
    return scenes, np.stack([render(s) for s in scenes])


@torch.no_grad()
def evaluate_vae(vae, n_scenes: int, seed: int = 12345) -> dict:
    """PSNR and analyzer accuracy of reconstructions of fixed held-out scenes (posterior mean)."""
    rng = np.random.default_rng(seed)
    scenes, images = render_batch(rng, n_scenes)
    captions = [caption(s, rng, p_size=1.0, p_background=1.0)[1] for s in scenes]
    recon = []
    for i in range(0, n_scenes, 64):
        x = images_to_tensor(images[i:i + 64])
        recon.append(tensor_to_images(vae.decode(vae.encode(x).latent_dist.mean).sample))
    recon = np.concatenate(recon)
    mse = ((recon.astype(np.float64) - images) ** 2).mean()
    ok = [analyze_and_score(m, r)["overall"] for m, r in zip(captions, recon)]
    return {"psnr": float(10 * math.log10(255 ** 2 / max(mse, 1e-10))), "analyzer_accuracy": float(np.mean(ok))}


class VAELoss(torch.nn.Module):
    """Encode, sample, decode and score in one forward, so DDP sees (and syncs) the whole step.
    Object pixels weigh `foreground_weight` times a background pixel: objects cover a few percent of a scene,
    and with an unweighted loss small stars and hearts stay blobs long after the background is exact."""

    def __init__(self, vae, kl_weight: float, foreground_weight: float):
        super().__init__()
        self.vae, self.kl_weight, self.foreground_weight = vae, kl_weight, foreground_weight

    def forward(self, x):  # x: [B, 3, 64, 64] in [-1, 1]
        posterior = self.vae.encode(x).latent_dist
        recon = self.vae.decode(posterior.sample()).sample  # latent [B, 4, 16, 16] -> [B, 3, 64, 64]
        weight = object_weight(x, self.foreground_weight)
        err = (recon - x).abs() + (recon - x) ** 2  # L1 + L2 per pixel
        rec = (weight * err).mean() / weight.mean()
        kl = posterior.kl().mean() / x[0].numel()
        return rec + self.kl_weight * kl, rec


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the ShapeScenes VAE (diffusers AutoencoderKL).")
    add_run_args(p, "TrainVAEConfig")
    p.add_argument("--init-from", default=None, help="a train-vae run folder or packed VAE weights to start this run from "
                   "(ignored when the run folder has a checkpoint)")
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(TrainVAEConfig, args.config, args.set)
    accelerator = make_accelerator()
    torch.manual_seed(cfg.seed + accelerator.process_index)
    ckpt_path = os.path.join(args.run_dir, "ckpt.pt")
    vae = build_vae(cfg.model)
    with torch.no_grad():
        # start with a near-deterministic posterior (std e^-4): with SD's tiny KL weight the log-variance bias
        # would otherwise crawl down from 0 at ~lr per step while unit noise drowns every latent
        vae.encoder.conv_out.bias[cfg.model.latent_channels:].fill_(cfg.initial_logvar)
    if cfg.decoder_only:
        vae.encoder.requires_grad_(False); vae.quant_conv.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=cfg.learning_rate, weight_decay=0.0)
    step, history = 0, []
    encoder_of = None  # with decoder_only: the fingerprint of the VAE whose latent space this one keeps
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind="vae")
        vae.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])
        step, history, encoder_of = ckpt["step"], ckpt["history"], ckpt.get("encoder_of")
        accelerator.print(f"resuming {ckpt_path} at step {step}")
    elif args.init_from:
        stage = load_stage(args.init_from, "vae")
        vae.load_state_dict(stage["model"])
        encoder_of = latent_id(stage, vae) if cfg.decoder_only else None
        accelerator.print(f"weights from {args.init_from}")
    elif cfg.decoder_only:
        raise ValueError("decoder_only fine-tunes a trained VAE's decoder: give --init-from")
    model, opt = accelerator.prepare(VAELoss(vae, cfg.model.kl_weight, cfg.foreground_weight), opt)
    # each process and each resume draws fresh scenes: the domain is infinite, no data order to restore
    rng = np.random.default_rng([cfg.seed, accelerator.process_index, step])

    def checkpoint():
        if accelerator.is_main_process:
            save_atomic({"kind": "vae", "config": as_dict(cfg), "model": vae.state_dict(), "optimizer": opt.state_dict(),
                         "step": step, "history": history, **({"encoder_of": encoder_of} if encoder_of else {})},
                        ckpt_path)

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while step < cfg.max_steps:
        lr = cfg.learning_rate * min(1.0, (step + 1) / cfg.warmup_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        _, images = render_batch(rng, cfg.batch_size)
        x = images_to_tensor(images)  # [B, 3, 64, 64]
        loss, rec_loss = model(x)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        opt.step()
        step += 1
        if step % cfg.log_every == 0 or step == 1:
            history.append({"step": step, "loss": loss.item(), "rec": rec_loss.item(), "minutes": timer.minutes()})
            accelerator.print(f"step {step} loss {loss.item():.4f} rec {rec_loss.item():.4f}")
        if step % cfg.eval_every == 0 and accelerator.is_main_process:
            metrics = evaluate_vae(vae.eval(), cfg.eval_scenes)
            vae.train()
            history.append({"step": step, **metrics})
            accelerator.print(f"step {step} eval {metrics}")
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": step, "history": history}


if __name__ == "__main__":
    main(parse_args())
