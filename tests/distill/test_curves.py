"""Learning curves come from the periodic evals a run logged, grouped by the step count evaluated."""

import json

import pytest

from distill.evaluation import curves
from distill.runs.checkpoint import save_atomic


def test_curves_group_a_runs_evals_by_step_count_and_plot(tmp_path):
    history = [{"step": 25, "loss": 0.1, "minutes": 1.0},
               {"step": 300, "student_steps": 3, "all": 0.5, "single": 0.8},
               {"step": 300, "student_steps": 1, "all": 0.2, "single": 0.4},
               {"step": 600, "student_steps": 3, "all": 0.6, "single": 0.9},
               {"step": 600, "loss": 0.05, "minutes": 30.0}]
    save_atomic({"kind": "flash", "config": {"student_steps": 3}, "step": 600, "history": history},
                str(tmp_path / "run" / "ckpt.pt"))
    out = curves.main(curves.parse_args(["--run", f"a={tmp_path / 'run'}", "--out", str(tmp_path / "c")]))
    assert out["a"]["curves"] == {3: [{"step": 300, "all": 0.5, "single": 0.8}, {"step": 600, "all": 0.6, "single": 0.9}],
                                  1: [{"step": 300, "all": 0.2, "single": 0.4}]}
    assert out["a"]["minutes"] == 30.0
    assert json.loads((tmp_path / "c.json").read_text())["a"]["step"] == 600
    assert (tmp_path / "c.png").stat().st_size > 1000
    shifted = curves.main(curves.parse_args(["--run", f"b={tmp_path / 'run'}", "--offset", "b=1000",
                                             "--out", str(tmp_path / "d")]))
    assert [p["step"] for p in shifted["b"]["curves"][3]] == [1300, 1600]
    with pytest.raises(ValueError, match="not given with --run"):
        curves.main(curves.parse_args(["--run", f"b={tmp_path / 'run'}", "--offset", "c=5", "--out", str(tmp_path / "e")]))
    with pytest.raises(ValueError, match="no checkpoint"):
        curves.run_curves(str(tmp_path / "missing"))


def test_compute_lines_put_each_runs_evals_at_the_passes_it_had_spent(tmp_path):
    flash = [{"step": 25, "loss": 0.1, "unet_passes": 100},
             {"step": 50, "student_steps": 3, "all": 0.5, "unet_passes": 200},
             {"step": 50, "student_steps": 1, "all": 0.2, "unet_passes": 200},
             {"step": 100, "student_steps": 3, "all": 0.6, "unet_passes": 400}]
    lcm = [{"step": 10, "all": 0.3},  # from before runs counted passes: left out
           {"step": 20, "all": 0.4, "unet_passes": 120}]
    for name, history in (("flash", flash), ("lcm", lcm)):
        save_atomic({"kind": name, "config": {}, "step": history[-1]["step"], "history": history},
                    str(tmp_path / name / "ckpt.pt"))
    lines = curves.compute_lines({"if": str(tmp_path / "flash"), "lcm": str(tmp_path / "lcm"),
                                  "never": str(tmp_path / "missing")})
    assert lines == {"if: 3 steps": [(200.0, 0.5), (400.0, 0.6)], "if: 1 step": [(200.0, 0.2)],
                     "lcm": [(120.0, 0.4)]}
    curves.plot_compute(lines, str(tmp_path / "c.png"), budget=300)
    assert (tmp_path / "c.png").stat().st_size > 1000
