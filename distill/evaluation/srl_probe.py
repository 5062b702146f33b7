"""How good, how faithful and how costly the Shifted Reconstruction Loss target is, per (γ, k).

A good x̂0 (a teacher DDIM-8 CFG sample of each prompt) is re-noised to γ with fresh noise and the teacher runs its
k uniformly spaced CFG DDIM steps back to 0 — exactly the target `flash` trains on. Per (γ, k) this reports:
  - the target's analyzer accuracy (does the cheap target keep the teacher's quality?),
  - its distance to the x̂0 it started from, relative to an independent teacher sample of the same prompt
    (1.0: the target has forgotten the student's output, so MSE towards it learns a mean),
  - its cost in UNet passes (2k with CFG).

python -m distill srl-probe --teacher ~/.cache/imagine-flash/teacher-bal/pipeline --out reports/srl_target/probe
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch
from diffusers import UNet2DConditionModel

from ..distillation.srl import teacher_x0
from ..domain.analyzer import accuracy_by_category
from ..domain.prompts import DEV_PROMPTS, eval_subset
from ..networks.pipeline import decode_latents, encode_prompts, load_pipeline
from ..sampling.ddim import alpha_sigma, guided, sample_ddim
from ..sampling.noise import gaussian_noise
from ..sampling.recipes import ddim_timesteps, student_recipe



def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Accuracy, faithfulness and cost of the SRL target per (γ, k).")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder of the teacher")
    p.add_argument("--prompts", default=DEV_PROMPTS, help="jsonl prompt file")
    p.add_argument("--per-category", type=int, default=20, help="prompts per category (the first N of each)")
    p.add_argument("--gammas", type=int, nargs="+", default=[990, 850, 700, 600, 500])
    p.add_argument("--teacher-steps", type=int, nargs="+", default=[8, 4, 2, 1], help="k values")
    p.add_argument("--guidance-scale", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-unet", default=None, metavar="UNET",
                   help="start from this student's own samples (a unet/ folder with recipe.json) instead of the "
                        "teacher's DDIM-8: does the target correct what the student gets wrong? Also reports the "
                        "Eq. 7 target at T (k teacher steps from the student's own x_T)")
    p.add_argument("--guide-unet", default=None, metavar="UNET",
                   help="also report the guide target (flash's guide_unet): this few-step student's own sample "
                        "from the start's x_T (its recipe)")
    p.add_argument("--out", required=True, help="output path without extension (.json and .md are written)")
    return p.parse_args(argv)


@torch.no_grad()
def main(args) -> dict:
    if any(not 0 < g <= 999 for g in args.gammas) or any(k < 1 for k in args.teacher_steps):
        raise ValueError(f"γ must be in (0, 999] and k ≥ 1: {args.gammas}, {args.teacher_steps}")
    rows = eval_subset(args.prompts, args.per_category)
    if not rows:
        raise ValueError(f"no prompts in {args.prompts}")
    pipe = load_pipeline(args.teacher)
    unet, ac = pipe.unet.eval(), pipe.scheduler.alphas_cumprod.double()
    shape = (unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, [r["prompt"] for r in rows])
    uncond = encode_prompts(pipe.text_encoder, pipe.tokenizer, [""]).expand_as(cond)
    teacher = guided(unet, cond, uncond, args.guidance_scale)

    def noise(seed_offset: int) -> torch.Tensor:
        return torch.from_numpy(np.stack([gaussian_noise(args.seed * 100_000 + seed_offset * 10_000 + i, shape)
                                          for i in range(len(rows))]))

    x_T = noise(0)
    if args.start_unet:
        x0 = _student_sample(args.start_unet, "--start-unet", cond, x_T, ac)
    else:
        x0 = sample_ddim(teacher, x_T, ddim_timesteps(8), alphas_cumprod=ac)
    x0_other = sample_ddim(teacher, noise(1), ddim_timesteps(8), alphas_cumprod=ac)
    independent = float((x0_other - x0).flatten(1).norm(dim=1).mean())

    def measure(target: torch.Tensor) -> dict:
        """A target's distance to the start (relative to the independent sample's) and its analyzer accuracy."""
        return {"distance": float((target - x0).flatten(1).norm(dim=1).mean()) / independent,
                "accuracy": accuracy_by_category(rows, decode_latents(pipe.vae, target), [0])["all"]}
    base = accuracy_by_category(rows, decode_latents(pipe.vae, x0), [0])["all"]
    gen = torch.Generator().manual_seed(args.seed)
    results = []
    for gamma in args.gammas:
        a, s = (v.float() for v in alpha_sigma(ac, gamma))
        x_start = a * x0 + s * torch.randn(x0.shape, generator=gen)  # one re-noising per γ, shared by every k
        for k in args.teacher_steps:
            results.append({"gamma": gamma, "k": k, "passes": 2 * k,
                            **measure(teacher_x0(teacher, x_start, gamma, k, ac))})
            print(f"γ {gamma} k {k}: distance {results[-1]['distance']:.3f} accuracy {results[-1]['accuracy']:.3f}",
                  flush=True)
    eq7 = []
    for k in args.teacher_steps if args.start_unet else []:
        # the Eq. 7 target at T: the teacher's ODE from the same x_T
        eq7.append({"k": k, "passes": 2 * k, **measure(teacher_x0(teacher, x_T, 999, k, ac))})
        print(f"Eq. 7 at T, k {k}: distance {eq7[-1]['distance']:.3f} accuracy {eq7[-1]['accuracy']:.3f}", flush=True)
    guide = []
    if args.guide_unet:
        guide.append({"unet": os.path.abspath(args.guide_unet),
                      **measure(_student_sample(args.guide_unet, "--guide-unet", cond, x_T, ac))})
        print(f"guide: distance {guide[0]['distance']:.3f} accuracy {guide[0]['accuracy']:.3f}", flush=True)
    report = {"prompts": len(rows), "guide": guide, "teacher": os.path.abspath(args.teacher), "start_accuracy": base,
              "guidance_scale": args.guidance_scale, "results": results,
              "start": os.path.abspath(args.start_unet) if args.start_unet else "teacher DDIM-8", "eq7": eq7,
              "command": "python -m distill srl-probe " + " ".join(_argv(args))}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write(_markdown(report))
    return report


def _student_sample(folder: str, flag: str, cond, x_T, ac) -> torch.Tensor:
    """A guidance-free DDIM student's x̂0 from x_T under its own recipe.json."""
    recipe = student_recipe(folder, flag)
    student = UNet2DConditionModel.from_pretrained(folder).eval()
    return sample_ddim(guided(student, cond), x_T, recipe["timesteps"], alphas_cumprod=ac,
                       noise_correction=recipe["noise_correction"])


