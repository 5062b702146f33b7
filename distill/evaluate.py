"""Evaluation on a prompt file (shared/eval jsonl format): analyzer accuracy per category.

python -m distill eval --model ~/.cache/imagine-flash/teacher/pipeline --prompts eval/dev_prompts.jsonl \
    --steps 25 --guidance-scale 4 --out reports/eval/teacher-dpm25
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from .analyzer import analyze_and_score
from .data import load_prompt_file, preview_grid
from .training import DEV_PROMPTS
from .pipeline import dpm_solver, load_pipeline, sample_with_pipeline


def accuracy_by_category(rows: list[dict], images: np.ndarray, seeds: list[int]) -> dict:
    per_cat: dict[str, list[bool]] = {}
    i = 0
    for _seed in seeds:
        for r in rows:
            per_cat.setdefault(r["category"], []).append(analyze_and_score(r["meaning"], images[i])["overall"])
            i += 1
    out = {c: float(np.mean(v)) for c, v in per_cat.items()}
    out["all"] = float(np.mean([x for v in per_cat.values() for x in v]))
    return out


def write_markdown(path: str, title: str, command: str, result: dict) -> None:
    cats = [c for c in result["accuracy"] if c != "all"]
    lines = [f"# {title}", "", f"Command: `{command}`", "",
             f"Recipe: {json.dumps(result['recipe'])}; seeds {result['seeds']}; {result['images']} images; "
             f"{result['seconds']:.0f} s.", "",
             "| " + " | ".join(cats + ["all"]) + " |", "|" + "---|" * (len(cats) + 1),
             "| " + " | ".join(f"{100 * result['accuracy'][c]:.1f}%" for c in cats + ["all"]) + " |"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Evaluate a diffusers SD folder on a prompt file with the analyzer.")
    p.add_argument("--model", required=True, help="diffusers Stable Diffusion folder")
    p.add_argument("--prompts", default=DEV_PROMPTS, help="jsonl prompt file (shared/eval format)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one image per prompt and seed")
    p.add_argument("--steps", type=int, default=25, help="DPM-Solver++ steps")
    p.add_argument("--guidance-scale", type=float, default=4.0, help="classifier-free guidance scale")
    p.add_argument("--batch-size", type=int, default=100, help="images per batch")
    p.add_argument("--out", required=True, help="output prefix: writes OUT.json, OUT.md and OUT.png (a grid)")
    return p.parse_args(argv)


def main(args) -> dict:
    rows = load_prompt_file(args.prompts)
    pipe = load_pipeline(args.model)
    pipe.scheduler = dpm_solver(pipe.scheduler.config)
    prompts = [r["prompt"] for _ in args.seeds for r in rows]
    seeds = [s for s in args.seeds for _ in rows]
    start = time.time()
    images = sample_with_pipeline(pipe, prompts, seeds, args.steps, args.guidance_scale, args.batch_size)
    result = {"model": os.path.abspath(args.model), "prompts": os.path.abspath(args.prompts), "seeds": args.seeds,
              "recipe": {"sampler": "dpmsolver++", "steps": args.steps, "guidance_scale": args.guidance_scale},
              "images": len(images), "seconds": time.time() - start,
              "accuracy": accuracy_by_category(rows, images, args.seeds)}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
    write_markdown(args.out + ".md", f"Evaluation of {os.path.basename(os.path.normpath(args.model))}",
                   "python -m distill eval " + " ".join(_argv_for(args)), result)
    preview_grid(list(images[: min(len(images), 70)]), 10).save(args.out + ".png")
    print(json.dumps(result["accuracy"], indent=2))
    return result


def _argv_for(args) -> list[str]:
    return [f"--model {args.model}", f"--prompts {args.prompts}", "--seeds " + " ".join(map(str, args.seeds)),
            f"--steps {args.steps}", f"--guidance-scale {args.guidance_scale}", f"--out {args.out}"]


if __name__ == "__main__":
    main(parse_args())
