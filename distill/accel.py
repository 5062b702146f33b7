"""One Accelerator setup for every training stage."""
from __future__ import annotations

import torch
from accelerate import Accelerator


def make_accelerator() -> Accelerator:
    """GPU(s) when present; otherwise CPU, where several processes (torchrun --nproc_per_node N) run DDP over gloo:
    `accelerate launch` starts CPU processes only through MPI, so CPU multi-process runs use torchrun."""
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    accelerator.print(f"accelerate: {accelerator.num_processes} process(es), {accelerator.distributed_type}")
    return accelerator
