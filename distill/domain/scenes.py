"""ShapeScenes scenes: random layouts of the grammar's forms, their true captions, scenes for a given meaning,
and meanings perturbed so that a scene no longer satisfies them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grammar import (BACKGROUNDS, COLORS, Meaning, OPPOSITE_RELATION, ObjectSpec, RELATIONS, SHAPES, SIZES,
                      prompt_from_meaning, validate_meaning)


IMAGE_SIZE = 64

# Side of an object's bounding box in pixels; the analyzer splits sizes at SIZE_THRESHOLD.
SIZE_RANGES = {"small": (11, 14), "large": (21, 26)}

SIZE_THRESHOLD = 17.5


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
