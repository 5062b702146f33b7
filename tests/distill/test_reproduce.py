"""`distill reproduce` on a tiny random teacher: trains a student in its own process, evaluates rows (cached),
and writes the report with the tables, the plot and the grids."""

import argparse
import json
import os
import shutil

import pytest

from distill.distillation.flash import FlashConfig, flash_passes
from distill.evaluation import reproduce
from distill.evaluation.experiments import (ADD, CATEGORIES, DEFAULT_BUDGET, EQUAL_STEP_ROWS, EQUAL_STEPS, FLASH, LCM,
                                            PAPER_TABLE3, PROGRESSIVE, PROGRESSIVE_STEPS, ROWS, SAMPLING_ABLATIONS,
                                            TRAINED, budget_overrides, planned_steps, training_state, unet_folder)
from distill.evaluation.report import few_step_table
from distill.evaluation.reproduce import finished, row_recipe
from distill.evaluation.sweeps import SWEEPS, points
from distill.export.export import SHIPPED_STUDENTS
from distill.runs.config import load_config


def _args(teacher_dir, tmp_path, root, *extra):
    rows = [json.loads(line) for line in open(os.path.join(root, "eval", "dev_prompts.jsonl"))]
    picked = [next(r for r in rows if r["category"] == c) for c in CATEGORIES]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in picked))
    return reproduce.parse_args(["--teacher", str(teacher_dir), "--runs", str(tmp_path / "runs"),
                                 "--prompts", str(prompts), "--fd-images", "8", "--eval-dir", str(tmp_path / "eval"),
                                 "--report", str(tmp_path / "report" / "RESULTS.md"), *extra])


def test_rows_cover_both_tables_with_unique_names():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names))
    assert {"teacher-dpm25", "teacher-ddim3", "teacher-dpm3", "progressive-4", "add-4", "lcm-1", "flash-3",
            "flash-3-no-srl", "flash-3-no-backward", "flash-3-no-disc", "flash-3-no-nc"} <= set(names)
    assert set(PAPER_TABLE3) <= set(names)


def test_few_step_rows_differ_from_their_students_in_one_switch_each():
    for k in (1, 2, 3):
        student = next(r for r in ROWS if r.name == f"flash-{k}")
        for name, switch in ((f"flash-{k}-no-srl", "srl=false"), (f"flash-{k}-paper-gamma", "gamma_shift=1.0")):
            row = next((r for r in ROWS if r.name == name), None)
            if row is None:  # the 3-step student without SRL is Table 3's row
                continue
            assert row.steps == k and row.training.command == student.training.command
            assert row.training.overrides == (*student.training.overrides, switch)
    assert "gamma_shift=8.0" in FLASH[3].overrides
    r = {"fd": 3.5, "clip_score": 70.0, "accuracy": {"all": 0.25}, "accuracy_std_over_seeds": {"all": 0.01}}
    lines = few_step_table({"flash-1": r})
    assert sum("not run" in line for line in lines) == 7
    assert any("| 1 | 3.50 | 70.00 | 25.0 ± 1.0 |" in line for line in lines)


def test_every_trained_row_has_an_equal_steps_twin_from_a_snapshot_or_a_run_of_that_length():
    twins = {r.name: r for r in EQUAL_STEP_ROWS}
    for row in TRAINED:
        twin = twins[f"{row.name}-steps{EQUAL_STEPS}"]
        if row.training == PROGRESSIVE:
            assert twin.training == PROGRESSIVE_STEPS and twin.snapshot is None
            assert planned_steps(PROGRESSIVE_STEPS, argparse.Namespace(set=[], budget_passes=DEFAULT_BUDGET)) == 498
        else:
            assert twin.training == row.training and twin.snapshot == EQUAL_STEPS
            assert f"snapshot_steps=[{EQUAL_STEPS}]" in row.training.overrides
    # the default budget is what the 3-step student's EQUAL_STEPS steps cost, so it trains exactly that long
    assert DEFAULT_BUDGET == flash_passes(load_config(FlashConfig, None, list(FLASH[3].overrides)), EQUAL_STEPS)
    assert planned_steps(FLASH[3], argparse.Namespace(set=[], budget_passes=DEFAULT_BUDGET)) == EQUAL_STEPS
    assert unet_folder(twins["flash-3-steps500"], "/runs") == "/runs/flash-3/step-500/unet"
    shipped = next(r for r in ROWS if r.name == "shipped-flash-2")
    assert os.path.exists(os.path.join(unet_folder(shipped, "/runs"), "recipe.json"))


