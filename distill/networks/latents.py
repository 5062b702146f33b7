"""Latent pools: random ShapeScenes scenes rendered and encoded once by a VAE, for training on latents."""
from __future__ import annotations

import numpy as np
import torch

from ..domain.render import images_to_tensor, render
from ..domain.scenes import IMAGE_SIZE, sample_scene


@torch.no_grad()
def latent_pool(vae, n: int, rng: np.random.Generator, image_size: int = IMAGE_SIZE, device=None,
                batch: int = 256) -> tuple[list, torch.Tensor]:
    """n scenes drawn with rng and their VAE posterior means [N, 4, h, w] (unscaled), rendered at image_size."""
    scenes, latents = [], []
    for i in range(0, n, batch):
        chunk = [sample_scene(rng) for _ in range(min(batch, n - i))]
        x = images_to_tensor(np.stack([render(s, size=image_size) for s in chunk]))
        latents.append(vae.encode(x if device is None else x.to(device)).latent_dist.mean)
        scenes += chunk
    return scenes, torch.cat(latents)
