"""RESULTS.md from the rows' eval results: Tables 1 and 3, the few-step table and the quality-vs-NFE plot."""
from __future__ import annotations

import os
import subprocess
import time

from .. import REPO_ROOT

from ..export.export import SHIPPED_STUDENTS
from .claims import claim_lines
from .experiments import (CATEGORIES, EQUAL_STEP_ROWS, EQUAL_STEPS, FEW_STEP_ABLATIONS, GAMMA_ROWS, PAPER_TABLE1,
                          PAPER_TABLE3, ROWS, SAMPLING_ABLATIONS, SHIPPED, TABLE1, TABLE3, Row)
from .sweeps import SWEEP_STEPS, sweep_notes, sweep_table


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def _spread(r: dict, cat: str) -> str:
    std = r.get("accuracy_std_over_seeds", {}).get(cat)
    return _pct(r["accuracy"][cat]) + (f" ± {100 * std:.1f}" if std is not None else "")


TRAINING_COLUMNS = "train steps | UNet passes (M) | train min"


def _training(r: dict | None) -> str:
    """The training a row's student spent (its eval's "training", from the run's record): steps, UNet passes
    (runs.compute) and wall minutes; blank for the teacher and an eval from before runs counted."""
    spent = (r or {}).get("training")
    if spent is None:
        return " | | "
    minutes = "—" if spent["minutes"] is None else f"{spent['minutes']:.0f}"
    return f"{spent['step']} | {spent['unet_passes'] / 1e6:.2f} | {minutes}"


def _paper_name(name: str) -> str:
    """The paper's row an equal-steps twin (experiments._at_equal_steps) stands for."""
    return name.removesuffix(f"-steps{EQUAL_STEPS}")


def equal_steps(rows: list[Row]) -> list[Row]:
    """rows with each trained one replaced by its equal-steps twin (the teacher rows stay)."""
    twins = {_paper_name(r.name): r for r in EQUAL_STEP_ROWS}
    return [twins.get(r.name, r) for r in rows]


def table1(results: dict[str, dict | None], rows: list[Row] = TABLE1) -> list[str]:
    ref = results.get("teacher-dpm25")
    lines = ["| system | steps | NFE | FD ↓ | CLIP ↑ | " + " | ".join(CATEGORIES) + " | all | all / teacher | "
             f"FD / teacher | paper FID | paper FID / teacher | paper CLIP | {TRAINING_COLUMNS} |",
             "|" + "---|" * (len(CATEGORIES) + 14)]
    paper_ref = PAPER_TABLE1["teacher-dpm25"][0]
    for row in rows:
        r = results.get(row.name)
        fid, clip = PAPER_TABLE1.get(_paper_name(row.name), ("", ""))
        paper = f"{fid} | {fid / paper_ref:.3f} | {clip}" if fid else " | | "
        if r is None:
            lines.append(f"| {row.system} | {row.steps} | — | not run | | " + " | ".join("" for _ in CATEGORIES)
                         + f" | | | | {paper} | | | |")
            continue
        acc_ratio = r["accuracy"]["all"] / ref["accuracy"]["all"] if ref and ref["accuracy"]["all"] else None
        fd_ratio = r["fd"] / ref["fd"] if ref and ref.get("fd") else None
        lines.append(f"| {row.system} | {r['recipe']['steps']} | {r['nfe']} | {r['fd']:.2f} | {r['clip_score']:.2f} | "
                     + " | ".join(_spread(r, c) for c in CATEGORIES) + f" | {_spread(r, 'all')} | "
                     + ("—" if acc_ratio is None else f"{acc_ratio:.2f}") + " | "
                     + ("—" if fd_ratio is None else f"{fd_ratio:.2f}") + f" | {paper} | {_training(r)} |")
    return lines


