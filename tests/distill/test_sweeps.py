"""Each baseline's tuning sweep: the lr at ½×, 1×, 2× and two other values of its own knob, each point one lever away
from the default and SWEEP_STEPS long; the report marks the best measured point and the one the tables train."""
import pytest

from distill.evaluation.experiments import _config, _total_steps
from distill.evaluation.sweeps import SWEEP_STEPS, SWEEPS, points, sweep_table
from distill.runs.checkpoint import write_run_record


@pytest.mark.parametrize("method", sorted(SWEEPS))
def test_every_point_is_one_lever_from_the_default_and_sweep_long(method):
    sweep = SWEEPS[method]
    lr0, knob0 = sweep.default()
    found = points(sweep)
    assert len({t.run for _, _, t in found}) == 5 and (lr0, knob0) in [(lr, v) for lr, v, _ in found]
    for lr, value, training in found:
        assert (lr != lr0) + (value != knob0) <= 1
        cfg = _config(training, [])
        assert (cfg.learning_rate, getattr(cfg, sweep.knob)) == pytest.approx((lr, value))
        assert SWEEP_STEPS - 3 <= _total_steps(vars(cfg)) <= SWEEP_STEPS and not training.budget
        assert cfg.eval_every <= _total_steps(vars(cfg)) and _total_steps(vars(cfg)) % cfg.eval_every == 0


def test_the_table_marks_the_best_measured_point_and_the_tables_setting(tmp_path):
    lr_points = points(SWEEPS["lcm"])
    for i, (_, _, training) in enumerate(lr_points[:3]):  # the lr points; the knob points are not run
        folder = tmp_path / training.run
        folder.mkdir()
        history = [{"step": SWEEP_STEPS, "all": 0.3 + 0.1 * (i == 2)}]
        write_run_record(str(folder), {"kind": "baseline-lcm", "config": {}, "step": SWEEP_STEPS, "history": history})
    lines = [line for line in sweep_table(str(tmp_path)) if line.startswith("| lcm")]
    assert len(lines) == 5
    assert "40.0 | ★" in lines[2] and "✓ tables" in lines[1] and "★" not in lines[1]
    assert lines[3].count("not run") == 1
