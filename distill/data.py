"""ShapeScenes: the synthetic compositional domain (DESIGN.md, "ShapeScenes").

A scene is a background and one to three flat, axis-aligned shapes placed without overlap. It is
rendered anti-aliased at 64×64 and described by a prompt from a small fixed grammar whose structured
meaning is the same JSON the evaluation prompt files use.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

IMAGE_SIZE = 64
SUPERSAMPLE = 4

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
# Side of an object's bounding box in pixels; the analyzer splits sizes at SIZE_THRESHOLD.
SIZE_RANGES = {"small": (11, 14), "large": (21, 26)}
SIZE_THRESHOLD = 17.5
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


# ---------------------------------------------------------------- prompts: text <-> meaning

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


# ---------------------------------------------------------------- scenes and rendering

@dataclass(frozen=True)
class PlacedObject:
    color: str
    shape: str
    size: str
    side: float  # bounding-box side in pixels
    cx: float
    cy: float


@dataclass(frozen=True)
class Scene:
    background: str
    objects: tuple[PlacedObject, ...]
    relation: str | None = None  # holds of objects[0] relative to objects[1] when set
    form: str = "single"  # single | and | relation | count


def shape_polygon(shape: str, n: int = 64) -> np.ndarray:
    """Outline of a shape in unit coordinates (bounding box [-1, 1]², y down)."""
    if shape == "circle":
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "square":
        return np.array([[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]])
    if shape == "triangle":
        return np.array([[0.0, -1.0], [1.0, 0.8], [-1.0, 0.8]])
    if shape == "star":
        a = -np.pi / 2 + np.arange(10) * np.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = np.stack([r * np.cos(a), r * np.sin(a)], 1)
        pts[:, 1] += 0.1  # centre the star's bounding box vertically
        return pts
    if shape == "heart":
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = np.stack([x, y], 1)
        pts -= (pts.max(0) + pts.min(0)) / 2
        return pts / np.abs(pts).max()
    raise ValueError(f"unknown shape {shape!r}")


def render(scene: Scene, size: int = IMAGE_SIZE) -> np.ndarray:
    """Anti-aliased RGB render, uint8 [size, size, 3] (supersampled, then box-filtered)."""
    s = SUPERSAMPLE * size / IMAGE_SIZE
    img = Image.new("RGB", (round(SUPERSAMPLE * size),) * 2, BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(img)
    for o in scene.objects:
        pts = shape_polygon(o.shape) * (o.side / 2) + np.array([o.cx, o.cy])
        draw.polygon([tuple(p) for p in (pts * s)], fill=COLORS[o.color])
    return np.asarray(img.resize((size, size), Image.BOX))


def _relation_holds(a: PlacedObject, b: PlacedObject, relation: str, margin: float = 0.0) -> bool:
    dx, dy = a.cx - b.cx, a.cy - b.cy
    if relation in ("to the left of", "to the right of"):
        sign = -1 if relation == "to the left of" else 1
        return sign * dx > 0 and abs(dx) > abs(dy) + margin
    sign = -1 if relation == "above" else 1
    return sign * dy > 0 and abs(dy) > abs(dx) + margin


def _place(rng: np.random.Generator, specs: list[tuple[str, str, str]], relation: str | None,
           gap: float = 3.0, tries: int = 200, position_tries: int = 50) -> tuple[PlacedObject, ...]:
    for _ in range(tries):
        placed: list[PlacedObject] = []
        for color, shape, size in specs:
            lo, hi = SIZE_RANGES[size]
            side = float(rng.uniform(lo, hi))
            half = side / 2
            for _ in range(position_tries):
                cx, cy = rng.uniform(half + 1, IMAGE_SIZE - half - 1, size=2)
                cand = PlacedObject(color, shape, size, side, float(cx), float(cy))
                if not any(abs(cand.cx - p.cx) < half + p.side / 2 + gap and abs(cand.cy - p.cy) < half + p.side / 2 + gap
                           for p in placed):
                    placed.append(cand)
                    break
            else:
                break
        else:
            if relation is None or _relation_holds(placed[0], placed[1], relation, margin=4.0):
                return tuple(placed)
    raise RuntimeError(f"could not place {specs} with relation {relation!r}")


FORM_WEIGHTS = {"single": 0.25, "and": 0.25, "relation": 0.3, "count": 0.2}


def sample_scene(rng: np.random.Generator, form: str | None = None) -> Scene:
    """A random scene of one of the grammar's forms (single object, two objects, a relation, a count)."""
    for _ in range(20):
        try:
            return _sample_scene(rng, form)
        except RuntimeError:  # a crowded draw (three large objects) that found no layout: draw again
            continue
    raise RuntimeError("could not sample a scene in 20 draws")


