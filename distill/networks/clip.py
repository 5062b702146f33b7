"""The tiny CLIP the text stage trains: an image tower and a text tower (the teacher's text encoder) in one
contrastive model; its image tower is also the feature net of FD."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .architectures import ImageTower, TextConfig, TextTower, build_text_encoder


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
