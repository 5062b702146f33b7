"""Imagine Flash distillation on a tiny random SD pipeline: every switch runs, the student learns, runs resume."""

import json

import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel

from distill.distillation import flash
from distill.runs.config import load_config


def run(teacher_dir, run_dir, *overrides):
    args = flash.parse_args(["--teacher", str(teacher_dir), "--run-dir", str(run_dir), "--eval-prompts", "/nonexistent",
                             "--set", "batch_size=4", "pool_size=16", "log_every=1", "eval_every=1000000",
                             *overrides])
    return flash.main(args)


def test_balanced_batch_puts_every_timestep_in_every_batch():
    cfg = flash.FlashConfig(student_steps=3, step_counts=(1, 2))
    trajectories = cfg.trajectories()
    assert trajectories == [(999,), (999, 750), (999, 750, 500), (999, 666)]
    groups = flash.batch_groups(trajectories, 10, "split", np.random.default_rng(0))
    assert [ts for ts, _ in groups] == trajectories and [n for _, n in groups] == [3, 3, 2, 2]
    shared = flash.batch_groups(trajectories, 32, "split", None, (3, 1, 1, 1))
    assert [n for _, n in shared] == [15, 6, 6, 5]  # one row each, then 28 rows as 14 : 4.67 : 4.67 : 4.67
    assert [n for _, n in flash.batch_groups(trajectories, 4, "split", None, (100, 1, 1, 1))] == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="one share > 0 per trajectory"):
        flash.FlashConfig(step_counts=(1, 2), timestep_balance="split", timestep_shares=(1, 1))
    rng = np.random.default_rng(0)
    drawn = {flash.batch_groups(trajectories, 10, "single", rng)[0] for _ in range(200)}
    assert drawn == {(ts, 10) for ts in trajectories}
    with pytest.raises(ValueError, match="cannot split"):
        flash.batch_groups(trajectories, 3, "split", rng)
    with pytest.raises(ValueError, match="timestep_balance"):
        flash.FlashConfig(timestep_balance="every")


def test_ema_update_follows_diffusers_ema_and_is_what_is_saved(teacher_dir, tmp_path):
    import torch
    from diffusers.training_utils import EMAModel
    p = torch.nn.Parameter(torch.zeros(3))
    ema = EMAModel([p], decay=0.5)
    for value in (1.0, 2.0, 3.0):
        p.data.fill_(value)
        ema.step([p])
    # decay per update min(0.5, (1 + s) / (10 + s)) with s = update − 1: 0 (a copy), then 2/11, then 3/12
    expected = 1.0
    expected = 2 / 11 * expected + 9 / 11 * 2.0
    expected = 3 / 12 * expected + 9 / 12 * 3.0
    assert torch.allclose(ema.shadow_params[0], torch.full((3,), expected))
    run(teacher_dir, tmp_path, "max_steps=3", "ema_decay=0.9", "adversarial_weight=0")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    saved = UNet2DConditionModel.from_pretrained(tmp_path / "unet")
    for name, shadow in zip(dict(saved.named_parameters()), ckpt["ema"]["shadow_params"]):
        assert torch.equal(dict(saved.named_parameters())[name], shadow)
    raw = ckpt["student"]
    assert any(not torch.equal(raw[n], v) for n, v in saved.state_dict().items())  # the EMA, not the raw weights


def test_one_student_for_several_step_counts_saves_one_folder_per_count(teacher_dir, tmp_path):
    out = run(teacher_dir, tmp_path, "max_steps=2", "student_steps=3", "step_counts=[1,2]",
              "timestep_balance=split", "gamma_shift=8", "adversarial_weight=0", "teacher_steps=2")
    assert out["step"] == 2
    for folder, ts in (("unet", [999, 750, 500]), ("unet-1step", [999]), ("unet-2step", [999, 666])):
        assert json.loads((tmp_path / folder / "recipe.json").read_text())["timesteps"] == ts
    assert set(out["history"][-1]["loss_by_t"]) == {"999", "750", "500", "666"}


