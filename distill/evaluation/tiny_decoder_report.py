"""The tiny VAE decoder of a bundle against its full decoder (reports/tiny_decoder/): ONNX parity against the PyTorch
weights it was exported from, speed in onnxruntime (CPU, both graphs timed alternately in one run, so load on the
machine affects both alike) and analyzer accuracy on the dev prompts with each decoder drawing the same latents.

Latents: each listed UNet's samples of the dev prompts (its manifest recipe, through the bundle's ONNX graphs), and,
with --teacher, the teacher VAE's encodings of a true render of every dev prompt (the decoder alone: the full decoder
is near 100% there, so every point lost is the tiny decoder's).

python -m distill tiny-decoder-report --bundle models/shapescenes --weights checkpoints/tiny-decoder \
  --teacher ~/.cache/imagine-flash/teacher-bal/pipeline --out reports/tiny_decoder
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import torch

from ..domain.analyzer import analyze_and_score, category_accuracy
from ..domain.prompts import DEV_PROMPTS, load_prompt_file
from ..domain.render import images_to_tensor, preview_grid, render, tensor_to_images
from ..domain.scenes import scene_for_meaning
from ..export.bundle import OnnxBundle
from ..export.export import TinyDecoderGraph
from ..export.onnx import max_abs_diff
from ..networks.loaders import load_tiny_decoder
from ..networks.pipeline import load_pipeline
from ..sampling.recipes import sample_recipe
from .evaluate import tiny_decoder


GOAL_POINTS = 1.0  # issue 19: the tiny decoder's accuracy within 1 point of the full decoder's


class LatentRecorder:
    """Stands in for a pipeline's VAE: keeps every latent_sample it is asked to decode, decodes with the real one."""

    def __init__(self, vae):
        self.vae, self.config, self.latents = vae, vae.config, []

    def decode(self, latents: torch.Tensor) -> SimpleNamespace:
        self.latents.append(latents.detach().cpu().float())
        return self.vae.decode(latents)


def sampled_latents(bundle: OnnxBundle, unet_id: str, prompts: list[str], seeds: list[int], batch_size: int):
    """latent_sample [N, 4, h, w] of a bundle UNet's samples under its manifest recipe, as its vae_decoder gets them."""
    full = bundle.vae
    recorder = LatentRecorder(full)
    bundle.vae = recorder
    try:
        sample_recipe(bundle, bundle.load_unet(unet_id), bundle.recipe(unet_id), prompts, seeds, batch_size)
    finally:
        bundle.vae = full
    return torch.cat(recorder.latents)


@torch.no_grad()
def encoded_renders(pipe, rows: list[dict], seed: int) -> torch.Tensor:
    """The teacher VAE's posterior means (latent_sample) of one true render per prompt."""
    rng = np.random.default_rng(seed)
    images = np.stack([render(scene_for_meaning(row["meaning"], rng)) for row in rows])
    return torch.cat([pipe.vae.encode(images_to_tensor(images[i:i + 100])).latent_dist.mean
                      for i in range(0, len(images), 100)])


def decode(vae, latents: torch.Tensor, batch: int = 100) -> np.ndarray:
    return np.concatenate([tensor_to_images(vae.decode(latents[i:i + batch]).sample)
                           for i in range(0, len(latents), batch)])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b) ** 2).mean()
    return float(10 * math.log10(255 ** 2 / max(mse, 1e-10)))


def compare(rows: list[dict], latents: torch.Tensor, full, tiny) -> tuple[dict, np.ndarray, np.ndarray]:
    """Accuracy per category with each decoder, the difference in points, and how often the two decoders' images get
    the same verdict."""
    a, b = decode(full, latents), decode(tiny, latents)
    ok_full = [analyze_and_score(r["meaning"], im)["overall"] for r, im in zip(rows, a)]
    ok_tiny = [analyze_and_score(r["meaning"], im)["overall"] for r, im in zip(rows, b)]
    points = 100 * (np.mean(ok_tiny) - np.mean(ok_full))
    return ({"images": len(rows), "accuracy_full": category_accuracy(rows, ok_full), "accuracy_tiny": category_accuracy(rows, ok_tiny),
             "points": float(points), "goal_met": bool(points >= -GOAL_POINTS),
             "same_verdict": float(np.mean(np.equal(ok_full, ok_tiny))), "psnr_tiny_vs_full": psnr(b, a)}, a, b)


