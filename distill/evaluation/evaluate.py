"""Evaluation: a model + a UNet + a recipe on a prompt file →
  - accuracy per category: the analyzer's pass/fail for every (prompt, seed) image, with the spread over seeds;
  - FD: Fréchet distance between generated images and real renders of the same captions, in the committed
    tiny-CLIP image tower's features (checkpoints/text; the FID analogue of the domain);
  - CLIP-score analogue: 100 × cosine(image, prompt) in the same tiny CLIP, averaged over the prompt-file images.

python -m distill evaluate --model ~/.cache/imagine-flash/teacher/pipeline --out reports/eval/teacher-dpm25
python -m distill evaluate --model <teacher SD folder> --unet ~/.cache/imagine-flash/flash-3/unet --out reports/eval/flash-3
python -m distill evaluate --model <teacher SD folder> --sampler ddim --steps 3 --guidance-scale 4 --out reports/eval/teacher-ddim3
python -m distill evaluate --model models/shapescenes --unet-id flash-3 --out reports/eval/bundle-flash-3
python -m distill evaluate --model models/shapescenes --unet-id flash-1 --decoder tiny --out reports/eval/bundle-flash-1-tiny

--model may be an exported ONNX bundle (a folder with manifest.json): then everything runs through onnxruntime
(distill.export.bundle), so the numbers are those of the shipped files, and --unet-id picks one of its UNets, whose
manifest recipe is the default recipe, and --decoder tiny decodes with its optional vae_decoder_tiny/.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from .. import REPO_ROOT
from ..domain.analyzer import accuracy_by_category
from ..domain.prompts import DEV_PROMPTS, load_prompt_file
from ..domain.render import preview_grid
from ..export.bundle import OnnxBundle, OnnxVAEDecoder, TEACHER_ID, is_bundle, open_session
from ..networks.loaders import load_unet
from ..networks.pipeline import load_pipeline
from ..sampling.recipes import TEACHER_RECIPE, function_evaluations, normalize_recipe, sample_recipe
from .metrics import FEATURES, FeatureNet, fd_reference, frechet_distance


def load_model(model: str, unet_folder: str | None = None, unet_id: str | None = None):
    """(pipeline, UNet or None, the UNet's own recipe or None) for --model and --unet / --unet-id: a diffusers SD folder
    with an optional PyTorch UNet folder, or an ONNX bundle with one of its UNets by id."""
    if is_bundle(model):
        if unet_folder is not None:
            raise ValueError(f"--unet takes a PyTorch UNet folder; {model} is an ONNX bundle, so pick one of its "
                             "UNets with --unet-id")
        bundle = OnnxBundle(model)
        unet_id = unet_id or TEACHER_ID
        return bundle, bundle.load_unet(unet_id), bundle.recipe(unet_id)
    if unet_id is not None:
        raise ValueError(f"--unet-id picks a UNet of an ONNX bundle, but {model} has no manifest.json; "
                         "use --unet for a UNet folder")
    unet, recipe = load_unet(unet_folder)
    return load_pipeline(model), unet, recipe


def tiny_decoder(bundle: OnnxBundle) -> OnnxVAEDecoder:
    """The bundle's optional vae_decoder_tiny/ behind the same decode() as its vae_decoder/."""
    if "vae_decoder_tiny" not in bundle.manifest:
        raise ValueError(f"bundle {bundle.path} has no tiny decoder (no vae_decoder_tiny in its manifest.json)")
    return OnnxVAEDecoder(open_session(os.path.join(bundle.path, bundle.manifest["vae_decoder_tiny"])),
                          bundle.vae.config.scaling_factor)


def with_decoder(pipe, decoder: str):
    """--decoder: "full" keeps the model's own VAE decoder; "tiny" swaps in an ONNX bundle's tiny decoder."""
    if decoder == "tiny":
        if not isinstance(pipe, OnnxBundle):
            raise ValueError("--decoder tiny needs an ONNX bundle as --model (its vae_decoder_tiny/)")
        pipe.vae = tiny_decoder(pipe)
    elif decoder != "full":
        raise ValueError(f"--decoder is full or tiny, not {decoder!r}")
    return pipe


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
    p.add_argument("--decoder", choices=["full", "tiny"], default="full", help="with a bundle as --model: decode with "
                   "its VAE decoder (full) or its optional tiny decoder (vae_decoder_tiny/)")
    p.add_argument("--prompts", default=DEV_PROMPTS, help="jsonl prompt file (shared/eval format)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one image per prompt and seed")
    p.add_argument("--fd-images", type=int, default=2000, help="generated and real images for FD (0: skip FD)")
    p.add_argument("--features", default=FEATURES, help="the tiny-CLIP weights for FD and the CLIP-score analogue")
    p.add_argument("--batch-size", type=int, default=100, help="images per batch")
    p.add_argument("--out", required=True, help="output prefix: writes OUT.json, OUT.md and OUT.png (a grid)")
    return p.parse_args(argv)


def main(args) -> dict:
    pipe, unet, unet_recipe = load_model(args.model, args.unet, args.unet_id)
    pipe = with_decoder(pipe, args.decoder)
    return evaluate(pipe, unet, resolve_recipe(args, unet_recipe), model=args.model, unet_folder=args.unet,
                    prompts=args.prompts, seeds=args.seeds, fd_images=args.fd_images, features=args.features,
                    batch_size=args.batch_size, out=args.out,
                    command=command_line(args.model, args.out, args.prompts, args.seeds, args.fd_images,
                                         **{k: getattr(args, k) for k in ("unet", "unet_id", "recipe", "sampler", "steps",
                                                                          "guidance_scale", "noise_correction",
                                                                          "timesteps")},
                                         decoder=None if args.decoder == "full" else args.decoder))


def evaluate(pipe, unet, recipe: dict, *, model: str, unet_folder: str | None, prompts: str, seeds: list[int],
             fd_images: int, features: str, batch_size: int, out: str, command: str) -> dict:
    """Accuracy, CLIP score and FD of (pipe, unet) under a resolved recipe; writes OUT.json, OUT.md (naming the
    command that reproduces it) and OUT.png, and returns the OUT.json dict."""
    rows = load_prompt_file(prompts)
    feature_net = FeatureNet(features)
    start = time.time()

    # 1. the prompt file: accuracy per category (overall and per seed) and the CLIP-score analogue
    texts = [r["prompt"] for _ in seeds for r in rows]
    images = sample_recipe(pipe, unet, recipe, texts, [s for s in seeds for _ in rows], batch_size, progress=True)
    per_seed = {s: accuracy_by_category(rows, images[k * len(rows):(k + 1) * len(rows)], [s])
                for k, s in enumerate(seeds)}
    clip = feature_net.clip_scores(images, texts)
    on_bundle = isinstance(pipe, OnnxBundle)
    # a bundle's UNet is its ONNX file; otherwise the --unet folder (None: the SD folder's own UNet)
    result = {"model": os.path.abspath(model),
              "unet": unet.path if on_bundle else unet_folder and os.path.abspath(unet_folder),
              "unet_id": unet.id if on_bundle else None,
              "prompts": os.path.abspath(prompts), "seeds": seeds, "recipe": recipe,
              "nfe": function_evaluations(recipe), "images": len(images),
              "accuracy": accuracy_by_category(rows, images, seeds), "accuracy_per_seed": per_seed,
              "clip_score": float(clip.mean()),
              "clip_score_per_seed": {s: float(clip[k * len(rows):(k + 1) * len(rows)].mean())
                                      for k, s in enumerate(seeds)},
              "features": feature_net.path, "fd": None, "fd_images": fd_images}
    if len(seeds) > 1:
        result["accuracy_std_over_seeds"] = {c: float(np.std([a[c] for a in per_seed.values()]))
                                             for c in result["accuracy"]}

    # 2. FD: generated images for n training-distribution captions vs the real renders of those captions
    if fd_images:
        fd_prompts, real = fd_reference(fd_images)
        fake = sample_recipe(pipe, unet, recipe, fd_prompts, list(range(fd_images)), batch_size, progress=True)
        result["fd"] = frechet_distance(feature_net.image_features(fake), feature_net.image_features(real))
    result["seconds"] = time.time() - start

    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".json", "w") as f:
        json.dump(result, f, indent=2)
    name = os.path.basename(os.path.normpath(unet_folder or model))
    if on_bundle:
        name = f"{name} (ONNX bundle, UNet {unet.id})"
    write_markdown(out + ".md", f"Evaluation of {name}", command, result)
    preview_grid(list(images[: min(len(images), 70)]), 10).save(out + ".png")
    print(json.dumps({"accuracy": result["accuracy"], "fd": result["fd"], "clip_score": result["clip_score"]}, indent=2))
    return result


