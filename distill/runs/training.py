"""What every training stage shares: its command-line flags and its clock."""
from __future__ import annotations

import argparse
import time


def add_run_args(p: argparse.ArgumentParser, config_name: str) -> None:
    p.add_argument("--config", help=f"JSON file with {config_name} fields")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config fields (JSON values)")
    p.add_argument("--run-dir", required=True, help="folder for checkpoints and logs; an existing run resumes")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (with a checkpoint) after this many minutes")


def add_data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="an image folder (Hugging Face imagefolder: images + metadata.jsonl with file_name and text) "
                        "for the data latents (the discriminator's real images, the forward ablation's x0) and the "
                        "training prompts; default: ShapeScenes renders")
    p.add_argument("--eval-prompts", default=None, metavar="JSONL",
                   help="ShapeScenes prompt file for the periodic evaluation (default: the dev prompts; none with "
                        "--data-dir, whose images the ShapeScenes analyzer cannot score)")


class RunTimer:
    """When to write the next checkpoint, and when a time-boxed chunk of a run is over."""

    def __init__(self, checkpoint_minutes: float, max_minutes: float | None):
        self.start = self.last_checkpoint = time.time()
        self.checkpoint_seconds, self.max_minutes = checkpoint_minutes * 60, max_minutes

    def minutes(self) -> float:
        return (time.time() - self.start) / 60

    def checkpoint_due(self) -> bool:
        if time.time() - self.last_checkpoint <= self.checkpoint_seconds:
            return False
        self.last_checkpoint = time.time()
        return True

    def out_of_time(self) -> bool:
        return self.max_minutes is not None and self.minutes() > self.max_minutes


def chunked_minutes(history: list[dict]) -> float:
    """Training minutes a run logged over all its chunks: each resumed chunk's clock restarts from 0, so the
    chunk maxima add up."""
    total, prev = 0.0, 0.0
    for m in (h["minutes"] for h in history if "minutes" in h):
        if m < prev:
            total += prev
        prev = m
    return total + prev
