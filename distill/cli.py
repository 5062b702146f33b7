"""`python -m distill <command> [args]`: one entry point for every stage. A command is named after the module that
owns it and its flags (`python -m distill <command> --help`)."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "preview": ("distill.domain.preview", "render a grid of ShapeScenes samples with their prompts"),
    "analyze": ("distill.evaluation.analyze", "analyze an image, or write the analyzer's calibration report"),
    "train-vae": ("distill.teacher.train_vae", "train the VAE (AutoencoderKL)"),
    "train-text": ("distill.teacher.train_text", "train the text encoder as a tiny CLIP with hard negatives"),
    "train-teacher": ("distill.teacher.train_teacher", "train the teacher UNet"),
    "save-teacher": ("distill.teacher.save_teacher", "write a trained teacher as a diffusers Stable Diffusion folder"),
    "teacher-report": ("distill.teacher.teacher_report", "what each teacher-stack stage reached and cost (TEACHER.md)"),
    "weights": ("distill.runs.weights", "pack a run into compact committed weights (no optimizer state)"),
    "sample": ("distill.sampling.sample", "sample images from a diffusers SD folder"),
    "flash": ("distill.distillation.flash", "Imagine Flash distillation of a teacher into a 1-, 2- or 3-step student"),
    "tiny-decoder": ("distill.distillation.tiny_decoder", "distill a teacher's VAE decoder into a tiny TAESD-style decoder"),
    "baseline": ("distill.distillation.baseline", "train a Table 1 baseline: progressive distillation, LCM or ADD-style"),
    "evaluate": ("distill.evaluation.evaluate", "analyzer accuracy per category, FD and CLIP score of a model"),
    "tiny-decoder-report": ("distill.evaluation.tiny_decoder_report", "a bundle's tiny VAE decoder vs its full decoder: "
                            "parity, speed, analyzer accuracy (reports/tiny_decoder/)"),
    "curves": ("distill.evaluation.curves", "learning curves (dev-prompt accuracy vs step) of distillation runs"),
    "srl-probe": ("distill.evaluation.srl_probe", "accuracy, faithfulness and cost of the SRL target per (γ, k)"),
    "relations": ("distill.evaluation.relations", "measure whether a teacher's text encoder and UNet read spatial relations"),
    "reproduce": ("distill.evaluation.reproduce", "train, evaluate and report the paper's Tables 1 and 3 (reports/<teacher>/RESULTS.md)"),
    "export": ("distill.export.export", "export a diffusers SD folder to an ONNX model bundle with parity checks"),
    "add-tiny-decoder": ("distill.export.add_tiny_decoder", "add the optional tiny VAE decoder to an exported bundle"),
}
# the earlier names, kept for one release so that scripts and notes that use them keep working
ALIASES = {"distill": "flash", "eval": "evaluate"}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m distill <command> [args]\n\ncommands:")
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:<15} {help_text}")
        print("\nold names (removed in the next release): "
              + ", ".join(f"{old} = {new}" for old, new in ALIASES.items()))
        sys.exit(0 if argv else 2)
    name, rest = ALIASES.get(argv[0], argv[0]), argv[1:]
    if name not in COMMANDS:
        sys.exit(f"unknown command {argv[0]!r}; known: {', '.join(COMMANDS)}")
    module = importlib.import_module(COMMANDS[name][0])
    module.main(module.parse_args(rest))
