import numpy as np

from distill.domain.analyzer import analyze, analyze_and_score
from distill.domain.grammar import parse_prompt
from distill.domain.render import render
from distill.domain.scenes import caption, perturb_meaning, sample_scene, scene_for_meaning


def test_render_analyze_round_trip():
    rng = np.random.default_rng(0)
    ok = 0
    for _ in range(300):
        scene = sample_scene(rng)
        _, meaning = caption(scene, rng, p_size=1.0, p_background=1.0)
        ok += analyze_and_score(meaning, render(scene))["overall"]
    assert ok >= 298


def test_analyzer_reads_each_attribute():
    rng = np.random.default_rng(3)
    scene = scene_for_meaning(parse_prompt("a small green heart above a large blue star on a gray background"), rng)
    a = analyze(render(scene))
    assert a.background == "gray"
    got = sorted((d.size, d.color, d.shape) for d in a.objects)
    assert got == [("large", "blue", "star"), ("small", "green", "heart")]


def test_one_changed_attribute_fails():
    rng = np.random.default_rng(4)
    passed = 0
    for _ in range(200):
        scene = sample_scene(rng)
        _, meaning = caption(scene, rng)
        wrong = perturb_meaning(meaning, scene, rng)
        assert wrong != meaning
        passed += analyze_and_score(wrong, render(scene))["overall"]
    assert passed <= 2


def test_extra_object_fails():
    rng = np.random.default_rng(5)
    scene = scene_for_meaning(parse_prompt("a red circle and a blue square"), rng)
    assert not analyze_and_score(parse_prompt("a red circle"), render(scene))["overall"]


def test_calibration_report_names_the_vae_it_measured(tmp_path):
    from distill.domain.calibration import calibrate, write_calibration_report
    from tools.fixtures import TINY_VAE
    from distill.networks.architectures import build_vae
    report = calibrate(20, vae=build_vae(TINY_VAE).eval(), vae_name="runs/vae3-decoder")
    assert report["ground_truth_accuracy"] == 1.0 and report["vae"] == "runs/vae3-decoder"
    assert 0 <= report["vae_reconstruction_accuracy"] < 0.5  # an untrained VAE reconstructs nothing the analyzer accepts
    write_calibration_report(report, str(tmp_path))
    assert "--calibrate --vae-run runs/vae3-decoder`" in (tmp_path / "analyzer_calibration.md").read_text()
