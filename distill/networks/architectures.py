"""Model factories: the teacher stack is built from the field's classes (diffusers AutoencoderKL and
UNet2DConditionModel, transformers CLIPTextModel, an HF tokenizers BPE tokenizer), at small sizes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import CLIPTextConfig, CLIPTextModel, PreTrainedTokenizerFast

from ..domain.grammar import VOCABULARY


CONTEXT_LENGTH = 77  # CLIP's context, kept so the bundle looks like SD to the app
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


@dataclass
class VAEConfig:
    block_out_channels: tuple[int, ...] = (16, 32, 64)  # 3 blocks: 64×64 -> 16×16 (f=4)
    layers_per_block: int = 1
    latent_channels: int = 4
    # groups of ≥ 4 channels: with one channel per group GroupNorm is instance norm, which erases the absolute
    # color level of flat regions before conv_out (measured: reconstructions lost their colors)
    norm_num_groups: int = 4
    kl_weight: float = 1e-6  # SD's KL weight: the latent stays close to deterministic


@dataclass
class TextConfig:
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 512
    projection_dim: int = 128  # tiny-CLIP joint embedding size


@dataclass
class UNetConfig:
    block_out_channels: tuple[int, ...] = (64, 112, 112)  # 16×16 -> 8×8 -> 4×4; cross-attention below 16×16
    layers_per_block: int = 1
    attention_heads: int = 4
    norm_num_groups: int = 16
    sample_size: int = 16
    cross_attention_dim: int = 128


def build_vae(cfg: VAEConfig) -> AutoencoderKL:
    n = len(cfg.block_out_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                         up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=tuple(cfg.block_out_channels),
                         layers_per_block=cfg.layers_per_block, latent_channels=cfg.latent_channels,
                         norm_num_groups=cfg.norm_num_groups, sample_size=64)


def build_unet(cfg: UNetConfig) -> UNet2DConditionModel:
    n = len(cfg.block_out_channels)
    return UNet2DConditionModel(
        sample_size=cfg.sample_size, in_channels=4, out_channels=4, block_out_channels=tuple(cfg.block_out_channels),
        layers_per_block=cfg.layers_per_block, down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",), cross_attention_dim=cfg.cross_attention_dim,
        # diffusers' legacy naming: `attention_head_dim` of UNet2DConditionModel sets the number of heads
        attention_head_dim=cfg.attention_heads, norm_num_groups=cfg.norm_num_groups)


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A CLIP-like BPE tokenizer whose merges make every ShapeScenes word one token (tokenizer.json format)."""
    tok = Tokenizer(models.BPE(unk_token=EOS))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder()
    alphabet = sorted(set("".join(VOCABULARY)) | set("abcdefghijklmnopqrstuvwxyz"))
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=[BOS, EOS], initial_alphabet=alphabet,
                                  min_frequency=1, show_progress=False)
    tok.train_from_iterator([" ".join(VOCABULARY)] * 4, trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A {EOS}", special_tokens=[
        (BOS, tok.token_to_id(BOS)), (EOS, tok.token_to_id(EOS))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, unk_token=EOS, pad_token=EOS,
                                   model_max_length=CONTEXT_LENGTH)
    for word in VOCABULARY:
        ids = fast(word, add_special_tokens=False).input_ids
        if len(ids) != 1:
            raise RuntimeError(f"tokenizer splits vocabulary word {word!r} into {len(ids)} tokens")
    return fast


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    """[B, 77] token ids, padded with EOS like SD's CLIP tokenizer."""
    return tokenizer(prompts, padding="max_length", max_length=CONTEXT_LENGTH, truncation=True,
                     return_tensors="pt").input_ids


def build_text_encoder(cfg: TextConfig, tokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
                            num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
                            max_position_embeddings=CONTEXT_LENGTH, projection_dim=cfg.projection_dim,
                            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                            pad_token_id=tokenizer.pad_token_id)
    return CLIPTextModel(config)


def make_noise_scheduler() -> DDPMScheduler:
    """SD's training schedule: scaled_linear 0.00085 -> 0.012 over 1000 steps, epsilon prediction."""
    return DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         prediction_type="epsilon", clip_sample=False, steps_offset=1)


def fingerprint(module: torch.nn.Module) -> str:
    """sha256 of a module's weights: ties a latent pool and a teacher to the exact VAE they were made with."""
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode()); h.update(v.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()
