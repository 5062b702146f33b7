"""Distribution matching (DMD: Yin et al. 2024, "One-step Diffusion with Distribution Matching Distillation", §3.2;
DMD2, Yin et al. 2024) as an extra loss on the Imagine Flash student (FlashConfig.dm_weight).

Why here: SRL's MSE towards a teacher re-draw is minimised by the mean of the re-draws the student's x̂0 admits, so a
1-step student, whose x̂0 admits many, learns a blurred mean (reports/students/STUDENTS.md). DMD's gradient instead
moves each x̂0 along s_real − s_fake, the difference of the teacher's score and a score fitted online to the
student's own outputs, which pulls the student's *distribution* onto the teacher's (mode-seeking, not mean-seeking).

The fake score is a copy of the teacher trained on the student's detached x̂0 with the ordinary ε loss; as in DMD2
it starts from the teacher, takes no CFG, and gets its own optimizer (TTUR: fake_updates steps per student step).
"""
from __future__ import annotations

import torch

from ..runs.compute import WITH_GRAD, guided_passes
from ..sampling.ddim import alpha_sigma, guided, predict_x0

DM_T_RANGE = (20, 980)  # DMD2's min/max_step_percent 0.02 / 0.98 of the 1000 training timesteps


def _noised(x0: torch.Tensor, ac: torch.Tensor, t_range: tuple[int, int]):
    """x0 forward-noised to per-row timesteps drawn uniformly in t_range: (x_t in float32, t, noise)."""
    t = torch.randint(t_range[0], t_range[1] + 1, (x0.shape[0],), device=x0.device)
    noise = torch.randn_like(x0)
    a, s = alpha_sigma(ac, t)
    return (a * x0.double() + s * noise.double()).float(), t, noise


def dm_loss(teacher, fake, x0: torch.Tensor, cond, uncond, guidance_scale: float, ac: torch.Tensor,
            t_range: tuple[int, int] = DM_T_RANGE) -> torch.Tensor:
    """DMD's generator loss on the student's x̂0 (which carries the gradient): ½‖x̂0 − stopgrad(x̂0 − g)‖², whose
    gradient in x̂0 is g = (x0_fake − x0_real) / mean|x̂0 − x0_real| per row (DMD Eq. 7 in x0 form, normalised as
    DMD2's sd_guidance does), at a random noise level per row."""
    with torch.no_grad():
        x_t, t, _ = _noised(x0.detach(), ac, t_range)
        x0_real = predict_x0(x_t, guided(teacher, cond, uncond, guidance_scale)(x_t, t), t, ac).double()
        x0_fake = predict_x0(x_t, guided(fake, cond)(x_t, t), t, ac).double()
        # p_real − p_fake with p = x̂0 − x0_pred: a descent step moves x̂0 towards the teacher's x0, away from the fake's
        g = x0_fake - x0_real
        g = torch.nan_to_num(g / (x0.detach().double() - x0_real).abs().mean(dim=(1, 2, 3), keepdim=True))
    return 0.5 * torch.nn.functional.mse_loss(x0.float(), (x0.detach().double() - g).float())


def fake_score_step(fake, opt, x0: torch.Tensor, cond, ac: torch.Tensor, accelerator) -> torch.Tensor:
    """One step of the fake score on the student's detached x̂0: the ε-prediction loss at a uniform timestep."""
    x_t, t, noise = _noised(x0.detach(), ac, (0, len(ac) - 1))
    with accelerator.autocast():
        eps = fake(x_t, t.float(), cond).sample
    loss = torch.nn.functional.mse_loss(eps.float(), noise.float())
    opt.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    accelerator.clip_grad_norm_(fake.parameters(), 1.0)
    opt.step()
    return loss.detach()


def dm_passes(rows: int, guidance_scale: float, fake_updates: int) -> int:
    """UNet passes (runs.compute) of the DMD term on `rows` rows: the real score with CFG and the fake score
    (no gradient), then fake_updates fake-score steps with gradient. The gradient back into the student's x̂0 costs
    nothing extra: the loss is a function of x̂0 alone."""
    return rows * (guided_passes(guidance_scale) + 1 + fake_updates * WITH_GRAD)
