"""The ShapeScenes prompt grammar (DESIGN.md, "ShapeScenes"): its vocabulary, the structured meaning of a prompt
(the same JSON the evaluation prompt files use), and text <-> meaning in both directions.

A scene (domain.scenes) is a background and one to three flat shapes; a prompt names them, optionally with sizes,
a spatial relation of two objects, or a count of identical ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (240, 220, 30),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "purple": (140, 60, 190),
    "pink": (245, 130, 190),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {"white": (255, 255, 255), "gray": (128, 128, 128), "black": (0, 0, 0)}
SHAPES = ("circle", "square", "triangle", "star", "heart")
SIZES = ("small", "large")
RELATIONS = ("to the left of", "to the right of", "above", "below")
COUNTS = {"two": 2, "three": 3}
FUNCTION_WORDS = ("a", "an", "and", "on", "background", "to", "the", "left", "right", "of")
VOCABULARY = tuple(sorted(set(COLORS) | set(BACKGROUNDS) | set(SHAPES) | {s + "s" for s in SHAPES}
                          | set(SIZES) | set(COUNTS) | set(FUNCTION_WORDS) | {"above", "below"}))


@dataclass(frozen=True)
class ObjectSpec:
    color: str
    shape: str
    size: str | None = None  # None: either size


@dataclass(frozen=True)
class Meaning:
    """What a prompt asks for: these objects and nothing else, a relation of objects[0] to objects[1]."""
    objects: tuple[ObjectSpec, ...]
    relation: str | None = None
    background: str | None = None

    def to_json(self) -> dict:
        return {"objects": [{"size": o.size, "color": o.color, "shape": o.shape} for o in self.objects],
                "relation": self.relation, "background": self.background}

    @staticmethod
    def from_json(d: dict) -> "Meaning":
        objects = tuple(ObjectSpec(o["color"], o["shape"], o.get("size")) for o in d["objects"])
        meaning = Meaning(objects, d.get("relation"), d.get("background"))
        validate_meaning(meaning)
        return meaning


def validate_meaning(m: Meaning) -> None:
    for o in m.objects:
        for value, allowed, what in ((o.color, COLORS, "color"), (o.shape, SHAPES, "shape")):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; known: {', '.join(allowed)}")
        if o.size is not None and o.size not in SIZES:
            raise ValueError(f"unknown size {o.size!r}; known: {', '.join(SIZES)}")
    if m.background is not None and m.background not in BACKGROUNDS:
        raise ValueError(f"unknown background {m.background!r}; known: {', '.join(BACKGROUNDS)}")
    if m.relation is not None:
        if m.relation not in RELATIONS:
            raise ValueError(f"unknown relation {m.relation!r}; known: {', '.join(RELATIONS)}")
        if len(m.objects) != 2:
            raise ValueError("a relation needs exactly two objects")
    if not 1 <= len(m.objects) <= 3:
        raise ValueError(f"a scene holds 1 to 3 objects, got {len(m.objects)}")


def _object_phrase(o: ObjectSpec) -> str:
    words = ([o.size] if o.size else []) + [o.color, o.shape]
    return ("an " if words[0][0] in "aeiou" else "a ") + " ".join(words)


def prompt_from_meaning(m: Meaning) -> str:
    """The canonical English prompt for a meaning (inverse of parse_prompt)."""
    validate_meaning(m)
    objs = m.objects
    identical = len(objs) > 1 and m.relation is None and all(o == objs[0] for o in objs) and objs[0].size is None
    if identical:
        word = {v: k for k, v in COUNTS.items()}[len(objs)]
        text = f"{word} {objs[0].color} {objs[0].shape}s"
    elif len(objs) == 1:
        text = _object_phrase(objs[0])
    elif len(objs) == 2:
        text = f"{_object_phrase(objs[0])} {m.relation or 'and'} {_object_phrase(objs[1])}"
    else:
        raise ValueError("three objects can only be stated as a count of identical objects")
    if m.background:
        text += f" on a {m.background} background"
    return text


class PromptError(ValueError):
    pass


def parse_prompt(prompt: str) -> Meaning:
    """Parses a ShapeScenes prompt into its meaning; raises PromptError naming the offending word."""
    words = re.findall(r"[a-z]+|[^a-z\s]", prompt.lower())
    if not words:
        raise PromptError("empty prompt")
    for w in words:
        if w not in VOCABULARY:
            raise PromptError(f"unknown word {w!r} in {prompt!r}; known words: {', '.join(VOCABULARY)}")
    pos = 0

    def peek(k: int = 0) -> str | None:
        return words[pos + k] if pos + k < len(words) else None

    def expect(options, what: str) -> str:
        nonlocal pos
        w = peek()
        if w not in options:
            got = f"{w!r}" if w else "end of prompt"
            raise PromptError(f"expected {what} at word {pos + 1} of {prompt!r}, got {got}")
        pos += 1
        return w

    def parse_object() -> ObjectSpec:
        expect(("a", "an"), "'a' or 'an'")
        size = expect(SIZES, "a size") if peek() in SIZES else None
        color = expect(COLORS, "a color")
        return ObjectSpec(color, expect(SHAPES, "a shape"), size)

    relation = None
    if peek() in COUNTS:
        n = COUNTS[expect(COUNTS, "a count")]
        color = expect(COLORS, "a color")
        shape = expect({s + "s" for s in SHAPES}, "a plural shape")[:-1]
        objects = (ObjectSpec(color, shape),) * n
    else:
        objects = (parse_object(),)
        if peek() == "and":
            pos += 1
            objects += (parse_object(),)
        elif peek() in ("above", "below"):
            relation = expect(("above", "below"), "a relation")
            objects += (parse_object(),)
        elif peek() == "to":
            expect(("to",), "'to'"); expect(("the",), "'the'")
            side = expect(("left", "right"), "'left' or 'right'"); expect(("of",), "'of'")
            relation = f"to the {side} of"
            objects += (parse_object(),)
    background = None
    if peek() == "on":
        pos += 1
        expect(("a",), "'a'")
        background = expect(BACKGROUNDS, "a background color")
        expect(("background",), "'background'")
    if peek() is not None:
        raise PromptError(f"unexpected word {peek()!r} at word {pos + 1} of {prompt!r}")
    return Meaning(objects, relation, background)


OPPOSITE_RELATION = {"to the left of": "to the right of", "to the right of": "to the left of", "above": "below", "below": "above"}


def binding_perturbations(meaning: Meaning) -> list[str]:
    """The changes that only a text encoder that binds attributes and reads relations can tell apart."""
    kinds = []
    if len(meaning.objects) == 2 and len(set(meaning.objects)) == 2:
        a, b = meaning.objects
        if meaning.relation:
            kinds.append("relation")
        if a.color != b.color and (a.shape != b.shape or meaning.relation or (a.size and b.size and a.size != b.size)):
            kinds.append("swap_colors")
        if a.size and b.size and a.size != b.size:
            kinds.append("swap_sizes")
    return kinds