def test_shipped_students_are_trained_by_rows_that_report_three_seeds():
    for sid, run in SHIPPED_STUDENTS.items():
        (row,) = [r for r in ROWS if r.training and r.training.run == run and not r.recipe and not r.snapshot]
        assert row.main and row.training.command == ("flash",)  # an Imagine Flash student, with the spread
        assert sid == f"flash-{row.steps}" and f"student_steps={row.steps}" in row.training.overrides


def test_noise_correction_sampling_row_reuses_flash3_weights():
    (row,) = SAMPLING_ABLATIONS
    flash3 = next(r for r in ROWS if r.name == "flash-3")
    assert row.training == flash3.training  # no extra training run
    trained = {"sampler": "ddim", "timesteps": [999, 750, 500], "guidance_scale": 1.0, "noise_correction": True}
    assert row_recipe(flash3, trained)["noise_correction"] is True
    assert row_recipe(row, trained) == {**row_recipe(flash3, trained), "noise_correction": False}


def test_reproduce_trains_evaluates_caches_and_reports(teacher_dir, tmp_path, root, monkeypatch):
    # --budget-passes 0: each student its configured steps (the default budget would train the tiny one for hours)
    args = _args(teacher_dir, tmp_path, root, "--budget-passes", "0", "--only", "teacher-ddim1", "flash-1",
                 "--set", "max_steps=2", "batch_size=2", "pool_size=8", "eval_every=1000000")
    results = reproduce.main(args)
    (teacher_runs,) = (tmp_path / "runs").iterdir()  # one subfolder per teacher
    assert training_state(str(teacher_runs / "flash-1")) == (2, 2)
    # a raised max_steps (operational) makes a finished run unfinished again, so `make reproduce` extends it
    flash1 = FLASH[1]
    assert finished(flash1, argparse.Namespace(runs=str(teacher_runs), set=args.set))
    assert not finished(flash1, argparse.Namespace(runs=str(teacher_runs), set=["max_steps=3"]))
    assert results["flash-1"]["recipe"]["timesteps"] == [999] and results["flash-1"]["nfe"] == 1
    assert results["teacher-ddim1"]["nfe"] == 2  # CFG doubles the evaluations
    # 2 steps of 2 rows × (student 3 + the recipe's 4 CFG teacher steps × 2 + discriminator 5) UNet passes
    assert {k: results["flash-1"]["training"][k] for k in ("step", "unet_passes")} == {"step": 2, "unet_passes": 64}
    assert "training" not in results["teacher-ddim1"]
    # a pass budget is spent by those 64 passes, or (65) buys a third step
    assert finished(flash1, argparse.Namespace(runs=str(teacher_runs), set=args.set, budget_passes=64))
    assert not finished(flash1, argparse.Namespace(runs=str(teacher_runs), set=args.set, budget_passes=65))
    report = (tmp_path / "report" / "RESULTS.md").read_text()
    assert "Table 1 analogue" in report and "Table 3 analogue" in report and "Not yet run" in report
    assert "| Imagine Flash | 1 | 1 |" in report and "Training compute: every student trained its configured steps" in report
    (line,) = [line for line in report.splitlines() if line.startswith("| Imagine Flash | 1 | 1 |")]
    assert line.endswith(f"| 2 | 0.00 | {results['flash-1']['training']['minutes']:.0f} |")
    assert "![quality vs training compute](quality_vs_compute.png)" in report
    assert "## The paper's claims" in report and "- **Beats LCM at 1 step**: at equal compute not measured yet" in report
    assert "| lcm | 0.0001 | num_ddim_timesteps = 50 | not run | ✓ tables |" in report
    for png in ("quality_vs_nfe.png", "quality_vs_compute.png", "fig5.png"):
        assert (tmp_path / "report" / png).exists()

    # a second run trains nothing (finished) and evaluates nothing (same weights and recipe)
    def no_eval(*_, **__):
        raise AssertionError("re-evaluated a cached row")
    monkeypatch.setattr(reproduce, "evaluate", no_eval)
    monkeypatch.setattr(reproduce, "train", lambda *a: (_ for _ in ()).throw(AssertionError("retrained")))
    again = reproduce.main(args)
    assert again["flash-1"]["accuracy"] == results["flash-1"]["accuracy"]

    # on a machine without the run folder the committed evaluation still makes the row; a different teacher's does not
    shutil.rmtree(teacher_runs / "flash-1")
    elsewhere = reproduce.main(_args(teacher_dir, tmp_path, root, "--no-train", "--only", "flash-1"))
    assert elsewhere["flash-1"]["accuracy"] == results["flash-1"]["accuracy"]
    assert elsewhere["teacher-ddim1"]["accuracy"] == results["teacher-ddim1"]["accuracy"]
    stale = json.loads((tmp_path / "eval" / "flash-1.json").read_text())
    stale["cache_key"]["teacher"] = "another teacher"
    (tmp_path / "eval" / "flash-1.json").write_text(json.dumps(stale))
    assert reproduce.main(_args(teacher_dir, tmp_path, root, "--no-train", "--only", "flash-1"))["flash-1"] is None


