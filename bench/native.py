"""Times a bundle's ONNX files in Python onnxruntime on the CPU, with the shapes the browser app feeds them.

Part of `make bench` (bench/run.ts reads the JSON this prints). Standalone:
    .venv/bin/python bench/native.py --bundle models/shapescenes --runs 20 --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

RNG = np.random.default_rng(0)
NP_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def stats(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs, dtype=np.float64)
    q = lambda p: float(np.percentile(a, p))  # noqa: E731
    return {"n": len(xs), "median": q(50), "p10": q(10), "p90": q(90), "min": float(a.min()), "max": float(a.max())}


def session(path: Path, threads: int) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def feeds(s: ort.InferenceSession, batch: int, manifest: dict) -> dict[str, np.ndarray]:
    c, h, w = manifest["latent_shape"]
    ctx = manifest["context_length"]
    hidden = manifest.get("text_hidden_size")
    out: dict[str, np.ndarray] = {}
    for i in s.get_inputs():
        t = NP_TYPES[i.type]
        if i.name == "input_ids":
            out[i.name] = RNG.integers(0, 40, size=(batch, ctx)).astype(t)
        elif i.name == "sample":
            out[i.name] = RNG.standard_normal((batch, c, h, w)).astype(t)
        elif i.name == "timestep":
            out[i.name] = np.full((batch,), 999, dtype=t)
        elif i.name == "encoder_hidden_states":
            d = i.shape[2] if isinstance(i.shape[2], int) else hidden
            out[i.name] = RNG.standard_normal((batch, ctx, d)).astype(t)
        elif i.name == "latent_sample":
            out[i.name] = RNG.standard_normal((batch, c, h, w)).astype(t)
        else:
            raise SystemExit(f"{i.name}: an input this benchmark does not know")
    return out


def time_runs(s: ort.InferenceSession, f: dict[str, np.ndarray], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        s.run(None, f)
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, f)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def fixed_batch_one(s: ort.InferenceSession) -> bool:
    return s.get_inputs()[0].shape[0] == 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundle", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,2,4,8", help="batch sizes for the throughput scaling of the fastest recipe")
    args = ap.parse_args()
    manifest = json.loads((args.bundle / "manifest.json").read_text())
    runs = max(args.runs, 20)
    sessions: dict[str, ort.InferenceSession] = {}

    def get(rel: str) -> ort.InferenceSession:
        if rel not in sessions:
            sessions[rel] = session(args.bundle / rel, args.threads)
        return sessions[rel]

    timings = []

    def measure(rel: str, use: str, batch: int) -> None:
        s = get(rel)
        if batch > 1 and fixed_batch_one(s):
            batch = 1  # the app then calls it once per row
        timings.append({"file": rel, "use": use, "batch": batch, "ms": stats(time_runs(s, feeds(s, batch, manifest), runs))})

    cfg_teacher = False
    for u in manifest["unets"]:
        cfg = u["recipe"].get("guidance_scale", 1.0) > 1.0
        cfg_teacher = cfg_teacher or cfg
        measure(u["path"], f"{u['id']} step", 2 if cfg else 1)
    measure(manifest["text_encoder"], "text encoder, prompt", 1)
    if cfg_teacher:
        measure(manifest["text_encoder"], "text encoder, prompt + empty (CFG)", 2)
    measure(manifest["vae_decoder"], "VAE decode", 1)
    if manifest.get("vae_decoder_tiny"):
        measure(manifest["vae_decoder_tiny"], "tiny VAE decode", 1)

    # Batch scaling of a 1-step image (text encoder + UNet + VAE), what a batched app could reach.
    first = next((u for u in manifest["unets"] if u["id"] == "flash-1"), manifest["unets"][0])
    scaling = []
    for b in (int(x) for x in args.batches.split(",")):
        parts = [get(manifest["text_encoder"]), get(first["path"]), get(manifest["vae_decoder"])]
        if any(fixed_batch_one(p) for p in parts) and b > 1:
            continue
        fs = [feeds(p, b, manifest) for p in parts]
        n = max(5, runs // 2)
        total = sum(np.median(time_runs(p, f, n)) for p, f in zip(parts, fs))
        scaling.append({"file": first["path"], "batch": b, "imagesPerSecond": b / (total / 1000)})

    json.dump(
        {
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "threads": args.threads,
            "runs": runs,
            "timings": timings,
            "batchScaling": scaling,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
