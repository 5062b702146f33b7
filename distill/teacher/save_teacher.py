"""Write a trained teacher (EMA weights) with its VAE, text encoder and tokenizer as a diffusers Stable
Diffusion folder: the form every later stage (sample, flash, baseline, export, evaluate) takes."""
from __future__ import annotations

import argparse

from ..networks.architectures import UNetConfig, build_unet
from ..networks.loaders import load_text_encoder, load_vae_with_latent_id
from ..networks.pipeline import assemble_pipeline
from ..networks.text_conditioned import split_teacher_state
from ..runs.config import from_dict
from ..runs.weights import load_stage


def build_teacher_pipeline(teacher_run: str, use_ema: bool = True, vae_run: str | None = None,
                           text_run: str | None = None):
    """The teacher (a run folder, or packed weights committed to the repository) as an SD pipeline."""
    ckpt = load_stage(teacher_run, "teacher")
    vae_run = vae_run or ckpt["vae_run"]
    vae, latent_id = load_vae_with_latent_id(vae_run)
    if "vae" in ckpt and latent_id != ckpt["vae"]:
        raise ValueError(f"the VAE {vae_run} encodes another latent space than the one teacher {teacher_run} was "
                         "trained on (only a decoder-only fine-tune of that VAE may replace it)")
    vae.register_to_config(scaling_factor=ckpt["scaling_factor"])
    text_encoder, tokenizer = load_text_encoder(text_run or ckpt["text_run"])
    unet = build_unet(from_dict(UNetConfig, ckpt["config"]["model"]))
    key = "ema" if use_ema or "model" not in ckpt else "model"
    unet_state, text_state = split_teacher_state(ckpt[key])
    unet.load_state_dict(unet_state)
    text_encoder.load_state_dict(text_state)  # fine-tuned with the UNet (or the frozen original)
    return assemble_pipeline(vae, text_encoder, tokenizer, unet.eval()), ckpt


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Save a trained teacher as a diffusers Stable Diffusion folder.")
    p.add_argument("--teacher-run", required=True, help="train-teacher run folder")
    p.add_argument("--out", required=True, help="folder to write (diffusers layout)")
    p.add_argument("--raw-weights", action="store_true", help="save the raw weights instead of the EMA weights")
    p.add_argument("--vae-run", default=None, help="VAE run folder or packed weights (default: the one the teacher "
                   "was trained with, as recorded in its checkpoint)")
    p.add_argument("--text-run", default=None, help="text encoder run folder or packed weights (default: as recorded)")
    return p.parse_args(argv)


def main(args) -> None:
    pipe, ckpt = build_teacher_pipeline(args.teacher_run, not args.raw_weights, args.vae_run, args.text_run)
    pipe.save_pretrained(args.out, safe_serialization=True)
    print(f"wrote {args.out} (teacher step {ckpt['step']})")


if __name__ == "__main__":
    main(parse_args())
