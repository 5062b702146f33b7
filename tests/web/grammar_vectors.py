"""Test vectors for the app's prompt grammar (src/pipeline/grammar.ts): prompts of known words, each with what
distill/domain/grammar.py's parse_prompt makes of it (its meaning, or the word it stops at), so that the browser refuses
exactly the prompts the Python side would not train or evaluate on.

    .venv/bin/python tests/web/grammar_vectors.py   # rewrites tests/web/grammar_vectors.json

tests/web/grammar.test.ts reads it.
"""
from __future__ import annotations

import json
import os
import re
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from distill.domain.grammar import VOCABULARY, PromptError, parse_prompt  # noqa: E402
from distill.domain.scenes import caption, sample_scene  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammar_vectors.json")
SEED = 0
SAMPLED = 150

HAND = [
    "circle red a blue", "to the left of", "a red", "a", "red circle", "a red circle and", "a red circle blue",
    "two red circle", "two red circles and a blue square", "three blue hearts on a white background",
    "a red circle on a gray", "a red circle on an gray background", "a red circle on a red background",
    "an red circle", "a orange star", "a small large red circle", "a small red circle to the right of a large blue "
    "star on a black background", "a red circle to the left a blue star", "a red circle to the of a blue star",
    "a red circle above", "a red circle above two blue stars", "a red circle on a white background above a blue star",
    "a red circle and a blue square and a green star", "two small red circles", "a red circles", "the red circle",
    "on a white background", "a red circle on a white background background",
]


def verdict(prompt: str) -> dict:
    try:
        return {"prompt": prompt, "ok": True, "meaning": parse_prompt(prompt).to_json()}
    except PromptError as e:
        m = re.search(r"at word (\d+)", str(e))
        if not m:
            raise
        return {"prompt": prompt, "ok": False, "at": int(m.group(1)) - 1}


def perturbed(words: list[str], rng: np.random.Generator) -> list[str]:
    """One random edit: swap two words, drop one, repeat one, or insert a vocabulary word."""
    w = list(words)
    kind = int(rng.integers(4))
    i = int(rng.integers(len(w)))
    if kind == 0:
        j = int(rng.integers(len(w)))
        w[i], w[j] = w[j], w[i]
    elif kind == 1 and len(w) > 1:
        del w[i]
    elif kind == 2:
        w.insert(i, w[i])
    else:
        w.insert(int(rng.integers(len(w) + 1)), VOCABULARY[int(rng.integers(len(VOCABULARY)))])
    return w


def main() -> None:
    rng = np.random.default_rng(SEED)
    prompts = list(HAND)
    sampled = [caption(sample_scene(rng), rng)[0] for _ in range(SAMPLED)]
    prompts += sampled
    prompts += [" ".join(perturbed(p.split(), rng)) for p in sampled for _ in range(2)]
    seen: set[str] = set()
    cases = [verdict(p) for p in prompts if not (p in seen or seen.add(p))]
    with open(OUT, "w") as f:  # one case a line, for readable diffs
        f.write(f'{{"generator": "tests/web/grammar_vectors.py", "seed": {SEED}, "cases": [\n')
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")
    print(f"{OUT}: {len(cases)} cases, {sum(c['ok'] for c in cases)} accepted")


if __name__ == "__main__":
    main()
