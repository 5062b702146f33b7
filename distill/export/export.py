"""Export a diffusers Stable Diffusion folder (our teacher, or any SD-style checkpoint) to an ONNX model
bundle: the diffusers/optimum ONNX layout plus manifest.json (DESIGN.md, "The contract between the halves").

python -m distill export --teacher ~/.cache/imagine-flash/teacher/pipeline --out models/shapescenes
python -m distill export … --tiny-decoder checkpoints/tiny-decoder   # with the optional vae_decoder_tiny/
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil

import diffusers
import numpy as np
import torch
from diffusers import DDIMScheduler, UNet2DConditionModel

from ..distillation.flash import FlashConfig
from ..domain.grammar import BACKGROUNDS, COLORS, COUNTS, RELATIONS, SHAPES, SIZES, VOCABULARY
from ..networks.architectures import fingerprint
from ..networks.loaders import load_tiny_decoder
from ..networks.pipeline import dpm_solver, load_pipeline
from ..runs.checkpoint import read_run_record
from ..runs.compute import EQUAL_COMPUTE_PASSES
from ..runs.config import from_dict
from ..runs.weights import students_folder
from .onnx import export_module, file_record, max_abs_diff, round_weights_fp16, run_onnx, store_weights_fp16


MANIFEST_VERSION = 1
TINY_DECODER = "vae_decoder_tiny/model.onnx"  # optional: the manifest names it only when the bundle has one

# what `export --students-from` ships as unet-flash-k: the Imagine Flash student of each step count that
# `distill reproduce` trains at its default pass budget (the app's own bundle ships longer-trained ones: `make bundle`)
SHIPPED_STUDENTS = {"flash-1": "flash-1", "flash-2": "flash-2", "flash-3": "flash-3"}


class TextEncoderGraph(torch.nn.Module):
    def __init__(self, text_encoder):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids):  # [B, 77] (int32 or int64) -> [B, 77, D], [B, D]
        out = self.text_encoder(input_ids.long())
        return out.last_hidden_state, out.pooler_output


class UNetGraph(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):  # [B, 4, h, w], [B], [B, 77, D] -> [B, 4, h, w]
        return self.unet(sample, timestep, encoder_hidden_states).sample


class VAEDecoderGraph(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):  # [B, 4, h, w] (already divided by the scaling factor) -> [B, 3, H, W]
        return self.vae.decode(latent_sample).sample


class TinyDecoderGraph(torch.nn.Module):
    """The tiny decoder with vae_decoder/'s contract: the same latent_sample in, an image in [-1, 1] out (clamped
    here, so the app can treat both decoders' outputs alike)."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, latent_sample):  # [B, 4, h, w] (already divided by the scaling factor) -> [B, 3, H, W]
        return self.decoder(latent_sample).clamp(-1, 1)


