"""Distill a teacher's VAE decoder into a tiny TAESD-style decoder (networks.tiny_decoder) for fast previews and
live generation: the tiny decoder learns to draw the full decoder's image from the same latent.

Data: a fixed pool, built once and cached in the run folder — latents of random ShapeScenes scenes encoded by the
teacher's VAE (what the UNets were trained to produce), plus latents the students produce for random training
captions (what the app decodes: a 1-step student's x̂0 is off the encoder's manifold). Target: the full decoder's
image of each latent, clamped to [-1, 1]. Loss: pixel MSE with object pixels weighted `foreground_weight` times a
background pixel (objects cover a few percent of a scene, and the analyzer reads only them: the VAE's own training
weights them the same way).

python -m distill tiny-decoder --teacher ~/.cache/imagine-flash/teacher-bal/pipeline \
  --config distill/configs/tiny_decoder.json --run-dir ~/.cache/imagine-flash/tiny-decoder/run --max-minutes 8
"""
from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers.optimization import get_scheduler

from ..domain.analyzer import analyze_and_score
from ..domain.render import object_weight, tensor_to_images
from ..domain.scenes import caption, sample_scene
from ..networks.architectures import fingerprint
from ..networks.latents import latent_pool
from ..networks.loaders import load_unet
from ..networks.pipeline import load_pipeline
from ..networks.tiny_decoder import TinyDecoder, TinyDecoderConfig
from ..runs.accel import device_name, make_accelerator
from ..runs.checkpoint import as_dict, load_checkpoint, save_atomic
from ..runs.config import load_config
from ..runs.training import RunTimer, add_run_args
from ..sampling.recipes import ddim_latents, normalize_recipe


KIND = "tiny-decoder"


@dataclass
class TinyDecoderTrainConfig:
    model: TinyDecoderConfig = field(default_factory=TinyDecoderConfig)
    scene_latents: int = 3072
    # student UNet folders whose samples join the pool, each "FOLDER" (its recipe.json's timesteps) or
    # "FOLDER@999,750,500"; `student_latents` captions per student
    students: tuple[str, ...] = ()
    student_latents: int = 512
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup_steps: int = 50
    max_steps: int = 1500  # the cosine decay reaches 0 here
    foreground_weight: float = 5.0
    eval_every: int = 250
    eval_scenes: int = 200
    log_every: int = 25
    checkpoint_minutes: float = 2.0
    seed: int = 0


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, foreground_weight: float) -> torch.Tensor:
    """MSE with the target's object pixels weighted (domain.render.object_weight)."""
    weight = object_weight(target, foreground_weight)
    return (weight * (pred - target) ** 2).mean() / weight.mean()


def parse_student(spec: str) -> tuple[str, list[int] | None]:
    folder, _, ts = spec.partition("@")
    return folder, [int(t) for t in ts.split(",")] if ts else None


@torch.no_grad()
def student_latents(pipe, spec: str, n: int, rng: np.random.Generator, device, batch: int = 128) -> torch.Tensor:
    """x̂0 of a student for n random training captions (portable seeded noise), unscaled as the decoder takes it."""
    folder, timesteps = parse_student(spec)
    unet, recipe = load_unet(folder)
    recipe = {"sampler": "ddim", "noise_correction": True, **(recipe or {}), "guidance_scale": 1.0}
    recipe["timesteps"] = timesteps or recipe.get("timesteps")
    if not recipe["timesteps"]:
        raise ValueError(f"student {spec!r}: give its timesteps as FOLDER@999,… (no recipe.json timesteps)")
    recipe, unet = normalize_recipe(recipe), unet.float().to(device)
    out = []
    for i in range(0, n, batch):
        k = min(batch, n - i)
        prompts = [caption(sample_scene(rng), rng)[0] for _ in range(k)]
        seeds = [int(s) for s in rng.integers(2**31, size=k)]
        out.append(ddim_latents(pipe, unet, recipe, prompts, seeds) / pipe.vae.config.scaling_factor)
    return torch.cat(out)


@torch.no_grad()
def full_decodes(vae, z: torch.Tensor, batch: int = 256) -> torch.Tensor:
    return torch.cat([vae.decode(z[i:i + batch]).sample.clamp(-1, 1) for i in range(0, len(z), batch)])


def build_pool(pipe, cfg: TinyDecoderTrainConfig, device) -> dict:
    """Latents [N, 4, h, w] (unscaled), the full decoder's images [N, 3, H, W] (fp16) and where each came from."""
    start = time.time()
    rng = np.random.default_rng([cfg.seed, 2718])
    _, z = latent_pool(pipe.vae, cfg.scene_latents, rng, pipe.unet.config.sample_size * pipe.vae_scale_factor, device)
    parts, sources = [z], ["scenes"] * len(z)
    for spec in cfg.students:
        parts.append(student_latents(pipe, spec, cfg.student_latents, rng, device))
        sources += [spec] * cfg.student_latents
    z = torch.cat(parts)
    return {"latents": z.cpu(), "images": full_decodes(pipe.vae, z).half().cpu(), "sources": sources,
            "seconds": time.time() - start}


def held_out_set(pipe, n: int, device, seed: int = 12345) -> dict:
    """Scenes the pool never saw, with true captions stating every size and background, their encoded latents and the
    full decoder's images (as train_vae.evaluate_vae draws them)."""
    rng = np.random.default_rng(seed)
    scenes, z = latent_pool(pipe.vae, n, rng, pipe.unet.config.sample_size * pipe.vae_scale_factor, device)
    meanings = [caption(s, rng, p_size=1.0, p_background=1.0)[1] for s in scenes]
    full = tensor_to_images(full_decodes(pipe.vae, z))
    return {"latents": z, "meanings": meanings, "full": full,
            "full_accuracy": float(np.mean([analyze_and_score(m, im)["overall"] for m, im in zip(meanings, full)]))}


