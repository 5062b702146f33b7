"""Our shipped bundle opened by optimum's ORTDiffusionPipeline, as a user of the ecosystem would open it, and sampled
with the bundle's teacher recipe; the images are then scored by our analyzer from the repo's venv.

Step 1 (the throwaway venv of make_fixtures.py, see tests/fixtures/optimum/README.md): ORTDiffusionPipeline loads the
bundle from its model_index.json (it must resolve to ORTStableDiffusionPipeline), the scheduler becomes the teacher
recipe's DPM-Solver++ built from the bundle's DDIM config (its timesteps must be the manifest's), and the first
--per-category prompts of each category of eval/dev_prompts.jsonl are sampled with the recipe's steps and CFG from
the portable seeded noise (distill/sampling/noise.py) that `distill evaluate` draws too. Writes one PNG per prompt
and check.json into --out.

    /tmp/optimum-venv/bin/python tools/optimum_fixtures/ort_bundle_check.py --bundle models/shapescenes --out /tmp/ort-bundle-check

Step 2 (the repo's venv): ort_bundle_score.py scores those PNGs with distill's analyzer and compares them with the
same prompts and seeds sampled by distill's own onnxruntime path (distill.export.bundle).

    .venv/bin/python -m tools.optimum_fixtures.ort_bundle_score /tmp/ort-bundle-check
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys

import numpy as np
import torch
from diffusers import DPMSolverMultistepScheduler
from optimum.onnxruntime import ORTDiffusionPipeline
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from reference import _noise_module  # noqa: E402

PACKAGES = ("optimum-onnx", "optimum", "diffusers", "transformers", "onnxruntime", "torch")


def dev_rows(per_category: int) -> list[dict]:
    rows, seen = [], {}
    with open(os.path.join(ROOT, "eval", "dev_prompts.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if seen.get(row["category"], 0) < per_category:
                rows.append(row)
                seen[row["category"]] = seen.get(row["category"], 0) + 1
    return rows


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Open a bundle with optimum's ORTDiffusionPipeline and sample its teacher "
                                            "recipe on dev prompts.")
    p.add_argument("--bundle", default=os.path.join(ROOT, "models", "shapescenes"))
    p.add_argument("--out", required=True, help="folder for the PNGs and check.json")
    p.add_argument("--per-category", type=int, default=8, help="dev prompts per category")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    return p.parse_args(argv)


def main(args) -> dict:
    with open(os.path.join(args.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    recipe = next(u for u in manifest["unets"] if u["id"] == "teacher")["recipe"]
    pipe = ORTDiffusionPipeline.from_pretrained(args.bundle)
    pipe.set_progress_bar_config(disable=True)
    if type(pipe).__name__ != "ORTStableDiffusionPipeline":
        raise SystemExit(f"{args.bundle}: ORTDiffusionPipeline made a {type(pipe).__name__}")
    if recipe["sampler"] != "dpmsolver++":
        raise SystemExit(f"the teacher recipe is {recipe['sampler']}, this check runs DPM-Solver++")
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, algorithm_type="dpmsolver++",
                                                             solver_order=recipe["solver_order"])
    pipe.scheduler.set_timesteps(recipe["steps"])
    timesteps = [int(t) for t in pipe.scheduler.timesteps]
    if timesteps != recipe["timesteps"]:
        raise SystemExit(f"DPM-Solver++ on the bundle's scheduler config walks {timesteps}, the manifest says "
                         f"{recipe['timesteps']}")
    size = manifest["image_size"][0]
    shape = tuple(manifest["latent_shape"])
    noise = _noise_module()
    rows = dev_rows(args.per_category)
    os.makedirs(args.out, exist_ok=True)
    for i in range(0, len(rows), args.batch_size):
        chunk = rows[i:i + args.batch_size]
        latents = torch.from_numpy(np.stack([noise.gaussian_noise(args.seed, shape) for _ in chunk]))
        images = pipe([r["prompt"] for r in chunk], height=size, width=size, num_inference_steps=recipe["steps"],
                      guidance_scale=recipe["guidance_scale"], latents=latents, output_type="np").images
        for j, (row, image) in enumerate(zip(chunk, images)):
            row["seed"], row["file"] = args.seed, f"{i + j:03d}.png"
            pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)  # as distill's sample_with_pipeline
            Image.fromarray(pixels).save(os.path.join(args.out, row["file"]))
    check = {"bundle": os.path.abspath(args.bundle), "pipeline": type(pipe).__name__,
             "model_index": json.load(open(os.path.join(args.bundle, "model_index.json"))),
             "recipe": recipe, "versions": {p: importlib.metadata.version(p) for p in PACKAGES},
             "command": " ".join([os.path.relpath(sys.executable), *sys.argv]), "rows": rows}
    with open(os.path.join(args.out, "check.json"), "w") as f:
        json.dump(check, f, indent=2)
    print(f"{len(rows)} images by {check['pipeline']} in {args.out}")
    return check


if __name__ == "__main__":
    main(parse_args())
