"""Evaluation (issue: reproduce Tables 1 and 3): a model + a UNet + a recipe on a prompt file →
  - accuracy per category: the analyzer's pass/fail for every (prompt, seed) image, with the spread over seeds;
  - FD: Fréchet distance between generated images and real renders of the same captions, in the committed
    tiny-CLIP image tower's features (checkpoints/text; the FID analogue of the domain);
  - CLIP-score analogue: 100 × cosine(image, prompt) in the same tiny CLIP, averaged over the prompt-file images.

python -m distill eval --model ~/.cache/imagine-flash/teacher/pipeline --out reports/eval/teacher-dpm25
python -m distill eval --model <teacher SD folder> --unet ~/.cache/imagine-flash/flash-3/unet --out reports/eval/flash-3
python -m distill eval --model <teacher SD folder> --sampler ddim --steps 3 --guidance-scale 4 --out reports/eval/teacher-ddim3
python -m distill eval --model models/shapescenes --unet-id flash-3 --out reports/eval/bundle-flash-3

--model may be an exported ONNX bundle (a folder with manifest.json): then everything runs through onnxruntime
(distill.onnx_bundle), so the numbers are those of the shipped files, and --unet-id picks one of its UNets, whose
manifest recipe is the default recipe.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import scipy.linalg
import torch
from diffusers import UNet2DConditionModel

from .analyzer import analyze_and_score
from .config import from_dict
from .data import caption, load_prompt_file, preview_grid, render, sample_scene
from .models import build_tokenizer, images_to_tensor
from .onnx_bundle import TEACHER_ID, OnnxBundle, is_bundle
from .pipeline import load_pipeline
from .recipes import function_evaluations, normalize_recipe, sample_recipe
from .training import DEV_PROMPTS
from .weights import load_stage

FEATURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints", "text")
TEACHER_RECIPE = {"sampler": "dpmsolver++", "steps": 25, "guidance_scale": 4.0, "noise_correction": False}
FD_REFERENCE_SEED = 20240  # the real renders and captions of the FD set; never a training seed


def accuracy_by_category(rows: list[dict], images: np.ndarray, seeds: list[int]) -> dict:
    """images are ordered seed-major: all rows for seeds[0], then all rows for seeds[1], …"""
    per_cat: dict[str, list[bool]] = {}
    i = 0
    for _seed in seeds:
        for r in rows:
            per_cat.setdefault(r["category"], []).append(analyze_and_score(r["meaning"], images[i])["overall"])
            i += 1
    out = {c: float(np.mean(v)) for c, v in per_cat.items()}
    out["all"] = float(np.mean([x for v in per_cat.values() for x in v]))
    return out


class FeatureNet:
    """The committed tiny CLIP (text stage): image features for FD, both towers for the CLIP-score analogue."""

    def __init__(self, path: str = FEATURES):
        from .train_text import TinyCLIP, TrainTextConfig  # the class that trained these weights
        stage = load_stage(path, "text")
        self.tokenizer = build_tokenizer()
        self.clip = TinyCLIP(from_dict(TrainTextConfig, stage["config"]), self.tokenizer).eval()
        self.clip.load_state_dict(stage["model"])
        self.path = os.path.abspath(path)

    @torch.no_grad()
    def image_features(self, images: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """uint8 [N, 64, 64, 3] -> float64 [N, 512] (the flattened 4×4 map; keeps where things are)."""
        return np.concatenate([self.clip.image.features(images_to_tensor(images[i:i + batch_size])).double().numpy()
                               for i in range(0, len(images), batch_size)])

    @torch.no_grad()
    def clip_scores(self, images: np.ndarray, prompts: list[str], batch_size: int = 250) -> np.ndarray:
        from .train_text import tokenize_short
        out = []
        for i in range(0, len(images), batch_size):
            img = self.clip.image(images_to_tensor(images[i:i + batch_size]))  # [B, D], unit norm
            txt = self.clip.text(tokenize_short(self.tokenizer, prompts[i:i + batch_size]))  # [B, D], unit norm
            out.append(100 * (img * txt).sum(-1).double().numpy())
        return np.concatenate(out)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FD between Gaussians fitted to two feature sets (Heusel et al. 2017): |μa−μb|² + tr(Σa + Σb − 2(ΣaΣb)^½)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FD needs at least 2 samples per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(covmean):
        covmean = covmean.real  # numerical noise of sqrtm on near-singular products
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def fd_reference(n: int, seed: int = FD_REFERENCE_SEED) -> tuple[list[str], np.ndarray]:
    """n training-distribution captions and the real renders of their scenes."""
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng) for _ in range(n)]
    prompts = [caption(s, rng)[0] for s in scenes]
    return prompts, np.stack([render(s) for s in scenes])


def load_unet(path: str | None) -> tuple[UNet2DConditionModel | None, dict | None]:
    """A UNet folder (diffusers save_pretrained) and its recipe.json when present."""
    if path is None:
        return None, None
    if not os.path.exists(os.path.join(path, "config.json")):
        raise ValueError(f"{path} is not a diffusers UNet folder (no config.json)")
    unet = UNet2DConditionModel.from_pretrained(path).eval()
    recipe_path = os.path.join(path, "recipe.json")
    recipe = None
    if os.path.exists(recipe_path):
        with open(recipe_path) as f:
            recipe = json.load(f)
    return unet, recipe


def load_model(args):
    """(pipeline, UNet or None, the UNet's own recipe or None) for --model and --unet / --unet-id: a diffusers SD folder
    with an optional PyTorch UNet folder, or an ONNX bundle with one of its UNets by id."""
    if is_bundle(args.model):
        if args.unet is not None:
            raise ValueError(f"--unet takes a PyTorch UNet folder; {args.model} is an ONNX bundle, so pick one of its "
                             "UNets with --unet-id")
        bundle = OnnxBundle(args.model)
        unet_id = args.unet_id or TEACHER_ID
        return bundle, bundle.load_unet(unet_id), bundle.recipe(unet_id)
    if args.unet_id is not None:
        raise ValueError(f"--unet-id picks a UNet of an ONNX bundle, but {args.model} has no manifest.json; "
                         "use --unet for a UNet folder")
    unet, recipe = load_unet(args.unet)
    return load_pipeline(args.model), unet, recipe


def resolve_recipe(args, unet_recipe: dict | None) -> dict:
    """The UNet's own recipe (or the teacher's), then any field the command line names."""
    if args.recipe:
        recipe = json.loads(open(args.recipe).read() if os.path.exists(args.recipe) else args.recipe)
    else:
        recipe = dict(unet_recipe or TEACHER_RECIPE)
    for key in ("sampler", "steps", "guidance_scale"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    if args.steps is not None and args.timesteps is None:
        recipe.pop("timesteps", None)  # a new step count drops the old schedule
    if args.timesteps is not None:
        recipe["timesteps"] = args.timesteps
    if args.noise_correction is not None:
        recipe["noise_correction"] = args.noise_correction == "on"
    if recipe.get("sampler") == "dpmsolver++":
        recipe.pop("timesteps", None)  # diffusers' scheduler sets its own from the step count
    return normalize_recipe(recipe)


def write_markdown(path: str, title: str, command: str, result: dict) -> None:
    acc, spread = result["accuracy"], result.get("accuracy_std_over_seeds", {})
    cats = [c for c in acc if c != "all"] + ["all"]
    cell = (lambda c: f"{100 * acc[c]:.1f}% ± {100 * spread[c]:.1f}") if spread else (lambda c: f"{100 * acc[c]:.1f}%")
    fd = f"{result['fd']:.2f} ({result['fd_images']} images each)" if result.get("fd") is not None else "not measured"
    lines = [f"# {title}", "", f"Command: `{command}`", "",
             f"Recipe: `{json.dumps(result['recipe'])}` ({result['nfe']} UNet evaluations per image); "
             f"seeds {result['seeds']}; {result['images']} prompt-file images.", "",
             "Accuracy per category (analyzer; ± is the standard deviation over seeds):", "",
             "| " + " | ".join(cats) + " |", "|" + "---|" * len(cats),
             "| " + " | ".join(cell(c) for c in cats) + " |", "",
             f"FD (tiny-CLIP image features, generated vs real renders): {fd}", "",
             f"CLIP-score analogue (100 × cosine, prompt-file images): {result['clip_score']:.2f}", "",
             f"Wall time: {result['seconds']:.0f} s."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Evaluate a model and recipe on a prompt file: analyzer accuracy per "
                                "category, FD against real renders, and a CLIP-score analogue.")
    p.add_argument("--model", required=True, help="diffusers Stable Diffusion folder (text encoder, VAE, scheduler, "
                   "and the UNet used when --unet is not given), or an exported ONNX bundle (a folder with "
                   "manifest.json), which is then sampled through onnxruntime")
    p.add_argument("--unet", default=None, help="a UNet folder to evaluate instead of the model's own (a student's "
                   "run/unet); its recipe.json is the default recipe")
    p.add_argument("--unet-id", default=None, help="with a bundle as --model: the id of one of its UNets (manifest "
                   "unets, e.g. flash-3; default: teacher); its manifest recipe is the default recipe")
    p.add_argument("--recipe", default=None, help="recipe as JSON text or a JSON file, e.g. "
                   "'{\"sampler\": \"ddim\", \"steps\": 3, \"guidance_scale\": 4}'; default: the UNet's recipe.json, "
                   "else the teacher's (DPM-Solver++ 25 steps, CFG 4)")
    p.add_argument("--sampler", default=None, choices=["dpmsolver++", "ddim", "lcm"], help="override the recipe's sampler")
    p.add_argument("--steps", type=int, default=None, help="override the recipe's step count (DDIM: trailing spacing)")
    p.add_argument("--timesteps", type=int, nargs="+", default=None, help="override the recipe's DDIM timesteps")
    p.add_argument("--guidance-scale", type=float, default=None, help="override the recipe's CFG scale (1 = none)")
    p.add_argument("--noise-correction", choices=["on", "off"], default=None, help="override the recipe's noise "
                   "correction (DDIM only)")
    p.add_argument("--prompts", default=DEV_PROMPTS, help="jsonl prompt file (shared/eval format)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one image per prompt and seed")
    p.add_argument("--fd-images", type=int, default=2000, help="generated and real images for FD (0: skip FD)")
    p.add_argument("--features", default=FEATURES, help="the tiny-CLIP weights for FD and the CLIP-score analogue")
    p.add_argument("--batch-size", type=int, default=100, help="images per batch")
    p.add_argument("--out", required=True, help="output prefix: writes OUT.json, OUT.md and OUT.png (a grid)")
    return p.parse_args(argv)


def main(args) -> dict:
    rows = load_prompt_file(args.prompts)
    pipe, unet, unet_recipe = load_model(args)
    recipe = resolve_recipe(args, unet_recipe)
    features = FeatureNet(args.features)
    start = time.time()

    # 1. the prompt file: accuracy per category (overall and per seed) and the CLIP-score analogue
    prompts = [r["prompt"] for _ in args.seeds for r in rows]
    seeds = [s for s in args.seeds for _ in rows]
    images = sample_recipe(pipe, unet, recipe, prompts, seeds, args.batch_size, progress=True)
    per_seed = {s: accuracy_by_category(rows, images[k * len(rows):(k + 1) * len(rows)], [s])
                for k, s in enumerate(args.seeds)}
    clip = features.clip_scores(images, prompts)
    on_bundle = isinstance(pipe, OnnxBundle)
    # a bundle's UNet is its ONNX file; otherwise the --unet folder (None: the SD folder's own UNet)
    result = {"model": os.path.abspath(args.model),
              "unet": unet.path if on_bundle else args.unet and os.path.abspath(args.unet),
              "unet_id": unet.id if on_bundle else None,
              "prompts": os.path.abspath(args.prompts), "seeds": args.seeds, "recipe": recipe,
              "nfe": function_evaluations(recipe), "images": len(images),
              "accuracy": accuracy_by_category(rows, images, args.seeds), "accuracy_per_seed": per_seed,
              "clip_score": float(clip.mean()),
              "clip_score_per_seed": {s: float(clip[k * len(rows):(k + 1) * len(rows)].mean())
                                      for k, s in enumerate(args.seeds)},
              "features": features.path, "fd": None, "fd_images": args.fd_images}
    if len(args.seeds) > 1:
        result["accuracy_std_over_seeds"] = {c: float(np.std([a[c] for a in per_seed.values()]))
                                             for c in result["accuracy"]}

    # 2. FD: generated images for n training-distribution captions vs the real renders of those captions
    if args.fd_images:
        fd_prompts, real = fd_reference(args.fd_images)
        fake = sample_recipe(pipe, unet, recipe, fd_prompts, list(range(args.fd_images)), args.batch_size, progress=True)
        result["fd"] = frechet_distance(features.image_features(fake), features.image_features(real))
    result["seconds"] = time.time() - start

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
    name = os.path.basename(os.path.normpath(args.unet or args.model))
    if on_bundle:
        name = f"{name} (ONNX bundle, UNet {unet.id})"
    write_markdown(args.out + ".md", f"Evaluation of {name}", "python -m distill eval " + " ".join(_argv_for(args)),
                   result)
    preview_grid(list(images[: min(len(images), 70)]), 10).save(args.out + ".png")
    print(json.dumps({"accuracy": result["accuracy"], "fd": result["fd"], "clip_score": result["clip_score"]}, indent=2))
    return result


def _argv_for(args) -> list[str]:
    out = [f"--model {args.model}"]
    for flag in ("unet", "unet_id", "recipe", "sampler", "steps", "guidance_scale", "noise_correction"):
        value = getattr(args, flag)
        if value is not None:
            out.append(f"--{flag.replace('_', '-')} " + (f"'{value}'" if flag == "recipe" else str(value)))
    if args.timesteps is not None:
        out.append("--timesteps " + " ".join(map(str, args.timesteps)))
    out += [f"--prompts {args.prompts}", "--seeds " + " ".join(map(str, args.seeds)),
            f"--fd-images {args.fd_images}", f"--out {args.out}"]
    return out


if __name__ == "__main__":
    main(parse_args())
