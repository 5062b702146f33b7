"""The Shifted Reconstruction Loss's target pieces: γ and its resolution shift, the re-noising, the distance."""

import pytest
import torch

from distill.distillation.flash import FlashConfig
from distill.distillation.srl import reconstruction_distance, shifted_timestep, srl_noise


def test_gamma_of_the_paper():
    gamma = FlashConfig().gamma
    assert [shifted_timestep(t, gamma) for t in (999, 901, 900, 750, 501, 500, 200)] == [990, 990, 950, 950, 950, 200, 200]


def test_gamma_shift_keeps_the_paper_at_factor_1_and_moves_towards_less_noise_above_it():
    from distill.networks.architectures import make_noise_scheduler
    ac = make_noise_scheduler().alphas_cumprod.double()
    gamma, ts = FlashConfig().gamma, (999, 750, 666, 500)
    paper = [shifted_timestep(t, gamma) for t in ts]
    assert [shifted_timestep(t, gamma, 1.0, -1, ac) for t in ts] == paper
    for lo, hi in ((1.0, 2.0), (2.0, 8.0)):
        for t in ts:
            a, b = (shifted_timestep(t, gamma, f, -1, ac) for f in (lo, hi))
            assert b < a or b == a == 0
    snr = ac / (1 - ac)
    t8 = shifted_timestep(999, gamma, 8.0, -1, ac)  # SNR(990) · 64, to the nearest timestep
    assert snr[t8 + 1] < 64 * snr[990] * 1.01 and snr[t8 - 1] > 64 * snr[990] * 0.99
    assert shifted_timestep(999, gamma, 0.5, -1, ac) > 990  # a shift below 1 adds noise (larger latents)
    # structure steps only: t ≤ 500 keeps the paper's detail γ = 200
    assert shifted_timestep(500, gamma, 8.0, 500, ac) == 200 and shifted_timestep(750, gamma, 8.0, 500, ac) < 950
    with pytest.raises(ValueError, match="noise schedule"):
        shifted_timestep(999, gamma, 2.0)


def test_srl_noise_is_fresh_or_the_students_own_x_T():
    x_T, x0 = torch.randn(4, 2), torch.zeros(4, 2)
    assert torch.equal(srl_noise("x_T", x_T, x0), x_T)
    mixed = srl_noise("mix", x_T, x0)
    assert torch.equal(mixed[:2], x_T[:2]) and not torch.equal(mixed[2:], x_T[2:])
    assert not torch.equal(srl_noise("fresh", x_T, x0)[:2], x_T[:2])
    with pytest.raises(ValueError, match="srl_noise"):
        FlashConfig(srl_noise="x_T", backward=False)  # the forward ablation has no x_T
    with pytest.raises(ValueError, match="srl_noise"):
        FlashConfig(srl_noise="other")


def test_pseudo_huber_is_pulled_to_the_median_of_the_targets_and_mse_to_their_mean():
    # three re-draws of one latent element: two put the edge at 0, one at 1
    targets = torch.tensor([0.0, 0.0, 1.0])
    grid = torch.linspace(-0.5, 1.5, 2001)
    def best(kind):
        cost = reconstruction_distance(grid[:, None] - targets[None], kind, 0.05).mean(1)
        return grid[cost.argmin()].item()
    assert best("mse") == pytest.approx(1 / 3, abs=1e-3)
    assert abs(best("pseudo_huber")) < 0.03
    d = torch.tensor([0.0, 0.01, 1.0])
    assert torch.equal(reconstruction_distance(d, "mse", 0.05), d.pow(2))
    assert reconstruction_distance(d, "pseudo_huber", 0.05)[0] == 0
    with pytest.raises(ValueError, match="reconstruction_loss"):
        FlashConfig(reconstruction_loss="l3")
