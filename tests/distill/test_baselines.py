"""The Table 1 baselines on a tiny random SD pipeline: each trains, moves toward its target, saves a loadable student
with a recipe that samples, resumes where it stopped, and refuses another method's or config's checkpoint."""

import json

import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel
from tools.fixtures import tiny_random_pipeline

from distill import cli
from distill.distillation import baseline
from distill.distillation.add import ADDConfig, add_step_passes
from distill.distillation.lcm import LCMConfig, lcm_step_passes
from distill.distillation.progressive import (ProgressiveConfig, progressive_passes, progressive_step_passes,
                                              progressive_target, steps_per_round_for, uniform_timesteps)
from distill.networks.pipeline import decode_latents, encode_prompts, load_pipeline
from distill.runs.checkpoint import save_atomic
from distill.sampling.ddim import alpha_sigma, guided
from distill.sampling.lcm import consistency_fn, lcm_scheduler, sample_lcm_recipe
from distill.sampling.noise import gaussian_noise
from distill.sampling.recipes import sample_recipe


FAST = ["batch_size=4", "pool_size=16", "log_every=1", "eval_every=1000000"]


@pytest.fixture(scope="module")
def pipe(teacher_dir):
    return load_pipeline(str(teacher_dir))


def run(method, teacher_dir, run_dir, *overrides, max_minutes=None):
    argv = ["--method", method, "--teacher", str(teacher_dir), "--run-dir", str(run_dir),
            "--eval-prompts", "/nonexistent", "--set", *FAST, *overrides]
    if max_minutes is not None:
        argv += ["--max-minutes", str(max_minutes)]
    return baseline.main(baseline.parse_args(argv))


def losses(out):
    return [h["loss"] for h in out["history"] if "loss" in h]


def student_and_recipe(teacher_dir, run_dir):
    student = UNet2DConditionModel.from_pretrained(run_dir / "unet")
    teacher = UNet2DConditionModel.from_pretrained(teacher_dir / "unet")
    moved = max((a - b).abs().max().item() for a, b in zip(student.parameters(), teacher.parameters()))
    return student.eval(), json.loads((run_dir / "unet" / "recipe.json").read_text()), moved


def test_cli_knows_the_command():
    assert cli.COMMANDS["baseline"][0] == "distill.distillation.baseline"
    with pytest.raises(SystemExit):
        baseline.parse_args(["--method", "sdxl-turbo", "--teacher", "x", "--run-dir", "y"])


def test_uniform_timesteps_nest_for_halving():
    assert uniform_timesteps(4) == [999, 749, 499, 249]
    for n in (1, 2, 4, 8, 16, 32, 64):
        assert uniform_timesteps(2 * n)[::2] == uniform_timesteps(n)


def test_progressive_target_makes_one_step_equal_two():
    ac = tiny_random_pipeline().scheduler.alphas_cumprod.double()
    torch.manual_seed(0)
    z_t, z_2 = torch.randn(3, 4, 2, 2), torch.randn(3, 4, 2, 2)
    t, t2 = torch.tensor([999, 499, 249]), torch.tensor([749, 249, -1])  # -1: the last step lands on x0
    a_t, s_t = alpha_sigma(ac, t)
    a_2, s_2 = alpha_sigma(ac, t2)
    x = progressive_target(z_t, z_2, a_t, s_t, a_2, s_2)
    # one DDIM step t → t'' with x̂ = x̃: α_t''·x̃ + σ_t''·ε̂, ε̂ = (z_t − α_t·x̃)/σ_t
    one_step = a_2 * x + s_2 * (z_t.double() - a_t * x) / s_t
    torch.testing.assert_close(one_step, z_2.double())
    torch.testing.assert_close(x[2], z_2[2].double())


def test_progressive_config_checks_the_halving():
    assert ProgressiveConfig().rounds() == 3  # 32 → 16 → 8 → 4
    for start, target in ((32, 3), (24, 4), (4, 4)):
        with pytest.raises(ValueError, match="power of 2"):
            ProgressiveConfig(start_steps=start, target_steps=target).rounds()


def test_progressive_runs_its_rounds_and_saves_a_ddim_student(teacher_dir, tmp_path, pipe):
    out = run("progressive", teacher_dir, tmp_path, "start_steps=8", "target_steps=2", "steps_per_round=2")
    assert out["step"] == 4 and out["round"] == 1
    assert [(h["round"], h["student_steps"]) for h in out["history"]] == [(0, 4), (0, 4), (1, 2), (1, 2)]
    student, recipe, moved = student_and_recipe(teacher_dir, tmp_path)
    assert moved > 0
    assert recipe == {"sampler": "ddim", "timesteps": [999, 499], "guidance_scale": 1.0, "noise_correction": False}
    images = sample_recipe(pipe, student, recipe, ["a red circle", "a blue square"], [0, 1])
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8


