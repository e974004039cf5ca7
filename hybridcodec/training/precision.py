"""Which arithmetic trains fastest on this device (issue 22, item 1).

bfloat16 autocast halves a training step only where the hardware has bf16 arithmetic: CPUs with
AVX-512 BF16 or AMX (oneDNN's bf16 kernels), and GPUs that report bf16 support. Elsewhere
PyTorch emulates it, and a step gets slower, not faster: on an AVX2-only AMD EPYC the 6 x 32
network's raw step took 641 ms in bf16 against 61 ms in fp32 (2026-12-07,
``experiments.speed.train_speed.raw_step_ms``; ``train_speed.csv`` is from an AVX-512 BF16 CPU). ``precision="auto"``, the default, therefore resolves
to ``bf16`` only where it is native, and to ``fp32`` everywhere else.
"""

from __future__ import annotations

import torch

__all__ = ["native_bf16", "resolve_precision"]


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 arithmetic in hardware (not emulated)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:  # oneDNN's own test: AVX-512 BF16 or AMX on x86, bf16 instructions on Arm
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``fp32`` or ``bf16``: ``auto`` picks bf16 where it is native; an explicit choice stays."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"
