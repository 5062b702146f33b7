"""Sample images from a diffusers SD folder with the teacher's recipe (DPM-Solver++ with CFG) into a grid."""
from __future__ import annotations

import argparse
import os

from ..domain.grammar import parse_prompt
from ..domain.render import preview_grid
from ..networks.pipeline import dpm_solver, load_pipeline
from .recipes import sample_with_pipeline


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Sample a grid of images from a diffusers SD folder.")
    p.add_argument("--model", required=True, help="diffusers Stable Diffusion folder")
    p.add_argument("--prompt", action="append", required=True, help="a prompt (repeat the flag for several)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="one image per prompt and seed")
    p.add_argument("--steps", type=int, default=25, help="DPM-Solver++ steps")
    p.add_argument("--guidance-scale", type=float, default=4.0, help="classifier-free guidance scale")
    p.add_argument("--out", required=True, help="PNG grid to write (rows: prompts, columns: seeds)")
    return p.parse_args(argv)


def main(args) -> None:
    for prompt in args.prompt:
        parse_prompt(prompt)  # unknown words fail here, naming the word
    pipe = load_pipeline(args.model)
    pipe.scheduler = dpm_solver(pipe.scheduler.config)
    prompts = [p for p in args.prompt for _ in args.seeds]
    seeds = [s for _ in args.prompt for s in args.seeds]
    images = sample_with_pipeline(pipe, prompts, seeds, args.steps, args.guidance_scale)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    preview_grid(list(images), len(args.seeds)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(parse_args())