def test_progressive_student_learns_two_teacher_steps(teacher_dir, tmp_path):
    # one round 2 → 1: the target (two CFG teacher steps 999 → 499 → x0 from z_999) is a fixed function to learn
    out = run("progressive", teacher_dir, tmp_path, "start_steps=2", "target_steps=1", "steps_per_round=40",
              "learning_rate=0.001")
    loss = losses(out)
    assert len(loss) == 40 and np.mean(loss[-8:]) < 0.7 * np.mean(loss[:8])


def test_progressive_resumes_across_a_round_boundary(teacher_dir, tmp_path):
    overrides = ["start_steps=8", "target_steps=2", "steps_per_round=2"]
    for expected in (1, 2, 3):  # --max-minutes 0: stop (with a checkpoint) after one step
        assert run("progressive", teacher_dir, tmp_path, *overrides, max_minutes=0)["step"] == expected
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert ckpt["kind"] == "baseline-progressive" and ckpt["round"] == 1 and ckpt["round_teacher"] is not None
    out = run("progressive", teacher_dir, tmp_path, *overrides)
    assert out["step"] == 4 and [(h["step"], h["round"]) for h in out["history"]] == [(1, 0), (2, 0), (3, 1), (4, 1)]
    # 4 rows: round 0 two CFG teacher steps 2 × 2 + the student 3, later rounds 2 × 1 + 3
    assert [h["unet_passes"] for h in out["history"]] == [28, 56, 76, 96]


def test_a_mismatched_method_or_config_raises(teacher_dir, tmp_path):
    run("progressive", teacher_dir, tmp_path, "start_steps=8", "target_steps=4", "steps_per_round=1")
    with pytest.raises(ValueError, match="'baseline-progressive' checkpoint, expected 'baseline-lcm'"):
        run("lcm", teacher_dir, tmp_path, "max_steps=1")
    with pytest.raises(ValueError, match="another config"):
        run("progressive", teacher_dir, tmp_path, "start_steps=8", "target_steps=4", "steps_per_round=1",
            "guidance_scale=2.0")
    with pytest.raises(ValueError, match="unknown LCMConfig field"):
        run("lcm", teacher_dir, tmp_path / "other", "start_steps=8")


def test_every_method_counts_its_unet_passes():
    assert lcm_step_passes(LCMConfig()) == 32 * (3 + 2 + 1) == 192  # student + backward, CFG teacher, target network
    assert add_step_passes(ADDConfig()) == 32 * (3 + 2 + 5)  # student + backward, CFG teacher, discriminator
    assert add_step_passes(ADDConfig(adversarial_weight=0)) == 32 * (3 + 2)
    cfg = ProgressiveConfig()  # 32 → 16 → 8 → 4: round 0 two CFG teacher steps, then two unguided ones
    assert [progressive_step_passes(cfg, r) for r in (0, 1, 2)] == [32 * 7, 32 * 5, 32 * 5]
    assert progressive_passes(cfg, 1050) == 350 * 32 * (7 + 5 + 5)
    assert steps_per_round_for(cfg, 350 * 32 * 17) == 350 and steps_per_round_for(cfg, 350 * 32 * 17 - 1) == 349


def test_a_pass_budget_stops_a_baseline_and_an_older_checkpoint_resumes(teacher_dir, tmp_path):
    out = run("lcm", teacher_dir, tmp_path, "max_steps=10", "max_unet_passes=50")  # 4 rows × 6 = 24 per step
    assert out["step"] == 3 and [h["unet_passes"] for h in out["history"]] == [24, 48, 72]
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert ckpt["unet_passes"] == 72
    del ckpt["config"]["max_unet_passes"], ckpt["unet_passes"]  # a checkpoint from before runs counted
    save_atomic(ckpt, str(tmp_path / "ckpt.pt"))
    out = run("lcm", teacher_dir, tmp_path, "max_steps=4")
    assert out["step"] == 4 and out["unet_passes"] == 3 * 24 + 24  # its 3 steps estimated, the 4th counted


def test_lcm_trains_and_saves_an_lcm_student(teacher_dir, tmp_path, pipe):
    out = run("lcm", teacher_dir, tmp_path, "max_steps=30", "learning_rate=0.001")
    loss = losses(out)
    assert out["step"] == 30 and all(np.isfinite(loss))
    assert np.mean(loss[-6:]) < 0.7 * np.mean(loss[:6])
    student, recipe, moved = student_and_recipe(teacher_dir, tmp_path)
    assert moved > 0
    assert recipe["sampler"] == "lcm" and recipe["steps"] == 4 and recipe["original_inference_steps"] == 50
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert set(ckpt) >= {"student", "target", "optimizer"} and ckpt["method"] == "lcm"
    for steps in (1, 2, 3):  # one run serves every step count: the recipe's steps is a sampling choice
        images = sample_recipe(pipe, student, {**recipe, "steps": steps}, ["a red circle", "two stars"],
                                         [0, 7])
        assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8


