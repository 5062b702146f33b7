"""`python -m distill baseline --method M`: trains one of the few-step baselines of the paper's Table 1 from the
same teacher and initialisation as Imagine Flash (the student starts as a copy of the teacher UNet), through
accelerate, resumable and time-boxed like flash.py. The methods: progressive.py, lcm.py, add.py. Every student is saved
like flash's, run_dir/unet/ + recipe.json; sampling.recipes.sample_recipe samples any of them.

python -m distill baseline --method progressive --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/progressive
python -m distill baseline --method lcm --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/lcm
python -m distill baseline --method add --teacher ~/.cache/imagine-flash/teacher/pipeline --run-dir ~/.cache/imagine-flash/add
"""
from __future__ import annotations

import argparse

from ..runs.config import load_config
from ..runs.training import add_data_arg, add_run_args
from .add import ADDConfig, train_add
from .lcm import LCMConfig, train_lcm
from .progressive import ProgressiveConfig, train_progressive


CONFIGS = {"progressive": ProgressiveConfig, "lcm": LCMConfig, "add": ADDConfig}
TRAIN = {"progressive": train_progressive, "lcm": train_lcm, "add": train_add}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train a Table 1 baseline (progressive distillation, LCM or ADD-style) "
                                            "from a diffusers SD teacher.")
    p.add_argument("--method", required=True, choices=sorted(CONFIGS), help="which baseline to train")
    p.add_argument("--teacher", required=True, help="diffusers Stable Diffusion folder of the teacher")
    add_run_args(p, "ProgressiveConfig / LCMConfig / ADDConfig (by --method)")
    add_data_arg(p)
    return p.parse_args(argv)


def main(args) -> dict:
    cfg = load_config(CONFIGS[args.method], args.config, args.set)
    return TRAIN[args.method](args, cfg)


if __name__ == "__main__":
    main(parse_args())
