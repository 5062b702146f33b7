"""Preview grid of ShapeScenes: random scenes and their captions (a sanity check of the domain)."""
from __future__ import annotations

import argparse
import os

import numpy as np

from .render import preview_grid, render
from .scenes import caption, sample_scene


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Write a grid of random ShapeScenes renders and their captions.")
    p.add_argument("--out", default="reports/shapescenes_preview.png", help="PNG to write; captions go beside it as .txt")
    p.add_argument("--n", type=int, default=32, help="number of scenes")
    p.add_argument("--columns", type=int, default=8, help="grid columns")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    return p.parse_args(argv)


def main(args) -> None:
    rng = np.random.default_rng(args.seed)
    scenes = [sample_scene(rng) for _ in range(args.n)]
    captions = [caption(s, rng)[0] for s in scenes]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    preview_grid([render(s) for s in scenes], args.columns).save(args.out)
    with open(os.path.splitext(args.out)[0] + ".txt", "w") as f:
        f.write("\n".join(f"{i}: {c}" for i, c in enumerate(captions)) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(parse_args())