def export_tiny_decoder(decoder, stage: dict, out: str, latent_shape: list[int], fp16_weights: bool) -> float:
    """out/vae_decoder_tiny/: model.onnx and config.json (the decoder's config, training step and the fingerprint
    of the VAE whose decoder it imitates); returns the max abs difference onnxruntime vs PyTorch."""
    c, h, w = latent_shape
    if decoder.cfg.latent_channels != c:
        raise ValueError(f"the tiny decoder takes {decoder.cfg.latent_channels} latent channels, the bundle's latents "
                         f"have {c}")
    if fp16_weights:
        round_weights_fp16(decoder)
    graph = TinyDecoderGraph(decoder.eval())
    path = os.path.join(out, TINY_DECODER)
    z = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(1))
    export_module(graph, (z,), path, ["latent_sample"], ["sample"], {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    if fp16_weights:
        store_weights_fp16(path)
    # latents at the scale the decoder reads (unit variance after its latent_scale), at another batch size than the
    # trace's, so the dynamic batch axis is checked too
    z3 = torch.randn(3, c, h, w, generator=torch.Generator().manual_seed(2)) / decoder.cfg.latent_scale
    with torch.no_grad():
        ref = graph(z3).numpy()
    parity = max_abs_diff(ref, run_onnx(path, {"latent_sample": z3.numpy()})[0])
    record = {"_class_name": "TinyDecoder", "config": stage["config"]["model"], "step": stage.get("step"),
              "vae_fingerprint": stage.get("vae_fingerprint"), "trained_on": stage.get("trained_on")}
    with open(os.path.join(out, os.path.dirname(TINY_DECODER), "config.json"), "w") as f:
        json.dump(record, f, indent=2)
    return parity


def check_tiny_decoder(decoder, stage: dict, latent_shape: list[int], image_size: list[int], scaling_factor: float,
                       where: str) -> None:
    """A tiny decoder fits a bundle when it reads the bundle's latents at its scale and draws its image size."""
    c, h, _ = latent_shape
    problems = []
    if decoder.cfg.latent_channels != c:
        problems.append(f"{decoder.cfg.latent_channels} latent channels, not {c}")
    if h * decoder.upscale != image_size[0]:
        problems.append(f"{h}×{decoder.upscale} = {h * decoder.upscale} pixels, not {image_size[0]}")
    if abs(decoder.cfg.latent_scale - scaling_factor) > 1e-6 * max(1.0, abs(scaling_factor)):
        problems.append(f"latent scale {decoder.cfg.latent_scale}, not the VAE scaling factor {scaling_factor}")
    if problems:
        raise ValueError(f"the tiny decoder (step {stage.get('step')}) does not fit {where}: " + "; ".join(problems))


def add_tiny_decoder(out: str, weights: str, fp16_weights: bool = True) -> dict:
    """An exported bundle gains (or replaces) its optional vae_decoder_tiny/ from a tiny decoder's weights: the folder
    is written, and manifest.json names it, records its parity and lists its files with their sha256; every other
    graph and the rest of the manifest stay as they are (no UNet is re-exported)."""
    out = os.path.normpath(out)
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    decoder, stage = load_tiny_decoder(weights)
    check_tiny_decoder(decoder, stage, manifest["latent_shape"], manifest["image_size"], manifest["vae_scaling_factor"],
                       out)
    staging = out + ".tiny-decoder.partial"
    if os.path.exists(staging):
        shutil.rmtree(staging)
    parity = export_tiny_decoder(decoder, stage, staging, manifest["latent_shape"], fp16_weights)
    if not np.isfinite(parity) or parity > PARITY_TOLERANCE:
        raise ValueError(f"onnxruntime disagrees with PyTorch beyond {PARITY_TOLERANCE} on the tiny decoder ({parity}); "
                         f"the partial export is left in {staging}")
    folder = os.path.join(out, os.path.dirname(TINY_DECODER))
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.replace(os.path.join(staging, os.path.dirname(TINY_DECODER)), folder)
    shutil.rmtree(staging)
    manifest = with_tiny_decoder(manifest)
    manifest["parity_max_abs_diff"]["vae_decoder_tiny"] = parity
    manifest["files"] = file_records(out)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def with_tiny_decoder(manifest: dict) -> dict:
    """The manifest naming vae_decoder_tiny right after vae_decoder."""
    out = {}
    for k, v in manifest.items():
        if k != "vae_decoder_tiny":
            out[k] = v
        if k == "vae_decoder":
            out["vae_decoder_tiny"] = TINY_DECODER
    return out


def export_unet(unet, path: str, text_dim: int, fp16_weights: bool, seed: int = 0) -> float:
    """Exports one UNet and returns the max abs difference onnxruntime vs PyTorch on random inputs."""
    if fp16_weights:
        round_weights_fp16(unet)
    g = torch.Generator().manual_seed(seed)
    c, s = unet.config.in_channels, unet.config.sample_size
    x = torch.randn(2, c, s, s, generator=g)
    t = torch.tensor([999.0, 500.0])
    ehs = torch.randn(2, 77, text_dim, generator=g)
    export_module(UNetGraph(unet), (x, t, ehs), path, ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
                  {"sample": {0: "batch"}, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch"},
                   "out_sample": {0: "batch"}})
    if fp16_weights:
        store_weights_fp16(path)
    # parity at another batch size than the trace's, so dynamic axes are checked too
    x3, t3, e3 = torch.randn(3, c, s, s, generator=g), torch.tensor([999.0, 666.0, 1.0]), torch.randn(3, 77, text_dim, generator=g)
    with torch.no_grad():
        ref = unet(x3, t3, e3).sample.numpy()
    got = run_onnx(path, {"sample": x3.numpy(), "timestep": t3.numpy(), "encoder_hidden_states": e3.numpy()})[0]
    return max_abs_diff(ref, got)


def export_components(pipe, out: str, fp16_weights: bool) -> dict:
    """Text encoder, teacher UNet and VAE decoder of an SD pipeline -> ONNX files; returns parity per component."""
    parity = {}
    te, vae, tok = pipe.text_encoder.eval(), pipe.vae.eval(), pipe.tokenizer
    if fp16_weights:
        round_weights_fp16(te); round_weights_fp16(vae)
    ids = tok(["a red circle above a blue star", ""], padding="max_length", max_length=77, truncation=True,
              return_tensors="pt").input_ids
    path = os.path.join(out, "text_encoder", "model.onnx")
    export_module(TextEncoderGraph(te), (ids,), path, ["input_ids"], ["last_hidden_state", "pooler_output"],
                  {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}})
    if fp16_weights:
        store_weights_fp16(path)
    ids3 = tok(["two red circles", "a small pink heart below a large blue star on a gray background", "a star"],
               padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        ref = te(ids3).last_hidden_state.numpy()
    parity["text_encoder"] = max_abs_diff(ref, run_onnx(path, {"input_ids": ids3.numpy()})[0])

    text_dim = te.config.hidden_size
    parity["unet"] = export_unet(pipe.unet.eval(), os.path.join(out, "unet", "model.onnx"), text_dim, fp16_weights)

    c, s = pipe.unet.config.in_channels, pipe.unet.config.sample_size
    z = torch.randn(2, c, s, s, generator=torch.Generator().manual_seed(1))
    path = os.path.join(out, "vae_decoder", "model.onnx")
    export_module(VAEDecoderGraph(vae), (z,), path, ["latent_sample"], ["sample"],
                  {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    if fp16_weights:
        store_weights_fp16(path)
    z3 = torch.randn(3, c, s, s, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = vae.decode(z3).sample.numpy()
    parity["vae_decoder"] = max_abs_diff(ref, run_onnx(path, {"latent_sample": z3.numpy()})[0])

    tok.save_pretrained(os.path.join(out, "tokenizer"))
    te.config.to_json_file(os.path.join(out, "text_encoder", "config.json"))
    pipe.unet.save_config(os.path.join(out, "unet"))
    vae.save_config(os.path.join(out, "vae_decoder"))
    write_ddim_config(pipe.scheduler.config, os.path.join(out, "scheduler"))
    return parity


def write_ddim_config(config, folder: str) -> None:
    """scheduler/scheduler_config.json as a plain DDIMScheduler config: only DDIM's own fields, so no other
    scheduler's values (e.g. DPM-Solver's lambda_min_clipped = -inf, not valid JSON) leak into the bundle."""
    own = set(inspect.signature(DDIMScheduler.__init__).parameters) - {"self"}
    DDIMScheduler(**{k: v for k, v in config.items() if k in own and k != "set_alpha_to_one"},
                  set_alpha_to_one=False).save_config(folder)


def teacher_recipe(pipe, steps: int, guidance_scale: float) -> dict:
    scheduler = dpm_solver(pipe.scheduler.config)
    scheduler.set_timesteps(steps)
    return {"sampler": "dpmsolver++", "solver_order": 2, "steps": steps, "guidance_scale": guidance_scale,
            "noise_correction": False, "timesteps": [int(t) for t in scheduler.timesteps]}


# model_index.json as current optimum writes it for an SD pipeline (the PyTorch pipeline's own index, key `vae`, the
# decoder graph in vae_decoder/), which optimum's ORTDiffusionPipeline opens; the older OnnxStableDiffusionPipeline
# index is deprecated by diffusers. The tokenizer is named by the class that reads tokenizer.json in transformers 4
# (optimum's) and 5 alike.
MODEL_INDEX = {"_class_name": "StableDiffusionPipeline", "feature_extractor": [None, None],
               "image_encoder": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
               "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "PreTrainedTokenizerFast"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}


def write_model_index(out: str) -> None:
    index = {"_class_name": MODEL_INDEX["_class_name"], "_diffusers_version": diffusers.__version__,
             **{k: v for k, v in MODEL_INDEX.items() if k != "_class_name"}}
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(index, f, indent=2)


def file_records(out: str) -> list[dict]:
    """Size and sha256 of every file of the bundle but manifest.json, sorted by path."""
    files = []
    for root, _, names in os.walk(out):
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(root, n), out)
            if rel != "manifest.json":
                files.append(file_record(out, rel))
    return sorted(files, key=lambda r: r["path"])


def write_manifest(out: str, pipe, unets: list[dict], parity: dict, name: str) -> dict:
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    manifest = {
        "format_version": MANIFEST_VERSION, "name": name,
        "image_size": [size, size], "latent_shape": [pipe.unet.config.in_channels, pipe.unet.config.sample_size,
                                                     pipe.unet.config.sample_size],
        "vae_scaling_factor": pipe.vae.config.scaling_factor, "context_length": 77,
        "text_hidden_size": pipe.text_encoder.config.hidden_size,
        "prediction_type": pipe.scheduler.config.prediction_type,
        "text_encoder": "text_encoder/model.onnx", "vae_decoder": "vae_decoder/model.onnx", "tokenizer": "tokenizer",
        "scheduler": "scheduler/scheduler_config.json",
        "unets": unets,
        "vocabulary": {"words": list(VOCABULARY), "colors": list(COLORS), "shapes": list(SHAPES), "sizes": list(SIZES),
                       "backgrounds": list(BACKGROUNDS), "relations": list(RELATIONS), "counts": list(COUNTS)},
        "parity_max_abs_diff": parity,
        "files": file_records(out),
    }
    if os.path.exists(os.path.join(out, TINY_DECODER)):
        manifest = with_tiny_decoder(manifest)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def rewrite_model_index(out: str) -> dict:
    """An exported bundle's model_index.json rewritten as export writes it now, and the manifest's file records
    updated to match; the graphs and the rest of the manifest stay as they are (for a bundle exported with the
    older index, without re-exporting its UNets)."""
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    write_model_index(out)
    manifest["files"] = file_records(out)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Export a diffusers SD folder to an ONNX model bundle with parity checks.")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder (save-teacher output)")
    p.add_argument("--out", required=True, help="bundle folder to (re)write, e.g. models/shapescenes")
    p.add_argument("--name", default=None, help="bundle name shown in the app (default: the folder name)")
    p.add_argument("--student", action="append", default=[], metavar="ID=FOLDER",
                   help="a distilled UNet folder (diffusers UNet + recipe.json) to ship as unet-ID")
    p.add_argument("--students-from", default=None, metavar="RUNS",
                   help="the runs folder of `distill reproduce`: ships the runs named in SHIPPED_STUDENTS "
                        "for this teacher at the default pass budget (RUNS/teacher-<hash>/passes-<N>/<run>/unet) "
                        "that exist, as unet-flash-1/2/3")
    p.add_argument("--students-run", action="append", default=[], metavar="RUN[:ID,…]",
                   help="a flash run folder (or its packed copy, checkpoints/students/<name>) whose student learned "
                        "several step counts: its unet/ ships once per count k, as unet-flash-k with k's recipe; "
                        "RUN:flash-1,flash-2 ships only those")
    p.add_argument("--tiny-decoder", default=None, metavar="WEIGHTS",
                   help="a tiny VAE decoder of this teacher's VAE (`distill tiny-decoder` run folder or its packed "
                        "weights, checkpoints/tiny-decoder) to ship as the optional vae_decoder_tiny/")
    p.add_argument("--teacher-steps", type=int, default=25, help="teacher recipe: DPM-Solver++ steps")
    p.add_argument("--guidance-scale", type=float, default=4.0, help="teacher recipe: CFG scale")
    p.add_argument("--fp32-weights", action="store_true", help="store weights as fp32 (default: fp16 storage, fp32 compute)")
    return p.parse_args(argv)


def distillation_record(unet_folder: str) -> dict:
    """How a student was trained, for the manifest: its run folder's name, step and config (from the run's
    checkpoint or run record beside the UNet folder, when there is one)."""
    run_dir = os.path.dirname(os.path.abspath(unet_folder))
    ckpt = read_run_record(run_dir)
    if ckpt is None:
        return {}
    record = {"run": os.path.basename(run_dir), "method": ckpt.get("kind"), "step": ckpt.get("step"),
              "config": ckpt["config"]}
    if "trained_on" in ckpt:
        record["trained_on"] = ckpt["trained_on"]
    return {"distillation": json.loads(json.dumps(record, allow_nan=False))}  # as manifest.json will hold it


def run_students(run_dir: str) -> list[tuple[str, str, dict]]:
    """(flash-k, run/unet, k-step recipe) for every step count a distill run's student learned."""
    record = read_run_record(run_dir)
    if record is None or record.get("kind") != "flash":
        raise ValueError(f"--students-run {run_dir}: not a flash run folder (no flash ckpt.pt or record.json)")
    if not os.path.exists(os.path.join(run_dir, "unet", "config.json")):
        raise ValueError(f"--students-run {run_dir}: no trained student in {os.path.join(run_dir, 'unet')}")
    cfg = from_dict(FlashConfig, record["config"])
    return [(f"flash-{k}", os.path.join(run_dir, "unet"), cfg.recipe(k)) for k in sorted(cfg.all_step_counts())]


PARITY_TOLERANCE = 1e-3  # fp32 compute: anything above this (or NaN) is a broken graph, not rounding


def main(args) -> dict:
    students = []  # (id, UNet folder, recipe; None: the folder's recipe.json)
    for item in args.student:
        if "=" not in item:
            raise ValueError(f"--student {item!r} is not ID=FOLDER")
        students.append((*item.split("=", 1), None))
    for item in args.students_run:
        run, _, ids = item.partition(":")
        picked = run_students(run)
        if ids:
            wanted, offered = ids.split(","), [sid for sid, _, _ in picked]
            if set(wanted) - set(offered):
                raise ValueError(f"--students-run {item}: {sorted(set(wanted) - set(offered))} not among the run's "
                                 f"students {offered}")
            picked = [s for s in picked if s[0] in wanted]
        students += picked
    if args.students_from:
        runs = students_folder(args.students_from, args.teacher, EQUAL_COMPUTE_PASSES)
        found = {sid: os.path.join(runs, run, "unet") for sid, run in SHIPPED_STUDENTS.items()
                 if os.path.exists(os.path.join(runs, run, "unet", "recipe.json"))}
        if not found:
            raise ValueError(f"--students-from {args.students_from}: none of the students {SHIPPED_STUDENTS} of this "
                             f"teacher in {runs}")
        for sid in sorted(set(SHIPPED_STUDENTS) - set(found)):
            print(f"not shipping {sid}: {os.path.join(runs, SHIPPED_STUDENTS[sid])} has no trained student")
        students += [(sid, folder, None) for sid, folder in found.items()]
    ids = [sid for sid, _, _ in students]
    if len(set(ids)) != len(ids):
        raise ValueError(f"student ids given twice (--student and --students-from together?): {ids}")
    pipe = load_pipeline(args.teacher)
    fp16 = not args.fp32_weights
    tiny = None
    if args.tiny_decoder:
        tiny = load_tiny_decoder(args.tiny_decoder)
        if tiny[1].get("vae_fingerprint") != fingerprint(pipe.vae):
            raise ValueError(f"--tiny-decoder {args.tiny_decoder} was distilled from another VAE than {args.teacher}'s")
    # build next to the target and swap in at the end: a failed export leaves the shipped bundle as it was
    out = os.path.normpath(args.out)
    staging = out + ".partial"
    if os.path.exists(staging):
        shutil.rmtree(staging)
    parity = export_components(pipe, staging, fp16)
    unets = [{"id": "teacher", "path": "unet/model.onnx", "recipe": teacher_recipe(pipe, args.teacher_steps, args.guidance_scale)}]
    for sid, folder, recipe in students:
        if recipe is None:
            with open(os.path.join(folder, "recipe.json")) as f:
                recipe = json.load(f)
        unet = UNet2DConditionModel.from_pretrained(folder).float()  # packed students are stored in fp16
        rel = f"unet-{sid}/model.onnx"
        parity[f"unet-{sid}"] = export_unet(unet.eval(), os.path.join(staging, rel), pipe.text_encoder.config.hidden_size, fp16)
        unets.append({"id": sid, "path": rel, "recipe": recipe, **distillation_record(folder)})
    if tiny is not None:
        latent_shape = [pipe.unet.config.in_channels, pipe.unet.config.sample_size, pipe.unet.config.sample_size]
        size = pipe.unet.config.sample_size * pipe.vae_scale_factor
        check_tiny_decoder(*tiny, latent_shape, [size, size], pipe.vae.config.scaling_factor, args.teacher)
        parity["vae_decoder_tiny"] = export_tiny_decoder(*tiny, staging, latent_shape, fp16)
    bad = {k: v for k, v in parity.items() if not np.isfinite(v) or v > PARITY_TOLERANCE}
    if bad:
        raise ValueError(f"onnxruntime disagrees with PyTorch beyond {PARITY_TOLERANCE} (max abs diff): {bad}; "
                         f"the partial export is left in {staging}")
    write_model_index(staging)
    manifest = write_manifest(staging, pipe, unets, parity, args.name or os.path.basename(out))
    if os.path.exists(out):
        shutil.rmtree(out)
    os.replace(staging, out)
    total = sum(f["bytes"] for f in manifest["files"])
    print(json.dumps({"bundle": out, "bytes": total, "parity_max_abs_diff": parity}, indent=2))
    return manifest


if __name__ == "__main__":
    main(parse_args())
