"""Reference images for the browser pipeline's parity test: the same prompt and seed run through the Python
side's own pieces on onnxruntime (CPU) — the bundle's tokenizer via transformers, distill.sampling.noise for x_T,
distill.sampling.ddim's noise-corrected DDIM for the flash recipes (on a standard folder at the timesteps its own
scheduler config gives DDIMScheduler.set_timesteps, as the app steps it), diffusers' DPMSolverMultistepScheduler with
CFG for the teacher, distill.domain.render.tensor_to_images for the pixels.

    .venv/bin/python tests/web/python_parity.py   # rewrites tests/web/python_parity.json

tests/web/pipeline.test.ts (onnxruntime-web in Node) and tests/e2e (in Chromium) compare against it.
"""
from __future__ import annotations

import base64
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler
from transformers import PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from distill.domain.render import tensor_to_images  # noqa: E402
from distill.sampling.noise import gaussian_noise  # noqa: E402
from distill.sampling.ddim import sample_ddim  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_parity.json")


def session(path: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


class Bundle:
    def __init__(self, folder: str):
        self.folder = os.path.join(FIXTURES, folder)
        manifest_path = os.path.join(self.folder, "manifest.json")
        self.manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else None
        tok_dir = os.path.join(self.folder, "tokenizer")
        self.tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tok_dir, "tokenizer.json"),
                                                 **{k: v for k, v in json.load(open(os.path.join(tok_dir, "tokenizer_config.json"))).items()
                                                    if k in ("bos_token", "eos_token", "pad_token", "unk_token", "model_max_length")})
        self.text = session(os.path.join(self.folder, "text_encoder", "model.onnx"))
        self.vae = session(os.path.join(self.folder, "vae_decoder", "model.onnx"))
        tiny = (self.manifest or {}).get("vae_decoder_tiny")
        self.vae_tiny = session(os.path.join(self.folder, tiny)) if tiny else None
        sched_cfg = DDIMScheduler.load_config(os.path.join(self.folder, "scheduler"))
        self.scheduler_config = sched_cfg
        self.alphas_cumprod = DDIMScheduler.from_config(sched_cfg).alphas_cumprod
        if self.manifest:
            self.scaling = self.manifest["vae_scaling_factor"]
            self.latent = tuple(self.manifest["latent_shape"])
        else:
            self.scaling = json.load(open(os.path.join(self.folder, "vae_decoder", "config.json")))["scaling_factor"]
            shape = self.vae.get_inputs()[0].shape
            self.latent = tuple(int(d) for d in shape[1:])

    def encode(self, prompts: list[str]) -> np.ndarray:
        ids = self.tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="np").input_ids
        inp = self.text.get_inputs()[0]
        return self.text.run(None, {inp.name: ids.astype(DTYPES[inp.type])})[0]

    def unet_model(self, path: str, emb: np.ndarray, guidance: float):
        s = session(os.path.join(self.folder, path))
        t_type = DTYPES[[i for i in s.get_inputs() if i.name == "timestep"][0].type]

        def model(x: torch.Tensor, t) -> torch.Tensor:
            b = emb.shape[0]
            xs = np.repeat(x.numpy().astype(np.float32), b, axis=0)
            out = s.run(None, {"sample": xs, "timestep": np.full((b,), int(t), dtype=t_type), "encoder_hidden_states": emb})[0]
            if b == 1:
                return torch.from_numpy(out)
            e_u, e_c = out[0:1], out[1:2]
            return torch.from_numpy(e_u + guidance * (e_c - e_u))
        return model

    def decode(self, latents: torch.Tensor, decoder: str = "full") -> np.ndarray:
        x = (latents / self.scaling).numpy().astype(np.float32)
        vae = self.vae_tiny if decoder == "tiny" else self.vae
        if vae is None:
            raise ValueError(f"{self.folder} has no tiny VAE decoder")
        img = vae.run(None, {vae.get_inputs()[0].name: x})[0]
        return tensor_to_images(torch.from_numpy(img))[0]


def generate(bundle: Bundle, prompt: str, seed: int, model: str, steps: int, nc: bool, decoder: str = "full") -> np.ndarray:
    x_T = torch.from_numpy(gaussian_noise(seed, (1, *bundle.latent)))
    if bundle.manifest:
        unets = {u["id"]: u for u in bundle.manifest["unets"]}
        u = unets["teacher" if model == "teacher" else f"flash-{steps}"]
        path, recipe = u["path"], u["recipe"]
    else:
        path = "unet/model.onnx"
        folder_ddim = DDIMScheduler.from_config(bundle.scheduler_config)
        folder_ddim.set_timesteps(steps)
        recipe = ({"sampler": "dpmsolver++", "guidance_scale": 7.5, "steps": 25} if model == "teacher"
                  else {"sampler": "ddim", "guidance_scale": 1.0, "timesteps": [int(t) for t in folder_ddim.timesteps]})
    g = recipe["guidance_scale"]
    emb = bundle.encode(["", prompt] if g > 1 else [prompt])
    eps = bundle.unet_model(path, emb, g)
    if recipe["sampler"] == "ddim":
        x0 = sample_ddim(eps, x_T, recipe["timesteps"], alphas_cumprod=bundle.alphas_cumprod, noise_correction=nc)
    else:
        sched = DPMSolverMultistepScheduler.from_config(bundle.scheduler_config, algorithm_type="dpmsolver++", solver_order=2)
        sched.set_timesteps(recipe.get("steps", 25))
        x = x_T
        for t in sched.timesteps:
            x = sched.step(eps(x, int(t)), t, x).prev_sample
        x0 = x
    return bundle.decode(x0, decoder)


# (bundle, prompt, seed, model, steps, noise correction[, decoder: "full" unless given])
CASES = [
    ("tiny-bundle", "a red circle to the left of a blue square", 7, "flash", 1, True),
    ("tiny-bundle", "a red circle to the left of a blue square", 7, "flash", 2, True),
    ("tiny-bundle", "a red circle to the left of a blue square", 7, "flash", 2, False),
    ("tiny-bundle", "a red circle to the left of a blue square", 7, "flash", 3, True),
    ("tiny-bundle", "a red circle to the left of a blue square", 7, "teacher", 2, False),
    ("tiny-sd", "a red circle", 3, "flash", 2, True),
    ("tiny-sd", "a red circle", 3, "teacher", 2, False),
    # the bundle's optional tiny VAE decoder (vae_decoder_tiny/), as live mode and the Decoder setting use it
    ("tiny-bundle", "a red circle to the left of a blue square", 7, "flash", 1, True, "tiny"),
]


def main() -> None:
    torch.set_num_threads(1)
    bundles: dict[str, Bundle] = {}
    out = []
    for folder, prompt, seed, model, steps, nc, *rest in CASES:
        decoder = rest[0] if rest else "full"
        b = bundles.setdefault(folder, Bundle(folder))
        img = generate(b, prompt, seed, model, steps, nc, decoder)
        out.append({"bundle": folder, "prompt": prompt, "seed": seed, "model": model, "steps": steps,
                    "noise_correction": nc, "decoder": decoder, "height": int(img.shape[0]), "width": int(img.shape[1]),
                    "rgb_base64": base64.b64encode(np.ascontiguousarray(img).tobytes()).decode()})
        print(folder, model, steps, nc, decoder, img.shape, float(img.mean()))
    with open(OUT, "w") as f:
        json.dump({"generator": "tests/web/python_parity.py", "cases": out}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