def _sample_scene(rng: np.random.Generator, form: str | None) -> Scene:
    forms = list(FORM_WEIGHTS)
    form = form or forms[rng.choice(len(forms), p=list(FORM_WEIGHTS.values()))]
    pick = lambda seq: seq[rng.integers(len(seq))]  # noqa: E731
    colors, shapes = list(COLORS), list(SHAPES)
    relation = None
    if form == "count":
        spec = (pick(colors), pick(shapes), pick(SIZES))
        specs = [spec] * int(rng.integers(2, 4))
    else:
        n = 1 if form == "single" else 2
        specs = []
        while len(specs) < n:
            spec = (pick(colors), pick(shapes), pick(SIZES))
            if spec[:2] not in [s[:2] for s in specs]:  # two objects differ in color or shape
                specs.append(spec)
        relation = pick(RELATIONS) if form == "relation" else None
    return Scene(pick(list(BACKGROUNDS)), _place(rng, specs, relation), relation, form)


OPPOSITE_RELATION = {"to the left of": "to the right of", "to the right of": "to the left of", "above": "below", "below": "above"}


def caption(scene: Scene, rng: np.random.Generator, p_size: float = 0.6, p_background: float = 0.6) -> tuple[str, Meaning]:
    """A random true prompt for a scene: sizes and background are stated or left out, order may swap."""
    def spec(o: PlacedObject) -> ObjectSpec:
        return ObjectSpec(o.color, o.shape, o.size if rng.random() < p_size else None)

    background = scene.background if rng.random() < p_background else None
    if scene.form == "count":
        o = scene.objects[0]
        meaning = Meaning((ObjectSpec(o.color, o.shape),) * len(scene.objects), None, background)
    else:
        objects, relation = list(scene.objects), scene.relation
        if len(objects) == 2 and rng.random() < 0.5:
            objects.reverse()
            relation = OPPOSITE_RELATION[relation] if relation else None
        meaning = Meaning(tuple(spec(o) for o in objects), relation, background)
    return prompt_from_meaning(meaning), meaning


def scene_for_meaning(meaning: Meaning, rng: np.random.Generator) -> Scene:
    """A random scene that satisfies a meaning (ground truth for calibration and FD's real set)."""
    validate_meaning(meaning)
    pick = lambda seq: seq[rng.integers(len(seq))]  # noqa: E731
    size_all = pick(SIZES)
    identical = len(meaning.objects) > 1 and meaning.relation is None and len(set(meaning.objects)) == 1
    specs = [(o.color, o.shape, o.size or (size_all if identical else pick(SIZES))) for o in meaning.objects]
    form = "count" if identical else ("relation" if meaning.relation else ("and" if len(specs) == 2 else "single"))
    return Scene(meaning.background or pick(list(BACKGROUNDS)), _place(rng, specs, meaning.relation), meaning.relation, form)


