"""Export a tiny random SD pipeline (our component classes) to a bundle: parity, manifest, layout."""

import hashlib
import json

import numpy as np
import pytest
import torch
from tools.fixtures import tiny_random_pipeline, write_tiny_sd_fixture

from distill.distillation.flash import FlashConfig
from distill.export import export
from distill.export.export import SHIPPED_STUDENTS
from distill.export.onnx import run_onnx
from distill.networks.pipeline import load_pipeline
from distill.runs.checkpoint import as_dict, save_atomic
from distill.runs.compute import EQUAL_COMPUTE_PASSES
from distill.runs.weights import students_folder


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    tiny_random_pipeline().save_pretrained(base / "teacher")
    # a student where `distill reproduce` leaves it: runs/teacher-<hash>/passes-<default budget>/<its run>/unet
    runs = students_folder(str(base / "runs"), str(base / "teacher"), EQUAL_COMPUTE_PASSES)
    student_dir = base / runs / SHIPPED_STUDENTS["flash-1"] / "unet"
    tiny_random_pipeline(seed=1).unet.save_pretrained(student_dir)
    (student_dir / "recipe.json").write_text(json.dumps({"sampler": "ddim", "timesteps": [999], "guidance_scale": 1.0,
                                                        "noise_correction": True}))
    save_atomic({"kind": "flash", "config": as_dict(FlashConfig(student_steps=1, gamma=((-1, 500),))), "step": 3},
                str(student_dir.parent / "ckpt.pt"))
    args = export.parse_args(["--teacher", str(base / "teacher"), "--out", str(base / "bundle"),
                              "--students-from", str(base / "runs")])
    manifest = export.main(args)
    return base, manifest


def test_shipped_students_record_how_they_were_trained(bundle):
    base, manifest = bundle
    assert json.loads((base / "bundle" / "manifest.json").read_text()) == manifest
    (student,) = [u for u in manifest["unets"] if u["id"] == "flash-1"]
    record = student["distillation"]
    assert (record["run"], record["method"], record["step"]) == (SHIPPED_STUDENTS["flash-1"], "flash", 3)
    assert record["config"]["student_steps"] == 1 and record["config"]["gamma"] == [[-1, 500]]
    assert "distillation" not in next(u for u in manifest["unets"] if u["id"] == "teacher")


def test_a_student_id_given_twice_is_an_error(bundle, tmp_path):
    base, _ = bundle
    folder = (base / students_folder(str(base / "runs"), str(base / "teacher"), EQUAL_COMPUTE_PASSES)
              / SHIPPED_STUDENTS["flash-1"] / "unet")
    args = export.parse_args(["--teacher", str(base / "teacher"), "--out", str(tmp_path / "b"),
                              "--student", f"flash-1={folder}", "--students-from", str(base / "runs")])
    with pytest.raises(ValueError, match="student ids given twice"):
        export.main(args)
    assert not (tmp_path / "b").exists()


def test_students_from_a_runs_folder_without_students_is_an_error(bundle, tmp_path):
    base, _ = bundle
    args = export.parse_args(["--teacher", str(base / "teacher"), "--out", str(tmp_path / "b"),
                              "--students-from", str(tmp_path)])
    with pytest.raises(ValueError, match="none of the students"):
        export.main(args)
    assert not (tmp_path / "b").exists()


def test_parity_of_every_component(bundle):
    _, manifest = bundle
    parity = manifest["parity_max_abs_diff"]
    assert set(parity) == {"text_encoder", "unet", "vae_decoder", "unet-flash-1"}
    assert all(v <= 1e-4 for v in parity.values()), parity