def test_lcm_resumes(teacher_dir, tmp_path):
    assert run("lcm", teacher_dir, tmp_path, "max_steps=3", max_minutes=0)["step"] == 1
    out = run("lcm", teacher_dir, tmp_path, "max_steps=3")
    assert out["step"] == 3 and [h["step"] for h in out["history"]] == [1, 2, 3]


def add_objective(pipe, unet, seed: int, b: int = 32) -> float:
    """ADD's distillation loss E c(t)·‖x̂_θ − x̂_ψ(α_t·x̂_θ + σ_t·ε', t)‖² on one fixed batch (common random numbers)."""
    ac = pipe.scheduler.alphas_cumprod.double()
    lcm = lcm_scheduler(pipe.scheduler.config, 1000, 10.0)
    g = torch.Generator().manual_seed(seed)
    x0 = 0.5 * torch.randn(b, 4, 16, 16, generator=g)
    s, t = torch.tensor([999, 749, 499, 249] * (b // 4)), torch.randint(0, 1000, (b,), generator=g)
    noise_s, noise_t = torch.randn(b, 4, 16, 16, generator=g), torch.randn(b, 4, 16, 16, generator=g)
    with torch.no_grad():
        cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, ["a red circle"] * b)
        uncond = encode_prompts(pipe.text_encoder, pipe.tokenizer, [""] * b)
        a_s, s_s = alpha_sigma(ac, s)
        x_s = (a_s * x0.double() + s_s * noise_s.double()).float()
        x0_student = consistency_fn(lcm, x_s, guided(unet, cond)(x_s, s), s, ac)
        a_t, s_t = alpha_sigma(ac, t)
        x_t = (a_t * x0_student.double() + s_t * noise_t.double()).float()
        target = (x_t.double() - s_t * guided(pipe.unet, cond, uncond, 4.0)(x_t, t).double()) / a_t
        return float((a_t**2 * (x0_student.double() - target) ** 2).mean())


def test_add_trains_toward_the_teacher_and_saves_a_multistep_student(teacher_dir, tmp_path, pipe):
    out = run("add", teacher_dir, tmp_path, "max_steps=30", "learning_rate=0.001", "adversarial_weight=0")
    assert out["step"] == 30 and all(np.isfinite(losses(out)))
    student, recipe, moved = student_and_recipe(teacher_dir, tmp_path)
    assert moved > 0
    # a random teacher's target is mostly noise (σ_t²‖ε' − ε̂‖²), so the loss curve is flat; with the same draws, the
    # trained student scores lower on ADD's objective than its initialisation (the teacher) does
    for seed in (0, 1):
        assert add_objective(pipe, student, seed) < add_objective(pipe, pipe.unet, seed)
    assert recipe["sampler"] == "lcm" and recipe["timesteps"] == [999, 749, 499, 249]
    images = sample_recipe(pipe, student, recipe, ["a red circle", "a blue square"], [0, 1])
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8


def test_add_discriminator_learns_real_from_fake(teacher_dir, tmp_path):
    out = run("add", teacher_dir, tmp_path, "max_steps=40", "learning_rate=0.001")
    disc = [h["disc"] for h in out["history"] if "disc" in h]
    assert np.mean(disc[-8:]) < 0.7 * np.mean(disc[:8])  # the hinge loss starts at 2 (chance)


def test_add_with_discriminator_resumes(teacher_dir, tmp_path):
    assert run("add", teacher_dir, tmp_path, "max_steps=3", max_minutes=0)["step"] == 1
    out = run("add", teacher_dir, tmp_path, "max_steps=3")
    assert out["step"] == 3 and all(np.isfinite(h["disc"]) for h in out["history"])
    assert "discriminator" in torch.load(tmp_path / "ckpt.pt", weights_only=False)


def test_add_rejects_bad_timesteps(teacher_dir, tmp_path):
    with pytest.raises(ValueError, match="1..999"):
        run("add", teacher_dir, tmp_path, "timesteps=[1000, 500]")


@pytest.mark.parametrize("recipe", [
    {"sampler": "lcm", "steps": 3, "original_inference_steps": 50, "timestep_scaling": 10.0},
    {"sampler": "lcm", "timesteps": [999, 749, 499, 249], "original_inference_steps": 1000, "timestep_scaling": 10.0},
])
def test_sample_lcm_recipe_is_diffusers_lcm_scheduler(pipe, recipe):
    unet, prompts, seeds = pipe.unet, ["a red circle", "a green star on a black background"], [3, 11]
    images = sample_lcm_recipe(pipe, unet, recipe, prompts, seeds)
    # by hand: LCMScheduler's loop as diffusers' LatentConsistencyModelPipeline runs it, without a w-embedding
    from diffusers import LCMScheduler
    scheduler = LCMScheduler.from_config(pipe.scheduler.config, timestep_scaling=recipe["timestep_scaling"],
                                         original_inference_steps=recipe["original_inference_steps"])
    if "timesteps" in recipe:
        scheduler.set_timesteps(timesteps=recipe["timesteps"])
    else:
        scheduler.set_timesteps(recipe["steps"])
    assert len(scheduler.timesteps) == len(recipe.get("timesteps", [None] * 3))
    with torch.no_grad():
        cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, prompts)
        x = torch.from_numpy(np.stack([gaussian_noise(s, (4, 16, 16)) for s in seeds]))
        generator = [torch.Generator().manual_seed(s) for s in seeds]
        for t in scheduler.timesteps:
            x, denoised = scheduler.step(unet(x, t, cond).sample, t, x, generator=generator, return_dict=False)
        expected = decode_latents(pipe.vae, denoised)
    np.testing.assert_array_equal(images, expected)


