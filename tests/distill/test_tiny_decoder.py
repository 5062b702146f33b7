"""The tiny VAE decoder: its shapes (networks.tiny_decoder), its distillation run on a tiny random teacher
(distillation.tiny_decoder: learns, resumes, packs), its ONNX graph (parity, the [-1, 1] contract) and the bundle's
optional vae_decoder_tiny/ written by export and add-tiny-decoder with its manifest entry, and the report."""

import hashlib
import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest
import torch
from diffusers.optimization import get_scheduler
from conftest import ROOT, run_stage
from safetensors.torch import load_file
from tools.fixtures import tiny_random_pipeline

from distill.distillation import tiny_decoder as train
from distill.evaluation import tiny_decoder_report
from distill.export import add_tiny_decoder, export
from distill.networks.architectures import fingerprint
from distill.networks.loaders import load_tiny_decoder
from distill.networks.tiny_decoder import TinyDecoder, TinyDecoderConfig
from distill.runs import weights
from distill.runs.checkpoint import as_dict, save_atomic

TINY = {"channels": [8, 8, 4], "blocks": [1, 1, 0]}
# the tiny random teacher's VAE: 64×64 images, 16×16×4 latents, scaling factor 0.5
TRAIN = [f"model={json.dumps(TINY)}", "scene_latents=16", "student_latents=8", "batch_size=8", "learning_rate=0.01",
         "warmup_steps=1", "max_steps=3", "log_every=1", "eval_every=1000", "eval_scenes=4"]


def test_shapes_follow_the_stages():
    decoder = TinyDecoder(TinyDecoderConfig())  # the shipped design: 16² -> 32² -> 64²
    assert decoder.upscale == 4
    assert decoder(torch.randn(2, 4, 16, 16)).shape == (2, 3, 64, 64)
    two = TinyDecoder(TinyDecoderConfig(latent_channels=16, channels=(8, 8), blocks=(1, 0)))
    assert two(torch.randn(1, 16, 8, 12)).shape == (1, 3, 16, 24)
    with pytest.raises(ValueError, match="one block count per stage"):
        TinyDecoder(TinyDecoderConfig(channels=(8, 8), blocks=(1,)))


def test_the_soft_clamp_keeps_wild_latents_finite():
    decoder = TinyDecoder(TinyDecoderConfig(**TINY))
    with torch.no_grad():
        a, b = decoder(torch.full((1, 4, 16, 16), 1e3)), decoder(torch.full((1, 4, 16, 16), 1e6))
    assert torch.isfinite(b).all() and torch.allclose(a, b)  # tanh saturates: no blow-up past the clamp


def test_three_steps_on_one_batch_lower_the_loss():
    torch.manual_seed(0)
    decoder = TinyDecoder(TinyDecoderConfig(**TINY))
    opt = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    z, target = torch.randn(8, 4, 16, 16), torch.rand(8, 3, 64, 64) * 2 - 1
    losses = []
    for _ in range(3):
        loss = train.weighted_mse(decoder(z), target, foreground_weight=5.0)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def test_object_pixels_weigh_more():
    target = torch.zeros(1, 3, 8, 8)
    target[..., 3:5, 3:5] = 1.0  # an object on a black background
    off_object, off_background = target.clone(), target.clone()
    off_object[..., 3, 3] = 0.5
    off_background[..., 0, 7] = 0.5
    assert train.weighted_mse(off_object, target, 5.0) == pytest.approx(5 * train.weighted_mse(off_background, target, 5.0))


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny-decoder")
    pipe = tiny_random_pipeline()
    pipe.save_pretrained(base / "teacher")
    student = base / "student"
    tiny_random_pipeline(seed=1).unet.save_pretrained(student)
    (student / "recipe.json").write_text(json.dumps({"sampler": "ddim", "timesteps": [999, 500], "guidance_scale": 1.0,
                                                     "noise_correction": True}))
    return base


@pytest.fixture(scope="module")
def trained(teacher):
    """A 3-step run on the tiny teacher's encoded scenes and one student's 1-step samples, resumed for 2 more steps."""
    run = teacher / "run"
    args = ["--teacher", str(teacher / "teacher")]
    students = f'students=["{teacher / "student"}@999"]'
    first = run_stage(train, run, [*TRAIN, students], args)
    after_three = torch.load(run / "ckpt.pt", weights_only=False)
    pool_mtime = (run / "pool.pt").stat().st_mtime_ns
    second = run_stage(train, run, [*TRAIN, students, "max_steps=5"], args)
    return run, first, second, after_three, pool_mtime


