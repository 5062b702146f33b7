"""The experiments of the paper's Tables 1 and 3: every row (system, steps, recipe, the training run it
samples), the paper's own figures, and how far each run has trained."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..distillation.add import add_step_passes
from .. import REPO_ROOT
from ..distillation.baseline import CONFIGS
from ..distillation.common import snapshot_dir
from ..distillation.flash import FlashConfig, flash_passes
from ..distillation.lcm import lcm_step_passes
from ..distillation.progressive import ProgressiveConfig, progressive_passes, steps_per_round_for
from ..runs.checkpoint import read_run_record
from ..runs.compute import EQUAL_COMPUTE_PASSES, resumed_passes
from ..runs.config import from_dict, load_config
from ..runs.training import chunked_minutes


# the shipped teacher's results (reports/README.md names the teachers)
RESULTS_DIR = "reports/teacher-13921"
CATEGORIES = ("single", "background", "color_binding", "size_binding", "spatial", "counting", "complex")


@dataclass(frozen=True)
class Training:
    """A student to distil: `python -m distill <command> … --set <overrides>` into runs/<run>."""
    run: str
    command: tuple[str, ...]  # e.g. ("flash",) or ("baseline", "--method", "lcm")
    overrides: tuple[str, ...] = ()
    budget: bool = True  # False: trains its configured length even under a pass budget (an equal-steps run)


@dataclass(frozen=True)
class Row:
    name: str  # also the eval report's file name
    system: str  # the table's first column
    steps: int
    recipe: dict = field(default_factory=dict)  # overrides of the student's recipe.json (or the teacher's recipe)
    training: Training | None = None  # None: the teacher itself (or a committed student: unet)
    main: bool = False  # main rows get 3 seeds (the spread); others 2
    snapshot: int | None = None  # evaluate the run's student at this step (run_dir/step-N/) instead of its last
    unet: str | None = None  # a committed student folder (repo-relative), e.g. what the app ships


# Every trained run is also saved at this step: the equal-steps tables read those snapshots, the equal-compute
# tables the run's end (at the pass budget, DEFAULT_BUDGET: what EQUAL_STEPS steps of the 3-step student cost).
EQUAL_STEPS = 500

# Imagine Flash with the recipe of reports/students/STUDENTS.md: the resolution-aware γ (shift 8, on the
# structure steps t > 500), every trajectory in every batch, k = 4 teacher steps, SRL re-noising with the student's
# own x_T on half the rows, an EMA of the student; a constant lr after warm-up, so that the snapshot at EQUAL_STEPS is
# what a run of that length gives (the baselines' lr is constant too)
RECIPE = ("timestep_balance=split", "gamma_shift=8.0", "gamma_shift_above=500", "teacher_steps=4", "srl_noise=mix",
          "ema_decay=0.995", "learning_rate=0.0001", "lr_schedule=constant_with_warmup", "warmup_steps=25",
          "eval_prompts_per_category=50", "eval_every=250", f"snapshot_steps=[{EQUAL_STEPS}]")


def _flash(run: str, steps: int, *overrides: str) -> Training:
    return Training(run, ("flash",), (f"student_steps={steps}", *RECIPE, *overrides))


def _baseline(run: str, method: str, *overrides: str, budget: bool = True) -> Training:
    return Training(run, ("baseline", "--method", method), ("eval_prompts_per_category=50", "eval_every=250",
                                                            *overrides), budget)


FLASH = {k: _flash(f"flash-{k}", k) for k in (1, 2, 3)}

PROGRESSIVE = _baseline("progressive-4", "progressive")
# progressive distillation's student changes each round, so its equal-steps row is a run of that length: 3 rounds
PROGRESSIVE_STEPS = _baseline(f"progressive-4-steps{EQUAL_STEPS}", "progressive",
                              f"steps_per_round={EQUAL_STEPS // 3}", budget=False)

LCM = _baseline("lcm", "lcm", f"snapshot_steps=[{EQUAL_STEPS}]")

ADD = _baseline("add-4", "add", f"snapshot_steps=[{EQUAL_STEPS}]")


def _teacher(sampler: str, steps: int) -> Row:
    label = "DPM++" if sampler == "dpmsolver++" else "DDIM"
    return Row(f"teacher-{label.lower().rstrip('+')}{steps}", f"Teacher {label}", steps,
               {"sampler": sampler, "steps": steps, "guidance_scale": 4.0}, main=(steps == 25))


TEACHER_ROWS = ([_teacher("dpmsolver++", 25)] + [_teacher("ddim", k) for k in (1, 2, 3, 4)]
                + [_teacher("dpmsolver++", k) for k in (1, 2, 3, 4)])

TABLE1 = (TEACHER_ROWS
          + [Row("progressive-4", "Progressive distillation", 4, {}, PROGRESSIVE),
             Row("add-4", "ADD-style", 4, {}, ADD)]
          + [Row(f"lcm-{k}", "LCM", k, {"steps": k}, LCM) for k in (1, 2, 3)]
          + [Row(f"flash-{k}", "Imagine Flash", k, {}, FLASH[k], main=True) for k in (1, 2, 3)])

TABLE3 = [Row(run, system, 3, {}, _flash(run, 3, *switches)) for run, system, switches in (
    ("flash-3-no-nc", "w/o noise correction", ("noise_correction=false",)),
    ("flash-3-no-disc", "w/o discriminator", ("adversarial_weight=0",)),
    # forward distillation has no x_T of the student's own to re-noise with
    ("flash-3-no-backward", "w/o backward distillation", ("backward=false", "srl_noise=fresh")),
    ("flash-3-no-srl", "w/o SRL", ("srl=false",)))]

# noise correction is also a sampler option: the same flash-3 weights sampled without it
SAMPLING_ABLATIONS = [Row("flash-3-sampled-no-nc", "sampled w/o noise correction", 3, {"noise_correction": False},
                          FLASH[3])]

# beyond the paper: the same SRL switch on the 1- and 2-step students, and the paper's γ (shift 1) against the
# resolution-aware one at every step count
FEW_STEP_ABLATIONS = [Row(f"flash-{k}-no-srl", "w/o SRL (Eq. 7 target)", k, {}, _flash(f"flash-{k}-no-srl", k, "srl=false"))
                      for k in (1, 2)]
GAMMA_ROWS = [Row(f"flash-{k}-paper-gamma", "the paper's γ (shift 1)", k, {},
                  _flash(f"flash-{k}-paper-gamma", k, "gamma_shift=1.0")) for k in (1, 2, 3)]

# the app's students (models/shapescenes, `make bundle`), trained longer than the budget, in stages (STUDENTS.md)
SHIPPED = [Row(f"shipped-flash-{k}", "Imagine Flash as shipped", k, unet=f"checkpoints/students/{folder}/unet",
               main=True) for k, folder in ((1, "flash-1-dmd-ttur"), (2, "flash-2-dmd"), (3, "flash-23-mix"))]

TRAINED = TABLE1[len(TEACHER_ROWS):] + TABLE3 + FEW_STEP_ABLATIONS + GAMMA_ROWS


def _at_equal_steps(row: Row) -> Row:
    if row.training == PROGRESSIVE:
        return Row(f"{row.name}-steps{EQUAL_STEPS}", row.system, row.steps, row.recipe, PROGRESSIVE_STEPS)
    return Row(f"{row.name}-steps{EQUAL_STEPS}", row.system, row.steps, row.recipe, row.training,
               snapshot=EQUAL_STEPS)


EQUAL_STEP_ROWS = [_at_equal_steps(r) for r in TRAINED]

ROWS = TABLE1 + TABLE3 + SAMPLING_ABLATIONS + FEW_STEP_ABLATIONS + GAMMA_ROWS + SHIPPED + EQUAL_STEP_ROWS


def unet_folder(row: Row, runs: str) -> str | None:
    """The row's student folder: a committed one, its run's snapshot or last student; None for the teacher."""
    if row.unet:
        return os.path.join(REPO_ROOT, row.unet)
    if row.training is None:
        return None
    run_dir = os.path.join(runs, row.training.run)
    return os.path.join(snapshot_dir(run_dir, row.snapshot) if row.snapshot else run_dir, "unet")


# the paper's own figures (Emu; FID on COCO, CLIP score) for the rows that have a counterpart
PAPER_TABLE1 = {"teacher-dpm25": (35.7, 30.8), "progressive-4": (45.8, 30.2), "add-4": (39.1, 29.6),
                "lcm-1": (123.3, 24.0), "lcm-2": (67.4, 28.44), "lcm-3": (59.1, 28.94),
                "flash-1": (40.4, 29.0), "flash-2": (34.7, 30.1), "flash-3": (35.5, 30.2)}

PAPER_TABLE3 = {"teacher-dpm25": (35.7, 30.8), "teacher-dpm3": (66.5, 25.6), "flash-3": (35.5, 30.2),
                "flash-3-no-nc": (35.5, 30.0), "flash-3-no-disc": (39.0, 29.0),
                "flash-3-no-backward": (44.2, 28.2), "flash-3-no-srl": (45.9, 25.7)}


CLASSES = {"flash": FlashConfig, **CONFIGS}  # by method: the training command's last word
# UNet passes (runs.compute) of a method's first n steps under a config
PASSES = {"flash": flash_passes, "progressive": progressive_passes,
          "lcm": lambda cfg, n: n * lcm_step_passes(cfg), "add": lambda cfg, n: n * add_step_passes(cfg)}


def training_state(run_dir: str) -> tuple[int, int] | None:
    """(step, max_steps) of a run folder's checkpoint (or run record), or None when it has neither."""
    record = read_run_record(run_dir)
    return None if record is None else (record["step"], _total_steps(record["config"]))


