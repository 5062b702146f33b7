"""Stage 2: train the text encoder as a tiny CLIP on (render, caption) pairs with hard negatives.

Contrastive-only text encoders bind attributes poorly, so every image also sees k captions of its
own scene with exactly one attribute changed (swapped colors or sizes, reversed relation, another
color, shape, size, count or background). The image tower is kept for evaluation features.

python -m distill train-text --config distill/configs/text.json --run-dir ~/.cache/imagine-flash/text
"""
from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..domain.grammar import binding_perturbations, prompt_from_meaning
from ..domain.render import images_to_tensor, render
from ..domain.scenes import caption, perturb_meaning, sample_scene
from ..networks.architectures import TextConfig, build_tokenizer
from ..networks.clip import TinyCLIP, tokenize_short
from ..runs.accel import make_accelerator
from ..runs.checkpoint import as_dict, load_checkpoint, save_atomic
from ..runs.config import load_config
from ..runs.training import RunTimer, add_run_args


@dataclass
class TrainTextConfig:
    model: TextConfig = field(default_factory=TextConfig)
    image_width: int = 32
    batch_size: int = 128
    hard_negatives: int = 3
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    max_steps: int = 2000
    warmup_steps: int = 100
    eval_every: int = 250
    eval_scenes: int = 300
    log_every: int = 50
    checkpoint_minutes: float = 3.0
    seed: int = 0


def make_batch(rng, n: int, k: int, tokenizer):
    scenes = [sample_scene(rng) for _ in range(n)]
    images = np.stack([render(s) for s in scenes])
    prompts, negatives = [], []
    for s in scenes:
        text, meaning = caption(s, rng)
        prompts.append(text)
        # the binding changes (reversed relation, swapped colors or sizes) are rare among random ones but
        # are what the teacher needs: each applicable one is always among the k negatives
        kinds = binding_perturbations(meaning)[:k]
        kinds += [None] * (k - len(kinds))
        negatives += [prompt_from_meaning(perturb_meaning(meaning, s, rng, kind)) for kind in kinds]
    both = tokenize_short(tokenizer, prompts + negatives)
    return images_to_tensor(images), both[:n], both[n:]


@torch.no_grad()
def evaluate_text(model: TinyCLIP, tokenizer, n_scenes: int, seed: int = 999) -> dict:
    """Hard-negative retrieval on held-out scenes, and the separation of swapped-attribute prompt pairs."""
    rng = np.random.default_rng(seed)
    images, ids, neg = make_batch(rng, n_scenes, 3, tokenizer)
    img = model.image(images)
    pos = model.text(ids)
    negs = model.text(neg).view(n_scenes, 3, -1)
    s_pos = (img * pos).sum(-1)
    s_neg = torch.einsum("bd,bkd->bk", img, negs)
    pairs = [("a red circle above a blue star", "a blue circle above a red star"),
             ("a large green heart and a small pink square", "a small green heart and a large pink square"),
             ("a yellow triangle to the left of a purple circle", "a yellow triangle to the right of a purple circle")]
    cos = {}
    for a, b in pairs:
        e = model.text(tokenize_short(tokenizer, [a, b]))
        h = model.text.encoder(tokenize_short(tokenizer, [a, b])).last_hidden_state.flatten(1)
        cos[f"{a} | {b}"] = {"pooled_cosine": float((e[0] * e[1]).sum()),
                             "hidden_cosine": float(F.cosine_similarity(h[0], h[1], dim=0))}
    return {"hard_negative_accuracy": float((s_pos[:, None] > s_neg).all(1).float().mean()),
            "per_negative_accuracy": float((s_pos[:, None] > s_neg).float().mean()),
            "pair_cosines": cos}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the text encoder as a tiny CLIP with hard negatives.")
    add_run_args(p, "TrainTextConfig")
    p.add_argument("--init-text-from", default=None, help="a train-text run folder whose text tower starts this run "
                   "(ignored when the run folder has a checkpoint)")
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(TrainTextConfig, args.config, args.set)
    accelerator = make_accelerator()
    torch.manual_seed(cfg.seed)
    tokenizer = build_tokenizer()
    ckpt_path = os.path.join(args.run_dir, "ckpt.pt")
    clip = TinyCLIP(cfg.model, cfg.image_width, tokenizer)
    opt = torch.optim.AdamW(clip.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    step, history = 0, []
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind="text")
        clip.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])
        step, history = ckpt["step"], ckpt["history"]
        accelerator.print(f"resuming {ckpt_path} at step {step}")
    elif args.init_text_from:
        source = load_checkpoint(os.path.join(args.init_text_from, "ckpt.pt"), kind="text")["model"]
        text_weights = {k[len("text."):]: v for k, v in source.items() if k.startswith("text.")}
        clip.text.load_state_dict(text_weights)
        accelerator.print(f"text tower from {args.init_text_from}")
    model, opt = accelerator.prepare(clip, opt)
    rng = np.random.default_rng([cfg.seed, accelerator.process_index, step])

    def checkpoint():
        if accelerator.is_main_process:
            save_atomic({"kind": "text", "config": as_dict(cfg), "model": clip.state_dict(),
                         "optimizer": opt.state_dict(), "step": step, "history": history}, ckpt_path)

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    while step < cfg.max_steps:
        # linear warmup, cosine decay
        lr = cfg.learning_rate * min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * step / cfg.max_steps))
        for g in opt.param_groups:
            g["lr"] = lr
        images, ids, neg = make_batch(rng, cfg.batch_size, cfg.hard_negatives, tokenizer)
        loss = model(images, ids, neg)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        opt.step()
        step += 1
        if step % cfg.log_every == 0 or step == 1:
            history.append({"step": step, "loss": loss.item(), "minutes": timer.minutes()})
            accelerator.print(f"step {step} loss {loss.item():.4f}")
        if step % cfg.eval_every == 0 and accelerator.is_main_process:
            metrics = evaluate_text(clip.eval(), tokenizer, cfg.eval_scenes)
            clip.train()
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