def table3(results: dict[str, dict | None], at_equal_steps: bool = False) -> list[str]:
    flash3, ablations = (equal_steps(rows) if at_equal_steps else rows for rows in (
        [r for r in TABLE1 if r.name == "flash-3"], TABLE3))
    names = [("teacher-dpm25", "Teacher DPM++ 25"), ("teacher-dpm3", "Teacher DPM++ 3"), (flash3[0].name, "Imagine Flash 3")]
    names += [(row.name, row.system) for row in ablations + ([] if at_equal_steps else SAMPLING_ABLATIONS)]
    lines = [f"| method | FD ↓ | CLIP ↑ | accuracy (all) | paper FID | paper CLIP | {TRAINING_COLUMNS} |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label in names:
        r = results.get(name)
        paper = PAPER_TABLE3.get(_paper_name(name), ("", ""))
        if r is None:
            lines.append(f"| {label} | not run | | | {paper[0]} | {paper[1]} | | | |")
        else:
            lines.append(f"| {label} | {r['fd']:.2f} | {r['clip_score']:.2f} | {_spread(r, 'all')} | {paper[0]} | "
                         f"{paper[1]} | {_training(r)} |")
    return lines


def few_step_table(results: dict[str, dict | None], at_equal_steps: bool = False) -> list[str]:
    """Beyond the paper, per step count: Imagine Flash against itself without SRL and with the paper's γ."""
    lines = [f"| student | steps | FD ↓ | CLIP ↑ | accuracy (all) | {TRAINING_COLUMNS} |", "|---|---|---|---|---|---|---|---|"]
    for k in (1, 2, 3):
        rows = [r for r in TABLE1 if r.name == f"flash-{k}"] + [r for r in FEW_STEP_ABLATIONS + GAMMA_ROWS if r.steps == k]
        for row in equal_steps(rows) if at_equal_steps else rows:
            label = "Imagine Flash (resolution-aware γ, SRL)" if row.system == "Imagine Flash" else row.system
            r = results.get(row.name)
            lines.append(f"| {label} | {k} | not run | | | | | |" if r is None else
                         f"| {label} | {k} | {r['fd']:.2f} | {r['clip_score']:.2f} | {_spread(r, 'all')} | "
                         f"{_training(r)} |")
    return lines


def shipped_table(results: dict[str, dict | None]) -> list[str]:
    """The app's students, trained longer and in stages: the train columns are their last stage's."""
    lines = [f"| student | steps | FD ↓ | CLIP ↑ | accuracy (all) | weights | {TRAINING_COLUMNS} |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in SHIPPED:
        r = results.get(row.name)
        lines.append(f"| {row.system} | {row.steps} | not run | | | `{row.unet}` | | | |" if r is None else
                     f"| {row.system} | {row.steps} | {r['fd']:.2f} | {r['clip_score']:.2f} | {_spread(r, 'all')} | "
                     f"`{row.unet}` | {_training(r)} |")
    return lines


def plot_quality_vs_nfe(results: dict[str, dict | None], path: str) -> None:
    import matplotlib  # imported here: only the plots need it, and the headless backend must be set before pyplot loads
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    families: dict[str, list[tuple[int, float, float]]] = {}
    for row in TABLE1 + SHIPPED:
        r = results.get(row.name)
        if r is not None:
            families.setdefault(row.system, []).append((r["nfe"], 100 * r["accuracy"]["all"], r["fd"]))
    fig, (ax_acc, ax_fd) = plt.subplots(1, 2, figsize=(11, 4))
    for system, points in families.items():
        points.sort()
        nfe, acc, fd = zip(*points)
        ax_acc.plot(nfe, acc, marker="o", label=system)
        ax_fd.plot(nfe, fd, marker="o", label=system)
    for ax, ylabel in ((ax_acc, "analyzer accuracy, all prompts (%)"), (ax_fd, "FD (lower is better)")):
        ax.set_xscale("log")
        ax.set_xticks([1, 2, 3, 4, 6, 8, 16, 25, 50], labels=["1", "2", "3", "4", "6", "8", "16", "25", "50"])
        ax.minorticks_off()
        ax.set_xlabel("UNet evaluations per image (NFE)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    fig.suptitle("Quality vs NFE on ShapeScenes dev prompts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compute_note(budget: int) -> str:
    """The tables' training-compute sentence: the common pass budget, or that each student trained its own steps."""
    unit = ("a pass is one UNet forward on one latent; a backward counts 2, a CFG call 2 per latent and the "
            "discriminator's teacher-encoder passes 1 each (`distill/runs/compute.py`)")
    spent = "The train columns give what each student spent, in millions of passes, and its wall time."
    if budget:
        return (f"Training compute: every student trained to the same budget of {budget / 1e6:.2f}M UNet passes "
                f"(the step that reaches it is its last); {unit}. {spent}")
    return ("Training compute: every student trained its configured steps (equal steps; `--budget-passes N` trains "
            f"every one to N UNet passes instead); {unit}. {spent}")


def code_commit() -> str:
    """The git commit of the code writing the report ("+changes" when distill/ differs from it): the checkout's
    HEAD, else IMAGINE_FLASH_COMMIT (a run from a `git archive` snapshot of a commit has no .git), else "unknown"."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", "-C", REPO_ROOT, *cmd], capture_output=True, text=True, check=True).stdout.strip()
    try:
        return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", "distill") else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("IMAGINE_FLASH_COMMIT", "unknown")


def write_report(args, results: dict[str, dict | None], figures: dict, seconds: float) -> None:
    missing = [row.name for row in ROWS if results.get(row.name) is None]
    folder = os.path.dirname(args.report)
    lines = ["# Results: Imagine Flash on ShapeScenes (the paper's Tables 1 and 3)", "",
             f"Generated by `python -m distill reproduce` ({time.strftime('%Y-%m-%d')}, code at commit "
             f"{code_commit()}, {seconds / 60:.0f} min this run). Every number comes from `python -m distill evaluate` on the dev prompts "
             f"(`{os.path.relpath(args.prompts)}`); per-row JSON and Markdown are in `{os.path.relpath(args.eval_dir)}/`.",
             "", "Metrics: accuracy = analyzer pass rate per category (%, ± = standard deviation over seeds; main rows "
             "3 seeds, others 2); FD = Fréchet distance of 2000 generated vs 2000 real renders in the committed "
             "tiny-CLIP image features (the FID analogue); CLIP = 100 × tiny-CLIP image/prompt cosine. The paper's "
             "FID and CLIP are on COCO with Emu: compare ratios and orderings, not values.", ""]
    if missing:
        lines += [f"**Not yet run:** {', '.join(missing)} (run `make reproduce` again; each run trains for at most "
                  f"--train-minutes per student and resumes).", ""]
    lines += [compute_note(args.budget_passes), ""]
    equal = f"at equal compute ({args.budget_passes / 1e6:.2f}M UNet passes each)" if args.budget_passes else \
        "(each student its configured steps)"
    lines += [f"## Table 1 analogue: Imagine Flash vs baselines on the same teacher, {equal}", ""] + table1(results)
    lines += ["", f"## Table 3 analogue: ablations of the 3-step student, {equal}", ""] + table3(results)
    lines += ["", "\"w/o SRL\" follows DESIGN.md: the reconstruction target is Eq. 7 (the teacher's k steps from the "
              "student's own x_t) instead of SRL's re-noised x̂0. The paper's \"w/o SRL\" row drops the reconstruction "
              "loss altogether (\"using only the discriminator\", §5.3), so its 45.9 is not the same experiment.", "",
              f"### Beyond the paper: SRL and the paper's γ at every step count, {equal}", ""] + few_step_table(results)
    lines += ["", f"## The same at equal steps ({EQUAL_STEPS} training steps each)", "",
              f"Each run's student at step {EQUAL_STEPS} (saved on the way to the budget; progressive distillation, "
              "whose student changes each round, trains a run of that length of its own).", "",
              "### Table 1", ""] + table1(results, equal_steps(TABLE1))
    lines += ["", "### Table 3", ""] + table3(results, at_equal_steps=True)
    lines += ["", "### SRL and the paper's γ", ""] + few_step_table(results, at_equal_steps=True)
    lines += ["", "## The paper's claims", "", "Decided from the rows above (`distill/evaluation/claims.py`): a "
              "difference counts when it exceeds the two rows' seed spreads added in quadrature, and at least one "
              "point.", ""] + claim_lines(results)
    lines += ["", "## How the baselines were tuned", "", f"The same sweep effort as Imagine Flash's recipe got: runs of "
              f"{SWEEP_STEPS} steps, one lever at a time, judged by the periodic evaluation (50 dev prompts a "
              "category, seed 0, about ±2.7 points): the learning rate at ½×, 1× and 2× the default, and each "
              "baseline's own key knob at two other values (`distill/evaluation/sweeps.py`; `make reproduce "
              "SWEEP=\"lcm add progressive\"`). ✓ marks the setting the tables train, ★ the best measured.", ""]
    lines += sweep_notes() + [""] + sweep_table(args.runs)
    lines += ["", "## The app's students", "", "What `models/shapescenes` ships (`make bundle`): trained far beyond the "
              "budget, in stages from one another (`reports/students/STUDENTS.md` gives every stage's cost); the "
              "train columns are the last stage's alone.", ""] + shipped_table(results)
    lines += ["", "`export --students-from` ships " + ", ".join(
        f"{sid} = run `{run}`" for sid, run in SHIPPED_STUDENTS.items()) + " (`SHIPPED_STUDENTS`) of the default budget."]
    lines += ["", "## Quality vs NFE", "", "![quality vs NFE](quality_vs_nfe.png)", "",
              "## Quality vs training compute", "", "Each trained run's periodic evaluations (its own dev-prompt "
              "subset, one seed) against the UNet passes it had spent.", "",
              "![quality vs training compute](quality_vs_compute.png)", ""]
    for figure, (path, columns, prompts) in figures.items():
        title = {"fig5": "Fig. 5 analogue: teacher vs students", "fig7": "Fig. 7 analogue: ablations",
                 "noise_correction": "Noise correction on vs off (same weights, same seeds)"}[figure]
        lines += [f"## {title}", "", f"Columns: {', '.join(columns)}; seed 7; rows: " + "; ".join(prompts) + ".", "",
                  f"![{figure}]({os.path.relpath(path, folder)})", ""]
    with open(args.report, "w") as f:
        f.write("\n".join(lines) + "\n")
