"""distill.evaluation.relations: the probe separates what is separable, and the reversal test credits only a teacher that
places objects as asked."""

import json

import numpy as np
import torch
from tools.fixtures import tiny_random_pipeline

from distill.domain.grammar import parse_prompt
from distill.domain.prompts import DEV_PROMPTS, load_prompt_file
from distill.domain.render import render
from distill.domain.scenes import scene_for_meaning
from distill.evaluation import relations


def test_probe_reads_a_linear_code_and_not_noise():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (800,), generator=gen)
    noise = torch.randn(800, 16, generator=gen)
    coded = noise + 5 * torch.nn.functional.one_hot(y, 16).float()
    assert relations.probe_accuracy(coded, y, 600) > 0.95
    assert relations.probe_accuracy(noise, y, 600) < 0.45  # chance is 0.25


def _ground_truth_sampler(pipe, prompts, seeds, steps, guidance_scale):
    """A perfect teacher: renders a scene that satisfies each prompt."""
    return np.stack([render(scene_for_meaning(parse_prompt(p), np.random.default_rng(s))) for p, s in zip(prompts, seeds)])


def test_reversal_test_credits_a_teacher_that_reads_relations(monkeypatch):
    monkeypatch.setattr("distill.evaluation.relations.sample_with_pipeline", _ground_truth_sampler)
    rows = [r for r in load_prompt_file(DEV_PROMPTS) if r["category"] == "spatial"][:12]
    out = relations.reversal_test(None, rows, seeds=[0, 1])
    assert out["prompts"] == 12
    assert out["asked"]["objects_right"] > 0.9 and out["reversed"]["objects_right"] > 0.9
    assert out["asked"]["relation_holds_given_objects"] > 0.95
    assert out["reversed"]["relation_holds_given_objects"] < 0.05


def test_relations_cli_writes_both_reports(tmp_path, monkeypatch):
    monkeypatch.setattr("distill.evaluation.relations.sample_with_pipeline", _ground_truth_sampler)
    model = tmp_path / "sd"
    tiny_random_pipeline().save_pretrained(model)
    prompts = tmp_path / "p.jsonl"
    rows = [l for l in open(DEV_PROMPTS) if '"spatial"' in l][:3] + [l for l in open(DEV_PROMPTS) if '"single"' in l][:2]
    prompts.write_text("".join(rows))
    args = relations.parse_args(["--model", str(model), "--out", str(tmp_path / "rel"), "--prompts", str(prompts),
                                 "--seeds", "0", "--probe-prompts", "200"])
    report = relations.main(args)
    assert report["reversal"]["prompts"] == 3  # only the prompts with a relation
    assert set(report["text_probe"]) == {"relation word", "second object", "end of text"}
    assert json.loads((tmp_path / "rel.json").read_text())["reversal"]["asked"]["relation_holds_given_objects"] > 0.95
    assert "| reversed |" in (tmp_path / "rel.md").read_text()