def test_manifest_lists_every_file_with_its_hash(bundle):
    base, manifest = bundle
    root = base / "bundle"
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    for f in manifest["files"]:
        data = (root / f["path"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
    assert {"model_index.json", "tokenizer/tokenizer.json", "scheduler/scheduler_config.json",
            "unet-flash-1/model.onnx"} <= listed
    assert [u["id"] for u in manifest["unets"]] == ["teacher", "flash-1"]
    teacher = manifest["unets"][0]["recipe"]
    assert teacher["sampler"] == "dpmsolver++" and len(teacher["timesteps"]) == 25
    assert manifest["latent_shape"] == [4, 16, 16] and manifest["image_size"] == [64, 64]


def test_model_index_is_the_one_current_optimum_writes(bundle, root):
    """The PyTorch pipeline's index with key `vae` (optimum's ORTDiffusionPipeline opens it), naming the components
    optimum's own SD export names, and a tokenizer class that reads tokenizer.json in transformers 4 and 5."""
    base, _ = bundle
    index = json.loads((base / "bundle" / "model_index.json").read_text())
    optimum = json.loads(open(f"{root}/tests/fixtures/optimum/sd15-fp32/model_index.json").read())
    assert index["_class_name"] == optimum["_class_name"] == "StableDiffusionPipeline"
    assert "vae_decoder" not in index and index["vae"] == optimum["vae"] == ["diffusers", "AutoencoderKL"]
    for part in ("text_encoder", "unet", "safety_checker", "feature_extractor", "image_encoder"):
        assert index[part] == optimum[part], part
    assert index["tokenizer"] == ["transformers", "PreTrainedTokenizerFast"]
    assert index["scheduler"] == ["diffusers", "DDIMScheduler"]  # what scheduler/ holds
    assert (base / "bundle" / "vae_decoder" / "model.onnx").is_file()
    # every ONNX component folder has the config.json ORTDiffusionPipeline requires beside its graph
    for part in ("text_encoder", "unet", "vae_decoder"):
        assert (base / "bundle" / part / "config.json").is_file(), part


def test_weights_are_stored_fp16_and_compute_fp32(bundle):
    import onnx
    base, _ = bundle
    model = onnx.load(str(base / "bundle" / "unet" / "model.onnx"))
    big = [i for i in model.graph.initializer if np.prod(i.dims) >= 16]
    assert big and all(i.data_type == onnx.TensorProto.FLOAT16 for i in big)
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_bundle_text_encoder_matches_pipeline(bundle):
    base, _ = bundle
    pipe = load_pipeline(str(base / "teacher"))
    ids = pipe.tokenizer(["three pink hearts"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        ref = pipe.text_encoder(ids).last_hidden_state.numpy()
    got = run_onnx(str(base / "bundle" / "text_encoder" / "model.onnx"), {"input_ids": ids.numpy()})[0]
    assert np.abs(ref - got).max() < 2e-3  # the bundle holds fp16-rounded weights


def test_tiny_sd_fixture_is_standard_layout(tmp_path):
    ref = write_tiny_sd_fixture(str(tmp_path / "sd"))
    assert not (tmp_path / "sd" / "manifest.json").exists()
    for rel in ["model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt", "text_encoder/model.onnx",
                "unet/model.onnx", "vae_decoder/model.onnx", "scheduler/scheduler_config.json"]:
        assert (tmp_path / "sd" / rel).is_file(), rel
    assert ref["parity_max_abs_diff"]["text_encoder"] < 1e-4
    assert len(ref["input_ids"]) == 77 and ref["input_ids"][1] != ref["input_ids"][-1]  # words, then padding


def test_a_packed_student_of_several_step_counts_ships_once_per_count(bundle, tmp_path):
    """A run whose student learned 1, 2 and 3 steps, packed for git (fp16 EMA UNet + record.json), exports as
    flash-1/2/3 with each count's recipe, the same weights, and the run's record."""
    from diffusers import UNet2DConditionModel
    from distill.runs import weights
    base, _ = bundle
    run = tmp_path / "run"
    student = tiny_random_pipeline(seed=2).unet
    cfg = FlashConfig(student_steps=3, step_counts=(1, 2), ema_decay=0.99)
    student.save_pretrained(run / "unet")
    (run / "unet" / "recipe.json").write_text(json.dumps(cfg.recipe()))
    save_atomic({"kind": "flash", "config": as_dict(cfg), "step": 7, "history": [{"step": 7, "minutes": 1.5}]},
                str(run / "ckpt.pt"))
    meta = weights.pack(str(run), str(tmp_path / "packed"))
    assert (meta["kind"], meta["step"], meta["weights"]) == ("flash", 7, "ema")
    from safetensors.torch import load_file
    stored = load_file(tmp_path / "packed" / "unet" / "diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in stored.values()} == {torch.float16}
    packed = UNet2DConditionModel.from_pretrained(tmp_path / "packed" / "unet")
    assert all(torch.equal(a.half(), b) for a, b in zip(packed.state_dict().values(), student.half().state_dict().values()))
    manifest = export.main(export.parse_args(["--teacher", str(base / "teacher"), "--out", str(tmp_path / "b"),
                                              "--students-run", str(tmp_path / "packed")]))
    unets = {u["id"]: u for u in manifest["unets"]}
    assert [unets[f"flash-{k}"]["recipe"]["timesteps"] for k in (1, 2, 3)] == [[999], [999, 666], [999, 750, 500]]
    assert {unets[f"flash-{k}"]["distillation"]["step"] for k in (1, 2, 3)} == {7}
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert len({files[f"unet-flash-{k}/model.onnx"] for k in (1, 2, 3)}) == 1  # one student, three recipes
    with pytest.raises(ValueError, match="not a flash run folder"):
        export.run_students(str(tmp_path / "nothing"))
    # RUN:ID,… ships only those of the run's students (the bundle takes each step count from its best phase)
    some = export.main(export.parse_args(["--teacher", str(base / "teacher"), "--out", str(tmp_path / "c"),
                                          "--students-run", f"{tmp_path / 'packed'}:flash-1"]))
    assert sorted(u["id"] for u in some["unets"]) == ["flash-1", "teacher"]
    with pytest.raises(ValueError, match=r"\['flash-9'\] not among the run's students"):
        export.main(export.parse_args(["--teacher", str(base / "teacher"), "--out", str(tmp_path / "d"),
                                       "--students-run", f"{tmp_path / 'packed'}:flash-9"]))