def test_a_pass_budget_gives_every_method_the_steps_it_buys():
    budget = argparse.Namespace(set=[], budget_passes=2_400_000)
    # per step at batch 32: flash-1 16 × 32 (student 3, 4 CFG teacher steps 8, discriminator 5), flash-3 16 × 32 + 31
    # (its split batch's 11 / 11 / 10 rows take 0 / 1 / 2 trajectory steps), LCM 6 × 32, ADD 10 × 32; progressive's
    # three rounds 32 × (7 + 5 + 5) per step of each
    for training, steps in ((FLASH[1], 4688), (FLASH[3], 4420), (LCM, 12500), (ADD, 7500)):
        assert budget_overrides(training, budget) == ["max_unet_passes=2400000", f"max_steps={steps}"]
        assert planned_steps(training, budget) == steps
    assert budget_overrides(PROGRESSIVE, budget) == ["max_unet_passes=2400000", "steps_per_round=4411"]
    assert planned_steps(PROGRESSIVE, budget) == 3 * 4411
    assert budget_overrides(FLASH[1], argparse.Namespace(set=[])) == []  # no budget: the configured steps
    assert reproduce.parse_args(["--teacher", "t", "--runs", "r", "--budget-passes", "2.4e6"]).budget_passes == 2_400_000


def test_train_only_trains_the_sweeps_then_the_rows_and_writes_nothing_else(teacher_dir, tmp_path, root, monkeypatch):
    trained = []
    monkeypatch.setattr(reproduce, "train", lambda training, args: trained.append(training.run))
    monkeypatch.setattr(reproduce, "evaluate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("evaluated")))
    args = _args(teacher_dir, tmp_path, root, "--train-only", "--sweep", "add", "--only", "lcm-2", "add-4")
    assert reproduce.main(args) == {}
    assert trained == [t.run for _, _, t in points(SWEEPS["add"])] + ["add-4", "lcm"]
    assert not (tmp_path / "report" / "RESULTS.md").exists()


def test_unknown_row_is_an_error(teacher_dir, tmp_path, root):
    with pytest.raises(ValueError, match="unknown row"):
        reproduce.main(_args(teacher_dir, tmp_path, root, "--only", "flash-9", "--no-train"))
    with pytest.raises(ValueError, match="model_index.json"):
        reproduce.main(_args(tmp_path, tmp_path, root, "--no-train"))
