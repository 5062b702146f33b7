"""Compact weights for the repository: a finished stage (or a teacher mid-training) as model.safetensors +
config.json, so that another machine can resume without the run folders. No optimizer state.
A distilled student packs as its fp16 (EMA) UNet folder plus a run record (record.json), which export reads like a run
trained elsewhere and `distill flash --init-student <out>/unet` continues from.

python -m distill weights --run-dir ~/.cache/imagine-flash/vae --out checkpoints/vae
python -m distill weights --run-dir ~/.cache/imagine-flash/students/any-step --out checkpoints/students/any-step
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file

from .accel import device_name
from .checkpoint import load_checkpoint, write_run_record
from .training import chunked_minutes


# what each stage keeps: the VAE and text encoder exactly (they are small and frozen downstream),
# the teacher as fp16 EMA weights (the resume point; optimizer state never enters git), the tiny decoder as it ships
KEEP = {"vae": ("model", torch.float32), "text": ("model", torch.float32), "teacher": ("ema", torch.float16),
        "tiny-decoder": ("model", torch.float16)}


def pack(run_dir: str, out: str) -> dict:
    ckpt = load_checkpoint(os.path.join(run_dir, "ckpt.pt"))
    kind = ckpt["kind"]
    if kind == "flash" or kind.startswith("baseline-"):
        return pack_student(run_dir, ckpt, out)
    if kind not in KEEP:
        raise ValueError(f"{run_dir}: cannot pack a {kind!r} checkpoint; known: {', '.join(KEEP)}")
    key, dtype = KEEP[kind]
    os.makedirs(out, exist_ok=True)
    tensors = {k: v.to(dtype).contiguous() for k, v in ckpt[key].items()}
    tmp = os.path.join(out, ".model.safetensors.tmp")
    save_file(tensors, tmp)
    os.replace(tmp, os.path.join(out, "model.safetensors"))
    meta = {"kind": kind, "config": ckpt["config"], "step": ckpt["step"], "weights": key, "dtype": str(dtype)}
    for extra in ("scaling_factor", "vae", "vae_run", "text_run", "encoder_of", "vae_fingerprint", "trained_on"):
        if extra in ckpt:
            meta[extra] = ckpt[extra]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta


def pack_student(run_dir: str, ckpt: dict, out: str) -> dict:
    """The student as it ships (run/unet: the EMA weights when the run keeps an EMA) in fp16, replacing the last
    packed copy, and the run's record: kind, config, step and where it trained."""
    unet = UNet2DConditionModel.from_pretrained(os.path.join(run_dir, "unet"), torch_dtype=torch.float16)
    tmp = os.path.join(out, ".unet.tmp")
    unet.save_pretrained(tmp, safe_serialization=True)
    shutil.copy(os.path.join(run_dir, "unet", "recipe.json"), tmp)
    if os.path.exists(os.path.join(out, "unet")):
        shutil.rmtree(os.path.join(out, "unet"))
    os.replace(tmp, os.path.join(out, "unet"))
    meta = {"kind": ckpt["kind"], "config": ckpt["config"], "step": ckpt["step"], "trained_on": device_name(),
            "weights": "ema" if ckpt["config"].get("ema_decay", 0) > 0 else "student", "dtype": "torch.float16",
            "minutes": round(chunked_minutes(ckpt["history"]), 1) if ckpt["history"] else None}
    if "unet_passes" in ckpt:  # runs.compute; a record without it gets its steps' estimate where it is read
        meta["unet_passes"] = ckpt["unet_passes"]
    write_run_record(out, meta)
    return meta


def load_stage(path: str, kind: str) -> dict:
    """A stage's weights from a run folder (ckpt.pt) or a packed folder (model.safetensors + config.json),
    as a checkpoint-like dict: {'config', 'model' or 'ema', 'step', ...}."""
    if os.path.exists(os.path.join(path, "ckpt.pt")):
        return load_checkpoint(os.path.join(path, "ckpt.pt"), kind=kind)
    meta_path = os.path.join(path, "config.json")
    if not os.path.exists(meta_path):
        raise ValueError(f"{path} holds neither ckpt.pt (a run folder) nor config.json + model.safetensors (packed weights)")
    with open(meta_path) as f:
        meta = json.load(f)
    if meta.get("kind") != kind:
        raise ValueError(f"{path} holds {meta.get('kind')!r} weights, expected {kind!r}")
    weights = {k: v.float() for k, v in load_file(os.path.join(path, "model.safetensors")).items()}
    return {**meta, meta["weights"]: weights}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Pack a run folder's weights (no optimizer state) for the repository.")
    p.add_argument("--run-dir", required=True, help="train-vae, train-text or train-teacher run folder")
    p.add_argument("--out", required=True, help="folder to write model.safetensors and config.json into")
    return p.parse_args(argv)


def main(args) -> None:
    meta = pack(args.run_dir, args.out)
    print(f"packed {meta['kind']} step {meta['step']} into {args.out}")


def weights_sha(folder: str | None) -> str:
    if folder is None:
        return ""
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            with open(os.path.join(folder, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def teacher_run_id(teacher: str) -> str:
    """The subfolder of --runs that holds the students of this teacher (named by its UNet weights' hash)."""
    return "teacher-" + weights_sha(os.path.join(teacher, "unet"))[:12]


def students_folder(runs: str, teacher: str, budget_passes: int) -> str:
    """Where `distill reproduce --runs RUNS` trains this teacher's students: a folder per teacher, and in it one per
    pass budget (budget 0, each student its configured steps: the teacher's folder itself)."""
    return os.path.join(runs, teacher_run_id(teacher), f"passes-{budget_passes}" if budget_passes else "")


if __name__ == "__main__":
    main(parse_args())
