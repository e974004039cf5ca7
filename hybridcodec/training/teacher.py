"""Re-distilling a student from a bigger network during training (issue 22, item 3).

The fast full-resolution student keeps training in the lane; its teacher, a bigger network of the
same base and mode (hyc-jpeg-full-v13, 12 x 64, for the 6 x 32 JPEG student), sees the same
decoded crops and its output joins the target (Fu et al. 2024's output distillation and their
ground-truth pass, at once rather than in turn):

    target = (1 - w) * original + w * teacher(decoded)

For MSE, ``MSE(y, target) = (1 - w) * MSE(y, original) + w * MSE(y, teacher) - const``, so the
gradient is that of the weighted pair of losses. The teacher runs in eval mode without gradients,
under the run's autocast, and its output passes through the run's low-frequency guard, so that it
is the decode the teacher would ship for this input. Validation still measures the original.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..errors import HybridCodecError
from ..models import get_model
from ..nn.networks import HybridNet
from .config import TrainConfig
from .recipe import guard_residual

__all__ = ["load_teacher", "teacher_target"]


def load_teacher(cfg: TrainConfig, device: torch.device,
                 memory_format: torch.memory_format) -> HybridNet:
    """The teacher of ``cfg`` (a registered name or model file): a private copy of its network,
    in eval mode, frozen, on ``device``. Refused when it is not a full-resolution model of the
    run's base, or reads another decoder's output than the run's."""
    model = get_model(cfg.teacher)
    if model.base != cfg.base or model.config.scale != 1 or model.path is None:
        raise HybridCodecError(f"teacher {cfg.teacher}: needs a full-resolution {cfg.base} model")
    reads = model.meta.get("input_decoder")
    if cfg.base == "jpeg" and reads and reads != cfg.decoder:
        raise HybridCodecError(f"teacher {cfg.teacher} reads {reads}'s decode, the run "
                               f"{cfg.decoder}'s")
    net = copy.deepcopy(model.net).to(device, memory_format=memory_format).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def teacher_target(teacher: HybridNet, x: torch.Tensor, decoded: torch.Tensor,
                   qt: torch.Tensor, cfg: TrainConfig, amp: dict[str, Any]) -> torch.Tensor:
    """``(1 - w) * x + w * teacher(decoded)`` for the batch (N, 3, H, W in 0-1, fp32);
    ``qt``: the table qualities both networks are told."""
    with torch.no_grad(), torch.autocast(**amp):
        t = teacher.rec(decoded, qt)
    t = guard_residual(t.float(), decoded.float(), cfg.lowpass_guard).clamp(0, 1)
    w = cfg.teacher_weight
    return (1 - w) * x + w * t
