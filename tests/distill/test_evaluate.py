"""Evaluation: FD, the CLIP-score analogue, recipes, and `distill evaluate` end to end on a tiny random pipeline."""

import json
import os
import types

import numpy as np
import pytest
from tools.fixtures import tiny_random_pipeline

from distill.domain.grammar import parse_prompt, prompt_from_meaning
from distill.domain.render import render
from distill.domain.scenes import caption, perturb_meaning, sample_scene
from distill.evaluation import evaluate
from distill.sampling.recipes import ddim_timesteps, function_evaluations, normalize_recipe, sample_recipe


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "sd"
    tiny_random_pipeline().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def features():
    return evaluate.FeatureNet()


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8))
    assert evaluate.frechet_distance(a, b) < 0.05
    shifted = b + np.array([1.0] + [0.0] * 7)  # FD of N(0, I) vs N(m, I) is |m|² = 1
    assert evaluate.frechet_distance(a, shifted) == pytest.approx(1.0, abs=0.08)
    with pytest.raises(ValueError, match="at least 2"):
        evaluate.frechet_distance(a[:1], b)


def test_fd_separates_real_renders_from_broken_ones(features):
    _, real_a = evaluate.fd_reference(300, seed=1)
    _, real_b = evaluate.fd_reference(300, seed=2)
    washed_out = (real_b.astype(np.float32) * 0.5 + 64).astype(np.uint8)
    swapped = real_b[..., ::-1].copy()  # RGB -> BGR: right shapes, wrong colours
    fa, fb = features.image_features(real_a), features.image_features(real_b)
    same = evaluate.frechet_distance(fa, fb)  # mostly the estimator's small-sample bias at n = 300
    for broken in (washed_out, swapped):
        assert same * 1.5 < evaluate.frechet_distance(fa, features.image_features(broken))


def test_clip_score_prefers_the_true_caption(features):
    rng = np.random.default_rng(3)
    scenes = [sample_scene(rng) for _ in range(100)]
    images = np.stack([render(s) for s in scenes])
    true, wrong = [], []
    for s in scenes:
        text, meaning = caption(s, rng)
        true.append(text)
        wrong.append(prompt_from_meaning(perturb_meaning(meaning, s, rng)))
    assert features.clip_scores(images, true).mean() > features.clip_scores(images, wrong).mean() + 5


def test_recipes_validate_and_fill_defaults():
    assert ddim_timesteps(1) == [999] and ddim_timesteps(4) == [999, 749, 499, 249]
    r = normalize_recipe({"sampler": "ddim", "timesteps": [999, 750, 500]})
    assert r["steps"] == 3 and r["guidance_scale"] == 1.0 and function_evaluations(r) == 3
    assert function_evaluations(normalize_recipe({"sampler": "dpmsolver++", "steps": 25, "guidance_scale": 4})) == 50
    for bad, message in [({"sampler": "euler", "steps": 2}, "not one of"), ({"sampler": "ddim"}, "needs"),
                         ({"sampler": "ddim", "timesteps": [500, 999]}, "decreasing"),
                         ({"sampler": "ddim", "steps": 2, "guidance_scale": 0.5}, "guidance_scale"),
                         ({"sampler": "dpmsolver++", "steps": 2, "noise_correction": True}, "DDIM only")]:
        with pytest.raises(ValueError, match=message):
            normalize_recipe(bad)


def test_sample_recipe_is_deterministic_and_noise_correction_matters(model_dir):
    from distill.networks.pipeline import load_pipeline
    pipe = load_pipeline(str(model_dir))
    prompts, seeds = ["a red circle", "a blue star"], [0, 1]
    nc = {"sampler": "ddim", "timesteps": [999, 500], "noise_correction": True}
    a = sample_recipe(pipe, None, nc, prompts, seeds, batch_size=1)
    b = sample_recipe(pipe, None, nc, prompts, seeds, batch_size=2)
    assert a.shape == (2, 64, 64, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    off = sample_recipe(pipe, None, {**nc, "noise_correction": False}, prompts, seeds)
    assert not np.array_equal(a, off)
    dpm = sample_recipe(pipe, None, {"sampler": "dpmsolver++", "steps": 2, "guidance_scale": 2.0}, prompts, seeds)
    assert dpm.shape == a.shape


def _args(model_dir, tmp_path, *extra):
    return evaluate.parse_args(["--model", str(model_dir), "--fd-images", "8", "--batch-size", "16",
                                "--out", str(tmp_path / "out"), *extra])


def test_eval_writes_accuracy_fd_and_clip_score(model_dir, tmp_path, root):
    rows = [json.loads(line) for line in open(os.path.join(root, "eval", "dev_prompts.jsonl"))][:6]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = evaluate.main(_args(model_dir, tmp_path, "--prompts", str(prompts), "--seeds", "0", "1", "2",
                                 "--sampler", "ddim", "--steps", "2", "--guidance-scale", "2"))
    assert result["recipe"]["timesteps"] == [999, 499] and result["nfe"] == 4
    assert result["images"] == 18 and set(result["accuracy_per_seed"]) == {0, 1, 2}
    assert np.isfinite(result["fd"]) and result["fd"] > 0 and np.isfinite(result["clip_score"])
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved["accuracy"] == result["accuracy"] and "accuracy_std_over_seeds" in saved
    md = (tmp_path / "out.md").read_text()
    assert "FD" in md and "CLIP-score" in md and "--sampler ddim" in md
    assert (tmp_path / "out.png").exists()


def test_eval_uses_a_students_recipe_and_overrides(model_dir, tmp_path):
    from distill.networks.pipeline import load_pipeline
    student = tmp_path / "unet"
    load_pipeline(str(model_dir)).unet.save_pretrained(student)
    (student / "recipe.json").write_text(json.dumps({"sampler": "ddim", "timesteps": [999, 750, 500],
                                                    "guidance_scale": 1.0, "noise_correction": True}))
    unet, own = evaluate.load_unet(str(student))
    base = types.SimpleNamespace(recipe=None, sampler=None, steps=None, timesteps=None, guidance_scale=None,
                                 noise_correction=None)
    assert evaluate.resolve_recipe(base, own)["timesteps"] == [999, 750, 500]
    off = evaluate.resolve_recipe(types.SimpleNamespace(**{**vars(base), "noise_correction": "off"}), own)
    assert off["noise_correction"] is False and off["timesteps"] == [999, 750, 500]
    two = evaluate.resolve_recipe(types.SimpleNamespace(**{**vars(base), "steps": 2}), own)
    assert two["steps"] == 2 and two["timesteps"] == [999, 499]  # trailing spacing, not the student's
    assert evaluate.resolve_recipe(base, None)["sampler"] == "dpmsolver++"
    with pytest.raises(ValueError, match="not a diffusers UNet folder"):
        evaluate.load_unet(str(tmp_path))


def test_eval_names_an_unknown_word(model_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    row = {"prompt": "a red dodecahedron", "category": "single", **parse_prompt("a red circle").to_json()}
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="dodecahedron"):
        evaluate.main(_args(model_dir, tmp_path, "--prompts", str(bad)))