def command_line(model: str, out: str, prompts: str, seeds: list[int], fd_images: int, **flags) -> str:
    """The `python -m distill evaluate` line that reproduces an evaluation (written into its report); flags: the
    optional ones given (unet, unet_id, decoder, recipe as JSON text, sampler, steps, guidance_scale, noise_correction,
    timesteps), None for absent."""
    parts = [f"--model {model}"]
    for flag in ("unet", "unet_id", "decoder", "recipe", "sampler", "steps", "guidance_scale", "noise_correction"):
        if flags.get(flag) is not None:
            parts.append(f"--{flag.replace('_', '-')} " + (f"'{flags[flag]}'" if flag == "recipe" else str(flags[flag])))
    if flags.get("timesteps") is not None:
        parts.append("--timesteps " + " ".join(map(str, flags["timesteps"])))
    inside = os.path.abspath(prompts).startswith(REPO_ROOT + os.sep)  # the checkout's own file: as the repo names it
    parts += [f"--prompts {os.path.relpath(prompts, REPO_ROOT) if inside else prompts}",
              "--seeds " + " ".join(map(str, seeds)), f"--fd-images {fd_images}",
              f"--out {out}"]
    return "python -m distill evaluate " + " ".join(parts)


if __name__ == "__main__":
    main(parse_args())
