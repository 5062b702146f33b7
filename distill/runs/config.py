"""Stage configs live in JSON files (distill/configs/); each maps onto one dataclass."""
from __future__ import annotations

import dataclasses
import json
import typing


def load_config(cls, path: str | None = None, overrides: list[str] | None = None):
    """Builds a config dataclass from a JSON file plus `key=value` overrides (JSON values)."""
    values: dict = {}
    if path:
        with open(path) as f:
            values = json.load(f)
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return from_dict(cls, values)


def from_dict(cls, values: dict):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