@pytest.mark.parametrize("switches", [
    ["backward=true", "srl=true", "adversarial_weight=0.1"],
    ["backward=false", "srl=true", "adversarial_weight=0.1"],
    ["backward=true", "srl=false", "adversarial_weight=0"],
    ["backward=true", "noise_correction=false", "student_steps=2"],
    ["mixed_precision=bf16"],
    ["mixed_precision=auto", "ema_decay=0.99", "lr_schedule=linear", "gamma_shift=8", "gamma_shift_above=500"],
    ["srl_noise=x_T", "student_steps=2", "timestep_balance=split"],
    ["srl_noise=mix", "student_steps=1"],
    ["reconstruction_loss=pseudo_huber", "student_steps=1"],
    ["disc_levels=all", "student_steps=1"],
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


def test_resume_of_an_ema_run_continues_bit_for_bit(teacher_dir, tmp_path):
    import torch
    recipe = ["ema_decay=0.9", "lr_schedule=cosine", "lr_schedule_steps=4", "warmup_steps=1", "timestep_balance=split", "gamma_shift=4",
              "teacher_steps=2"]
    straight = run(teacher_dir, tmp_path / "a", "max_steps=4", *recipe)
    run(teacher_dir, tmp_path / "b", "max_steps=2", *recipe)
    resumed = run(teacher_dir, tmp_path / "b", "max_steps=4", *recipe)
    assert [h["loss"] for h in straight["history"]] == [h["loss"] for h in resumed["history"]]
    a, b = (torch.load(tmp_path / d / "ckpt.pt", weights_only=False) for d in ("a", "b"))
    for key in ("student", "discriminator"):
        assert all(torch.equal(a[key][n], b[key][n]) for n in a[key])
    assert all(torch.equal(x, y) for x, y in zip(a["ema"]["shadow_params"], b["ema"]["shadow_params"]))


def test_a_new_field_at_its_default_keeps_an_older_run_resumable(teacher_dir, tmp_path):
    import torch
    from distill.runs.checkpoint import save_atomic
    run(teacher_dir, tmp_path, "max_steps=1")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    for key in ("ema_decay", "gamma_shift", "timestep_balance", "max_unet_passes"):
        del ckpt["config"][key]
    del ckpt["unet_passes"]  # a run from before runs counted their passes
    save_atomic(ckpt, str(tmp_path / "ckpt.pt"))
    out = run(teacher_dir, tmp_path, "max_steps=2")
    assert out["step"] == 2
    # its first step is estimated at the mean over the 3 trajectories: 4 rows × 24 + 4 × (0 + 1 + 2) / 3 = 100
    assert out["unet_passes"] - 100 in (96, 100, 104)
    with pytest.raises(ValueError, match="another config"):
        run(teacher_dir, tmp_path, "max_steps=3", "ema_decay=0.9")


def test_step_passes_of_the_shipped_config_are_the_hand_counted_ones(root):
    cfg = load_config(flash.FlashConfig, f"{root}/distill/configs/flash_any_step_phase3.json")
    groups = flash.batch_groups(cfg.trajectories(), cfg.batch_size, "split", None, cfg.timestep_shares)
    assert groups == [((999,), 15), ((999, 750), 6), ((999, 750, 500), 6), ((999, 666), 5)]
    # per row: student 1 + its backward 2, 4 CFG teacher steps × 2, discriminator encoder 3 + 2; 0/1/2/1 trajectory
    # steps for the 15/6/6/5 rows of the four trajectories
    assert flash.step_passes(cfg, groups) == 32 * (3 + 4 * 2 + 5) + (6 * 1 + 6 * 2 + 5 * 1) == 535
    assert flash.flash_passes(cfg, 1000) == 535_000
    plain = flash.FlashConfig(adversarial_weight=0, backward=False, guidance_scale=1.0)  # student, k teacher steps
    assert flash.step_passes(plain, [((999, 750, 500), 32)]) == 32 * (3 + 8)
    assert flash.flash_passes(flash.FlashConfig(), 3) == 3 * 32 * (3 + 8 * 2 + 5 + 1)  # single: mean of 0, 1, 2


def test_a_pass_budget_stops_the_run_and_a_resume_may_raise_it(teacher_dir, tmp_path):
    # 4 rows split 2/1/1 over the trajectories of 0, 1 and 2 student steps: 4 × (3 + 2 × 2 + 5) + 3 = 51 per step
    recipe = ["timestep_balance=split", "teacher_steps=2", "max_steps=10"]
    out = run(teacher_dir, tmp_path, *recipe, "max_unet_passes=120")
    assert out["step"] == 3 and out["unet_passes"] == 153  # the step that reaches the budget is the last
    assert [h["unet_passes"] for h in out["history"]] == [51, 102, 153]
    assert torch.load(tmp_path / "ckpt.pt", weights_only=False)["unet_passes"] == 153
    assert run(teacher_dir, tmp_path, *recipe, "max_unet_passes=120")["step"] == 3  # spent: nothing to do
    assert run(teacher_dir, tmp_path, *recipe, "max_unet_passes=200")["unet_passes"] == 204  # operational


def test_resumes(teacher_dir, tmp_path):
    run(teacher_dir, tmp_path, "max_steps=2")
    out = run(teacher_dir, tmp_path, "max_steps=4")
    assert out["step"] == 4 and [h["step"] for h in out["history"]] == [1, 2, 3, 4]


def test_a_run_trained_elsewhere_is_read_from_its_record_and_never_restarted(teacher_dir, tmp_path):
    """A student trained on another machine comes back as unet/ + record.json (no optimizer state): export and
    reproduce read its step and config from the record; training into that folder is refused, not started over."""
    from distill.runs.checkpoint import RUN_RECORD, read_run_record
    from distill.export.export import distillation_record
    from distill.evaluation.experiments import training_spent, training_state
    from distill.runs.weights import pack_student
    out = run(teacher_dir, tmp_path, "max_steps=2")
    ckpt = read_run_record(str(tmp_path))
    assert pack_student(str(tmp_path), ckpt, str(tmp_path / "packed"))["unet_passes"] == out["unet_passes"]
    (tmp_path / RUN_RECORD).write_text(json.dumps({"kind": ckpt["kind"], "config": ckpt["config"], "step": 2,
                                                   "trained_on": "elsewhere"}))
    (tmp_path / "ckpt.pt").unlink()
    weights = (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()
    assert training_state(str(tmp_path)) == (2, 2)
    # a record from before runs counted: 2 steps at the mean over 3 trajectories, 4 × 24 + 4 × 1 passes each
    assert training_spent(str(tmp_path)) == {"step": 2, "unet_passes": 200, "minutes": None}
    record = distillation_record(str(tmp_path / "unet"))["distillation"]
    assert (record["step"], record["method"], record["trained_on"]) == (2, "flash", "elsewhere")
    with pytest.raises(ValueError, match="trained elsewhere"):
        run(teacher_dir, tmp_path, "max_steps=4")
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == weights
    (tmp_path / RUN_RECORD).write_text(json.dumps({"step": 2}))
    with pytest.raises(ValueError, match="not a run record"):
        training_state(str(tmp_path))


def _guide(teacher_dir, folder, timesteps):
    """The tiny teacher saved as a guidance-free few-step 'student' guide."""
    UNet2DConditionModel.from_pretrained(teacher_dir / "unet").save_pretrained(folder)
    (folder / "recipe.json").write_text(json.dumps({"sampler": "ddim", "timesteps": timesteps, "guidance_scale": 1.0,
                                                    "noise_correction": True}))
    return folder


def test_student_learns_the_guide_students_sample_of_its_own_x_T(teacher_dir, tmp_path):
    guide = _guide(teacher_dir, tmp_path / "guide", [999, 750, 500])
    out = run(teacher_dir, tmp_path / "run", "max_steps=40", "student_steps=1", "adversarial_weight=0",
              "learning_rate=0.001", f"guide_unet={guide}", "guide_share=1.0")
    losses = [h["loss"] for h in out["history"] if "loss" in h]
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8])
    # a guide row costs the guide's 3 passes instead of k = 8 CFG teacher steps (16)
    assert out["unet_passes"] == 40 * 4 * (flash.WITH_GRAD + 3)


def test_guide_rows_are_the_last_share_of_each_trajectory_and_half_a_batch_mixes_with_srl(teacher_dir, tmp_path):
    guide = _guide(teacher_dir, tmp_path / "guide", [999, 500])
    cfg = flash.FlashConfig(student_steps=1, guide_unet=str(guide), guide_share=0.5, adversarial_weight=0,
                            teacher_steps=4)
    assert [flash.guide_rows(cfg, n) for n in (1, 4, 5)] == [0, 2, 2]
    assert flash.step_passes(cfg, [((999,), 4)], 2) == 4 * flash.WITH_GRAD + 2 * 4 * 2 + 2 * 2
    assert flash.flash_passes(cfg, 1) == flash.step_passes(cfg, [((999,), cfg.batch_size)], 2) * 1.0
    out = run(teacher_dir, tmp_path / "run", "max_steps=2", "student_steps=2", "timestep_balance=split",
              "srl_noise=mix", f"guide_unet={guide}", "guide_share=0.5")
    assert out["step"] == 2 and all(np.isfinite(h["loss"]) for h in out["history"])
    with pytest.raises(ValueError, match="guide_share"):
        flash.FlashConfig(guide_unet=str(guide), guide_share=0.0)
    (guide / "recipe.json").write_text(json.dumps({"sampler": "ddim", "timesteps": [999], "guidance_scale": 4.0}))
    with pytest.raises(ValueError, match="guide_unet needs a guidance-free"):
        flash.flash_passes(cfg, 1)


def test_the_multi_level_discriminator_sees_every_encoder_resolution(teacher_dir):
    from distill.distillation.common import MultiLevelDiscriminator, make_discriminator, unet_encoder_features
    teacher = UNet2DConditionModel.from_pretrained(teacher_dir / "unet")
    shape = (teacher.config.in_channels, teacher.config.sample_size, teacher.config.sample_size)
    x, t = torch.randn(2, *shape), torch.tensor([10.0, 500.0])
    cond = torch.randn(2, 77, teacher.config.cross_attention_dim)
    levels = unet_encoder_features(teacher, x, t, cond, "all")
    mid = unet_encoder_features(teacher, x, t, cond, "mid")
    sizes = [f.shape[-1] for f in levels]
    assert sizes[0] == shape[-1] and sizes == sorted(sizes, reverse=True) and len(levels) == len(teacher.down_blocks)
    assert torch.equal(levels[-1], mid)
    disc = make_discriminator(teacher, teacher.config.cross_attention_dim, "all")
    assert isinstance(disc, MultiLevelDiscriminator) and disc(levels).shape == (2,)
    with pytest.raises(ValueError, match="levels"):
        unet_encoder_features(teacher, x, t, cond, "top")


def test_continue_from_carries_the_whole_state_into_a_new_recipe(teacher_dir, tmp_path):
    """A new run from another's ckpt.pt starts from its student, discriminator, Adam moments and EMA (no fresh
    warm-up), under its own lr: at lr 0 one step leaves the carried student as it was, and Adam counts on."""
    recipe = ["ema_decay=0.9", "teacher_steps=2"]
    run(teacher_dir, tmp_path / "a", "max_steps=2", *recipe)
    a = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=False)
    out = flash.main(flash.parse_args([
        "--teacher", str(teacher_dir), "--run-dir", str(tmp_path / "b"), "--continue-from", str(tmp_path / "a"),
        "--eval-prompts", "/nonexistent", "--set", "batch_size=4", "pool_size=16", "eval_every=1000000",
        "max_steps=1", "learning_rate=0", "disc_learning_rate=0", "lr_schedule=constant", "warmup_steps=0", *recipe]))
    b = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert out["step"] == 1 and b["init_student"] == str(tmp_path / "a")
    for key in ("student", "discriminator"):
        assert all(torch.equal(a[key][n], b[key][n]) for n in a[key])
    assert {int(s["step"]) for s in b["optimizer"]["state"].values()} == {3}
    assert b["ema"]["optimization_step"] == a["ema"]["optimization_step"] + 1
    with pytest.raises(ValueError, match="both give the starting student"):
        flash.main(flash.parse_args(["--teacher", str(teacher_dir), "--run-dir", str(tmp_path / "c"),
                                     "--continue-from", str(tmp_path / "a"), "--init-student", str(tmp_path / "a/unet")]))
    with pytest.raises(RuntimeError, match="state_dict"):  # a discriminator of another shape is not silently fresh
        run(teacher_dir, tmp_path / "d", "max_steps=1", "disc_levels=all", *recipe,
            "--continue-from", str(tmp_path / "a"))


def test_a_snapshot_holds_the_ema_student_of_that_step(teacher_dir, tmp_path):
    recipe = ["ema_decay=0.9", "teacher_steps=2", "student_steps=2"]
    run(teacher_dir, tmp_path / "short", "max_steps=1", *recipe)
    run(teacher_dir, tmp_path / "long", "max_steps=2", "snapshot_steps=[1]", *recipe)
    short, at_1 = (UNet2DConditionModel.from_pretrained(d / "unet") for d in (tmp_path / "short",
                                                                               tmp_path / "long" / "step-1"))
    assert all(torch.equal(a, b) for a, b in zip(short.state_dict().values(), at_1.state_dict().values()))
    record = json.loads((tmp_path / "long" / "step-1" / "record.json").read_text())
    assert (record["kind"], record["step"], record["config"]["max_steps"]) == ("flash", 1, 1)
    assert json.loads((tmp_path / "long" / "step-1" / "unet" / "recipe.json").read_text())["timesteps"] == [999, 666]
