import numpy as np
import pytest

from distill.domain.grammar import BACKGROUNDS, COLORS, Meaning, PromptError, parse_prompt, prompt_from_meaning
from distill.domain.prompts import DEV_PROMPTS, load_prompt_file
from distill.domain.render import render
from distill.domain.scenes import caption, sample_scene, scene_for_meaning


def test_render_paints_background_and_object_colors():
    rng = np.random.default_rng(0)
    scene = scene_for_meaning(parse_prompt("a large red square on a black background"), rng)
    img = render(scene)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == BACKGROUNDS["black"]
    o = scene.objects[0]
    assert tuple(img[int(o.cy), int(o.cx)]) == COLORS["red"]  # the centre of a square is solid
    # anti-aliased: some edge pixels are blends, neither background nor object color
    flat = {tuple(p) for p in img.reshape(-1, 3)}
    assert len(flat) > 2


@pytest.mark.parametrize("prompt", [
    "a red circle", "an orange star on a gray background", "a small blue heart and a large green square",
    "a pink triangle to the left of a yellow star on a white background", "a purple square below a red heart",
    "three yellow stars", "two red circles on a black background"])
def test_parse_and_print_round_trip(prompt):
    assert prompt_from_meaning(parse_prompt(prompt)) == prompt


@pytest.mark.parametrize("prompt,word", [("a red dog", "dog"), ("a crimson circle", "crimson"),
                                         ("a red circle on a beige background", "beige")])
def test_unknown_word_is_named(prompt, word):
    with pytest.raises(PromptError, match=repr(word)):
        parse_prompt(prompt)


@pytest.mark.parametrize("prompt", ["", "red circle", "a red", "a red circle and", "two red circle", "a red circle a"])
def test_malformed_prompts_raise(prompt):
    with pytest.raises(PromptError):
        parse_prompt(prompt)


def test_dev_prompt_file_parses_to_its_meanings():
    rows = load_prompt_file(DEV_PROMPTS)
    assert len(rows) == 350
    assert {r["category"] for r in rows} == {"single", "background", "color_binding", "size_binding", "spatial",
                                             "counting", "complex"}


def test_captions_parse_back_to_their_meaning():
    rng = np.random.default_rng(1)
    for _ in range(300):
        scene = sample_scene(rng)
        text, meaning = caption(scene, rng)
        assert parse_prompt(text) == meaning


def test_meaning_json_rejects_unknown_values():
    with pytest.raises(ValueError, match="crimson"):
        Meaning.from_json({"objects": [{"color": "crimson", "shape": "circle", "size": None}]})


def test_repository_copy_of_the_dev_prompts_matches_shared():
    import os
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "eval", "dev_prompts.jsonl")
    if not os.path.exists(shared):
        pytest.skip("no ../shared/eval beside this checkout (a CI clone): nothing to compare the copy with")
    assert open(shared).read() == open(DEV_PROMPTS).read()
