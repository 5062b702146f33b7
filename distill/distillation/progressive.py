"""Progressive distillation (Salimans & Ho 2022, Algorithm 2), a Table 1 baseline: rounds halve the DDIM step count
from start_steps to target_steps; one student DDIM step t→t'' learns to match two teacher DDIM steps t→t'→t''.
Classifier-free guidance is baked into the first round's teacher (ε̂ with CFG w); later rounds' teachers are the
previous round's (frozen) student. Recipe: plain DDIM on target_steps uniform timesteps, no CFG."""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch

from ..runs.compute import WITH_GRAD, budget_spent, guided_passes
from ..runs.training import RunTimer
from ..sampling.ddim import alpha_sigma, guided
from .common import StudentConfig, log, maybe_evaluate, save_checkpoint, setup


@dataclass
class ProgressiveConfig(StudentConfig):
    start_steps: int = 32  # the first round's teacher runs this many DDIM steps
    target_steps: int = 4  # the last round's student; start_steps / target_steps must be a power of 2
    steps_per_round: int = 350  # 3 rounds (32→16→8→4) ≈ the 1,000 steps each flash student gets
    guidance_scale: float = 4.0  # CFG of the first round's teacher (the original model), baked into every student

    def __post_init__(self):
        if self.snapshot_steps:
            raise ValueError("snapshot_steps: progressive distillation's student is a different sampler each round "
                             "(its length is set by steps_per_round); train an equal-steps run of its own instead")

    def rounds(self) -> int:
        ratio = self.start_steps // max(self.target_steps, 1)
        if self.target_steps < 1 or ratio < 2 or ratio * self.target_steps != self.start_steps or ratio & (ratio - 1):
            raise ValueError(f"start_steps / target_steps must be a power of 2 ≥ 2, got {self.start_steps} / "
                             f"{self.target_steps}")
        return ratio.bit_length() - 1

    def student_steps(self, round_: int) -> int:
        return self.start_steps // 2 ** (round_ + 1)

    def recipe(self, student_steps: int | None = None) -> dict:
        return {"sampler": "ddim", "timesteps": uniform_timesteps(student_steps or self.target_steps),
                "guidance_scale": 1.0, "noise_correction": False}


def uniform_timesteps(n: int) -> list[int]:
    """n DDIM timesteps at 1000·(n−j)/n − 1, ending at x0 ("trailing" spacing): [999, 749, 499, 249] for n = 4. The
    2n-step grid holds the n-step grid at its even entries, which progressive distillation's t→t'→t'' needs."""
    return [int(round(1000 * (n - j) / n)) - 1 for j in range(n)]


def progressive_target(z_t, z_2, a_t, s_t, a_2, s_2) -> torch.Tensor:
    """x̃ = (z_t'' − (σ_t''/σ_t)·z_t) / (α_t'' − (σ_t''/σ_t)·α_t) (Salimans & Ho 2022, Algorithm 2): the x̂ with which
    one DDIM step t → t'' from z_t, α_t''·x̂ + (σ_t''/σ_t)·(z_t − α_t·x̂), lands on z_t''. t'' = 0 gives x̃ = z_0. float64"""
    ratio = s_2 / s_t
    return (z_2.double() - ratio * z_t.double()) / (a_2 - ratio * a_t)


def progressive_step_passes(cfg: ProgressiveConfig, round_: int) -> int:
    """UNet passes (runs.compute) of one step of a round: the two teacher DDIM steps (round 0: the CFG teacher;
    later: the previous round's student, unguided) and the student with gradient, per sample."""
    teacher = guided_passes(cfg.guidance_scale) if round_ == 0 else 1
    return cfg.batch_size * (2 * teacher + WITH_GRAD)


def progressive_passes(cfg: ProgressiveConfig, steps: int) -> int:
    """UNet passes of a run's first `steps` steps: round 0's, then the later rounds' (which all cost the same)."""
    first = min(steps, cfg.steps_per_round)
    return first * progressive_step_passes(cfg, 0) + (steps - first) * progressive_step_passes(cfg, 1)


