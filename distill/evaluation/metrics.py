"""FD and the CLIP-score analogue in the committed tiny CLIP's features (the domain's FID and CLIP score)."""
from __future__ import annotations

import os

import numpy as np
import scipy.linalg
import torch

from .. import REPO_ROOT
from ..domain.render import images_to_tensor, render
from ..domain.scenes import caption, sample_scene
from ..networks.clip import tokenize_short
from ..networks.loaders import load_clip


FEATURES = os.path.join(REPO_ROOT, "checkpoints", "text")

FD_REFERENCE_SEED = 20240  # the real renders and captions of the FD set; never a training seed


class FeatureNet:
    """The committed tiny CLIP (text stage): image features for FD, both towers for the CLIP-score analogue."""

    def __init__(self, path: str = FEATURES):
        self.clip, self.tokenizer = load_clip(path)
        self.path = os.path.abspath(path)

    @torch.no_grad()
    def image_features(self, images: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """uint8 [N, 64, 64, 3] -> float64 [N, 512] (the flattened 4×4 map; keeps where things are)."""
        return np.concatenate([self.clip.image.features(images_to_tensor(images[i:i + batch_size])).double().numpy()
                               for i in range(0, len(images), batch_size)])

    @torch.no_grad()
    def clip_scores(self, images: np.ndarray, prompts: list[str], batch_size: int = 250) -> np.ndarray:
        out = []
        for i in range(0, len(images), batch_size):
            img = self.clip.image(images_to_tensor(images[i:i + batch_size]))  # [B, D], unit norm
            txt = self.clip.text(tokenize_short(self.tokenizer, prompts[i:i + batch_size]))  # [B, D], unit norm
            out.append(100 * (img * txt).sum(-1).double().numpy())
        return np.concatenate(out)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FD between Gaussians fitted to two feature sets (Heusel et al. 2017): |μa−μb|² + tr(Σa + Σb − 2(ΣaΣb)^½)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FD needs at least 2 samples per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(covmean):
        covmean = covmean.real  # numerical noise of sqrtm on near-singular products
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def fd_reference(n: int, seed: int = FD_REFERENCE_SEED) -> tuple[list[str], np.ndarray]:
    """n training-distribution captions and the real renders of their scenes."""
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng) for _ in range(n)]
    prompts = [caption(s, rng)[0] for s in scenes]
    return prompts, np.stack([render(s) for s in scenes])
