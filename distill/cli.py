"""`python -m distill <command> [args]`: one entry point for every stage. Each command's module owns its
flags (`python -m distill <command> --help`)."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "preview": ("distill.preview", "render a grid of ShapeScenes samples with their prompts"),
    "analyze": ("distill.analyze_cmd", "analyze an image, or write the analyzer's calibration report"),
    "train-vae": ("distill.train_vae", "train the VAE (AutoencoderKL)"),
    "train-text": ("distill.train_text", "train the text encoder as a tiny CLIP with hard negatives"),
    "train-teacher": ("distill.train_teacher", "train the teacher UNet"),
    "save-teacher": ("distill.save_teacher", "write a trained teacher as a diffusers Stable Diffusion folder"),
    "sample": ("distill.sample_cmd", "sample images from a diffusers SD folder"),
    "distill": ("distill.flash", "Imagine Flash distillation of a teacher into a 1-, 2- or 3-step student"),
    "curves": ("distill.curves", "learning curves (dev-prompt accuracy vs step) of distillation runs"),
    "srl-probe": ("distill.srl_probe", "accuracy, faithfulness and cost of the SRL target per (γ, k)"),
    "baseline": ("distill.baselines", "train a Table 1 baseline: progressive distillation, LCM or ADD-style"),
    "relations": ("distill.relations", "measure whether a teacher's text encoder and UNet read spatial relations"),
    "eval": ("distill.evaluate", "analyzer accuracy per category of a model on a prompt file"),
    "reproduce": ("distill.reproduce", "train, evaluate and report the paper's Tables 1 and 3 (reports/RESULTS.md)"),
    "export": ("distill.export", "export a diffusers SD folder to an ONNX model bundle with parity checks"),
}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m distill <command> [args]\n\ncommands:")
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:<14} {help_text}")
        sys.exit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        sys.exit(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
    module = importlib.import_module(COMMANDS[name][0])
    module.main(module.parse_args(rest))
