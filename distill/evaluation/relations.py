"""Does a teacher read spatial relations? Two measurements, written to a report:

1. Text encoder: a linear probe (logistic regression) predicts a prompt's relation from one token state — at the
   relation word, at the second object's last word, at the first end-of-text state. Held-out accuracy, 4 classes.
2. Teacher: every dev prompt with a relation is sampled as asked and with the relation reversed (same seeds);
   both images are scored against the *asked* meaning. A teacher that reads the relation satisfies it far more
   often when asked than when told the opposite; one that ignores it satisfies it equally often in both.

python -m distill relations --model ~/.cache/imagine-flash/teacher/pipeline --out reports/relations
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from ..domain.analyzer import analyze, score
from ..domain.grammar import OPPOSITE_RELATION, prompt_from_meaning
from ..domain.prompts import DEV_PROMPTS, load_prompt_file
from ..domain.scenes import caption, sample_scene
from ..networks.architectures import tokenize
from ..networks.pipeline import load_pipeline
from ..networks.text_conditioned import RELATION_CLASSES, RELATION_WORDS
from ..sampling.recipes import sample_with_pipeline


@torch.no_grad()
def relation_states(text_encoder, tokenizer, prompts: list[str]) -> dict[str, torch.Tensor]:
    """Token states at the relation word, the word before end of text and the first end-of-text token: [N, D] each."""
    ids = tokenize(tokenizer, prompts)  # [N, 77]
    states = torch.cat([text_encoder(ids[i:i + 256])[0] for i in range(0, len(ids), 256)]).float()  # [N, 77, D]
    words = {tokenizer.convert_tokens_to_ids(w) for w in RELATION_WORDS}
    at = {"relation word": [], "second object": [], "end of text": []}
    for b, row in enumerate(ids.tolist()):
        end = row.index(tokenizer.eos_token_id, 1)
        at["relation word"].append(next(i for i, t in enumerate(row) if t in words))
        at["second object"].append(end - 1)
        at["end of text"].append(end)
    rows = torch.arange(len(ids))
    return {k: states[rows, torch.tensor(v)] for k, v in at.items()}


def probe_accuracy(x: torch.Tensor, y: torch.Tensor, n_train: int, steps: int = 300) -> float:
    """Held-out accuracy of a logistic-regression probe trained on the first n_train rows (standardized features)."""
    mean, std = x[:n_train].mean(0), x[:n_train].std(0) + 1e-6
    x = (x - mean) / std
    torch.manual_seed(0)
    probe = torch.nn.Linear(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x[:n_train]), y[:n_train])
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        return float((probe(x[n_train:]).argmax(1) == y[n_train:]).float().mean())


def probe_text_encoder(text_encoder, tokenizer, n_prompts: int = 4000, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    prompts, labels = [], []
    for _ in range(n_prompts):
        text, meaning = caption(sample_scene(rng, "relation"), rng)
        prompts.append(text); labels.append(RELATION_CLASSES.index(meaning.relation))
    y = torch.tensor(labels)
    n_train = n_prompts * 3 // 4
    return {k: probe_accuracy(x, y, n_train) for k, x in relation_states(text_encoder, tokenizer, prompts).items()}


def reversal_test(pipe, rows: list[dict], seeds: list[int], steps: int = 25, guidance_scale: float = 4.0) -> dict:
    """Relation satisfied (given the objects are right) when asked vs when the prompt says the opposite."""
    rows = [r for r in rows if r["meaning"].relation is not None]
    if not rows:
        raise ValueError("the prompt file holds no prompt with a relation")
    prompts, meanings, all_seeds = [], [], []
    for r in rows:
        for s in seeds:
            reversed_meaning = dataclasses.replace(r["meaning"], relation=OPPOSITE_RELATION[r["meaning"].relation])
            prompts += [r["prompt"], prompt_from_meaning(reversed_meaning)]
            meanings += [r["meaning"]] * 2
            all_seeds += [s, s]
    images = sample_with_pipeline(pipe, prompts, all_seeds, steps, guidance_scale)
    counts = {"asked": [0, 0], "reversed": [0, 0]}  # [objects right, and the asked relation holds]
    for i, (image, meaning) in enumerate(zip(images, meanings)):
        result = score(meaning, analyze(image))
        c = counts["asked" if i % 2 == 0 else "reversed"]
        c[0] += result["binding"]; c[1] += result["binding"] and result["relation"]
    out = {"prompts": len(rows), "seeds": seeds}
    for k, (bound, held) in counts.items():
        out[k] = {"objects_right": bound / (len(images) // 2), "relation_holds_given_objects": held / max(bound, 1)}
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Measure whether a teacher's text encoder and UNet read spatial relations.")
    p.add_argument("--model", required=True, help="diffusers Stable Diffusion folder (save-teacher output)")
    p.add_argument("--out", required=True, help="report path without extension (.json and .md are written)")
    p.add_argument("--prompts", default=DEV_PROMPTS, help="jsonl prompt file; its prompts with a relation are used")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="noise seeds per prompt")
    p.add_argument("--probe-prompts", type=int, default=4000, help="training captions for the probes (3/4 train)")
    return p.parse_args(argv)


def main(args) -> dict:
    pipe = load_pipeline(args.model)
    pipe.set_progress_bar_config(disable=True)
    report = {"model": os.path.abspath(args.model),
              "text_probe": probe_text_encoder(pipe.text_encoder, pipe.tokenizer, args.probe_prompts),
              "reversal": reversal_test(pipe, load_prompt_file(args.prompts), args.seeds)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=2)
    rev = report["reversal"]
    lines = [f"# Relations: {args.model}", "",
             "Linear-probe accuracy of the prompt's relation (4 classes, held-out captions) from one text state:", "",
             "| " + " | ".join(report["text_probe"]) + " |", "|---" * len(report["text_probe"]) + "|",
             "| " + " | ".join(f"{v:.1%}" for v in report["text_probe"].values()) + " |", "",
             f"Teacher, {rev['prompts']} dev prompts with a relation × seeds {rev['seeds']}, scored against the asked "
             "meaning:", "", "| prompt | objects right | asked relation holds (given objects right) |", "|---|---|---|"]
    lines += [f"| {k} | {rev[k]['objects_right']:.1%} | {rev[k]['relation_holds_given_objects']:.1%} |"
              for k in ("asked", "reversed")]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main(parse_args())
