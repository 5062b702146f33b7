"""Scores the images ort_bundle_check.py made with optimum's ORTDiffusionPipeline (see its docstring): the analyzer's
accuracy per category on their dev prompts, and the largest pixel difference from the same prompts and seeds sampled
with the same recipe by distill's own onnxruntime path (distill.export.bundle, what `distill evaluate --model <bundle>`
runs). Run with the repo's venv; writes score.json beside check.json.

    .venv/bin/python -m tools.optimum_fixtures.ort_bundle_score /tmp/ort-bundle-check
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
from PIL import Image

from distill.domain.analyzer import accuracy_by_category
from distill.domain.grammar import Meaning
from distill.export.bundle import OnnxBundle
from distill.sampling.recipes import sample_recipe


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Score ort_bundle_check.py's images with distill's analyzer.")
    p.add_argument("folder", help="ort_bundle_check.py's --out")
    return p.parse_args(argv)


def main(args) -> dict:
    with open(os.path.join(args.folder, "check.json")) as f:
        check = json.load(f)
    rows = [{"prompt": r["prompt"], "category": r["category"], "meaning": Meaning.from_json(r)} for r in check["rows"]]
    seeds = [r["seed"] for r in check["rows"]]
    images = np.stack([np.asarray(Image.open(os.path.join(args.folder, r["file"])).convert("RGB"))
                       for r in check["rows"]])
    # accuracy_by_category takes seed-major images of one prompt list; the check uses one seed for every prompt
    if len(set(seeds)) != 1:
        raise SystemExit(f"expected one seed for every prompt, got {sorted(set(seeds))}")
    accuracy = accuracy_by_category(rows, images, seeds[:1])
    bundle = OnnxBundle(check["bundle"])
    ours = sample_recipe(bundle, None, bundle.recipe("teacher"), [r["prompt"] for r in rows], seeds)
    diff = np.abs(ours.astype(np.int16) - images.astype(np.int16))
    score = {"pipeline": check["pipeline"], "images": len(rows), "accuracy": accuracy,
             "max_abs_diff_vs_distill_bundle": int(diff.max()),
             "channels_differing": float((diff > 0).mean()), "versions": check["versions"]}
    with open(os.path.join(args.folder, "score.json"), "w") as f:
        json.dump(score, f, indent=2)
    print(json.dumps(score, indent=2))
    return score


if __name__ == "__main__":
    main(parse_args())
