"""A tiny VAE decoder in TAESD's design (madebyollin/taesd, MIT): a soft clamp on the latent, plain 3×3 convs with
ReLU in residual blocks, nearest-neighbour upsampling; no normalization and no attention, so it is a few small convs
that any runtime fuses. Sized for a bundle's latents: one stage per resolution, latent size first, each later stage
twice the size of the one before (our f = 4 VAE: 16² → 32² → 64², three stages).

It takes what the bundle's vae_decoder/ takes, latent_sample = latents / vae_scaling_factor, and returns the image
in [-1, 1] (unclamped here; the exported graph clamps)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass
class TinyDecoderConfig:
    latent_channels: int = 4
    # per stage: the lowest resolution first; the pixel stage is the costliest (16× the positions of the latent's)
    channels: tuple[int, ...] = (48, 24, 8)
    blocks: tuple[int, ...] = (2, 1, 0)
    # latent_sample × latent_scale has unit variance (the VAE's scaling factor), so the clamp below sees the scale
    # TAESD's was chosen for
    latent_scale: float = 1.0


def conv(n_in: int, n_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, bias=bias)


class SoftClamp(nn.Module):
    """TAESD's input clamp: identity near 0, saturating at ±3, so an off-distribution latent cannot blow up."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    """TAESD's residual block: three convs, ReLU between them and after the sum."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Sequential(conv(channels, channels), nn.ReLU(), conv(channels, channels), nn.ReLU(),
                                  conv(channels, channels))
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.conv(x) + x)


class TinyDecoder(nn.Module):
    def __init__(self, cfg: TinyDecoderConfig):
        super().__init__()
        if len(cfg.channels) != len(cfg.blocks) or not cfg.channels:
            raise ValueError(f"TinyDecoderConfig needs one block count per stage: channels {cfg.channels}, "
                             f"blocks {cfg.blocks}")
        self.cfg = cfg
        self.register_buffer("latent_scale", torch.tensor(float(cfg.latent_scale)), persistent=False)
        layers: list[nn.Module] = [SoftClamp(), conv(cfg.latent_channels, cfg.channels[0]), nn.ReLU()]
        for i, (c, n) in enumerate(zip(cfg.channels, cfg.blocks)):
            if i:
                layers += [nn.Upsample(scale_factor=2, mode="nearest"), conv(cfg.channels[i - 1], c, bias=False)]
            layers += [Block(c) for _ in range(n)]
        layers.append(conv(cfg.channels[-1], 3))
        self.layers = nn.Sequential(*layers)

    @property
    def upscale(self) -> int:
        return 2 ** (len(self.cfg.channels) - 1)

    def forward(self, latent_sample: torch.Tensor) -> torch.Tensor:  # [B, C, h, w] -> [B, 3, h·f, w·f]
        return self.layers(latent_sample * self.latent_scale)
