"""The SRL-target probe on the tiny random pipeline: every target it reports, measured against the start."""

import json

from diffusers import UNet2DConditionModel

from distill.evaluation import srl_probe


def test_probe_reports_each_target_and_a_guide_equal_to_the_start_is_at_distance_0(teacher_dir, tmp_path):
    student = tmp_path / "student"
    UNet2DConditionModel.from_pretrained(teacher_dir / "unet").save_pretrained(student)
    (student / "recipe.json").write_text(json.dumps({"sampler": "ddim", "timesteps": [999, 500],
                                                     "guidance_scale": 1.0, "noise_correction": True}))
    out = tmp_path / "probe"
    report = srl_probe.main(srl_probe.parse_args([
        "--teacher", str(teacher_dir), "--per-category", "1", "--gammas", "600", "--teacher-steps", "2", "1",
        "--start-unet", str(student), "--guide-unet", str(student), "--out", str(out)]))
    assert [(r["gamma"], r["k"]) for r in report["results"]] == [(600, 2), (600, 1)]
    assert all(r["distance"] > 0 for r in report["results"] + report["eq7"])
    assert report["guide"][0]["distance"] == 0.0  # the same student from the same x_T draws the start itself
    assert "--guide-unet" in report["command"] and "Guide target" in (tmp_path / "probe.md").read_text()
