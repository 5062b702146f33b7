"""Test vectors for how the app reads a folder's scheduler_config.json (src/pipeline/schedulerConfig.ts) and samples
with it (ddim.ts, dpmSolver.ts): diffusers' own schedulers on the configs SD 1.x / 2.x / SD-Turbo / SDXL exports ship.

- timesteps: set_timesteps(n) of DDIMScheduler, DPMSolverMultistepScheduler and EulerDiscreteScheduler for every
  timestep_spacing (leading / trailing / linspace) and steps_offset 0 / 1, with Euler's init_noise_sigma;
- runs: a few steps of DDIM (epsilon and v_prediction), DPM-Solver++ (v_prediction) and Euler (epsilon), each
  model output drawn from a fixed generator, recorded with the model input in the VP scaling our samplers use
  (x_t = α_t·x0 + σ_t·ε; Euler's scale_model_input gives exactly that), the final sample and the last x̂0.

    nice -n 19 .venv/bin/python tests/web/scheduler_vectors.py   # rewrites tests/web/scheduler_vectors.json

tests/web/schedulerConfig.test.ts reads it.
"""
from __future__ import annotations

import json
import os

import diffusers
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scheduler_vectors.json")
SD_BETAS = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
SIZE = 16


def make(cls: str, **config):
    return getattr(diffusers, cls)(**SD_BETAS, **config)


def timestep_cases() -> list[dict]:
    out = []
    for cls in ["DDIMScheduler", "DPMSolverMultistepScheduler", "EulerDiscreteScheduler"]:
        for spacing in ["leading", "trailing", "linspace"]:
            for offset in [0, 1]:
                for n in [1, 2, 3, 4, 25]:
                    s = make(cls, timestep_spacing=spacing, steps_offset=offset)
                    s.set_timesteps(n)
                    case = {"scheduler": cls, "spacing": spacing, "steps_offset": offset, "steps": n,
                            "timesteps": [float(t) for t in s.timesteps]}
                    if cls == "EulerDiscreteScheduler":
                        case["init_noise_sigma"] = float(s.init_noise_sigma)
                    out.append(case)
    return out


def run_case(name: str, cls: str, steps: int, config: dict, seed: int) -> dict:
    s = make(cls, **config)
    s.set_timesteps(steps)
    gen = np.random.default_rng(seed)
    noise = gen.standard_normal(SIZE).astype(np.float32)
    latents = torch.from_numpy(noise) * s.init_noise_sigma
    record = {"name": name, "scheduler": cls, "config": config, "noise": noise.tolist(),
              "timesteps": [int(t) for t in s.timesteps], "steps": []}
    x0 = None
    for t in s.timesteps:
        model_in = s.scale_model_input(latents, t)
        output = torch.from_numpy(gen.standard_normal(SIZE).astype(np.float32))
        step = s.step(output, t, latents)
        record["steps"].append({"t": int(t), "model_input": model_in.tolist(), "model_output": output.tolist()})
        latents = step.prev_sample
        x0 = getattr(step, "pred_original_sample", None)
    record["final"] = latents.tolist()
    record["last_x0"] = None if x0 is None else x0.tolist()
    return record


def run_cases() -> list[dict]:
    return [
        # SD 1.x as optimum exports it: DDIM, leading, steps_offset 1 → [501, 1]
        run_case("ddim epsilon leading+1", "DDIMScheduler", 2,
                 {"prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1,
                  "set_alpha_to_one": False, "clip_sample": False}, 1),
        # SD 2.x (768-v): v_prediction
        run_case("ddim v_prediction leading+1", "DDIMScheduler", 3,
                 {"prediction_type": "v_prediction", "timestep_spacing": "leading", "steps_offset": 1,
                  "set_alpha_to_one": False, "clip_sample": False}, 2),
        run_case("ddim v_prediction trailing", "DDIMScheduler", 2,
                 {"prediction_type": "v_prediction", "timestep_spacing": "trailing", "steps_offset": 0,
                  "set_alpha_to_one": False, "clip_sample": False}, 3),
        # the teacher recipe on an SD 2.x folder
        run_case("dpmsolver++ v_prediction leading+1", "DPMSolverMultistepScheduler", 6,
                 {"prediction_type": "v_prediction", "timestep_spacing": "leading", "steps_offset": 1,
                  "algorithm_type": "dpmsolver++", "solver_order": 2}, 4),
        # SD-Turbo / SDXL(-Turbo) folders: Euler, trailing
        run_case("euler epsilon trailing", "EulerDiscreteScheduler", 2,
                 {"prediction_type": "epsilon", "timestep_spacing": "trailing", "steps_offset": 1}, 5),
        run_case("euler v_prediction trailing", "EulerDiscreteScheduler", 3,
                 {"prediction_type": "v_prediction", "timestep_spacing": "trailing", "steps_offset": 0}, 6),
        run_case("euler epsilon leading+1", "EulerDiscreteScheduler", 2,
                 {"prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1}, 7),
    ]


def main() -> None:
    ac = make("DDIMScheduler").alphas_cumprod
    data = {
        "generated_by": "tests/web/scheduler_vectors.py; do not edit",
        "diffusers": diffusers.__version__,
        "alphas_cumprod": [float(a) for a in ac],
        "timesteps": timestep_cases(),
        "runs": run_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
