"""One Accelerator setup for every training stage."""
from __future__ import annotations

import torch
from accelerate import Accelerator


def make_accelerator(mixed_precision: str = "no") -> Accelerator:
    """GPU(s) when present; otherwise CPU, where several processes (torchrun --nproc_per_node N) run DDP over gloo:
    `accelerate launch` starts CPU processes only through MPI, so CPU multi-process runs use torchrun.
    mixed_precision "bf16": forward passes inside `accelerator.autocast()` run in bfloat16 (weights, optimizer and
    loss stay fp32). Measured on this CPU (AVX512-BF16): UNet forward+backward 1.9× faster on 1 thread, but no clear
    gain for the whole 2-thread teacher step (text encoder, EMA and small ops dominate more there)."""
    if mixed_precision not in ("no", "bf16"):
        raise ValueError(f"mixed_precision must be 'no' or 'bf16', got {mixed_precision!r}")
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=mixed_precision)
    accelerator.print(f"accelerate: {accelerator.num_processes} process(es), {accelerator.distributed_type}, "
                      f"mixed precision {accelerator.mixed_precision}")
    return accelerator
