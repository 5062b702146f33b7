"""Imagine Flash distillation on a tiny random SD pipeline: every switch runs, the student learns, runs resume."""
import json

import numpy as np
import pytest
from diffusers import UNet2DConditionModel

from distill import flash
from distill.fixtures import tiny_random_pipeline


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "sd"
    tiny_random_pipeline().save_pretrained(path)
    return path


def run(teacher_dir, run_dir, *overrides):
    args = flash.parse_args(["--teacher", str(teacher_dir), "--run-dir", str(run_dir), "--eval-prompts", "/nonexistent",
                             "--set", "batch_size=4", "pool_size=16", "log_every=1", "eval_every=1000000",
                             *overrides])
    return flash.main(args)


def test_gamma_shift():
    gamma = flash.FlashConfig().gamma
    assert [flash.shifted_timestep(t, gamma) for t in (999, 901, 900, 750, 501, 500, 200)] == [990, 990, 950, 950, 950, 200, 200]


@pytest.mark.parametrize("switches", [
    ["backward=true", "srl=true", "adversarial_weight=0.1"],
    ["backward=false", "srl=true", "adversarial_weight=0.1"],
    ["backward=true", "srl=false", "adversarial_weight=0"],
    ["backward=true", "noise_correction=false", "student_steps=2"],
    ["mixed_precision=bf16"],
])
def test_every_switch_trains_and_saves_a_student(teacher_dir, tmp_path, switches):
    out = run(teacher_dir, tmp_path, "max_steps=3", *switches)
    assert out["step"] == 3
    student = UNet2DConditionModel.from_pretrained(tmp_path / "unet")
    teacher = UNet2DConditionModel.from_pretrained(teacher_dir / "unet")
    moved = max((a - b).abs().max().item() for a, b in zip(student.parameters(), teacher.parameters()))
    assert moved > 0
    recipe = json.loads((tmp_path / "unet" / "recipe.json").read_text())
    assert recipe["sampler"] == "ddim" and recipe["timesteps"][0] == 999
    assert all(np.isfinite(h["loss"]) for h in out["history"])


def test_student_learns_the_teacher_target(teacher_dir, tmp_path):
    # 1 step from x_T with the Eq. 7 target: the teacher's 8-step x̂0 of the same noise, a fixed function to learn
    out = run(teacher_dir, tmp_path, "max_steps=40", "student_steps=1", "srl=false", "adversarial_weight=0",
              "learning_rate=0.001", "teacher_steps=4")
    losses = [h["loss"] for h in out["history"] if "loss" in h]
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8])


def test_resumes(teacher_dir, tmp_path):
    run(teacher_dir, tmp_path, "max_steps=2")
    out = run(teacher_dir, tmp_path, "max_steps=4")
    assert out["step"] == 4 and [h["step"] for h in out["history"]] == [1, 2, 3, 4]