def steps_per_round_for(cfg: ProgressiveConfig, budget: int) -> int:
    """The round length whose rounds together spend at most `budget` UNet passes (and within one step per round
    of it): progressive distillation's length is set by its rounds, not by max_steps."""
    return max(1, budget // progressive_passes(replace(cfg, steps_per_round=1), cfg.rounds()))


def train_progressive(args, cfg: ProgressiveConfig) -> dict:
    """Salimans & Ho 2022, Algorithm 2, with the first round's teacher guided (w = cfg.guidance_scale)."""
    n_rounds = cfg.rounds()
    run = setup(args, cfg, "progressive", lambda steps: progressive_passes(cfg, steps))
    accelerator, teacher, ac, dev = run.accelerator, run.teacher, run.ac, run.dev
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    round_, round_teacher = 0, None  # round_teacher: the previous round's student, frozen (None in round 0)
    if run.ckpt is not None:
        student.load_state_dict(run.ckpt["student"]); opt.load_state_dict(run.ckpt["optimizer"])
        round_ = run.ckpt["round"]
        if run.ckpt["round_teacher"] is not None:
            round_teacher = copy.deepcopy(teacher)
            round_teacher.load_state_dict(run.ckpt["round_teacher"])
    # one AdamW for all rounds: Algorithm 2 keeps optimising η; only its teacher changes between rounds
    student_ddp, opt = accelerator.prepare(student, opt)

    def checkpoint():
        state = {"student": student.state_dict(), "optimizer": opt.state_dict(), "round": round_,
                 "round_teacher": None if round_teacher is None else round_teacher.state_dict()}
        save_checkpoint(run, args, cfg, "progressive", state, student, cfg.recipe(cfg.student_steps(round_)))

    timer = RunTimer(cfg.checkpoint_minutes, args.max_minutes)
    total = n_rounds * cfg.steps_per_round
    while run.step < total and not budget_spent(run.passes, cfg.max_unet_passes):
        if run.step // cfg.steps_per_round != round_:
            # a new round (Algorithm 2, θ ← η): its teacher is the student so far, frozen; the student carries on
            round_ = run.step // cfg.steps_per_round
            round_teacher = copy.deepcopy(student).eval().requires_grad_(False)
        n = cfg.student_steps(round_)  # N: the student's steps this round; the teacher takes 2N
        grid_s = torch.tensor(uniform_timesteps(n) + [-1], device=dev)  # [N + 1], −1 = x0
        grid_t = torch.tensor(uniform_timesteps(2 * n) + [-1], device=dev)  # [2N + 1]

        with accelerator.autocast():  # bf16 UNet passes when mixed_precision is set
            x0, cond, uncond = run.batch()  # [B, 4, h, w], [B, 77, D]
            b = x0.shape[0]
            # 1. i ~ U{1..N}: the student step t → t'' and the teacher's midpoint t'
            j = torch.from_numpy(run.rng.integers(n, size=b)).to(dev)
            t, t1, t2 = grid_s[j], grid_t[2 * j + 1], grid_s[j + 1]  # [B] each
            a_t, s_t = alpha_sigma(ac, t)
            a_1, s_1 = alpha_sigma(ac, t1)
            a_2, s_2 = alpha_sigma(ac, t2)
            z_t = (a_t * x0.double() + s_t * torch.randn_like(x0).double()).float()  # z_t = α_t·x + σ_t·ε

            # 2. two teacher DDIM steps t → t' → t'' (round 0: the original model with CFG)
            with torch.no_grad():
                if round_teacher is None:
                    eps = guided(teacher, cond, uncond, cfg.guidance_scale)(z_t, t)
                else:
                    eps = guided(round_teacher, cond)(z_t, t)
                z_1 = a_1 * (z_t - s_t * eps.double()) / a_t + s_1 * eps.double()  # z_t' = α_t'·x̂ + σ_t'·ε̂
                if round_teacher is None:
                    eps_1 = guided(teacher, cond, uncond, cfg.guidance_scale)(z_1.float(), t1)
                else:
                    eps_1 = guided(round_teacher, cond)(z_1.float(), t1)
                z_2 = a_2 * (z_1 - s_1 * eps_1.double()) / a_1 + s_2 * eps_1.double()  # z_t''
                # 3. the x̃ for which one student DDIM step t → t'' from z_t lands on z_t''
                target = progressive_target(z_t, z_2, a_t, s_t, a_2, s_2).float()  # [B, 4, h, w]

            # 4. the student's x̂ at t, loss in x-space with truncated-SNR weighting max(SNR, 1) (the paper's §4)
            eps_s = guided(student_ddp, cond)(z_t, t)
            x0_student = ((z_t.double() - s_t * eps_s.double()) / a_t).float()
            weight = torch.clamp(a_t**2 / s_t**2, min=1.0).float()  # [B, 1, 1, 1]
            loss = (weight * (x0_student - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(student_ddp.parameters(), 1.0)
        opt.step()

        run.step += 1
        run.passes += progressive_step_passes(cfg, round_)
        if run.step % cfg.log_every == 0 or run.step == 1:
            log(run, timer, loss=loss.item(), round=round_, student_steps=n)
        maybe_evaluate(run, cfg, student, cfg.recipe(n))
        if timer.checkpoint_due():
            checkpoint()
        if timer.out_of_time():
            break
    checkpoint()
    accelerator.wait_for_everyone()
    return {"step": run.step, "unet_passes": run.passes, "history": run.history, "round": round_}
