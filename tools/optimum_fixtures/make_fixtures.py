"""ONNX folders written by optimum's own exporter, for the app's "bring your own model" tests.

Builds tiny randomly initialised SD 1.x, SD 2.x-style (v-prediction) and SDXL pipelines from configs with
diffusers/transformers classes, saves them as ordinary PyTorch pipelines, then runs `optimum-cli export onnx
--task text-to-image` on each, exactly as a user would on a real checkpoint. Nothing of ours touches the
exported graphs; only the unused vae_encoder is dropped afterwards from all but sd15-fp32, to keep them small.

Run by hand in a throwaway venv (optimum-onnx pins transformers < 4.58, the repo's venv has 5.x); see
tests/fixtures/optimum/README.md. It then runs reference.py, which writes the reference images, index.json
and README.md.

    python tools/optimum_fixtures/make_fixtures.py --out tests/fixtures/optimum
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from diffusers import (AutoencoderKL, DDIMScheduler, EulerDiscreteScheduler, StableDiffusionPipeline,
                       StableDiffusionXLPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
# the repo's tiny CLIP byte-level BPE vocabulary (bytes plus merges for "a red circle"), see tools/fixtures.py
TOKENIZER_FILES = os.path.join(ROOT, "tests", "fixtures", "tiny-sd", "tokenizer")

# name -> (pipeline builder, optimum-cli extra args, extra environment, keep optimum's vae_encoder)
# The app never runs the VAE encoder: it is kept in one folder (an export exactly as optimum leaves it) and
# dropped from the others to keep the fixtures near 5 MB.
VARIANTS = {
    "sd15-fp32": ("sd15", [], {}, True),
    # optimum validates fp16 graphs against PyTorch with fp32's atol (1e-5) and then crashes while reporting the
    # miss (IndexError in validate_models_outputs); fp16's own rounding (~2e-2 here) needs a looser atol
    "sd15-fp16": ("sd15", ["--dtype", "fp16", "--atol", "0.05"], {}, False),
    # optimum's own switch for writing weights beside the graph (it does so by itself only above 2 GB)
    "sd15-external": ("sd15", [], {"FORCE_ONNX_EXTERNAL_DATA": "1"}, False),
    "sd2-vpred-fp32": ("sd2", [], {}, False),
    "sdxl-fp32": ("sdxl", [], {}, False),
}

# SD's f=8 autoencoder shape (four blocks) at toy widths, so image = 8 × latent as in every real checkpoint
VAE_BLOCKS = dict(block_out_channels=(8, 8, 8, 16), down_block_types=("DownEncoderBlock2D",) * 4,
                  up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=1, latent_channels=4, norm_num_groups=4)
SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def tokenizer(pad_token: str = "<|endoftext|>") -> CLIPTokenizer:
    return CLIPTokenizer(os.path.join(TOKENIZER_FILES, "vocab.json"), os.path.join(TOKENIZER_FILES, "merges.txt"),
                         model_max_length=77, pad_token=pad_token)


def text_config(tok: CLIPTokenizer, hidden_act: str, layers: int, projection_dim: int = 32) -> CLIPTextConfig:
    return CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                          num_attention_heads=2, max_position_embeddings=77, hidden_act=hidden_act,
                          projection_dim=projection_dim, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)


def build_sd15() -> StableDiffusionPipeline:
    """SD 1.x: quick_gelu CLIP, conv attention projections, epsilon, DDIM (leading, steps_offset 1), 64×64."""
    tok = tokenizer()
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16),
                                layers_per_block=1, norm_num_groups=4, attention_head_dim=2, cross_attention_dim=32,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    vae = AutoencoderKL(sample_size=64, scaling_factor=0.18215, **VAE_BLOCKS)
    scheduler = DDIMScheduler(**SD_BETAS, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                              prediction_type="epsilon", timestep_spacing="leading")
    return StableDiffusionPipeline(vae=vae, text_encoder=CLIPTextModel(text_config(tok, "quick_gelu", 1)),
                                   tokenizer=tok, unet=unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def build_sd2() -> StableDiffusionPipeline:
    """SD 2.x-style: gelu (OpenCLIP) text encoder, linear attention projections, per-block head dims,
    v_prediction, DDIM as stable-diffusion-2-1 ships it, 96×96 (sample 12: a size other than SD 1.x's)."""
    tok = tokenizer()
    unet = UNet2DConditionModel(sample_size=12, in_channels=4, out_channels=4, block_out_channels=(8, 16),
                                layers_per_block=1, norm_num_groups=4, attention_head_dim=(2, 4),
                                use_linear_projection=True, cross_attention_dim=32,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    vae = AutoencoderKL(sample_size=96, scaling_factor=0.18215, **VAE_BLOCKS)
    scheduler = DDIMScheduler(**SD_BETAS, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                              prediction_type="v_prediction", timestep_spacing="leading")
    return StableDiffusionPipeline(vae=vae, text_encoder=CLIPTextModel(text_config(tok, "gelu", 2)),
                                   tokenizer=tok, unet=unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def build_sdxl() -> StableDiffusionXLPipeline:
    """SDXL: two text encoders (the second with projection, pad token "!" as SDXL's tokenizer_2), penultimate
    hidden states concatenated (cross_attention_dim 32 + 32), addition_embed_type text_time, VAE scale 0.13025,
    Euler with SDXL-Turbo's trailing spacing, 128×128 (sample 16)."""
    tok, tok2 = tokenizer(), tokenizer(pad_token="!")
    time_dim = 8
    unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, block_out_channels=(8, 16),
                                layers_per_block=1, norm_num_groups=4, attention_head_dim=(2, 4),
                                use_linear_projection=True, cross_attention_dim=64, transformer_layers_per_block=(1, 2),
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                addition_embed_type="text_time", addition_time_embed_dim=time_dim,
                                projection_class_embeddings_input_dim=6 * time_dim + 32)
    vae = AutoencoderKL(sample_size=128, scaling_factor=0.13025, force_upcast=True, **VAE_BLOCKS)
    scheduler = EulerDiscreteScheduler(**SD_BETAS, prediction_type="epsilon", timestep_spacing="trailing",
                                       steps_offset=1, interpolation_type="linear", use_karras_sigmas=False)
    return StableDiffusionXLPipeline(vae=vae, text_encoder=CLIPTextModel(text_config(tok, "quick_gelu", 2)),
                                     text_encoder_2=CLIPTextModelWithProjection(text_config(tok2, "gelu", 2)),
                                     tokenizer=tok, tokenizer_2=tok2, unet=unet, scheduler=scheduler,
                                     force_zeros_for_empty_prompt=True)


BUILDERS = {"sd15": build_sd15, "sd2": build_sd2, "sdxl": build_sdxl}


def optimum_export(model_dir: str, out: str, extra_args: list[str], extra_env: dict[str, str]) -> list[str]:
    cmd = ["optimum-cli", "export", "onnx", "--model", model_dir, "--task", "text-to-image", *extra_args, out]
    env = {**os.environ, **extra_env, "HF_HUB_OFFLINE": "1"}
    print("+", " ".join(f"{k}={v}" for k, v in extra_env.items()), " ".join(cmd), flush=True)
    subprocess.run([os.path.join(os.path.dirname(sys.executable), cmd[0]), *cmd[1:]], check=True, env=env)
    return cmd


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "optimum"))
    p.add_argument("--only", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--no-reference", action="store_true", help="export only; skip reference.py")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "optimum-fixture-pipelines"),
                   help="where the PyTorch pipelines are saved (a fixed path: optimum records it in model_index.json)")
    return p.parse_args(argv)


