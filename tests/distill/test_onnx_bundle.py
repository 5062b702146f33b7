"""An exported bundle sampled through onnxruntime (distill.export.bundle) gives the PyTorch path's images, and
`distill evaluate --model <bundle> --unet-id ID` evaluates the shipped files with the manifest's recipe."""

import hashlib
import json
import os
import shutil

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tools.fixtures import tiny_random_pipeline

from distill.evaluation import evaluate
from distill.export import export
from distill.export.bundle import OnnxBundle, OnnxTextEncoder, OnnxUNet, is_bundle, open_session, read_model_index
from distill.export.onnx import run_onnx
from distill.networks.loaders import load_unet
from distill.networks.pipeline import dpm_solver, load_pipeline
from distill.sampling.recipes import sample_recipe


# the index export wrote before: diffusers' OnnxStableDiffusionPipeline, deprecated after 0.43
OLD_INDEX = {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.42.1",
             "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
             "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
             "tokenizer": ["transformers", "PreTrainedTokenizerFast"], "unet": ["diffusers", "OnnxRuntimeModel"],
             "vae_decoder": ["diffusers", "OnnxRuntimeModel"]}
STUDENT_RECIPE = {"sampler": "ddim", "timesteps": [999, 500], "guidance_scale": 1.0, "noise_correction": True}
PROMPTS = ["a red circle", "two blue stars above a green square", "a small pink heart", "three yellow triangles"]
SEEDS = [0, 1, 2, 3]
# The bundle stores weights as fp16 (fp32 compute) while the SD folder keeps fp32: measured on these tiny random
# models, about 2% of pixel channels move by one uint8 level and none by more (with the PyTorch weights rounded to
# fp16 too, the DDIM images are bit-identical and DPM++ differs in 0.002% of channels).
TOLERANCE = 1  # uint8 levels, i.e. 1/255


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(SD folder, student UNet folder, bundle folder): the teacher and one student, exported as test_export does."""
    base = tmp_path_factory.mktemp("onnx-bundle")
    tiny_random_pipeline().save_pretrained(base / "teacher")
    tiny_random_pipeline(seed=1).unet.save_pretrained(base / "student")
    (base / "student" / "recipe.json").write_text(json.dumps(STUDENT_RECIPE))
    export.main(export.parse_args(["--teacher", str(base / "teacher"), "--out", str(base / "bundle"),
                                   "--student", f"flash-1={base / 'student'}"]))
    return base / "teacher", base / "student", base / "bundle"


@pytest.fixture(scope="module")
def bundle(exported):
    return OnnxBundle(str(exported[2]))


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape == (len(PROMPTS), 64, 64, 3) and a.dtype == b.dtype == np.uint8
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def test_ddim_student_with_noise_correction_matches_pytorch(exported, bundle):
    sd, student, _ = exported
    unet, recipe = load_unet(str(student))
    assert bundle.recipe("flash-1") == recipe == STUDENT_RECIPE
    ref = sample_recipe(load_pipeline(str(sd)), unet, recipe, PROMPTS, SEEDS)
    got = sample_recipe(bundle, bundle.load_unet("flash-1"), bundle.recipe("flash-1"), PROMPTS, SEEDS, batch_size=3)
    assert _max_diff(ref, got) <= TOLERANCE
    off = sample_recipe(bundle, bundle.load_unet("flash-1"), {**recipe, "noise_correction": False}, PROMPTS, SEEDS)
    assert _max_diff(got, off) > 5 * TOLERANCE  # the correction reaches the ONNX path (10 levels here)


def test_teacher_dpm_with_cfg_matches_pytorch(exported, bundle):
    recipe = bundle.recipe("teacher")
    assert recipe["sampler"] == "dpmsolver++" and recipe["guidance_scale"] > 1
    # the DPM-Solver++ built from the shipped DDIM config walks the timesteps the manifest records
    scheduler = dpm_solver(bundle.scheduler.config)
    scheduler.set_timesteps(recipe["steps"])
    assert [int(t) for t in scheduler.timesteps] == recipe["timesteps"]
    ref = sample_recipe(load_pipeline(str(exported[0])), None, recipe, PROMPTS, SEEDS)
    got = sample_recipe(bundle, None, recipe, PROMPTS, SEEDS, batch_size=3)
    assert _max_diff(ref, got) <= TOLERANCE


def test_lcm_recipe_matches_pytorch(exported, bundle):
    sd, student, _ = exported
    unet, _ = load_unet(str(student))
    recipe = {"sampler": "lcm", "steps": 2}
    ref = sample_recipe(load_pipeline(str(sd)), unet, recipe, PROMPTS, SEEDS)
    assert _max_diff(ref, sample_recipe(bundle, bundle.load_unet("flash-1"), recipe, PROMPTS, SEEDS)) <= TOLERANCE


def test_unknown_unet_id_names_the_known_ones(exported, bundle):
    with pytest.raises(ValueError, match="flash-3.*known ids: teacher, flash-1"):
        bundle.load_unet("flash-3")
    with pytest.raises(ValueError, match="no manifest.json"):
        OnnxBundle(str(exported[0]))
    assert is_bundle(str(exported[2])) and not is_bundle(str(exported[0]))


def test_adapters_follow_the_graphs_input_dtypes(root):
    """The standard SD fixture (optimum layout) takes int32 input_ids and an int64 timestep; ours take int64, float."""
    sd = os.path.join(root, "tests", "fixtures", "tiny-sd")
    ids = json.load(open(os.path.join(sd, "reference.json")))["input_ids"]
    te = OnnxTextEncoder(open_session(os.path.join(sd, "text_encoder", "model.onnx")))
    assert te.ids_dtype == np.int32
    h = te(torch.tensor([ids]))[0]  # int64, as distill.networks.architectures.tokenize returns them
    direct = run_onnx(os.path.join(sd, "text_encoder", "model.onnx"), {"input_ids": np.array([ids], np.int32)})[0]
    assert np.array_equal(h.numpy(), direct)
    unet = OnnxUNet(open_session(os.path.join(sd, "unet", "model.onnx")), "teacher", "", [4, 8, 8])
    assert unet.timestep_dtype == np.int64
    assert unet(torch.zeros(2, 4, 8, 8), torch.tensor(999), torch.zeros(2, 77, 32)).sample.shape == (2, 4, 8, 8)


def test_either_index_layout_opens_and_samples_the_same(exported, bundle, tmp_path):
    """A bundle with the older OnnxStableDiffusionPipeline index (key vae_decoder) reads as one with current optimum's
    (StableDiffusionPipeline, key vae), which export writes; the sessions are onnxruntime's, no diffusers ONNX class."""
    assert bundle.index["_class_name"] == "StableDiffusionPipeline" and "vae" in bundle.index
    old = tmp_path / "old"
    shutil.copytree(exported[2], old)
    (old / "model_index.json").write_text(json.dumps(OLD_INDEX))
    older = OnnxBundle(str(old))
    assert older.index["_class_name"] == "OnnxStableDiffusionPipeline"
    recipe = {"sampler": "ddim", "timesteps": [999, 500], "guidance_scale": 3.0, "noise_correction": True}
    assert np.array_equal(sample_recipe(older, older.load_unet("flash-1"), recipe, PROMPTS[:2], SEEDS[:2]),
                          sample_recipe(bundle, bundle.load_unet("flash-1"), recipe, PROMPTS[:2], SEEDS[:2]))
    assert isinstance(bundle.text_encoder.session, ort.InferenceSession)


