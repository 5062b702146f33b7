"""Analyze one image against a prompt, or write the analyzer's calibration report."""
from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image

from ..domain.analyzer import analyze, score
from ..domain.calibration import calibrate, write_calibration_report
from ..domain.grammar import parse_prompt
from ..domain.prompts import DEV_PROMPTS
from ..networks.loaders import load_vae


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Analyze an image (objects, background, pass/fail for a prompt), "
                                "or write reports/analyzer_calibration.{md,json} with --calibrate.")
    p.add_argument("image", nargs="?", help="PNG/JPEG to analyze (resized to 64×64 if larger)")
    p.add_argument("--prompt", help="score the image against this prompt")
    p.add_argument("--calibrate", action="store_true", help="run the calibration instead")
    p.add_argument("--n", type=int, default=2000, help="calibration scenes")
    p.add_argument("--vae-run", help="train-vae run folder: also calibrate on VAE reconstructions")
    p.add_argument("--dev-prompts", default=DEV_PROMPTS, help="prompt file for the per-category check")
    p.add_argument("--out-dir", default="reports", help="where the calibration report goes")
    return p.parse_args(argv)


def main(args) -> None:
    if args.calibrate:
        vae = None
        if args.vae_run:
            vae = load_vae(args.vae_run)
        report = calibrate(args.n, vae=vae, dev_prompts=args.dev_prompts, vae_name=args.vae_run)
        write_calibration_report(report, args.out_dir)
        print(json.dumps(report, indent=2))
        return
    if not args.image:
        raise SystemExit("give an image to analyze, or --calibrate")
    img = Image.open(args.image).convert("RGB")
    if img.size != (64, 64):
        img = img.resize((64, 64), Image.BOX)
    analysis = analyze(np.asarray(img))
    out = {"background": analysis.background, "objects": [d.__dict__ for d in analysis.objects]}
    if args.prompt:
        out["score"] = score(parse_prompt(args.prompt), analysis)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main(parse_args())
