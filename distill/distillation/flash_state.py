"""A flash run's state beyond one step: carrying another run's whole state into a new one (--continue-from), the
weights that are evaluated and shipped (the EMA's), and the saved student folders."""
from __future__ import annotations

import copy
import os

from ..runs.checkpoint import load_checkpoint
from .common import check_sources, save_student


def carry_state(args, student, disc, opt, opt_d, ema, cfg, fake=None, opt_f=None) -> None:
    """Loads another flash run's student, discriminator, optimizer moments and EMA into a new run. The optimizers
    take this config's learning rates (the schedule is built after, from them); a discriminator of another shape
    or an EMA the new config lacks (or has and the old run lacked) is an error, not a silent fresh start. A DMD
    fake score comes along when the old run had one; otherwise it starts as the teacher, as in a new DMD run."""
    run_dir = args.continue_from
    path = os.path.join(run_dir, "ckpt.pt")
    ckpt = load_checkpoint(path, kind="flash")
    check_sources(ckpt, path, args)
    student.load_state_dict(ckpt["student"]); disc.load_state_dict(ckpt["discriminator"])
    opt.load_state_dict(ckpt["optimizer"]); opt_d.load_state_dict(ckpt["disc_optimizer"])
    for o, lr in ((opt, cfg.learning_rate), (opt_d, cfg.disc_learning_rate)):
        for group in o.param_groups:
            group["lr"] = group["initial_lr"] = lr
    if fake is not None and ckpt.get("fake_score") is not None:
        fake.load_state_dict(ckpt["fake_score"]); opt_f.load_state_dict(ckpt["fake_optimizer"])
        for group in opt_f.param_groups:
            group["lr"] = cfg.fake_learning_rate
    if (ema is None) != (ckpt.get("ema") is None):
        raise ValueError(f"--continue-from {run_dir}: ema_decay must be > 0 in both runs or in neither")
    if ema is not None:
        ema.load_state_dict(ckpt["ema"])
        ema.decay = cfg.ema_decay


def averaged(student, ema):
    """The weights that are evaluated and shipped: the EMA's when there is one."""
    if ema is None:
        return student
    model = copy.deepcopy(student)
    ema.copy_to(model.parameters())
    return model


def save_students(student, cfg, run_dir: str) -> None:
    """unet/ holds the student with its main recipe; a student of several step counts also gets unet-<k>step/
    per extra count (the same weights, that count's recipe), so each exports as its own bundle UNet."""
    for k in cfg.all_step_counts():
        folder = os.path.join(run_dir, "unet" if k == cfg.student_steps else f"unet-{k}step")
        save_student(student, cfg.recipe(k), folder)
