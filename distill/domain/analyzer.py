"""The ShapeScenes analyzer: reads an image, returns the objects it sees and the background, and
scores an image against a prompt's meaning (T2I-CompBench's rules, exact on this domain)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from .grammar import BACKGROUNDS, COLORS, Meaning, SHAPES
from .render import shape_polygon
from .scenes import SIZE_THRESHOLD


FOREGROUND_DISTANCE = 60.0  # RGB distance from the background above which a pixel belongs to an object
MIN_OBJECT_AREA = 12  # pixels; smaller blobs are noise, not objects
MIN_SHAPE_MATCH = 0.6  # soft IoU with the best shape template; below it the shape is unknown
MAX_COLOR_DISTANCE = 70.0  # RGB distance to the nearest palette color; above it the color is unknown


@dataclass(frozen=True)
class Detection:
    color: str | None  # None: no palette color is near
    shape: str | None  # None: matches no template
    size: str
    centroid: tuple[float, float]  # (x, y) in pixels
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    shape_score: float


@dataclass(frozen=True)
class Analysis:
    background: str
    objects: tuple[Detection, ...]


def _unit_extents(shape: str) -> tuple[float, float, float, float]:
    pts = shape_polygon(shape)
    return pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max()


_EXTENTS = {s: _unit_extents(s) for s in SHAPES}


def _moments(coverage: np.ndarray, scale: float = 1.0) -> tuple[float, float, float, float]:
    """Centroid and standard deviation (x, y) of a coverage mask, pixel centres at i + 0.5, in units of `scale`."""
    ys, xs = np.mgrid[: coverage.shape[0], : coverage.shape[1]]
    m = coverage.sum()
    cx, cy = ((xs + 0.5) * coverage).sum() / m, ((ys + 0.5) * coverage).sum() / m
    vx, vy = (((xs + 0.5 - cx) ** 2) * coverage).sum() / m, (((ys + 0.5 - cy) ** 2) * coverage).sum() / m
    return cx / scale, cy / scale, np.sqrt(vx) / scale, np.sqrt(vy) / scale


def _unit_moments(shape: str, res: int = 256) -> tuple[float, float, float, float]:
    """The moments of a shape's unit polygon (bounding box [-1, 1]²), from a fine render."""
    img = Image.new("L", (res, res), 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in (shape_polygon(shape) + 1) * res / 2], fill=255)
    cx, cy, sx, sy = _moments(np.asarray(img, dtype=np.float64) / 255, res / 2)
    return cx - 1, cy - 1, sx, sy


_UNIT_MOMENTS = {s: _unit_moments(s) for s in SHAPES}
PIXEL_VARIANCE = 1 / 12  # what area sampling into unit pixels adds to a shape's variance along each axis


def _synthesize(shape: str, cx: float, cy: float, sx: float, sy: float, h: int, w: int, ss: int = 8) -> np.ndarray:
    """Coverage [h, w] of a shape placed by moments: centroid (cx, cy), pixels per unit (sx, sy)."""
    ucx, ucy, _, _ = _UNIT_MOMENTS[shape]
    pts = shape_polygon(shape)
    px, py = cx + (pts[:, 0] - ucx) * sx, cy + (pts[:, 1] - ucy) * sy
    img = Image.new("L", (w * ss, h * ss), 0)
    ImageDraw.Draw(img).polygon(list(zip(px * ss, py * ss)), fill=255)
    return np.asarray(img.resize((w, h), Image.BOX), dtype=np.float32) / 255


TEMPLATE_BLURS = (0.0, 0.7, 1.2)  # Gaussian sigmas in pixels


def _soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.minimum(a, b).sum() / max(np.maximum(a, b).sum(), 1e-6))


def classify_shape(coverage: np.ndarray) -> tuple[str, float]:
    """Best shape for a coverage mask, by analysis by synthesis: each shape is rendered where the mask's
    centroid is and as large as its spread says, sharp and blurred (a VAE or a diffusion model softens edges;
    blur adds σ² to the spread, so the fit subtracts it), and compared by soft IoU."""
    mx, my, smx, smy = _moments(coverage)
    h, w = coverage.shape
    scores = {}
    for shape in SHAPES:
        _, _, usx, usy = _UNIT_MOMENTS[shape]
        best = 0.0
        for b in TEMPLATE_BLURS:
            sx = np.sqrt(max(smx ** 2 - PIXEL_VARIANCE - b ** 2, 0.25)) / usx
            sy = np.sqrt(max(smy ** 2 - PIXEL_VARIANCE - b ** 2, 0.25)) / usy
            synth = _synthesize(shape, mx, my, sx, sy, h, w)
            best = max(best, _soft_iou(ndimage.gaussian_filter(synth, b) if b else synth, coverage))
        scores[shape] = best
    best_shape = max(scores, key=scores.get)
    return best_shape, scores[best_shape]


_PALETTE_NAMES = list(COLORS)
_PALETTE = np.array([COLORS[c] for c in _PALETTE_NAMES], dtype=np.float32)


