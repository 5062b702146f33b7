"""Training compute in UNet forward-pass equivalents ("passes"), the one unit every trainer counts its cost in, so
that methods are compared, and budgeted (`max_unet_passes`), at equal compute.

A pass is one UNet forward on one latent: a step counts per sample and sums over its batch, so a UNet call on a
batch of B costs B passes (and a step's passes / B is its cost per sample, ~25 for Imagine Flash's defaults, 6 for
LCM's). A UNet call with gradient costs FORWARD + BACKWARD; a CFG call runs the UNet on the doubled batch, 2 per
sample; the text and VAE encoders, the discriminator's head and the periodic evaluation are not counted."""
from __future__ import annotations

from typing import Callable

FORWARD = 1
BACKWARD = 2  # a backward through a UNet ≈ 2 forwards (gradients of the activations and of the weights)
WITH_GRAD = FORWARD + BACKWARD
# the discriminator's teacher-encoder (down blocks + mid block) passes count as full passes: an upper bound that
# does not depend on the UNet's block layout and never flatters the methods that have a discriminator
ENCODER = FORWARD

# the pass budget every method of the paper's tables trains to (`distill reproduce`'s default): what 500 steps of the
# 3-step Imagine Flash student of evaluation/experiments.py cost at batch 32 (a test checks the two agree)
EQUAL_COMPUTE_PASSES = 271_500


def guided_passes(guidance_scale: float) -> int:
    """Passes per sample of one sampling.ddim.guided call: with CFG it runs the unconditional and conditional
    halves as one doubled batch."""
    return 2 if guidance_scale != 1.0 else 1


def discriminator_passes() -> int:
    """Passes per sample of the adversarial term (common.adversarial_loss and discriminator_step): the noised fake
    latents through the teacher encoder with gradient back to the student's x̂0, then real and fake without."""
    return ENCODER * WITH_GRAD + 2 * ENCODER


def budget_spent(passes: int, budget: int) -> bool:
    """Whether a run with a pass budget (0: none) has spent it; a run stops after the step that reaches it, so it
    overshoots by less than one step's passes."""
    return budget > 0 and passes >= budget


def resumed_passes(ckpt: dict | None, step: int, estimate: Callable[[int], float]) -> int:
    """The passes a run had spent when its checkpoint was written; one written before runs counted them gets the
    method's estimate for its steps."""
    if ckpt is None:
        return 0
    passes = ckpt.get("unet_passes")
    return int(round(estimate(step))) if passes is None else passes
