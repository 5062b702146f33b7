"""The analyzer's calibration report: ground-truth renders, one-attribute-wrong prompts, VAE reconstructions."""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from .analyzer import analyze_and_score
from .prompts import load_prompt_file
from .render import images_to_tensor, render, tensor_to_images
from .scenes import caption, perturb_meaning, sample_scene, scene_for_meaning


def calibrate(n: int = 2000, seed: int = 0, vae=None, dev_prompts: str | None = None, vae_name: str | None = None) -> dict:
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng) for _ in range(n)]
    images = np.stack([render(s) for s in scenes])
    meanings = [caption(s, rng)[1] for s in scenes]
    wrong = [perturb_meaning(m, s, rng) for m, s in zip(meanings, scenes)]
    report = {"n": n,
              "ground_truth_accuracy": float(np.mean([analyze_and_score(m, im)["overall"] for m, im in zip(meanings, images)])),
              "wrong_prompt_accuracy": float(np.mean([analyze_and_score(m, im)["overall"] for m, im in zip(wrong, images)]))}
    if dev_prompts:
        rows = load_prompt_file(dev_prompts)
        per_cat: dict[str, list[bool]] = {}
        for r in rows:
            for _ in range(4):
                img = render(scene_for_meaning(r["meaning"], rng))
                per_cat.setdefault(r["category"], []).append(analyze_and_score(r["meaning"], img)["overall"])
        report["dev_prompts_ground_truth"] = {c: float(np.mean(v)) for c, v in per_cat.items()}
    if vae is not None:
        recon = []
        with torch.no_grad():
            for i in range(0, n, 128):
                x = images_to_tensor(images[i:i + 128])
                recon.append(tensor_to_images(vae.decode(vae.encode(x).latent_dist.mean).sample))
        recon = np.concatenate(recon)
        mse = ((recon.astype(np.float64) - images) ** 2).mean()
        report["vae_reconstruction_accuracy"] = float(np.mean([analyze_and_score(m, im)["overall"]
                                                              for m, im in zip(meanings, recon)]))
        report["vae_psnr"] = float(10 * np.log10(255 ** 2 / mse))
        report["vae"] = vae_name
    return report


def write_calibration_report(report: dict, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "analyzer_calibration.json"), "w") as f:
        json.dump(report, f, indent=2)
    vae_flag = f" --vae-run {report['vae']}" if report.get("vae") else ""
    lines = ["# Analyzer calibration", "", f"Command: `python -m distill analyze --calibrate{vae_flag}` "
             f"({report['n']} random scenes, each with a random true caption).", "",
             "| check | goal | measured |", "|---|---|---|",
             f"| ground-truth renders satisfied | ≥ 99.5% | {100 * report['ground_truth_accuracy']:.2f}% |",
             f"| renders with one attribute of the prompt changed, satisfied | ≤ 1% | {100 * report['wrong_prompt_accuracy']:.2f}% |"]
    if "vae_reconstruction_accuracy" in report:
        lines.append(f"| VAE reconstructions satisfied | ≥ 99% | {100 * report['vae_reconstruction_accuracy']:.2f}% "
                     f"(PSNR {report['vae_psnr']:.1f} dB) |")
    if "dev_prompts_ground_truth" in report:
        lines += ["", "Ground-truth renders of the dev prompts (4 scenes per prompt):", "",
                  "| category | satisfied |", "|---|---|"]
        lines += [f"| {c} | {100 * v:.1f}% |" for c, v in report["dev_prompts_ground_truth"].items()]
    with open(os.path.join(out_dir, "analyzer_calibration.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
