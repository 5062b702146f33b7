"""The baselines' tuning sweeps: each baseline gets the sweep effort Imagine Flash's recipe got (short runs, one lever
at a time, judged by the periodic evaluation on 50 dev prompts a category; reports/students/STUDENTS.md): the
learning rate at ½×, 1× and 2× its default, and the method's own key knob at two other values. The tables' runs
(experiments) train the setting the report marks; the report shows every point, so a reader sees how it was chosen.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..runs.checkpoint import read_run_record
from .experiments import ADD, LCM, PROGRESSIVE, Training, _config

SWEEP_STEPS = 250  # the length of the students issue's sweeps


@dataclass(frozen=True)
class Sweep:
    method: str  # the baseline command's --method
    knob: str  # its own key setting (a config field)
    knob_values: tuple  # the two values tried beside the default
    table_run: Training  # the tables' run of this baseline (its config is the setting the tables use)
    why: str  # what the knob does, for the report
    judged: tuple[str, ...] = ()  # overrides of the periodic evaluation's recipe (LCM: at 2 steps, not its recipe's 4)

    def default(self) -> tuple[float, object]:
        cfg = _config(self.table_run, [])
        return cfg.learning_rate, getattr(cfg, self.knob)


SWEEPS = {
    "lcm": Sweep("lcm", "num_ddim_timesteps", (25, 100), LCM,
                 "the skipping-step grid: the solver's stride is 1000 / num_ddim_timesteps teacher steps; judged "
                 "at 2 steps, the middle of its rows", judged=("recipe_steps=2",)),
    "add": Sweep("add", "adversarial_weight", (0.025, 0.4), ADD,
                 "the adversarial loss's weight beside the distillation loss (ADD's λ = 2.5 is 0.4 here)"),
    "progressive": Sweep("progressive", "start_steps", (16, 64), PROGRESSIVE,
                         "the first round's teacher steps: how many halving rounds reach 4 steps"),
}


def _length(sweep: Sweep, knob_value) -> tuple[str, ...]:
    """Overrides that make a sweep point SWEEP_STEPS long with a periodic evaluation at its end. Progressive
    distillation splits them into equal rounds, evaluated at each round's end (the last: the 4-step student); its
    round count follows start_steps, the knob."""
    if sweep.method != "progressive":
        return (f"max_steps={SWEEP_STEPS}", f"eval_every={SWEEP_STEPS}")
    start = knob_value if sweep.knob == "start_steps" else _config(sweep.table_run, []).start_steps
    rounds = (start // _config(sweep.table_run, []).target_steps).bit_length() - 1
    return (f"steps_per_round={SWEEP_STEPS // rounds}", f"eval_every={SWEEP_STEPS // rounds}")


def points(sweep: Sweep) -> list[tuple[float, object, Training]]:
    """(lr, knob value, run) for every point: the lr at ½×, 1×, 2× with the default knob, then the other knob
    values at the default lr. The default setting is a point of its own (the tables' run is longer)."""
    lr0, knob0 = sweep.default()
    settings = [(lr0 * f, knob0) for f in (0.5, 1.0, 2.0)] + [(lr0, v) for v in sweep.knob_values]
    out = []
    for lr, value in settings:
        overrides = (*sweep.table_run.overrides, *_length(sweep, value), *sweep.judged, f"learning_rate={lr:g}",
                     f"{sweep.knob}={value}")
        out.append((lr, value, Training(f"sweep-{sweep.method}-lr{lr:g}-{sweep.knob}{value}",
                                        sweep.table_run.command, overrides, budget=False)))
    return out


def point_accuracy(run_dir: str) -> float | None:
    """The accuracy (all prompts) of a sweep run's last periodic evaluation, once the run has finished."""
    record = read_run_record(run_dir)
    if record is None:
        return None
    evals = [h for h in record.get("history", []) if "all" in h]
    return evals[-1]["all"] if evals and evals[-1]["step"] == record["step"] else None


def sweep_table(runs: str) -> list[str]:
    """Every baseline's sweep points with their accuracy; ★ the best measured, ✓ the setting the tables train."""
    lines = [f"| baseline | learning rate | key knob | accuracy (all, step {SWEEP_STEPS}) | |", "|---|---|---|---|---|"]
    for sweep in SWEEPS.values():
        lr0, knob0 = sweep.default()
        measured = [(lr, v, point_accuracy(os.path.join(runs, t.run))) for lr, v, t in points(sweep)]
        best = max((a for _, _, a in measured if a is not None), default=None)
        for lr, value, acc in measured:
            marks = ("★ " if acc is not None and acc == best else "") + ("✓ tables" if (lr, value) == (lr0, knob0) else "")
            lines.append(f"| {sweep.method} | {lr:g} | {sweep.knob} = {value} | "
                         f"{'not run' if acc is None else f'{100 * acc:.1f}'} | {marks.strip()} |")
    return lines


def sweep_notes() -> list[str]:
    return [f"- **{s.method}**: {s.knob}, {s.why}." for s in SWEEPS.values()]