def analyze(image: np.ndarray) -> Analysis:
    """image: uint8 [H, W, 3]. Returns the background and the objects found."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {image.shape}")
    img = image.astype(np.float32)
    h, w, _ = img.shape
    border = np.concatenate([img[:2].reshape(-1, 3), img[-2:].reshape(-1, 3), img[:, :2].reshape(-1, 3), img[:, -2:].reshape(-1, 3)])
    bg_rgb = np.median(border, axis=0)
    bg_name = min(BACKGROUNDS, key=lambda b: np.linalg.norm(bg_rgb - np.array(BACKGROUNDS[b])))
    bg = np.array(BACKGROUNDS[bg_name], dtype=np.float32)
    distance = np.linalg.norm(img - bg, axis=2)  # [H, W]
    labels, n = ndimage.label(distance > FOREGROUND_DISTANCE)
    objects = []
    scale = 64.0 / w  # sizes are defined at 64×64
    for i in range(1, n + 1):
        mask = labels == i
        area = mask.sum() * scale * scale
        if area < MIN_OBJECT_AREA:
            continue
        ys, xs = np.nonzero(mask)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        # color from the object's core: pixels far from the background are least blended with it
        pix = img[mask]
        d = distance[mask]
        core = pix[d >= np.quantile(d, 0.5)]
        rgb = np.median(core, axis=0)
        cd = np.linalg.norm(_PALETTE - rgb, axis=1)
        color = _PALETTE_NAMES[int(cd.argmin())] if cd.min() <= MAX_COLOR_DISTANCE else None
        # shape: coverage of this component (padded) against each shape rendered at its measured box
        pad = 2
        ya, yb, xa, xb = max(y0 - pad, 0), min(y1 + pad, h), max(x0 - pad, 0), min(x1 + pad, w)
        coverage = np.clip(distance[ya:yb, xa:xb] / max(float(np.linalg.norm(rgb - bg)), 1.0), 0, 1)
        coverage = coverage * ndimage.binary_dilation(mask[ya:yb, xa:xb], iterations=pad)
        best, best_score = classify_shape(coverage)
        # the object's nominal side: its box divided by how much of the nominal box this shape fills
        # (a square fills 0.85 of it: a large square's box can be as small as 17.9 px)
        ex0, ex1, ey0, ey1 = _EXTENTS[best]
        side = max((x1 - x0) / ((ex1 - ex0) / 2), (y1 - y0) / ((ey1 - ey0) / 2)) * scale
        weights = distance[mask]
        cx = float((xs * weights).sum() / weights.sum() + 0.5) * scale
        cy = float((ys * weights).sum() / weights.sum() + 0.5) * scale
        objects.append(Detection(color, best if best_score >= MIN_SHAPE_MATCH else None,
                                 "small" if side < SIZE_THRESHOLD else "large", (cx, cy),
                                 (int(x0), int(y0), int(x1), int(y1)), best_score))
    return Analysis(bg_name, tuple(objects))


def relation_holds(a: Detection, b: Detection, relation: str) -> bool:
    """T2I-CompBench's rule: 'left of' = centroid x smaller and |dx| > |dy|; likewise the others."""
    dx, dy = a.centroid[0] - b.centroid[0], a.centroid[1] - b.centroid[1]
    if relation == "to the left of":
        return dx < 0 and abs(dx) > abs(dy)
    if relation == "to the right of":
        return dx > 0 and abs(dx) > abs(dy)
    if relation == "above":
        return dy < 0 and abs(dy) > abs(dx)
    if relation == "below":
        return dy > 0 and abs(dy) > abs(dx)
    raise ValueError(f"unknown relation {relation!r}")


def _matches(d: Detection, o) -> bool:
    return d.color == o.color and d.shape == o.shape and (o.size is None or d.size == o.size)


def score(meaning: Meaning, analysis: Analysis) -> dict[str, bool]:
    """Pass/fail per attribute and overall. 'overall' needs every stated attribute and no extra object."""
    want, got = meaning.objects, analysis.objects
    result = {"background": meaning.background is None or analysis.background == meaning.background,
              "count": len(got) == len(want),
              "colors": sorted(str(d.color) for d in got) == sorted(o.color for o in want),
              "shapes": sorted(str(d.shape) for d in got) == sorted(o.shape for o in want)}
    sized = [o.size for o in want if o.size is not None]
    result["sizes"] = len(got) == len(want) and (not sized or any(
        all(o.size is None or d.size == o.size for d, o in zip(perm, want)) for perm in itertools.permutations(got)))
    binding = relation = False
    if len(got) == len(want):
        for perm in itertools.permutations(got):
            if all(_matches(d, o) for d, o in zip(perm, want)):
                binding = True
                if meaning.relation is None or relation_holds(perm[0], perm[1], meaning.relation):
                    relation = True
                    break
    result["binding"] = binding
    if meaning.relation is not None:
        result["relation"] = relation
    result["overall"] = result["background"] and binding and relation
    return result


def analyze_and_score(meaning: Meaning, image: np.ndarray) -> dict[str, bool]:
    return score(meaning, analyze(image))


def accuracy_by_category(rows: list[dict], images: np.ndarray, seeds: list[int]) -> dict:
    """images are ordered seed-major: all rows for seeds[0], then all rows for seeds[1], …"""
    scored = [r for _seed in seeds for r in rows]
    if len(images) < len(scored):
        raise ValueError(f"{len(images)} images for {len(rows)} prompts × {len(seeds)} seeds")
    return category_accuracy(scored, [analyze_and_score(r["meaning"], im)["overall"] for r, im in zip(scored, images)])


def category_accuracy(rows: list[dict], ok: list[bool]) -> dict:
    """Accuracy per category of rows already scored (ok[i] for rows[i]) and overall ("all")."""
    per_cat: dict[str, list[bool]] = {}
    for r, v in zip(rows, ok):
        per_cat.setdefault(r["category"], []).append(v)
    out = {c: float(np.mean(v)) for c, v in per_cat.items()}
    out["all"] = float(np.mean([x for v in per_cat.values() for x in v]))
    return out
