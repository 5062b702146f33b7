"""Tiny randomly initialised Stable Diffusion pipelines: for tests of the distillation and export code
paths, and a standard SD-layout ONNX folder (diffusers/optimum export layout, CLIP BPE tokenizer, no
manifest.json) that the app's loader is tested with.

python -m tools.fixtures --out tests/fixtures/tiny-sd
python -m tools.fixtures --bundle --out tests/fixtures/tiny-bundle
python -m tools.fixtures --add-tiny-decoder tests/fixtures/tiny-bundle   # only the optional vae_decoder_tiny/
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile

import numpy as np
import onnx
import torch
from torch import nn
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, CLIPTokenizerFast

import distill.export.export as export
from distill.distillation.flash import FlashConfig
from distill.export.onnx import export_module, file_record, max_abs_diff, run_onnx
from distill.networks.architectures import (TextConfig, UNetConfig, VAEConfig, build_text_encoder, build_tokenizer,
                                            build_unet, build_vae)
from distill.networks.pipeline import assemble_pipeline


TINY_UNET = UNetConfig(block_out_channels=(16, 32), norm_num_groups=8, attention_heads=2, sample_size=16,
                       cross_attention_dim=32)
TINY_VAE = VAEConfig(block_out_channels=(8, 8, 16), norm_num_groups=8)
TINY_TEXT = TextConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, projection_dim=32)


def tiny_random_pipeline(seed: int = 0):
    """Our own component classes at toy sizes, randomly initialised (64×64 images, 16×16×4 latents)."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    vae = build_vae(TINY_VAE)
    vae.register_to_config(scaling_factor=0.5)
    return assemble_pipeline(vae, build_text_encoder(TINY_TEXT, tokenizer), tokenizer, build_unet(TINY_UNET).eval())


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))


def tiny_clip_tokenizer(folder: str) -> CLIPTokenizerFast:
    """A real CLIP byte-level BPE tokenizer with a toy vocabulary (bytes and a few merges), built offline."""
    chars = list(_bytes_to_unicode().values())
    merges = ["r e", "e d</w>", "c i", "ci r", "cir c", "l e</w>", "circ le</w>"]
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump({tok: i for i, tok in enumerate(vocab)}, f)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    slow = CLIPTokenizer(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"), model_max_length=77)
    slow.save_pretrained(folder)
    return CLIPTokenizerFast.from_pretrained(folder)


def write_tiny_sd_fixture(out: str, seed: int = 0) -> dict:
    """A standard SD ONNX folder like optimum writes: int32 input_ids, int64 timestep, no manifest.json."""
    torch.manual_seed(seed)
    if os.path.exists(out):
        shutil.rmtree(out)
    tokenizer = tiny_clip_tokenizer(os.path.join(out, "tokenizer"))
    text_encoder = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                                num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=77,
                                                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                                pad_token_id=tokenizer.pad_token_id)).eval()
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=2, norm_num_groups=8).eval()
    vae = AutoencoderKL(block_out_channels=(8, 8, 8, 16), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=1, latent_channels=4,
                        norm_num_groups=8, sample_size=64, scaling_factor=0.18215).eval()  # f=8 like SD: 8×8 -> 64×64

    ids = tokenizer(["a red circle", ""], padding="max_length", max_length=77, return_tensors="pt").input_ids.int()
    export_module(export.TextEncoderGraph(text_encoder), (ids,), os.path.join(out, "text_encoder", "model.onnx"), ["input_ids"],
                  ["last_hidden_state", "pooler_output"], {"input_ids": {0: "batch"}})
    x, t, e = torch.randn(2, 4, 8, 8), torch.tensor([999, 500]), torch.randn(2, 77, 32)
    export_module(export.UNetGraph(unet), (x, t, e), os.path.join(out, "unet", "model.onnx"), ["sample", "timestep", "encoder_hidden_states"],
                  ["out_sample"], {"sample": {0: "batch"}, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch"}})
    export_module(export.VAEDecoderGraph(vae), (x,), os.path.join(out, "vae_decoder", "model.onnx"), ["latent_sample"], ["sample"],
                  {"latent_sample": {0: "batch"}})
    # the UNet's weights beside its graph, as optimum writes models over 2 GB (an fp32 SD UNet): the app must
    # find and read unet/model.onnx_data itself
    unet_path = os.path.join(out, "unet", "model.onnx")
    onnx.save_model(onnx.load(unet_path), unet_path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx_data", size_threshold=0)
    text_encoder.config.to_json_file(os.path.join(out, "text_encoder", "config.json"))
    unet.save_config(os.path.join(out, "unet"))
    vae.save_config(os.path.join(out, "vae_decoder"))
    DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                  set_alpha_to_one=False, steps_offset=1).save_config(os.path.join(out, "scheduler"))
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.42.1",
                   "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
                   "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "safety_checker": [None, None],
                   "feature_extractor": [None, None], "requires_safety_checker": False}, f, indent=2)
    # reference outputs so the app's loader test can check it ran the graphs, not just opened them
    with torch.no_grad():
        h = text_encoder(ids.long()).last_hidden_state
    parity = {"text_encoder": max_abs_diff(h.numpy(), run_onnx(os.path.join(out, "text_encoder", "model.onnx"),
                                                                {"input_ids": ids.numpy()})[0])}
    reference = {"prompt": "a red circle", "input_ids": ids[0].tolist(),
                 "last_hidden_state_sum": float(h[0].sum()), "parity_max_abs_diff": parity}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=2)
    return reference


