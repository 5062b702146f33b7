"""--data-dir: an image folder (Hugging Face imagefolder: images + metadata.jsonl) instead of ShapeScenes for the data
latents and the training prompts of `distill flash` and `distill baseline`, on a tiny random SD pipeline."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from distill.distillation import baseline, common, flash
from distill.domain.prompts import DEV_PROMPTS
from distill.domain.render import images_to_tensor
from distill.domain.scenes import caption, sample_scene
from distill.networks.pipeline import load_pipeline

CAPTIONS = ["a photo of a cat", "a watercolor of a lighthouse", "two apples on a table", "a city at night",
            "a portrait in grayscale"]
FAST = ["batch_size=4", "pool_size=16", "log_every=1", "eval_every=1000000"]
TWO_STEPS = {"progressive": ["start_steps=4", "target_steps=2", "steps_per_round=2"], "lcm": ["max_steps=2"],
             "add": ["max_steps=2"]}


def write_folder(folder, sizes=((80, 60), (64, 64), (100, 130), (32, 48), (70, 70))):
    """Images of several sizes and modes (RGB PNG, JPEG, grayscale, RGBA) and their metadata.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i, ((w, h), text) in enumerate(zip(sizes, CAPTIONS)):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        image, name = Image.fromarray(pixels), f"img{i}.png"
        if i == 1:
            name = f"img{i}.jpg"
        elif i == 4:
            image = image.convert("L")
        elif i == 3:
            image = image.convert("RGBA")
        (folder / "sub").mkdir(exist_ok=True)
        image.save(folder / "sub" / name)
        rows.append({"file_name": f"sub/{name}", "text": text})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "images"
    write_folder(folder)
    return folder


def read(folder, size, limit=None, rng=None):
    rows = common.image_folder_rows(str(folder), limit, rng)
    return common.load_images(rows, size), [text for _, _, text in rows]


def test_the_folder_reads_as_rgb_images_at_the_teachers_size_with_their_captions(data_dir):
    images, texts = read(data_dir, 64)
    assert images.shape == (5, 64, 64, 3) and images.dtype == np.uint8 and texts == CAPTIONS
    # the centre square, resized to 64×64: a 64×64 image stays as it is, an 80×60 one keeps x from 10 to 70
    ref = np.asarray(Image.open(data_dir / "sub" / "img0.png").resize((64, 64), Image.Resampling.BICUBIC,
                                                                       box=(10, 0, 70, 60)))
    assert np.array_equal(images[0], ref)
    assert np.array_equal(images[1], np.asarray(Image.open(data_dir / "sub" / "img1.jpg").convert("RGB")))
    gray = images[4]
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    # more rows than the pool holds: a seeded subset, in folder order
    some, some_texts = read(data_dir, 32, limit=3, rng=np.random.default_rng(1))
    assert some.shape == (3, 32, 32, 3) and len(set(some_texts)) == 3
    assert [CAPTIONS.index(t) for t in some_texts] == sorted(CAPTIONS.index(t) for t in some_texts)


def test_the_pool_is_the_teachers_vae_encoding_of_the_folder(teacher_dir, data_dir):
    pipe = load_pipeline(str(teacher_dir))
    captions, latents = common.data_latent_pool(pipe, 16, 0, "cpu", str(data_dir))
    assert latents.shape == (5, 4, 16, 16) and len(captions) == 5
    images, _ = read(data_dir, 64)
    with torch.no_grad():
        ref = pipe.vae.encode(images_to_tensor(images)).latent_dist.mean * pipe.vae.config.scaling_factor
    assert torch.allclose(latents, ref, atol=1e-5)
    rng = np.random.default_rng(0)
    state = dict(rng.bit_generator.state)
    assert captions.draw([4, 0, 0], rng) == [CAPTIONS[4], CAPTIONS[0], CAPTIONS[0]]
    assert rng.bit_generator.state == state  # a folder's captions draw nothing


def test_shapescenes_captions_draw_as_before():
    """The default pool's prompts are caption(scene, rng) in the same order: runs resume with the same draws."""
    rng = np.random.default_rng(7)
    scenes = [sample_scene(rng) for _ in range(6)]
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    idx = a.integers(6, size=5)
    assert common.PoolCaptions(scenes=scenes).draw(idx, a) == [caption(scenes[j], b)[0] for j in b.integers(6, size=5)]
    assert a.bit_generator.state == b.bit_generator.state


def test_bad_folders_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"--data-dir .*nowhere: no such folder"):
        read(tmp_path / "nowhere", 64)
    folder = tmp_path / "f"
    rows = write_folder(folder)
    (folder / "metadata.jsonl").unlink()
    with pytest.raises(ValueError, match=r'no metadata.jsonl \(the imagefolder convention: one JSON object per line '
                                         r'with "file_name" and "text"\)'):
        read(folder, 64)

    def with_rows(lines):
        (folder / "metadata.jsonl").write_text("".join(line + "\n" for line in lines))

    good = [json.dumps(r) for r in rows]
    with_rows(good[:2] + [json.dumps({"file_name": rows[2]["file_name"]})])
    with pytest.raises(ValueError, match=r'metadata.jsonl:3: sub/img2.png has no caption \("text"\)'):
        read(folder, 64)
    with_rows([json.dumps({**rows[0], "text": "  "})])
    with pytest.raises(ValueError, match=r'metadata.jsonl:1: sub/img0.png has no caption'):
        read(folder, 64)
    with_rows([json.dumps({"text": "a cat"})])
    with pytest.raises(ValueError, match=r'metadata.jsonl:1: no "file_name"'):
        read(folder, 64)
    with_rows(good[:1] + ["{not json"])
    with pytest.raises(ValueError, match=r"metadata.jsonl:2: not a JSON object"):
        read(folder, 64)
    with_rows(good + [json.dumps({"file_name": "gone.png", "text": "a dog"})])
    with pytest.raises(ValueError, match=r"metadata.jsonl:6: .*gone.png is missing"):
        read(folder, 64)
    (folder / "sub" / "img3.png").write_bytes(b"not an image")
    with_rows(good)
    with pytest.raises(ValueError, match=r"metadata.jsonl:4: .*img3.png cannot be read as an image"):
        read(folder, 64)
    with_rows([])
    with pytest.raises(ValueError, match=r"metadata.jsonl has no rows"):
        read(folder, 64)