def _total_steps(config: dict) -> int:
    if "max_steps" in config:
        return config["max_steps"]
    rounds = int(np.log2(config["start_steps"] // config["target_steps"]))  # progressive distillation
    return rounds * config["steps_per_round"]


def training_spent(run_dir: str) -> dict | None:
    """What a run folder's training has spent: steps, UNet passes (estimated from the steps for a run from before
    runs counted them) and wall minutes over all its chunks; None when it has no checkpoint or record."""
    record = read_run_record(run_dir)
    if record is None:
        return None
    method = record["kind"].removeprefix("baseline-")
    passes = resumed_passes(record, record["step"],
                            lambda steps: PASSES[method](from_dict(CLASSES[method], record["config"]), steps))
    minutes = chunked_minutes(record["history"]) if record.get("history") else record.get("minutes")
    return {"step": record["step"], "unet_passes": passes, "minutes": minutes}


def _config(training: Training, overrides: list[str]):
    return load_config(CLASSES[training.command[-1]], None, [*training.overrides, *overrides])


def budget_overrides(training: Training, args) -> list[str]:
    """The overrides that give a training run the pass budget args.budget_passes (0 or absent: none): the budget,
    and the length it buys, so that a learning-rate schedule spans the run (max_steps at the method's mean step
    cost, or progressive distillation's round length)."""
    budget = getattr(args, "budget_passes", 0)
    if not budget or not training.budget:
        return []
    cfg = _config(training, args.set)
    if isinstance(cfg, ProgressiveConfig):
        return [f"max_unet_passes={budget}", f"steps_per_round={steps_per_round_for(cfg, budget)}"]
    return [f"max_unet_passes={budget}",
            f"max_steps={math.ceil(budget / PASSES[training.command[-1]](cfg, 1))}"]


def planned_steps(training: Training, args) -> int:
    """The step count the training command would run to now: today's defaults plus the overrides and the pass
    budget's (max_steps is operational, so raising a default extends finished runs)."""
    return _total_steps(vars(_config(training, [*args.set, *budget_overrides(training, args)])))


# the equal-compute budget (runs.compute, which export reads too): what EQUAL_STEPS steps of FLASH[3] cost
DEFAULT_BUDGET = EQUAL_COMPUTE_PASSES