STUDENT_RECIPES = {f"flash-{k}": FlashConfig().recipe(k) for k in (1, 2, 3)}  # the shipped students' recipes


def write_tiny_bundle(out: str, seed: int = 0) -> dict:
    """Our bundle format (manifest.json) with random tiny weights: a teacher and three 'students'."""
    with tempfile.TemporaryDirectory() as tmp:
        tiny_random_pipeline(seed).save_pretrained(os.path.join(tmp, "teacher"))
        students = []
        for i, (sid, recipe) in enumerate(STUDENT_RECIPES.items()):
            folder = os.path.join(tmp, sid)
            tiny_random_pipeline(seed + 1 + i).unet.save_pretrained(folder)
            with open(os.path.join(folder, "recipe.json"), "w") as f:
                json.dump(recipe, f)
            students.append(f"{sid}={folder}")
        args = export.parse_args(["--teacher", os.path.join(tmp, "teacher"), "--out", out, "--name", "tiny-random",
                                  *[a for s in students for a in ("--student", s)]])
        export.main(args)
    return add_tiny_decoder(out, seed)


TINY_DECODER = "vae_decoder_tiny/model.onnx"


class TinyDecoder(nn.Module):
    """A TAESD-shaped stand-in for a distilled tiny VAE decoder: a few convolutions with nearest upsampling from the
    latent to the image size, output in [-1, 1]. Random weights: the app's tests only need a graph of the decoder's
    contract (latent_sample [B, C, h, w], already divided by the scaling factor, -> sample [B, 3, H, W]) whose
    images differ from the full decoder's."""

    def __init__(self, latent_channels: int, factor: int, width: int = 16):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(latent_channels, width, 3, padding=1), nn.ReLU()]
        while factor > 1:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
            factor //= 2
        layers += [nn.Conv2d(width, 3, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, latent_sample):
        return self.net(latent_sample)


def add_tiny_decoder(bundle: str, seed: int = 0) -> dict:
    """Gives a bundle the optional `vae_decoder_tiny` (a random TinyDecoder at its latent and image size), listed in
    manifest.json like the other components: path, size and sha256, parity. Idempotent."""
    path = os.path.join(bundle, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    c, h, _ = manifest["latent_shape"]
    factor = manifest["image_size"][0] // h
    if factor < 1 or factor & (factor - 1):
        raise ValueError(f"{path}: image_size / latent size = {factor}, not a power of two")
    torch.manual_seed(seed)
    decoder = TinyDecoder(c, factor).eval()
    graph = os.path.join(bundle, TINY_DECODER)
    z = torch.randn(2, c, h, manifest["latent_shape"][2])
    export_module(decoder, (z,), graph, ["latent_sample"], ["sample"], {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    # parity at another batch size than the trace's, as export.export checks its graphs
    z3 = torch.randn(3, *z.shape[1:])
    with torch.no_grad():
        ref = decoder(z3).numpy()
    parity = max_abs_diff(ref, run_onnx(graph, {"latent_sample": z3.numpy().astype(np.float32)})[0])
    if not parity < export.PARITY_TOLERANCE:
        raise ValueError(f"{graph}: onnxruntime disagrees with PyTorch by {parity}")
    manifest["vae_decoder_tiny"] = TINY_DECODER
    manifest["parity_max_abs_diff"]["vae_decoder_tiny"] = parity
    files = [r for r in manifest["files"] if r["path"] != TINY_DECODER] + [file_record(bundle, TINY_DECODER)]
    manifest["files"] = sorted(files, key=lambda r: r["path"])
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Write the tiny random standard SD-layout ONNX fixture for the app's tests.")
    p.add_argument("--out", default="tests/fixtures/tiny-sd", help="folder to (re)write")
    p.add_argument("--bundle", action="store_true", help="write our bundle format (manifest.json, random teacher and "
                   "flash-1/2/3) instead of the standard SD layout")
    p.add_argument("--add-tiny-decoder", default=None, metavar="BUNDLE",
                   help="only give the bundle folder BUNDLE a random vae_decoder_tiny/ (and list it in its manifest.json)")
    p.add_argument("--seed", type=int, default=0, help="initialisation seed")
    return p.parse_args(argv)


def main(args) -> None:
    if args.add_tiny_decoder:
        add_tiny_decoder(args.add_tiny_decoder, args.seed)
        return
    if args.bundle:
        write_tiny_bundle(args.out, args.seed)
        return
    ref = write_tiny_sd_fixture(args.out, args.seed)
    print(json.dumps(ref["parity_max_abs_diff"]))


if __name__ == "__main__":
    main(parse_args())
