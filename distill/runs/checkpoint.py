"""Atomic, validated checkpoints: a plain dict saved with torch.save (nanoGPT style)."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, is_dataclass

import torch


# Fields that say how long to run and how often to log, evaluate or save: a resume may change them.
OPERATIONAL_FIELDS = frozenset({"max_steps", "max_unet_passes", "log_every", "eval_every", "eval_scenes",
                                "eval_prompts_per_category", "checkpoint_minutes", "mixed_precision", "snapshot_steps"})


def save_atomic(obj: dict, path: str) -> None:
    """Writes to a temporary file in the same folder, then renames: a kill never leaves half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(path: str, expected_config: dict | None = None, kind: str | None = None,
                    mmap: bool = False, defaults: dict | None = None) -> dict:
    """Loads a checkpoint; a corrupt file, another stage's file or a config mismatch is an error. mmap: tensors stay
    on disk until touched (for reading only the config and step of a large checkpoint). defaults: the config's
    default values, which a field missing from an older checkpoint had (a field added later keeps old runs
    resumable while it stays at its default)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise ValueError(f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}: {e}); "
                         "move it away to start over") from e
    if not isinstance(ckpt, dict) or "config" not in ckpt:
        raise ValueError(f"checkpoint {path} is not an Imagine Flash checkpoint (no 'config' entry)")
    if kind is not None and ckpt.get("kind") != kind:
        raise ValueError(f"checkpoint {path} is a {ckpt.get('kind')!r} checkpoint, expected {kind!r}")
    if expected_config is not None:
        saved = {**(defaults or {}), **ckpt["config"]}
        diff = {k: (saved.get(k), v) for k, v in expected_config.items()
                if k not in OPERATIONAL_FIELDS and _norm(saved.get(k)) != _norm(v)}
        if diff:
            raise ValueError(f"checkpoint {path} was made with another config; differing fields "
                             f"(checkpoint, now): {diff}. Use another --run-dir to start a new run")
    return ckpt


def _norm(v):
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def as_dict(cfg) -> dict:
    return asdict(cfg) if is_dataclass(cfg) else dict(cfg)


RUN_RECORD = "record.json"  # a finished run brought from another machine: its checkpoint's kind, config and step


def write_run_record(folder: str, record: dict) -> None:
    """folder/record.json (read_run_record reads it), written whole or not at all."""
    tmp = os.path.join(folder, RUN_RECORD + ".tmp")
    with open(tmp, "w") as f:
        json.dump(record, f, indent=2)
    os.replace(tmp, os.path.join(folder, RUN_RECORD))


def read_run_record(run_dir: str) -> dict | None:
    """kind, config and step (and whatever else it holds) of a run folder: from its ckpt.pt, else from the
    record.json of a run trained elsewhere whose checkpoint (optimizer state) was not brought along; None if neither."""
    path = os.path.join(run_dir, "ckpt.pt")
    if os.path.exists(path):
        return load_checkpoint(path, mmap=True)
    path = os.path.join(run_dir, RUN_RECORD)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        record = json.load(f)
    missing = {"kind", "config", "step"} - set(record)
    if missing:
        raise ValueError(f"{path} is not a run record (no {', '.join(sorted(missing))})")
    return record


def refuse_record_only(run_dir: str) -> None:
    """A run folder holding only a record (trained elsewhere, no optimizer state) cannot be resumed; starting it
    over would silently replace its student."""
    if os.path.exists(os.path.join(run_dir, RUN_RECORD)) and not os.path.exists(os.path.join(run_dir, "ckpt.pt")):
        raise ValueError(f"{run_dir} holds a run trained elsewhere ({RUN_RECORD}, no ckpt.pt): it cannot be resumed "
                         "and is not started over; use another --run-dir")