def time_decoders(paths: dict[str, str], latents: torch.Tensor, batch: int, runs: int, threads: int) -> dict:
    """Median and p90 ms per decode of each graph at a batch size, the graphs run alternately (order swapped every
    run) after warm-up runs, and the full/tiny ratio of the medians."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sessions = {k: ort.InferenceSession(p, opts, providers=["CPUExecutionProvider"]) for k, p in paths.items()}
    z = latents[:batch].numpy().astype(np.float32)
    times = {k: [] for k in sessions}
    for r in range(runs + 3):
        for k in (list(sessions) if r % 2 == 0 else list(sessions)[::-1]):
            start = time.perf_counter()
            sessions[k].run(None, {"latent_sample": z})
            if r >= 3:  # warm-up runs are not counted
                times[k].append(1000 * (time.perf_counter() - start))
    out = {k: {"median_ms": float(np.median(v)), "p90_ms": float(np.percentile(v, 90))} for k, v in times.items()}
    return {"batch": batch, "runs": runs, "threads": threads, **out,
            "speedup": out["full"]["median_ms"] / out["tiny"]["median_ms"]}


@torch.no_grad()
def parity(weights: str, tiny_path: str, latents: torch.Tensor) -> dict:
    """Max abs difference onnxruntime vs the PyTorch tiny decoder it was exported from (clamped like the graph), on
    random latents at the decoder's scale and on real sampled latents."""
    decoder, stage = load_tiny_decoder(weights)
    graph = TinyDecoderGraph(decoder)
    sess = ort.InferenceSession(tiny_path, providers=["CPUExecutionProvider"])
    z_random = torch.randn(4, *latents.shape[1:], generator=torch.Generator().manual_seed(0)) / decoder.cfg.latent_scale
    out = {}
    for name, z in (("random_latents", z_random), ("sampled_latents", latents[:64])):
        out[name] = max_abs_diff(graph(z).numpy(), sess.run(None, {"latent_sample": z.numpy()})[0])
    return {**out, "weights": weights, "step": stage.get("step"), "config": stage["config"]["model"]}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="A bundle's tiny VAE decoder vs its full decoder: ONNX parity, speed, "
                                "and analyzer accuracy on the dev prompts from the same latents.")
    p.add_argument("--bundle", default="models/shapescenes", help="an exported bundle with vae_decoder_tiny/")
    p.add_argument("--weights", default="checkpoints/tiny-decoder", help="the tiny decoder's PyTorch weights (parity)")
    p.add_argument("--teacher", default=None, help="diffusers SD folder of the bundle's teacher: adds encoded true "
                   "renders of the dev prompts")
    p.add_argument("--unets", nargs="+", default=["flash-1", "flash-3"], help="bundle UNets whose samples to decode")
    p.add_argument("--prompts", default=DEV_PROMPTS, help="jsonl prompt file")
    p.add_argument("--seed", type=int, default=0, help="one sample per prompt with this seed")
    p.add_argument("--timing-runs", type=int, default=100, help="timed decodes per graph and batch size")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads for the timing")
    p.add_argument("--batch-size", type=int, default=100, help="images per sampling batch")
    p.add_argument("--out", default="reports/tiny_decoder", help="folder for README.md, tiny_decoder.json, samples.png")
    return p.parse_args(argv)


def command_line(args) -> str:
    parts = [f"--bundle {args.bundle}", f"--weights {args.weights}"]
    if args.teacher:
        parts.append(f"--teacher {args.teacher}")
    parts += ["--unets " + " ".join(args.unets), f"--prompts {args.prompts}", f"--seed {args.seed}",
              f"--timing-runs {args.timing_runs}", f"--threads {args.threads}", f"--out {args.out}"]
    return "python -m distill tiny-decoder-report " + " ".join(parts)


