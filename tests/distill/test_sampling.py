"""Our noise-corrected DDIM against diffusers: equal with noise correction off, and with it on different
exactly in the first step's direction term."""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, EulerDiscreteScheduler

from distill.networks.architectures import make_noise_scheduler
from distill.sampling.ddim import alpha_sigma, ddim_trajectory, sample_ddim
from distill.sampling.noise import gaussian_noise


AC = make_noise_scheduler().alphas_cumprod.double()
SCHEDULES = [[999], [999, 666], [999, 750, 500]]


def toy(x, t):
    return 0.8 * torch.tanh(x) + 0.1 * np.cos(float(t) / 50.0)


def trace(timesteps, nc, seed=3):
    x_T = torch.from_numpy(gaussian_noise(seed, (2, 4, 8, 8))).double()
    steps = []
    out = sample_ddim(toy, x_T, timesteps, alphas_cumprod=AC, noise_correction=nc, callback=steps.append)
    return x_T, steps, out


@pytest.mark.parametrize("timesteps", SCHEDULES)
def test_equals_diffusers_euler_with_custom_timesteps(timesteps):
    """DDIM is Euler on the probability-flow ODE in x/α: diffusers' Euler with our timesteps must agree."""
    x_T, steps, ours = trace(timesteps, nc=False)
    sched = EulerDiscreteScheduler.from_config(make_noise_scheduler().config)
    sched.set_timesteps(timesteps=timesteps)
    x = x_T / alpha_sigma(AC, timesteps[0])[0]  # VE-space state
    for t in sched.timesteps:
        a = alpha_sigma(AC, int(t))[0]
        x = sched.step(toy(x * a, int(t)), t, x).prev_sample
    assert torch.allclose(x, ours, atol=1e-5), (x - ours).abs().max()


def ddim_scheduler_step(eps, t, s, x):
    """One step of diffusers' DDIMScheduler from t to s (s=None: to the clean sample), where its stride allows."""
    stride = 1000 if s is None else t - s
    n = [k for k in range(1, 1001) if 1000 // k == stride]
    if not n:
        return None
    sched = DDIMScheduler.from_config(make_noise_scheduler().config, set_alpha_to_one=True)
    sched.set_timesteps(n[0])
    return sched.step(eps, t, x, eta=0.0).prev_sample


@pytest.mark.parametrize("timesteps", SCHEDULES)
def test_each_step_equals_diffusers_ddim_scheduler(timesteps):
    _, steps, _ = trace(timesteps, nc=False)
    checked = 0
    for k, st in enumerate(steps):
        s = timesteps[k + 1] if k + 1 < len(timesteps) else None
        ref = ddim_scheduler_step(st["eps"], st["t"], s, st["x"])
        if ref is None:  # 999 -> 750: DDIMScheduler's stride is 1000 // n, never 249 (Euler covers it)
            continue
        assert torch.allclose(ref, st["x_next"], atol=1e-6), (ref - st["x_next"]).abs().max()
        checked += 1
    assert checked >= len(timesteps) - 1


@pytest.mark.parametrize("timesteps", SCHEDULES)
def test_noise_correction_changes_only_the_first_direction_term(timesteps):
    x_T, off, out_off = trace(timesteps, nc=False)
    _, on, out_on = trace(timesteps, nc=True)
    if len(timesteps) == 1:  # one step returns x̂0: nothing to correct
        assert torch.equal(out_on, out_off)
        return
    s = timesteps[1]
    sigma_s = alpha_sigma(AC, s)[1]
    assert torch.equal(on[0]["eps"], off[0]["eps"])
    assert torch.allclose(on[0]["x_next"] - off[0]["x_next"], sigma_s * (x_T - off[0]["eps"]), atol=1e-10)
    assert not torch.allclose(out_on, out_off)


def test_trajectory_stops_at_the_requested_timestep():
    x_T, steps, _ = trace([999, 750, 500], nc=True, seed=5)
    x_500 = ddim_trajectory(toy, x_T, [999, 750, 500], alphas_cumprod=AC, noise_correction=True)
    assert torch.allclose(x_500, steps[1]["x_next"])
    assert torch.equal(ddim_trajectory(toy, x_T, [999], alphas_cumprod=AC), x_T)


def test_noise_is_seeded_and_standard_normal():
    a, b = gaussian_noise(7, (4, 64, 64)), gaussian_noise(7, (4, 64, 64))
    assert np.array_equal(a, b) and not np.array_equal(a, gaussian_noise(8, (4, 64, 64)))
    assert abs(a.mean()) < 0.03 and abs(a.std() - 1) < 0.03
    with pytest.raises(ValueError, match="seed"):
        gaussian_noise(2**32, (2,))
