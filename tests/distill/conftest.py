import os

import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TINY_VAE = ["model={\"block_out_channels\": [8, 16], \"norm_num_groups\": 8}", "batch_size=8", "log_every=1",
            "eval_every=1000000", "warmup_steps=1"]
TINY_TEXT = ["model={\"hidden_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
             "\"intermediate_size\": 64, \"projection_dim\": 32}", "image_width=8", "batch_size=16", "log_every=1",
             "eval_every=1000000", "warmup_steps=1"]
# a tiny VAE with two blocks is f=2: 64×64 renders -> 32×32 latents
TINY_TEACHER = ["model={\"block_out_channels\": [16, 32], \"norm_num_groups\": 8, \"attention_heads\": 2, "
                "\"sample_size\": 32, \"cross_attention_dim\": 32}", "pool_size=64", "batch_size=8", "log_every=1",
                "eval_every=1000000", "warmup_steps=1"]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A tiny random SD pipeline saved as a diffusers folder: the teacher of the distillation tests."""
    from tools.fixtures import tiny_random_pipeline
    path = tmp_path_factory.mktemp("teacher") / "sd"
    tiny_random_pipeline().save_pretrained(path)
    return path


def run_stage(module, run_dir, overrides, extra=()):
    args = module.parse_args(["--run-dir", str(run_dir), *extra, "--set", *overrides])
    return module.main(args)


@pytest.fixture(autouse=True)
def fresh_accelerator_state():
    """accelerate keeps one AcceleratorState per process; a real run creates one Accelerator, but tests run many
    stages in one process, some with another mixed precision."""
    yield
    from accelerate.state import AcceleratorState
    AcceleratorState._reset_state(reset_partial_state=False)
