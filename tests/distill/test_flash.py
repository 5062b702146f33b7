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


def test_a_run_trained_elsewhere_is_read_from_its_record_and_never_restarted(teacher_dir, tmp_path):
    """A student trained on another machine comes back as unet/ + record.json (no optimizer state): export and
    reproduce read its step and config from the record; training into that folder is refused, not started over."""
    from distill.checkpoint import RUN_RECORD, read_run_record
    from distill.export import distillation_record
    from distill.reproduce import training_state
    run(teacher_dir, tmp_path, "max_steps=2")
    ckpt = read_run_record(str(tmp_path))
    (tmp_path / RUN_RECORD).write_text(json.dumps({"kind": ckpt["kind"], "config": ckpt["config"], "step": 2,
                                                   "trained_on": "elsewhere"}))
    (tmp_path / "ckpt.pt").unlink()
    weights = (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()
    assert training_state(str(tmp_path)) == (2, 2)
    record = distillation_record(str(tmp_path / "unet"))["distillation"]
    assert (record["step"], record["method"], record["trained_on"]) == (2, "flash", "elsewhere")
    with pytest.raises(ValueError, match="trained elsewhere"):
        run(teacher_dir, tmp_path, "max_steps=4")
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == weights
    (tmp_path / RUN_RECORD).write_text(json.dumps({"step": 2}))
    with pytest.raises(ValueError, match="not a run record"):
        training_state(str(tmp_path))