def test_sample_lcm_recipe_draws_each_image_from_its_own_seed(pipe):
    recipe = {"sampler": "lcm", "steps": 2}
    both = sample_lcm_recipe(pipe, pipe.unet, recipe, ["a red circle", "a blue square"], [5, 9])
    alone = sample_lcm_recipe(pipe, pipe.unet, recipe, ["a blue square"], [9])
    assert np.abs(both[1].astype(int) - alone[0]).max() <= 1  # batched convolutions round differently
    with pytest.raises(ValueError, match="without CFG"):
        sample_lcm_recipe(pipe, pipe.unet, {**recipe, "guidance_scale": 4.0}, ["x"], [0])


@pytest.mark.parametrize("method,overrides", [("progressive", ["start_steps=2", "target_steps=1", "steps_per_round=2"]),
                                              ("lcm", ["max_steps=2"]), ("add", ["max_steps=2"])])
def test_every_method_trains_in_bf16(teacher_dir, tmp_path, method, overrides):
    out = run(method, teacher_dir, tmp_path, "mixed_precision=bf16", *overrides)
    assert out["step"] == 2 and all(np.isfinite(losses(out)))
    _, _, moved = student_and_recipe(teacher_dir, tmp_path)
    assert moved > 0


def test_a_snapshot_is_the_student_of_a_shorter_run_and_reads_as_a_finished_run(teacher_dir, tmp_path):
    from distill.evaluation.experiments import training_spent, training_state
    run("lcm", teacher_dir, tmp_path / "short", "max_steps=2")
    run("lcm", teacher_dir, tmp_path / "long", "max_steps=3", "snapshot_steps=[2]")
    snap = tmp_path / "long" / "step-2"
    short, at_2 = (UNet2DConditionModel.from_pretrained(d / "unet") for d in (tmp_path / "short", snap))
    assert all(torch.equal(a, b) for a, b in zip(short.state_dict().values(), at_2.state_dict().values()))
    assert json.loads((snap / "unet" / "recipe.json").read_text())["sampler"] == "lcm"
    assert training_state(str(snap)) == (2, 2)
    assert training_spent(str(snap))["unet_passes"] == 2 * 24  # 4 rows × 6 passes a step
    # a baseline packs like a flash student (distill/device/reproduce.sh brings runs back so) and reads as finished
    from distill.runs.weights import pack
    assert pack(str(tmp_path / "long"), str(tmp_path / "packed"))["kind"] == "baseline-lcm"
    assert training_spent(str(tmp_path / "packed"))["unet_passes"] == 3 * 24
    with pytest.raises(ValueError, match="snapshot_steps"):
        ProgressiveConfig(snapshot_steps=(2,))


def test_a_baselines_periodic_eval_names_the_step_count_it_sampled(monkeypatch):
    from types import SimpleNamespace
    from distill.distillation import common
    monkeypatch.setattr(common, "evaluate_student", lambda pipe, unet, recipe, rows: {"all": 0.5})
    run = SimpleNamespace(step=10, passes=7, eval_rows=[{}], history=[], pipe=None,
                          accelerator=SimpleNamespace(is_main_process=True, print=lambda *a: None))
    for recipe in (LCMConfig(recipe_steps=2).recipe(), ProgressiveConfig().recipe(8)):
        common.maybe_evaluate(run, SimpleNamespace(eval_every=10), torch.nn.Linear(1, 1), recipe)
    assert run.history == [{"step": 10, "student_steps": 2, "unet_passes": 7, "all": 0.5},
                           {"step": 10, "student_steps": 8, "unet_passes": 7, "all": 0.5}]