def test_a_run_trains_resumes_and_reuses_its_pool(trained, teacher):
    run, first, second, after_three, pool_mtime = trained
    assert first["step"] == 3 and second["step"] == 5
    assert [h["step"] for h in second["history"] if "loss" in h] == [1, 2, 3, 4, 5]
    # diffusers' warm-up cosine, over the schedule the run had: 3 steps, then 5 once resumed with max_steps=5
    lrs = {h["step"]: h["lr"] for h in second["history"] if "loss" in h}
    for length, steps in ((3, [1, 2, 3]), (5, [4, 5])):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
        ref = get_scheduler("cosine", opt, num_warmup_steps=1, num_training_steps=length)
        for step in range(1, max(steps) + 1):
            opt.step(); ref.step()
            if step in steps:
                assert lrs[step] == pytest.approx(ref.get_last_lr()[0]), (length, step)
    assert lrs[3] == lrs[5] == 0.0 and lrs[4] > 0  # the longer schedule the resume asked for
    assert "psnr_vs_full" in second["history"][-1] and 0 <= second["history"][-1]["accuracy_tiny"] <= 1
    ckpt = torch.load(run / "ckpt.pt", weights_only=False)
    moved = [k for k in ckpt["model"] if not torch.equal(ckpt["model"][k], after_three["model"][k])]
    assert moved, "two more steps left every weight where it was"
    assert (run / "pool.pt").stat().st_mtime_ns == pool_mtime  # the resumed run did not rebuild its pool
    pool = torch.load(run / "pool.pt", weights_only=False)
    assert pool["latents"].shape == (16 + 8, 4, 16, 16) and pool["images"].shape == (24, 3, 64, 64)
    assert pool["sources"].count("scenes") == 16
    assert ckpt["config"]["model"]["latent_scale"] == 0.5  # the teacher VAE's scaling factor
    assert ckpt["vae_fingerprint"] == fingerprint(tiny_random_pipeline().vae)


def test_another_teachers_run_folder_is_refused(trained, tmp_path):
    run = trained[0]
    other = tmp_path / "other"
    pipe = tiny_random_pipeline(seed=7)
    pipe.vae.register_to_config(scaling_factor=0.5)
    pipe.save_pretrained(other)
    with pytest.raises(ValueError, match="another VAE decoder"):
        run_stage(train, run, [*TRAIN, f'students=["{trained[0].parent / "student"}@999"]', "max_steps=6"],
                  ["--teacher", str(other)])


@pytest.fixture(scope="module")
def packed(trained, teacher):
    out = teacher / "packed"
    weights.pack(str(trained[0]), str(out))
    return out


def test_packed_weights_are_fp16_and_load_as_the_run_left_them(packed, trained):
    assert all(t.dtype == torch.float16 for t in load_file(packed / "model.safetensors").values())
    decoder, stage = load_tiny_decoder(str(packed))
    assert stage["step"] == 5 and stage["vae_fingerprint"] == fingerprint(tiny_random_pipeline().vae)
    ckpt = torch.load(trained[0] / "ckpt.pt", weights_only=False)
    for k, v in decoder.state_dict().items():
        assert torch.equal(v, ckpt["model"][k].half().float())


def random_weights(folder, latent_scale: float, fingerprint_of: str = "random") -> str:
    """A random tiny decoder as a run folder holds it."""
    torch.manual_seed(3)
    cfg = train.TinyDecoderTrainConfig(model=TinyDecoderConfig(channels=(8, 8, 4), blocks=(1, 1, 0),
                                                               latent_scale=latent_scale))
    save_atomic({"kind": "tiny-decoder", "config": as_dict(cfg), "model": TinyDecoder(cfg.model).state_dict(), "step": 0,
                 "vae_fingerprint": fingerprint_of}, str(folder / "ckpt.pt"))
    return str(folder)


def test_onnx_graph_matches_pytorch_and_stays_in_range(tmp_path):
    weights_dir = random_weights(tmp_path, latent_scale=0.5)
    decoder, stage = load_tiny_decoder(weights_dir)
    with torch.no_grad():  # large outputs, so the graph's clamp is exercised
        decoder.layers[-1].weight.mul_(50)
    parity = export.export_tiny_decoder(decoder, stage, str(tmp_path), [4, 16, 16], fp16_weights=True)
    assert parity < 1e-4
    sess = ort.InferenceSession(str(tmp_path / export.TINY_DECODER), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, inp.type, inp.shape[1:]) == ("latent_sample", "tensor(float)", [4, 16, 16])
    assert (out.name, out.type) == ("sample", "tensor(float)")
    z = np.random.default_rng(0).standard_normal((5, 4, 16, 16)).astype(np.float32) * 2
    image = sess.run(None, {"latent_sample": z})[0]
    assert image.shape == (5, 3, 64, 64) and image.min() >= -1 and image.max() <= 1
    assert (np.abs(image) == 1).any()
    record = json.loads((tmp_path / "vae_decoder_tiny" / "config.json").read_text())
    assert record["config"]["channels"] == [8, 8, 4] and record["vae_fingerprint"] == "random"


