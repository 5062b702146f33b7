"""Tiny-config training: loss falls, runs resume after a kill, bad checkpoints fail loudly, 2 processes work."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import ROOT, TINY_TEACHER, TINY_TEXT, TINY_VAE, run_stage

from distill.runs.checkpoint import save_atomic
from distill.teacher import train_teacher, train_text, train_vae


def losses(history):
    return [h["loss"] for h in history if "loss" in h]


def test_vae_loss_falls(tmp_path):
    out = run_stage(train_vae, tmp_path / "vae", TINY_VAE + ["max_steps=30", "learning_rate=0.003"])
    l = losses(out["history"])
    assert out["step"] == 30
    assert np.mean(l[-5:]) < 0.85 * np.mean(l[:5])


def test_text_encoder_loss_falls(tmp_path):
    out = run_stage(train_text, tmp_path / "text", TINY_TEXT + ["max_steps=15", "learning_rate=0.003"])
    l = losses(out["history"])
    assert np.mean(l[-3:]) < np.mean(l[:3])


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    run_stage(train_vae, base / "vae", TINY_VAE + ["max_steps=2"])
    run_stage(train_text, base / "text", TINY_TEXT + ["max_steps=2"])
    return base


def test_teacher_loss_falls_and_resumes(tiny_runs, tmp_path):
    extra = ["--vae-run", str(tiny_runs / "vae"), "--text-run", str(tiny_runs / "text")]
    first = run_stage(train_teacher, tmp_path / "t", TINY_TEACHER + ["max_steps=10", "learning_rate=0.002"], extra)
    assert first["step"] == 10
    from accelerate.state import AcceleratorState
    AcceleratorState._reset_state(reset_partial_state=False)  # a new process in real life
    # the resumed run switches to bf16 autocast: an operational field, so the checkpoint accepts it
    second = run_stage(train_teacher, tmp_path / "t", TINY_TEACHER + ["max_steps=25", "learning_rate=0.002",
                                                                      "mixed_precision=bf16"], extra)
    assert second["step"] == 25
    l = losses(second["history"])
    assert len(l) == 25  # one history: the second run continued the first's
    assert np.mean(l[-5:]) < np.mean(l[:5])
    assert np.mean(l[-5:]) < np.mean(l[10:15])  # and keeps falling in bf16


def test_relation_targets_mark_the_states_after_the_relation_word():
    from distill.networks.architectures import build_tokenizer, tokenize
    from distill.networks.text_conditioned import RELATION_CLASSES, relation_targets
    tok = build_tokenizer()
    ids = tokenize(tok, ["a red circle to the left of a blue star", "a green heart below a pink square",
                         "a red circle and a blue star", ""])
    targets = relation_targets(tok, ids)
    words = tok.convert_ids_to_tokens(ids[0].tolist())
    left, end = words.index("left"), words.index("<|endoftext|>")
    assert (targets[0, :left + 1] == -100).all()
    assert (targets[0, left + 1:end] == RELATION_CLASSES.index("to the right of")).all()  # "of a blue star": right of it
    assert (targets[0, end:] == RELATION_CLASSES.index("to the left of")).all()  # every end-of-text state
    end1 = tok.convert_ids_to_tokens(ids[1].tolist()).index("<|endoftext|>")
    assert (targets[1, end1:] == RELATION_CLASSES.index("below")).all()
    assert (targets[1, end1 - 3:end1] == RELATION_CLASSES.index("above")).all()
    assert (targets[2:] == -100).all()  # no relation, no target


def test_teacher_relation_loss_falls(tiny_runs, tmp_path):
    extra = ["--vae-run", str(tiny_runs / "vae"), "--text-run", str(tiny_runs / "text")]
    out = run_stage(train_teacher, tmp_path / "t", TINY_TEACHER + [
        "max_steps=20", "relation_loss_weight=1.0", "relation_share=1.0", "text_learning_rate=0.01"], extra)
    rel = [h["relation_loss"] for h in out["history"] if "relation_loss" in h]
    assert len(rel) == 20
    assert np.mean(rel[-5:]) < 0.5 * np.mean(rel[:5])


def test_relation_loss_needs_a_trained_text_encoder(tiny_runs, tmp_path):
    extra = ["--vae-run", str(tiny_runs / "vae"), "--text-run", str(tiny_runs / "text")]
    with pytest.raises(ValueError, match="text_learning_rate"):
        run_stage(train_teacher, tmp_path / "t", TINY_TEACHER + ["relation_loss_weight=0.1", "text_learning_rate=0"], extra)
    # a teacher trained with the relation head continues without it, and back (the head is training-only)
    from distill.runs import weights
    run_stage(train_teacher, tmp_path / "rel", TINY_TEACHER + ["max_steps=2", "relation_loss_weight=0.1"], extra)
    weights.pack(str(tmp_path / "rel"), str(tmp_path / "rel-packed"))
    plain = run_stage(train_teacher, tmp_path / "plain", TINY_TEACHER + ["max_steps=3"],
                      extra + ["--init-weights", str(tmp_path / "rel-packed")])
    assert plain["step"] == 3


def test_resume_after_kill(tmp_path):
    run_dir = tmp_path / "vae"
    cmd = [sys.executable, "-m", "distill", "train-vae", "--run-dir", str(run_dir), "--set", *TINY_VAE,
           "max_steps=100000", "checkpoint_minutes=0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = run_dir / "ckpt.pt"
    deadline = time.time() + 120
    step = 0
    while time.time() < deadline and step < 3:
        time.sleep(0.5)
        if ckpt.exists():
            step = torch.load(ckpt, weights_only=False)["step"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert step >= 3, "no checkpoint written before the kill"
    killed_at = torch.load(ckpt, weights_only=False)["step"]
    out = run_stage(train_vae, run_dir, TINY_VAE + [f"max_steps={killed_at + 2}"])
    assert out["step"] == killed_at + 2
    assert [h["step"] for h in out["history"] if "loss" in h][-3:] == [killed_at, killed_at + 1, killed_at + 2]


def test_corrupt_checkpoint_is_an_error(tmp_path):
    run_dir = tmp_path / "vae"
    run_dir.mkdir()
    (run_dir / "ckpt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        run_stage(train_vae, run_dir, TINY_VAE + ["max_steps=2"])
    assert (run_dir / "ckpt.pt").read_bytes() == b"not a checkpoint"  # never silently overwritten


def test_mismatched_checkpoint_is_an_error(tmp_path):
    run_dir = tmp_path / "vae"
    run_stage(train_vae, run_dir, TINY_VAE + ["max_steps=1"])
    with pytest.raises(ValueError, match="another config"):
        run_stage(train_vae, run_dir, TINY_VAE + ["max_steps=2", "learning_rate=0.1"])
    save_atomic({"kind": "text", "config": {}}, str(run_dir / "ckpt.pt"))
    with pytest.raises(ValueError, match="'text' checkpoint"):
        run_stage(train_vae, run_dir, TINY_VAE + ["max_steps=2"])


def test_two_cpu_processes_with_accelerate(tmp_path):
    # accelerate launch starts CPU processes only through MPI; torchrun + Accelerator(cpu=True) runs DDP over gloo
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "distill", "train-vae",
           "--run-dir", str(tmp_path / "vae"), "--set", *TINY_VAE, "max_steps=3"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(tmp_path / "vae" / "ckpt.pt", weights_only=False)
    assert ckpt["step"] == 3
    assert "accelerate: 2 process(es)" in res.stdout


def test_packed_weights_resume_the_teacher_on_a_new_machine(tiny_runs, tmp_path):
    from distill.runs import weights
    from distill.networks.loaders import load_vae
    weights.pack(str(tiny_runs / "vae"), str(tmp_path / "packed-vae"))
    a, b = load_vae(str(tiny_runs / "vae")), load_vae(str(tmp_path / "packed-vae"))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    extra = ["--vae-run", str(tmp_path / "packed-vae"), "--text-run", str(tiny_runs / "text")]
    run_stage(train_teacher, tmp_path / "t1", TINY_TEACHER + ["max_steps=3"], extra)
    weights.pack(str(tmp_path / "t1"), str(tmp_path / "packed-teacher"))
    out = run_stage(train_teacher, tmp_path / "t2", TINY_TEACHER + ["max_steps=5"],
                    extra + ["--init-weights", str(tmp_path / "packed-teacher")])
    assert out["step"] == 5 and [h["step"] for h in out["history"]] == [4, 5]
    with pytest.raises(ValueError, match="expected 'vae'"):
        load_vae(str(tmp_path / "packed-teacher"))


def test_decoder_only_fine_tune_keeps_the_latent_space(tiny_runs, tmp_path):
    from distill.teacher import save_teacher
    from distill.runs import weights
    from distill.networks.loaders import load_vae, load_vae_with_latent_id
    run_stage(train_vae, tmp_path / "dec", TINY_VAE + ["max_steps=4", "decoder_only=true", "learning_rate=0.003"],
              ["--init-from", str(tiny_runs / "vae")])
    before, after = load_vae(str(tiny_runs / "vae")).state_dict(), load_vae(str(tmp_path / "dec")).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("encoder.", "quant_conv.")))
    assert not all(torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))
    assert load_vae_with_latent_id(str(tmp_path / "dec"))[1] == load_vae_with_latent_id(str(tiny_runs / "vae"))[1]
    weights.pack(str(tmp_path / "dec"), str(tmp_path / "dec-packed"))  # the id survives packing
    assert load_vae_with_latent_id(str(tmp_path / "dec-packed"))[1] == load_vae_with_latent_id(str(tiny_runs / "vae"))[1]
    # a teacher trained on the first VAE's latents takes the new decoder, and refuses a VAE with another encoder
    extra = ["--vae-run", str(tiny_runs / "vae"), "--text-run", str(tiny_runs / "text")]
    run_stage(train_teacher, tmp_path / "t", TINY_TEACHER + ["max_steps=1"], extra)
    save_teacher.main(save_teacher.parse_args(["--teacher-run", str(tmp_path / "t"), "--out", str(tmp_path / "sd"),
                                               "--vae-run", str(tmp_path / "dec-packed")]))
    run_stage(train_vae, tmp_path / "other", TINY_VAE + ["max_steps=1", "seed=5"])
    with pytest.raises(ValueError, match="another latent space"):
        save_teacher.build_teacher_pipeline(str(tmp_path / "t"), vae_run=str(tmp_path / "other"))
    with pytest.raises(ValueError, match="--init-from"):
        run_stage(train_vae, tmp_path / "none", TINY_VAE + ["max_steps=1", "decoder_only=true"])


def test_teacher_stack_to_sd_folder_and_bundle(tiny_runs, tmp_path):
    from distill.export import export
    from distill.teacher import save_teacher
    from distill.networks.pipeline import load_pipeline
    extra = ["--vae-run", str(tiny_runs / "vae"), "--text-run", str(tiny_runs / "text")]
    run_stage(train_teacher, tmp_path / "t", TINY_TEACHER + ["max_steps=2", "text_learning_rate=0.01"], extra)
    save_teacher.main(save_teacher.parse_args(["--teacher-run", str(tmp_path / "t"), "--out", str(tmp_path / "sd")]))
    pipe = load_pipeline(str(tmp_path / "sd"))
    ckpt = torch.load(tmp_path / "t" / "ckpt.pt", weights_only=False)
    # the SD folder holds the EMA of the jointly trained text encoder, not the original
    key = next(k for k in pipe.text_encoder.state_dict() if k.endswith("final_layer_norm.weight"))
    assert torch.equal(pipe.text_encoder.state_dict()[key], ckpt["ema"]["text_encoder." + key])
    assert pipe.vae.config.scaling_factor == pytest.approx(ckpt["scaling_factor"])
    # the same from packed weights, as another machine would (fp16 teacher weights)
    from distill.runs import weights
    weights.pack(str(tmp_path / "t"), str(tmp_path / "packed"))
    save_teacher.main(save_teacher.parse_args(["--teacher-run", str(tmp_path / "packed"), "--out", str(tmp_path / "sd2"),
                                               "--vae-run", str(tiny_runs / "vae"), "--text-run", str(tiny_runs / "text")]))
    unet2 = load_pipeline(str(tmp_path / "sd2")).unet
    assert max((a - b).abs().max().item() for a, b in zip(unet2.parameters(), pipe.unet.parameters())) < 1e-2  # fp16
    manifest = export.main(export.parse_args(["--teacher", str(tmp_path / "sd"), "--out", str(tmp_path / "bundle")]))
    assert max(manifest["parity_max_abs_diff"].values()) <= 1e-4
    assert manifest["image_size"] == [64, 64] and manifest["latent_shape"] == [4, 32, 32]
