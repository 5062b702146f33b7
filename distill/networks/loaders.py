"""Trained networks from their run folders or packed weights: the VAE (with the id of its latent space),
the text encoder, UNet folders with their recipes, and the tiny VAE decoder."""
from __future__ import annotations

import json
import os

from diffusers import UNet2DConditionModel

from ..runs.config import from_dict
from ..runs.weights import load_stage
from .architectures import TextConfig, VAEConfig, build_text_encoder, build_tokenizer, build_vae, fingerprint
from .clip import TinyCLIP
from .tiny_decoder import TinyDecoder, TinyDecoderConfig


def latent_id(stage: dict, vae) -> str:
    """The fingerprint of the VAE whose encoder this one has: its own, unless it is a decoder-only fine-tune."""
    return stage.get("encoder_of") or fingerprint(vae)


def load_vae_with_latent_id(path: str):
    """The trained VAE (train-vae run folder or packed weights, `distill weights`), frozen, and the id of the latent
    space it encodes into (what latent pools and teachers are keyed by)."""
    stage = load_stage(path, "vae")
    vae = build_vae(from_dict(VAEConfig, stage["config"]["model"]))
    vae.load_state_dict(stage["model"])
    return vae.eval().requires_grad_(False), latent_id(stage, vae)


def load_vae(path: str):
    return load_vae_with_latent_id(path)[0]


def load_text_encoder(path: str):
    """The tiny-CLIP text tower (CLIPTextModel) and tokenizer from a train-text run folder or packed weights."""
    stage = load_stage(path, "text")
    tokenizer = build_tokenizer()
    encoder = build_text_encoder(from_dict(TextConfig, stage["config"]["model"]), tokenizer)
    prefix = "text.encoder."
    encoder.load_state_dict({k[len(prefix):]: v for k, v in stage["model"].items() if k.startswith(prefix)})
    return encoder.eval().requires_grad_(False), tokenizer


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


def load_clip(path: str):
    """The tiny CLIP of a train-text run folder or packed weights, frozen, and its tokenizer."""
    stage = load_stage(path, "text")
    tokenizer = build_tokenizer()
    config = stage["config"]  # the config that trained these weights
    clip = TinyCLIP(from_dict(TextConfig, config["model"]), config["image_width"], tokenizer)
    clip.load_state_dict(stage["model"])
    return clip.eval().requires_grad_(False), tokenizer


def load_tiny_decoder(path: str) -> tuple[TinyDecoder, dict]:
    """The tiny VAE decoder of a `distill tiny-decoder` run folder or its packed weights (checkpoints/tiny-decoder),
    frozen, in fp32, and its stage record (config, step, vae_fingerprint: the VAE whose decoder it imitates)."""
    stage = load_stage(path, "tiny-decoder")
    decoder = TinyDecoder(from_dict(TinyDecoderConfig, stage["config"]["model"]))
    decoder.load_state_dict(stage["model"])
    return decoder.eval().requires_grad_(False), stage