def preview_grid(images: list[np.ndarray], columns: int, labels: list[str] | None = None, scale: int = 2) -> Image.Image:
    """Tiles uint8 images into one PIL image (for committed previews)."""
    h, w = images[0].shape[:2]
    rows = math.ceil(len(images) / columns)
    grid = Image.new("RGB", (columns * w * scale, rows * h * scale), (255, 255, 255))
    for i, im in enumerate(images):
        tile = Image.fromarray(im).resize((w * scale, h * scale), Image.NEAREST)
        grid.paste(tile, ((i % columns) * w * scale, (i // columns) * h * scale))
    return grid


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


def perturb_meaning(meaning: Meaning, scene: Scene, rng: np.random.Generator, kind: str | None = None) -> Meaning:
    """The meaning with exactly one attribute changed so that the scene no longer satisfies it
    (a hard negative for the text encoder, a wrong prompt for the analyzer's calibration).
    `kind` forces one change (one of binding_perturbations(meaning))."""
    objs = list(meaning.objects)
    options = ["color", "shape", "size", "background"]
    if len(objs) == 2 and len({(o.color, o.shape) for o in objs}) == 2:
        a, b = objs
        # swapping colors changes the meaning only if something else tells the two objects apart
        if a.color != b.color and (a.shape != b.shape or meaning.relation or (a.size and b.size and a.size != b.size)):
            options.append("swap_colors")
        if meaning.relation:
            options.append("relation")
        sizes = [o.size for o in objs]
        if None not in sizes and sizes[0] != sizes[1]:
            options.append("swap_sizes")
    if meaning.relation is None and len(set(objs)) == 1 and len(objs) > 1:
        options = ["count_color", "count_shape", "count", "background"]
    others = lambda value, pool: [v for v in pool if v != value]  # noqa: E731
    pick = lambda seq: seq[rng.integers(len(seq))]  # noqa: E731
    if kind is not None and kind not in options:
        raise ValueError(f"perturbation {kind!r} does not apply to {meaning}")
    forced = kind
    while True:
        kind = forced or pick(options)
        i = int(rng.integers(len(objs)))
        if kind == "color":
            objs[i] = ObjectSpec(pick(others(objs[i].color, list(COLORS))), objs[i].shape, objs[i].size)
        elif kind == "shape":
            objs[i] = ObjectSpec(objs[i].color, pick(others(objs[i].shape, list(SHAPES))), objs[i].size)
        elif kind == "size":
            # state the size the scene's object does not have (the objects keep their order in the scene or reversed)
            placed = [p for p in scene.objects if (p.color, p.shape) == (objs[i].color, objs[i].shape)][0]
            objs[i] = ObjectSpec(objs[i].color, objs[i].shape, "large" if placed.size == "small" else "small")
        elif kind == "background":
            return Meaning(tuple(objs), meaning.relation, pick(others(scene.background, list(BACKGROUNDS))))
        elif kind == "swap_colors":
            a, b = objs
            objs = [ObjectSpec(b.color, a.shape, a.size), ObjectSpec(a.color, b.shape, b.size)]
        elif kind == "swap_sizes":
            a, b = objs
            objs = [ObjectSpec(a.color, a.shape, b.size), ObjectSpec(b.color, b.shape, a.size)]
        elif kind == "relation":
            return Meaning(tuple(objs), OPPOSITE_RELATION[meaning.relation], meaning.background)
        elif kind in ("count_color", "count_shape"):
            o = objs[0]
            o = (ObjectSpec(pick(others(o.color, list(COLORS))), o.shape) if kind == "count_color"
                 else ObjectSpec(o.color, pick(others(o.shape, list(SHAPES)))))
            objs = [o] * len(objs)
        elif kind == "count":
            objs = [objs[0]] * (5 - len(objs))  # two <-> three
        new = Meaning(tuple(objs), meaning.relation, meaning.background)
        # a color/shape change must not make the two objects' descriptions collide
        if new != meaning and (len(new.objects) < 2 or meaning.relation is None and len(set(new.objects)) == 1
                               or len(set((o.color, o.shape) for o in new.objects)) == len(new.objects)):
            return new
        objs = list(meaning.objects)
