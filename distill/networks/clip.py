"""The tiny CLIP the text stage trains: an image tower and a text tower (the teacher's text encoder) in one
contrastive model; its image tower is also the feature net of FD."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import CLIPTextModel

from .architectures import TextConfig, build_text_encoder


class ImageTower(nn.Module):
    """Tiny CLIP image encoder on 64×64 renders; its features also serve FD and the CLIP-score analogue.
    The 4×4 map is flattened, not pooled: global pooling hides where things are, and relations need that."""

    def __init__(self, width: int = 64, embed_dim: int = 128, map_channels: int = 32):
        super().__init__()
        chans = [3, width, width * 2, width * 2, width * 4]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.SiLU(),
                       nn.Conv2d(cout, cout, 3, padding=1, stride=2), nn.GroupNorm(8, cout), nn.SiLU()]
        layers += [nn.Conv2d(chans[-1], map_channels, 1)]
        self.body = nn.Sequential(*layers)  # [B, 3, 64, 64] -> [B, map_channels, 4, 4]
        self.feature_dim = map_channels * 16
        self.proj = nn.Linear(self.feature_dim, embed_dim)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images).flatten(1)  # [B, map_channels * 16]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.features(images)), dim=-1)


class TextTower(nn.Module):
    """CLIPTextModel plus a projection of its pooled (EOS) state into the joint space."""

    def __init__(self, encoder: CLIPTextModel, embed_dim: int):
        super().__init__()
        self.encoder = encoder
        self.proj = nn.Linear(encoder.config.hidden_size, embed_dim, bias=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.encoder(input_ids).pooler_output), dim=-1)


class TinyCLIP(nn.Module):
    def __init__(self, model: TextConfig, image_width: int, tokenizer):
        super().__init__()
        self.image = ImageTower(image_width, model.projection_dim)
        self.text = TextTower(build_text_encoder(model, tokenizer), model.projection_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, images, input_ids, negative_ids):
        """images [B, 3, 64, 64]; input_ids [B, L]; negative_ids [B*k, L]. Returns the contrastive loss."""
        b = images.shape[0]
        img = self.image(images)  # [B, D]
        txt = self.text(torch.cat([input_ids, negative_ids]))  # [B + B*k, D]
        pos, neg = txt[:b], txt[b:].view(b, -1, txt.shape[-1])  # [B, D], [B, k, D]
        scale = self.logit_scale.exp().clamp(max=100)
        logits = scale * img @ pos.T  # [B, B]
        hard = scale * torch.einsum("bd,bkd->bk", img, neg)  # [B, k]
        target = torch.arange(b)
        loss_i2t = F.cross_entropy(torch.cat([logits, hard], 1), target)
        loss_t2i = F.cross_entropy(logits.T, target)
        return (loss_i2t + loss_t2i) / 2


def tokenize_short(tokenizer, prompts: list[str]) -> torch.Tensor:
    """[B, L] ids padded to the longest prompt only: with CLIP's causal mask the EOS state (pooled output)
    and every state before it are the same as with 77-token padding, at a fraction of the cost."""
    return tokenizer(prompts, padding="longest", return_tensors="pt").input_ids