def main(args) -> dict:
    rows = load_prompt_file(args.prompts)
    prompts, seeds = [r["prompt"] for r in rows], [args.seed] * len(rows)
    bundle = OnnxBundle(args.bundle)
    full, tiny = bundle.vae, tiny_decoder(bundle)
    sources, grid = {}, []
    for unet_id in args.unets:
        latents = sampled_latents(bundle, unet_id, prompts, seeds, args.batch_size)
        sources[unet_id], a, b = compare(rows, latents, full, tiny)
        grid += [im for pair in zip(a[:10], b[:10]) for im in pair]
        print(unet_id, json.dumps({k: sources[unet_id][k] for k in ("points", "same_verdict", "psnr_tiny_vs_full")}))
    if args.teacher:
        latents = encoded_renders(load_pipeline(args.teacher), rows, args.seed)
        sources["renders"], a, b = compare(rows, latents, full, tiny)
        grid += [im for pair in zip(a[:10], b[:10]) for im in pair]
    paths = {"full": os.path.join(bundle.path, bundle.manifest["vae_decoder"]),
             "tiny": os.path.join(bundle.path, bundle.manifest["vae_decoder_tiny"])}
    result = {"command": command_line(args), "bundle": args.bundle, "prompts": args.prompts, "seed": args.seed,
              "goal_points": GOAL_POINTS,
              "parity_max_abs_diff": parity(args.weights, paths["tiny"], latents),
              "speed": [time_decoders(paths, latents, b, args.timing_runs, args.threads) for b in (1, 4)],
              "bytes": {k: os.path.getsize(p) for k, p in paths.items()},
              "accuracy": sources}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tiny_decoder.json"), "w") as f:
        json.dump(result, f, indent=2)
    preview_grid(grid, 20).save(os.path.join(args.out, "samples.png"))
    write_markdown(os.path.join(args.out, "README.md"), result, list(sources))
    print(json.dumps({k: result[k] for k in ("parity_max_abs_diff", "speed")}, indent=2))
    return result


SOURCE_NAMES = {"renders": "true renders encoded by the teacher VAE"}


def write_markdown(path: str, result: dict, sources: list[str]) -> None:
    par = result["parity_max_abs_diff"]
    cats = [c for c in result["accuracy"][sources[0]]["accuracy_full"] if c != "all"] + ["all"]
    lines = ["# Tiny VAE decoder vs the full decoder", "",
             f"Generated by `{result['command']}`; do not edit.", "",
             f"Decoder: `{json.dumps(par['config'])}`, step {par['step']} ({result['bytes']['tiny']:,} bytes of ONNX; "
             f"the full decoder: {result['bytes']['full']:,}).", "",
             "## Analyzer accuracy on the dev prompts, the same latents through both decoders", "",
             f"Seed {result['seed']}, one image per prompt; goal: the tiny decoder within {result['goal_points']:g} "
             "point of the full decoder.", ""]
    lines += ["| latents | decoder | " + " | ".join(cats) + " | points | same verdict | PSNR tiny vs full |",
              "|---|---|" + "---|" * (len(cats) + 3)]
    for name in sources:
        r = result["accuracy"][name]
        label = SOURCE_NAMES.get(name, f"{name} samples")
        for dec in ("full", "tiny"):
            acc = r[f"accuracy_{dec}"]
            tail = (f" {r['points']:+.1f} ({'met' if r['goal_met'] else 'missed'}) | {100 * r['same_verdict']:.1f}% | "
                    f"{r['psnr_tiny_vs_full']:.1f} dB |") if dec == "tiny" else " | | |"
            lines.append(f"| {label} | {dec} | " + " | ".join(f"{100 * acc[c]:.1f}%" for c in cats) + " |" + tail)
    lines += ["", "`samples.png`: per source, ten prompts, full and tiny decoder side by side.", "",
              "## Speed in onnxruntime (CPU)", "",
              "Both graphs in one run, timed alternately, median (p90) ms per decode:", "",
              "| batch | threads | full decoder | tiny decoder | full / tiny |", "|---|---|---|---|---|"]
    for s in result["speed"]:
        lines.append(f"| {s['batch']} | {s['threads']} | {s['full']['median_ms']:.2f} ({s['full']['p90_ms']:.2f}) | "
                     f"{s['tiny']['median_ms']:.2f} ({s['tiny']['p90_ms']:.2f}) | {s['speedup']:.2f}× |")
    lines += ["", "## ONNX parity", "",
              f"Max abs difference onnxruntime vs PyTorch ({par['weights']}): {par['random_latents']:.2e} on random "
              f"latents, {par['sampled_latents']:.2e} on sampled latents (images in [-1, 1])."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(parse_args())