def main(args) -> dict:
    os.makedirs(args.out, exist_ok=True)
    record = os.path.join(args.out, "exports.json")
    commands = json.load(open(record)) if os.path.exists(record) else {}
    shutil.rmtree(args.work, ignore_errors=True)
    for name in args.only:
        kind, extra_args, extra_env, keep_vae_encoder = VARIANTS[name]
        model_dir = os.path.join(args.work, kind)
        if not os.path.isdir(model_dir):
            torch.manual_seed(args.seed)
            BUILDERS[kind]().save_pretrained(model_dir)
        out = os.path.join(args.out, name)
        shutil.rmtree(out, ignore_errors=True)
        cmd = optimum_export(model_dir, out, extra_args, extra_env)
        if not keep_vae_encoder:
            shutil.rmtree(os.path.join(out, "vae_encoder"), ignore_errors=True)
        shown = [f"<{kind} pipeline>" if c == model_dir else f"tests/fixtures/optimum/{name}" if c == out else c
                 for c in cmd]
        commands[name] = {"builder": kind, "seed": args.seed, "env": extra_env, "command": " ".join(shown),
                          "vae_encoder_removed": not keep_vae_encoder}
    with open(record, "w") as f:
        json.dump(dict(sorted(commands.items())), f, indent=2)
        f.write("\n")
    if not args.no_reference:
        reference.main(reference.parse_args(["--fixtures", args.out, "--pipelines", args.work]))
    return commands


if __name__ == "__main__":
    main(parse_args())
