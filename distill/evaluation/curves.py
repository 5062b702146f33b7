"""Learning curves of distillation runs: the periodic dev-prompt evaluations each run logged, as JSON and a plot.

python -m distill curves --run any-step=~/.cache/imagine-flash/students/any-step --out reports/students/curves
A run that continued another's weights (`distill flash --init-student`) counts its steps from 0; --offset NAME=STEPS
places it after them on the plot.
"""
from __future__ import annotations

import argparse
import json
import os

from ..runs.checkpoint import read_run_record
from ..runs.training import chunked_minutes


# the teacher the students learn from (reports/teacher-13921: DPM-Solver++ 25, CFG 4, 3 seeds) and the students'
# goals (0.95 / 0.90 / 0.80 of the teacher's accuracy at 3 / 2 / 1 steps)
TEACHER_ACCURACY = 0.902
GOALS = {1: 0.80, 2: 0.90, 3: 0.95}  # × the teacher's accuracy


def run_curves(run_dir: str, offset: int = 0) -> dict:
    """{student steps: [{step, all, <category>…}]} from a run folder's checkpoint history; steps shifted by offset."""
    record = read_run_record(run_dir)
    if record is None or "history" not in record:
        raise ValueError(f"{run_dir}: no checkpoint with a training history")
    cfg = record["config"]
    curves: dict[int, list[dict]] = {}
    for h in record["history"]:
        if "all" in h:
            k = h.get("student_steps", cfg["student_steps"])
            point = {key: v for key, v in h.items() if key != "student_steps"}
            curves.setdefault(k, []).append({**point, "step": point["step"] + offset})
    return {"step": record["step"], "offset": offset, "init_student": record.get("init_student"),
            "config": cfg, "curves": curves,
            "minutes": chunked_minutes(record["history"])}


def _accuracy_axes():
    """A figure for dev-prompt accuracy (%) with the teacher's line; (pyplot, figure, axes)."""
    import matplotlib  # imported here: only the plots need it, and the headless backend must be set before pyplot loads
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.axhline(100 * TEACHER_ACCURACY, color="k", ls="--", lw=1, label="teacher, DPM-Solver++ 25")
    ax.set_ylabel("dev-prompt accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    return plt, fig, ax


def _save(plt, fig, ax, path: str) -> None:
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot(runs: dict[str, dict], path: str) -> None:
    plt, fig, ax = _accuracy_axes()
    for i, (name, run) in enumerate(runs.items()):  # one colour per step count, one line style per run
        for k, points in sorted(run["curves"].items()):
            ax.plot([p["step"] for p in points], [100 * p["all"] for p in points], marker="o", color=f"C{int(k) - 1}",
                    ls=("-", "--", "-.", ":")[i % 4], label=f"{name}: {k} step{'s' if int(k) > 1 else ''}")
    for k, ratio in GOALS.items():
        ax.axhline(100 * TEACHER_ACCURACY * ratio, color="gray", ls=":", lw=1)
        ax.text(ax.get_xlim()[0], 100 * TEACHER_ACCURACY * ratio, f" goal {k}-step", va="bottom", fontsize=7,
                color="gray")
    ax.set_xlabel("training step")
    _save(plt, fig, ax, path)


def compute_lines(run_dirs: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """Accuracy vs training compute: per run (and per step count it evaluates) the periodic evals' (UNet passes
    spent, accuracy on all prompts). Runs without a record, and evals from before runs counted passes, are left out."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for name, run_dir in run_dirs.items():
        record = read_run_record(run_dir)
        for h in (record or {}).get("history", []):
            if "all" in h and "unet_passes" in h:
                k = h.get("student_steps")
                lines.setdefault(name if k is None else f"{name}: {k} step{'s' if k > 1 else ''}", []).append(
                    (float(h["unet_passes"]), float(h["all"])))
    return {name: sorted(points) for name, points in lines.items()}


def plot_compute(lines: dict[str, list[tuple[float, float]]], path: str, budget: int = 0) -> None:
    plt, fig, ax = _accuracy_axes()
    for name, points in lines.items():
        ax.plot([p / 1e6 for p, _ in points], [100 * a for _, a in points], marker="o", label=name)
    if budget:
        ax.axvline(budget / 1e6, color="gray", ls=":", lw=1, label="common budget")
    if not lines:
        ax.text(0.5, 0.5, "no periodic evaluation with a pass count yet", transform=ax.transAxes, ha="center")
    ax.set_xlabel("training compute (millions of UNet passes, distill/runs/compute.py)")
    _save(plt, fig, ax, path)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Learning curves (dev-prompt accuracy vs step) of distillation runs.")
    p.add_argument("--run", action="append", required=True, metavar="NAME=RUN_DIR", help="a run folder to plot")
    p.add_argument("--offset", action="append", default=[], metavar="NAME=STEPS",
                   help="steps the named run continued from (its init-student's training)")
    p.add_argument("--out", required=True, help="output prefix: writes OUT.json and OUT.png")
    return p.parse_args(argv)


def main(args) -> dict:
    offsets = {}
    for item in args.offset:
        name, _, steps = item.partition("=")
        if not steps.isdigit():
            raise ValueError(f"--offset {item!r} is not NAME=STEPS")
        offsets[name] = int(steps)
    runs = {}
    for item in args.run:
        if "=" not in item:
            raise ValueError(f"--run {item!r} is not NAME=RUN_DIR")
        name, folder = item.split("=", 1)
        runs[name] = run_curves(os.path.expanduser(folder), offsets.pop(name, 0))
    if offsets:
        raise ValueError(f"--offset names runs not given with --run: {', '.join(offsets)}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(runs, f, indent=2)
    plot(runs, args.out + ".png")
    return runs


if __name__ == "__main__":
    main(parse_args())
