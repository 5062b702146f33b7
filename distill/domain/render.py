"""ShapeScenes pixels: a scene drawn anti-aliased, image grids, and images as the [-1, 1] tensors the VAE reads."""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from .grammar import BACKGROUNDS, COLORS
from .scenes import IMAGE_SIZE, Scene


SUPERSAMPLE = 4


def shape_polygon(shape: str, n: int = 64) -> np.ndarray:
    """Outline of a shape in unit coordinates (bounding box [-1, 1]², y down)."""
    if shape == "circle":
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "square":
        return np.array([[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]])
    if shape == "triangle":
        return np.array([[0.0, -1.0], [1.0, 0.8], [-1.0, 0.8]])
    if shape == "star":
        a = -np.pi / 2 + np.arange(10) * np.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = np.stack([r * np.cos(a), r * np.sin(a)], 1)
        pts[:, 1] += 0.1  # centre the star's bounding box vertically
        return pts
    if shape == "heart":
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = np.stack([x, y], 1)
        pts -= (pts.max(0) + pts.min(0)) / 2
        return pts / np.abs(pts).max()
    raise ValueError(f"unknown shape {shape!r}")


def render(scene: Scene, size: int = IMAGE_SIZE) -> np.ndarray:
    """Anti-aliased RGB render, uint8 [size, size, 3] (supersampled, then box-filtered)."""
    s = SUPERSAMPLE * size / IMAGE_SIZE
    img = Image.new("RGB", (round(SUPERSAMPLE * size),) * 2, BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(img)
    for o in scene.objects:
        pts = shape_polygon(o.shape) * (o.side / 2) + np.array([o.cx, o.cy])
        draw.polygon([tuple(p) for p in (pts * s)], fill=COLORS[o.color])
    return np.asarray(img.resize((size, size), Image.BOX))


def preview_grid(images: list[np.ndarray], columns: int, labels: list[str] | None = None, scale: int = 2) -> Image.Image:
    """Tiles uint8 images into one PIL image (for committed previews)."""
    h, w = images[0].shape[:2]
    rows = math.ceil(len(images) / columns)
    grid = Image.new("RGB", (columns * w * scale, rows * h * scale), (255, 255, 255))
    for i, im in enumerate(images):
        tile = Image.fromarray(im).resize((w * scale, h * scale), Image.NEAREST)
        grid.paste(tile, ((i % columns) * w * scale, (i // columns) * h * scale))
    return grid


def images_to_tensor(images) -> torch.Tensor:
    """uint8 [B, H, W, 3] numpy -> float [B, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def tensor_to_images(x: torch.Tensor):
    """float [B, 3, H, W] in [-1, 1] -> uint8 [B, H, W, 3] numpy."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def object_weight(images: torch.Tensor, foreground_weight: float) -> torch.Tensor:
    """Per-pixel loss weight [B, 1, H, W] of images in [-1, 1]: `foreground_weight` on object pixels (farther than 0.05
    from the corner pixel's colour in some channel — scenes keep objects off the border), 1 on the background.
    Objects cover a few percent of a scene; unweighted, small stars and hearts stay blobs long after the background
    is exact."""
    background = images[:, :, :1, :1]
    return 1 + (foreground_weight - 1) * ((images - background).abs().amax(1, keepdim=True) > 0.05).float()