def test_rewrite_model_index_brings_an_older_bundle_to_the_current_index(exported, tmp_path):
    folder = exported[2]
    manifest = json.loads((folder / "manifest.json").read_text())
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    (old / "model_index.json").write_text(json.dumps(OLD_INDEX, indent=2))
    stale = json.loads((old / "manifest.json").read_text())
    rewritten = export.rewrite_model_index(str(old))
    assert (old / "model_index.json").read_bytes() == (folder / "model_index.json").read_bytes()
    assert rewritten == manifest == json.loads((old / "manifest.json").read_text())
    assert {k: v for k, v in stale.items() if k != "files"} == {k: v for k, v in rewritten.items() if k != "files"}
    record = next(f for f in rewritten["files"] if f["path"] == "model_index.json")
    assert record["sha256"] == hashlib.sha256((old / "model_index.json").read_bytes()).hexdigest()


def test_an_index_that_is_not_an_sd_bundle_is_named(exported, tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(exported[2], folder)
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "_class_name": "StableDiffusionXLPipeline"}))
    with pytest.raises(ValueError, match=r'"_class_name" is \'StableDiffusionXLPipeline\'; a Stable Diffusion '
                                         r"bundle's index is one of StableDiffusionPipeline, ORTStableDiffusionPipeline"):
        OnnxBundle(str(folder))
    (folder / "model_index.json").write_text(json.dumps({**index, "vae": [None, None]}))
    with pytest.raises(ValueError, match=r"no vae \(or vae_decoder\) in this StableDiffusionPipeline index"):
        read_model_index(str(folder))
    (folder / "model_index.json").unlink()
    with pytest.raises(ValueError, match="model_index.json is missing"):
        OnnxBundle(str(folder))


def _eval_args(model, tmp_path, root, *extra):
    rows = [json.loads(line) for line in open(os.path.join(root, "eval", "dev_prompts.jsonl"))][:4]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return evaluate.parse_args(["--model", str(model), "--prompts", str(prompts), "--seeds", "0", "1",
                                "--fd-images", "8", "--batch-size", "16", "--out", str(tmp_path / "out"), *extra])


def test_eval_of_a_bundle_student_uses_its_manifest_recipe(exported, tmp_path, root):
    _, _, folder = exported
    result = evaluate.main(_eval_args(folder, tmp_path, root, "--unet-id", "flash-1"))
    assert result["recipe"]["timesteps"] == [999, 500] and result["recipe"]["noise_correction"] is True
    assert result["nfe"] == 2 and result["unet_id"] == "flash-1"
    assert result["unet"] == str(folder / "unet-flash-1" / "model.onnx")
    assert np.isfinite(result["fd"]) and np.isfinite(result["clip_score"]) and result["images"] == 8
    md = (tmp_path / "out.md").read_text()
    assert "--unet-id flash-1" in md and "ONNX bundle, UNet flash-1" in md and '"noise_correction": true' in md
    # the command-line overrides still apply on top of the manifest recipe
    off = evaluate.main(_eval_args(folder, tmp_path, root, "--unet-id", "flash-1", "--noise-correction", "off",
                                   "--fd-images", "0"))
    assert off["recipe"]["noise_correction"] is False and off["recipe"]["timesteps"] == [999, 500]


def test_eval_rejects_mixed_up_unet_flags(exported, tmp_path, root):
    sd, student, folder = exported
    with pytest.raises(ValueError, match="known ids: teacher, flash-1"):
        evaluate.main(_eval_args(folder, tmp_path, root, "--unet-id", "flash-9"))
    with pytest.raises(ValueError, match="--unet-id"):
        evaluate.main(_eval_args(folder, tmp_path, root, "--unet", str(student)))
    with pytest.raises(ValueError, match="no manifest.json"):
        evaluate.main(_eval_args(sd, tmp_path, root, "--unet-id", "flash-1"))