def test_add_tiny_decoder_writes_the_folder_and_its_manifest_entry(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(f"{ROOT}/tests/fixtures/tiny-bundle", bundle)
    before = json.loads((bundle / "manifest.json").read_text())
    shutil.rmtree(bundle / "vae_decoder_tiny")  # the fixture's stand-in; a bundle without one gains it
    args = add_tiny_decoder.parse_args(["--weights", random_weights(tmp_path, latent_scale=0.5), "--bundle", str(bundle)])
    manifest = add_tiny_decoder.main(args)
    assert json.loads((bundle / "manifest.json").read_text()) == manifest
    assert manifest["vae_decoder_tiny"] == "vae_decoder_tiny/model.onnx"
    assert list(manifest).index("vae_decoder_tiny") == list(manifest).index("vae_decoder") + 1
    assert manifest["parity_max_abs_diff"]["vae_decoder_tiny"] < 1e-4
    records = {f["path"]: f for f in manifest["files"]}
    for rel in ("vae_decoder_tiny/model.onnx", "vae_decoder_tiny/config.json"):
        data = (bundle / rel).read_bytes()
        assert records[rel] == {"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    # everything else stays as it was
    old = {f["path"]: f for f in before["files"] if not f["path"].startswith("vae_decoder_tiny/")}
    assert {p: r for p, r in records.items() if not p.startswith("vae_decoder_tiny/")} == old
    assert manifest["unets"] == before["unets"]
    assert not (tmp_path / "bundle.tiny-decoder.partial").exists()


def test_a_tiny_decoder_for_other_latents_is_refused(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(f"{ROOT}/tests/fixtures/tiny-bundle", bundle)
    before = (bundle / "manifest.json").read_text()
    with pytest.raises(ValueError, match="latent scale 0.18215, not the VAE scaling factor 0.5"):
        export.add_tiny_decoder(str(bundle), random_weights(tmp_path, latent_scale=0.18215))
    assert (bundle / "manifest.json").read_text() == before


@pytest.fixture(scope="module")
def bundle_with_tiny(packed, teacher):
    out = teacher / "bundle"
    export.main(export.parse_args(["--teacher", str(teacher / "teacher"), "--out", str(out),
                                   "--student", f"flash-1={teacher / 'student'}", "--tiny-decoder", str(packed)]))
    return out


def test_export_ships_the_tiny_decoder_with_its_manifest_entry(bundle_with_tiny):
    manifest = json.loads((bundle_with_tiny / "manifest.json").read_text())
    assert manifest["vae_decoder_tiny"] == "vae_decoder_tiny/model.onnx"
    assert manifest["parity_max_abs_diff"]["vae_decoder_tiny"] < 1e-4
    assert {"vae_decoder_tiny/model.onnx", "vae_decoder_tiny/config.json"} <= {f["path"] for f in manifest["files"]}


def test_export_refuses_a_tiny_decoder_of_another_vae(teacher, tmp_path):
    with pytest.raises(ValueError, match="distilled from another VAE"):
        export.main(export.parse_args(["--teacher", str(teacher / "teacher"), "--out", str(tmp_path / "b"),
                                       "--tiny-decoder", random_weights(tmp_path, latent_scale=0.5)]))
    assert not (tmp_path / "b").exists()


def test_the_report_compares_both_decoders_on_the_same_latents(bundle_with_tiny, packed, teacher, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    lines = [l for l in open(f"{ROOT}/eval/dev_prompts.jsonl")][::50]  # one prompt per category
    prompts.write_text("".join(lines))
    args = tiny_decoder_report.parse_args([
        "--bundle", str(bundle_with_tiny), "--weights", str(packed), "--teacher", str(teacher / "teacher"),
        "--unets", "flash-1", "--prompts", str(prompts), "--timing-runs", "3", "--out", str(tmp_path / "report")])
    result = tiny_decoder_report.main(args)
    assert set(result["accuracy"]) == {"flash-1", "renders"}
    assert result["parity_max_abs_diff"]["sampled_latents"] < 1e-4
    assert [s["batch"] for s in result["speed"]] == [1, 4] and all(s["speedup"] > 0 for s in result["speed"])
    assert json.loads((tmp_path / "report" / "tiny_decoder.json").read_text()) == json.loads(json.dumps(result))
    text = (tmp_path / "report" / "README.md").read_text()
    assert f"Generated by `{result['command']}`" in text and "flash-1 samples" in text
