"""Prompt files (shared/eval jsonl format): reading and validating them, the dev set, and the fixed subset
that training runs evaluate on."""
from __future__ import annotations

import json
import os

from .. import REPO_ROOT
from .grammar import Meaning, parse_prompt


def load_prompt_file(path: str) -> list[dict]:
    """Reads a jsonl prompt file (shared/eval format); checks each prompt parses to its stated meaning."""
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                meaning = Meaning.from_json(row)
                parsed = parse_prompt(row["prompt"])
            except (ValueError, KeyError) as e:
                raise ValueError(f"{path}:{lineno}: {e}") from e
            if _canonical(parsed) != _canonical(meaning):
                raise ValueError(f"{path}:{lineno}: prompt {row['prompt']!r} does not say what its meaning says")
            rows.append({"prompt": row["prompt"], "category": row.get("category", "all"), "meaning": meaning})
    if not rows:
        raise ValueError(f"{path}: no prompts")
    return rows


def _canonical(m: Meaning):
    return (tuple(m.objects), m.relation, m.background)


# the dev prompt set (a copy of the workspace's shared/eval/dev_prompts.jsonl kept in the repository)
DEV_PROMPTS = os.path.join(REPO_ROOT, "eval", "dev_prompts.jsonl")


def eval_subset(path: str, per_category: int) -> list[dict]:
    """The first `per_category` prompts of each category (a quick, fixed eval during training)."""
    if per_category <= 0 or not os.path.exists(path):
        return []
    rows, seen = [], {}
    for row in load_prompt_file(path):
        if seen.get(row["category"], 0) < per_category:
            rows.append(row)
            seen[row["category"]] = seen.get(row["category"], 0) + 1
    return rows
