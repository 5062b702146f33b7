"""Reference vectors for the TypeScript samplers and noise (tests/web fixtures): our noise-corrected DDIM for the
student recipes (NC on and off) and diffusers' own DPMSolverMultistepScheduler for the teacher's recipe.

python -m tools.reference_vectors --out tests/fixtures/sampler_reference.json
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from distill.distillation.flash import STUDENT_TIMESTEPS
from distill.networks.architectures import make_noise_scheduler
from distill.networks.pipeline import dpm_solver
from distill.sampling.ddim import sample_ddim
from distill.sampling.noise import gaussian_noise


SHAPE = (1, 4, 4, 4)


def toy_model(x: torch.Tensor, t) -> torch.Tensor:
    """A deterministic stand-in for a UNet: elementwise, depends on x and t."""
    return (0.8 * torch.tanh(x.double()) + 0.1 * np.cos(float(t) / 50.0)).to(x.dtype)


def record(sampler_out: list, x, t, eps, x_next):
    sampler_out.append({"t": int(t), "x": x.flatten().tolist(), "eps": eps.flatten().tolist(),
                        "x_next": x_next.flatten().tolist()})


def ddim_cases(alphas_cumprod) -> list[dict]:
    cases = []
    for n, timesteps in STUDENT_TIMESTEPS.items():
        for nc in (False, True):
            x_T = torch.from_numpy(gaussian_noise(1000 + n, SHAPE))
            steps: list = []
            out = sample_ddim(toy_model, x_T, timesteps, alphas_cumprod=alphas_cumprod, noise_correction=nc,
                              callback=lambda d: record(steps, d["x"], d["t"], d["eps"], d["x_next"]))
            cases.append({"sampler": "ddim", "timesteps": timesteps, "noise_correction": nc, "shape": list(SHAPE),
                          "x_T": x_T.flatten().tolist(), "steps": steps, "output": out.flatten().tolist()})
    return cases


def dpm_case(steps_n: int = 25) -> dict:
    scheduler = dpm_solver(make_noise_scheduler().config)
    scheduler.set_timesteps(steps_n)
    x = torch.from_numpy(gaussian_noise(7, SHAPE)).double() * scheduler.init_noise_sigma
    x_T = x.clone()
    steps: list = []
    for t in scheduler.timesteps:
        eps = toy_model(x, t)
        x_next = scheduler.step(eps, t, x).prev_sample
        record(steps, x, t, eps, x_next)
        x = x_next
    return {"sampler": "dpmsolver++", "solver_order": 2, "timesteps": [int(t) for t in scheduler.timesteps],
            "noise_correction": False, "shape": list(SHAPE), "x_T": x_T.flatten().tolist(), "steps": steps,
            "output": x.flatten().tolist(), "config": {k: v for k, v in scheduler.config.items()  # valid JSON only
                                                       if isinstance(v, (int, str, bool, type(None)))
                                                       or isinstance(v, float) and np.isfinite(v)}}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Write sampler and noise reference vectors for the TypeScript tests.")
    p.add_argument("--out", default="tests/fixtures/sampler_reference.json", help="JSON file to write")
    return p.parse_args(argv)


def main(args) -> dict:
    scheduler = make_noise_scheduler()
    alphas_cumprod = scheduler.alphas_cumprod.double()  # diffusers computes it in float32; we keep those values
    ref = {"alphas_cumprod": scheduler.alphas_cumprod.tolist(),
           "noise": {"seed": 42, "shape": [1, 4, 16, 16], "values": gaussian_noise(42, (1, 4, 16, 16)).flatten().tolist()},
           "cases": ddim_cases(alphas_cumprod) + [dpm_case()]}
    with open(args.out, "w") as f:
        json.dump(ref, f)
    print(f"wrote {args.out}: {len(ref['cases'])} cases")
    return ref


if __name__ == "__main__":
    main(parse_args())