def _recording(monkeypatch, module):
    """Every prompt `module` encodes, recorded."""
    seen, encode = [], module.encode_prompts

    def recorded(text_encoder, tokenizer, prompts):
        seen.extend(prompts)
        return encode(text_encoder, tokenizer, prompts)

    monkeypatch.setattr(module, "encode_prompts", recorded)
    return seen


def test_flash_trains_on_the_folders_latents_and_captions(teacher_dir, data_dir, tmp_path, monkeypatch):
    seen = _recording(monkeypatch, flash)
    pools = []
    pool = common.data_latent_pool
    monkeypatch.setattr(common, "data_latent_pool", lambda *a: pools.append(pool(*a)) or pools[-1])
    # the forward ablation takes its x0 from the pool; the discriminator its real side
    args = flash.parse_args(["--teacher", str(teacher_dir), "--run-dir", str(tmp_path / "run"), "--eval-prompts",
                             "/nonexistent", "--data-dir", str(data_dir), "--set", *FAST, "max_steps=2",
                             "backward=false", "teacher_steps=2"])
    out = flash.main(args)
    assert out["step"] == 2 and all(np.isfinite(h["loss"]) and np.isfinite(h["disc"]) for h in out["history"])
    assert pools[0][1].shape == (5, 4, 16, 16)
    assert set(seen) - {""} <= set(CAPTIONS) and len(set(seen) - {""}) > 1
    assert (tmp_path / "run" / "unet" / "recipe.json").is_file()


@pytest.mark.parametrize("method", ["progressive", "lcm", "add"])
def test_every_baseline_takes_the_folder(teacher_dir, data_dir, tmp_path, monkeypatch, method):
    seen = _recording(monkeypatch, common)
    argv = ["--method", method, "--teacher", str(teacher_dir), "--run-dir", str(tmp_path / method), "--eval-prompts",
            "/nonexistent", "--data-dir", str(data_dir), "--set", *FAST, *TWO_STEPS[method]]
    out = baseline.main(baseline.parse_args(argv))
    assert out["step"] == 2 and all(np.isfinite(h["loss"]) for h in out["history"] if "loss" in h)
    assert set(seen) - {""} <= set(CAPTIONS) and len(set(seen) - {""}) > 1


def test_a_bad_folder_stops_a_run_before_training(teacher_dir, tmp_path):
    args = flash.parse_args(["--teacher", str(teacher_dir), "--run-dir", str(tmp_path / "run"), "--eval-prompts",
                             "/nonexistent", "--data-dir", str(tmp_path), "--set", *FAST, "max_steps=2"])
    with pytest.raises(ValueError, match="no metadata.jsonl"):
        flash.main(args)
    assert not (tmp_path / "run" / "ckpt.pt").exists()


@pytest.mark.parametrize("method", ["flash", "lcm"])
def test_a_resume_on_other_data_is_refused_and_on_the_same_data_continues(teacher_dir, data_dir, tmp_path, method):
    def train(steps, *data):
        head = ["--method", method] if method != "flash" else []
        argv = [*head, "--teacher", str(teacher_dir), "--run-dir", str(tmp_path / "run"), "--eval-prompts",
                "/nonexistent", *data, "--set", *FAST, f"max_steps={steps}", "teacher_steps=2"]
        if method == "flash":
            return flash.main(flash.parse_args(argv))
        return baseline.main(baseline.parse_args(argv[:-1]))  # LCM has no teacher_steps

    train(1, "--data-dir", str(data_dir))
    with pytest.raises(ValueError, match=r"trained on --data-dir .*images, not ShapeScenes"):
        train(2)
    other = tmp_path / "other"
    write_folder(other)
    with pytest.raises(ValueError, match=r"not --data-dir .*other"):
        train(2, "--data-dir", str(other))
    assert train(2, "--data-dir", str(data_dir))["step"] == 2


def test_a_run_on_a_folder_has_no_shapescenes_evaluation_unless_asked(teacher_dir, data_dir, tmp_path, capsys):
    args = ["--teacher", str(teacher_dir), "--data-dir", str(data_dir), "--set", *FAST, "max_steps=1",
            "eval_every=1", "eval_prompts_per_category=1", "teacher_steps=2"]
    out = flash.main(flash.parse_args([*args, "--run-dir", str(tmp_path / "a")]))
    assert "periodic evaluation off" in capsys.readouterr().out
    assert not [h for h in out["history"] if "all" in h]
    assert common.periodic_eval_rows(flash.parse_args([*args, "--run-dir", "x"]), 2, lambda *_: None) == []
    asked = flash.parse_args([*args, "--run-dir", "x", "--eval-prompts", DEV_PROMPTS])
    assert len(common.periodic_eval_rows(asked, 2)) == 14  # 7 categories × 2