def _markdown(report: dict) -> str:
    ks = sorted({r["k"] for r in report["results"]}, reverse=True)
    gammas = sorted({r["gamma"] for r in report["results"]}, reverse=True)
    cell = {(r["gamma"], r["k"]): r for r in report["results"]}
    lines = [f"# SRL target per (γ, k) ({report['prompts']} dev prompts)", "",
             "Generated by `" + report["command"] + "`.", "",
             f"Start: {_start(report)} sample per prompt "
             f"(accuracy {100 * report['start_accuracy']:.1f}%), re-noised to γ, then k teacher CFG DDIM steps to 0. "
             "Each cell: target accuracy / distance to the start relative to an independent teacher sample "
             "(1.0 = the target forgot the start). Cost: 2k UNet passes.", "",
             "| γ | " + " | ".join(f"k = {k} ({2 * k} passes)" for k in ks) + " |",
             "|---|" + "---|" * len(ks)]
    for g in gammas:
        lines.append(f"| {g} | " + " | ".join(
            f"{100 * cell[g, k]['accuracy']:.1f}% / {cell[g, k]['distance']:.2f}" for k in ks) + " |")
    eq7 = {r["k"]: r for r in report.get("eq7", [])}
    if eq7:
        lines.append("| Eq. 7 at T (the teacher's ODE from the student's x_T) | " + " | ".join(
            f"{100 * eq7[k]['accuracy']:.1f}% / {eq7[k]['distance']:.2f}" if k in eq7 else "" for k in ks) + " |")
    for g in report.get("guide", []):
        lines += ["", f"Guide target (`{g['unet']}`'s own sample from the start's x_T): accuracy "
                      f"{100 * g['accuracy']:.1f}%, distance {g['distance']:.2f}."]
    return "\n".join(lines) + "\n"


def _start(report: dict) -> str:
    if report.get("start", "teacher DDIM-8") == "teacher DDIM-8":
        return f"a teacher DDIM-8 CFG {report['guidance_scale']:g}"
    return f"the student {report['start']}'s own (its recipe)"


def _argv(args) -> list[str]:
    start = ["--start-unet", args.start_unet] if args.start_unet else []
    start += ["--guide-unet", args.guide_unet] if args.guide_unet else []
    return ["--teacher", args.teacher, "--per-category", str(args.per_category), "--gammas",
            *map(str, args.gammas), "--teacher-steps", *map(str, args.teacher_steps), *start, "--out", args.out]


if __name__ == "__main__":
    main(parse_args())
