"""Distribution matching (dmd.py): the loss's gradient in x̂0 is DMD's normalised x0_fake − x0_real, zero when the
fake score is the teacher; a flash run with it trains the fake score, counts its passes and resumes bit for bit."""
import types

import numpy as np
import torch

from distill.distillation import flash
from distill.distillation.dmd import dm_loss, dm_passes
from tests.distill.test_flash import run


class PredictsX0:
    """A stand-in UNet whose ε makes every x_t's x0 prediction the constant x0 (per the training schedule ac)."""
    def __init__(self, x0: torch.Tensor, ac: torch.Tensor):
        self.x0, self.ac = x0, ac

    def __call__(self, x_t, t, cond):
        a = self.ac[t.long()].double().sqrt().view(-1, 1, 1, 1)
        s = (1 - self.ac[t.long()].double()).sqrt().view(-1, 1, 1, 1)
        return types.SimpleNamespace(sample=((x_t.double() - a * self.x0.double()) / s).float())


def test_the_gradient_points_from_the_fake_scores_x0_to_the_teachers():
    torch.manual_seed(0)
    ac = torch.linspace(0.999, 0.01, 1000)
    real, fake_x0 = torch.randn(3, 4, 2, 2), torch.randn(3, 4, 2, 2)
    x0 = torch.randn(3, 4, 2, 2, requires_grad=True)
    cond = torch.zeros(3, 1, 1)
    loss = dm_loss(PredictsX0(real, ac), PredictsX0(fake_x0, ac), x0, cond, None, 1.0, ac)
    loss.backward()
    g = (fake_x0 - real) / (x0.detach() - real).abs().mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(x0.grad, g / x0.numel(), atol=1e-6)
    x0.grad = None
    same = dm_loss(PredictsX0(real, ac), PredictsX0(real, ac), x0, cond, None, 1.0, ac)
    same.backward()
    assert same.item() < 1e-10 and x0.grad.abs().max().item() < 1e-8


def test_a_flash_run_with_distribution_matching_trains_the_fake_score_and_resumes_bit_for_bit(teacher_dir, tmp_path):
    recipe = ["dm_weight=0.5", "student_steps=1", "teacher_steps=2", "fake_learning_rate=1e-3"]
    straight = run(teacher_dir, tmp_path / "a", "max_steps=3", *recipe)
    assert all(np.isfinite(h["dm"]) and h["fake"] > 0 for h in straight["history"] if "loss" in h)
    # per row: student 3, 2 CFG teacher steps × 2, discriminator 5, DMD real (CFG) 2 + fake 1 + one fake step 3
    assert straight["unet_passes"] == 3 * 4 * (3 + 4 + 5 + 6) and dm_passes(4, 4.0, 1) == 24
    run(teacher_dir, tmp_path / "b", "max_steps=1", *recipe)
    resumed = run(teacher_dir, tmp_path / "b", "max_steps=3", *recipe)
    assert [h["dm"] for h in straight["history"]] == [h["dm"] for h in resumed["history"]]
    a, b = (torch.load(tmp_path / d / "ckpt.pt", weights_only=False) for d in ("a", "b"))
    fake = a["fake_score"]
    assert all(torch.equal(a["fake_score"][n], b["fake_score"][n]) for n in a["fake_score"])
    from diffusers import UNet2DConditionModel
    original = UNet2DConditionModel.from_pretrained(teacher_dir / "unet").state_dict()
    assert max((fake[n] - original[n]).abs().max().item() for n in original) > 0  # the fake score learned
    assert flash.FlashConfig().dm_weight == 0  # the paper's method has none