@torch.no_grad()
def evaluate_decoder(decoder: TinyDecoder, held: dict) -> dict:
    """PSNR of the tiny decoder's images against the full decoder's, and the analyzer's accuracy on both."""
    tiny = np.concatenate([tensor_to_images(decoder(held["latents"][i:i + 256]))
                           for i in range(0, len(held["latents"]), 256)])
    mse = ((tiny.astype(np.float64) - held["full"]) ** 2).mean()
    ok = [analyze_and_score(m, im)["overall"] for m, im in zip(held["meanings"], tiny)]
    return {"psnr_vs_full": float(10 * math.log10(255 ** 2 / max(mse, 1e-10))), "accuracy_tiny": float(np.mean(ok)),
            "accuracy_full": held["full_accuracy"]}


def load_pool(pipe, cfg: TinyDecoderTrainConfig, run_dir: str, device, print_fn) -> dict:
    """The run's pool from run_dir/pool.pt when it was built for the same pool fields, else built and saved."""
    path = os.path.join(run_dir, "pool.pt")
    key = {"scene_latents": cfg.scene_latents, "students": list(cfg.students), "student_latents": cfg.student_latents,
           "seed": cfg.seed, "vae": fingerprint(pipe.vae)}
    if os.path.exists(path):
        pool = torch.load(path, map_location="cpu", weights_only=False)
        if pool.get("key") == key:
            return pool
        print_fn(f"{path} was built for other pool settings; building anew")
    pool = {**build_pool(pipe, cfg, device), "key": key}
    save_atomic(pool, path)
    print_fn(f"pool: {len(pool['latents'])} latents in {pool['seconds']:.0f} s")
    return pool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Distill a teacher's VAE decoder into a tiny TAESD-style decoder.")
    add_run_args(p, "TinyDecoderTrainConfig")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder whose VAE decoder to distill")
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(TinyDecoderTrainConfig, args.config, args.set)
    accelerator = make_accelerator()
    dev = accelerator.device
    torch.manual_seed(cfg.seed)
    pipe = load_pipeline(args.teacher)
    for m in (pipe.vae, pipe.text_encoder, pipe.unet):
        m.eval().requires_grad_(False).to(dev)
    # the tiny decoder reads latent_sample × the VAE's scaling factor: unit-variance inputs for any VAE
    cfg.model.latent_scale = float(pipe.vae.config.scaling_factor)
    vae_id = fingerprint(pipe.vae)
    decoder = TinyDecoder(cfg.model).to(dev)
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.learning_rate)
    lr_sched = get_scheduler("cosine", opt, num_warmup_steps=cfg.warmup_steps, num_training_steps=cfg.max_steps)
    ckpt_path = os.path.join(args.run_dir, "ckpt.pt")
    step, history = 0, []
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind=KIND)
        if ckpt["vae_fingerprint"] != vae_id:
            raise ValueError(f"{ckpt_path} distills another VAE decoder than {args.teacher}'s; use another --run-dir")
        decoder.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])
        step, history = ckpt["step"], ckpt["history"]
        if "lr_scheduler" in ckpt:
            lr_sched.load_state_dict(ckpt["lr_scheduler"])
        else:  # a checkpoint from before the schedule was saved: where a run of `step` steps has it
            for _ in range(step):
                lr_sched.step()
        accelerator.print(f"resuming {ckpt_path} at step {step}")
    pool = load_pool(pipe, cfg, args.run_dir, dev, accelerator.print)
    latents, images = pool["latents"].to(dev), pool["images"].to(dev)
    held = held_out_set(pipe, cfg.eval_scenes, dev)
    model, opt = accelerator.prepare(decoder, opt)
    rng = np.random.default_rng([cfg.seed, step])  # a resumed run draws other batches

    def checkpoint():
        save_atomic({"kind": KIND, "config": as_dict(cfg), "model": decoder.state_dict(), "optimizer": opt.state_dict(),
                     "lr_scheduler": lr_sched.state_dict(), "step": step, "history": history,
                     "teacher": os.path.abspath(args.teacher),
                     "vae_fingerprint": vae_id, "trained_on": device_name()}, ckpt_path)

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while step < cfg.max_steps:
        idx = torch.from_numpy(rng.integers(len(latents), size=cfg.batch_size)).to(dev)
        loss = weighted_mse(model(latents[idx]), images[idx].float(), cfg.foreground_weight)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        opt.step()
        lr_sched.step()
        step += 1
        if step % cfg.log_every == 0 or step == 1:
            history.append({"step": step, "loss": loss.item(), "lr": opt.param_groups[0]["lr"],
                            "minutes": timer.minutes()})
            accelerator.print(f"step {step} loss {loss.item():.5f} ({timer.minutes():.1f} min)")
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            history.append({"step": step, **evaluate_decoder(decoder.eval(), held), "minutes": timer.minutes()})
            decoder.train()
            accelerator.print(f"step {step} eval {history[-1]}")
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    if not history or "psnr_vs_full" not in history[-1]:
        history.append({"step": step, **evaluate_decoder(decoder.eval(), held), "minutes": timer.minutes()})
        accelerator.print(f"step {step} eval {history[-1]}")
    checkpoint()
    return {"step": step, "history": history}


if __name__ == "__main__":
    main(parse_args())
