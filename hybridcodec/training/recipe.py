"""The training recipe's parts (issue 13): reconstruction losses, a weighting that counts every
quality equally in dB, an exponential moving average of the weights (EMA) and the learning-rate
schedule. ``experiments/train/recipe.py`` measures each choice on this machine.

Why a dB weighting: a plain MSE averaged over qualities is dominated by the low qualities (the
MSE at JPEG QF 10 is about ten times that at QF 90), so a network trained on it gains most at
QF 10 and little, or even loses, at high qualities. A PSNR change is ``10 log10`` of an MSE
ratio, so weighting each example's MSE by ``1 / E[MSE | quality]`` makes a 0.1 dB gain worth as
much at any quality. ``E[MSE | quality]`` is a running mean of the network's own output MSE in a
few quality bins: it never vanishes (a per-example ``1 / MSE`` does on flat patches, and a network
trained with it learns the identity; ``../shared/anchors/ANCHORS.md``).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import HybridCodecError
from .config import LOSSES, SCHEDULES

__all__ = ["LOSSES", "SCHEDULES", "QualityWeights", "reconstruction_loss", "EMA", "lr_scale",
           "guard_residual",
           "phase_segments", "segment_at"]



class QualityWeights:
    """Running mean output MSE per quality bin (``bins`` equal bins over [lo, hi] of the base's
    quality scale), and the weights ``1 / mean``: the weighted MSE is in units of each quality's
    mean (about 1), which a rate term in bits can be added to. ``frozen`` stops the updates
    (phase (b): ComCNN must not move the yardstick it is measured by)."""

    def __init__(self, lo: float, hi: float, bins: int = 8, momentum: float = 0.02) -> None:
        self.lo, self.hi, self.bins, self.momentum = lo, hi, bins, momentum
        self.mean: list[float | None] = [None] * bins
        self.frozen = False

    def _bin(self, q: float) -> int:
        t = (q - self.lo) / max(self.hi - self.lo, 1e-9)
        return min(max(int(t * self.bins), 0), self.bins - 1)

    def weights(self, per_example_mse: torch.Tensor, qualities: list[float]) -> torch.Tensor:
        """Update the running means with this batch (detached; a bin never seen starts even when
        frozen) and return its weights."""
        mse = per_example_mse.detach().cpu().tolist()
        idx = [self._bin(q) for q in qualities]
        for b in set(idx):
            m = sum(v for v, i in zip(mse, idx) if i == b) / idx.count(b)
            old = self.mean[b]
            if old is None:
                self.mean[b] = m
            elif not self.frozen:
                self.mean[b] = (1 - self.momentum) * old + self.momentum * m
        return torch.tensor([1.0 / max(self.mean[i] or 0.0, 1e-10) for i in idx],
                            device=per_example_mse.device)

    def state_dict(self) -> dict:
        return {"mean": list(self.mean)}

    def load_state_dict(self, state: dict) -> None:
        self.mean = list(state["mean"])


def reconstruction_loss(name: str, out: torch.Tensor, target: torch.Tensor, progress: float,
                        qualities: list[float], weights: QualityWeights | None) -> torch.Tensor:
    """The training loss of ``out`` against ``target`` (N, C, H, W in [0, 1]); ``progress`` in
    [0, 1] is the share of the run done (``l1+db`` switches at one half)."""
    if name not in LOSSES:
        raise HybridCodecError(f"loss must be one of {', '.join(LOSSES)}, got {name!r}")
    if name == "l1" or (name == "l1+db" and progress < 0.5):
        return F.l1_loss(out, target)
    if name == "mse":
        return F.mse_loss(out, target)
    if weights is None:
        raise HybridCodecError("the db loss needs quality weights")
    per = (out - target).pow(2).flatten(1).mean(1)
    return (per * weights.weights(per, qualities)).mean()


class EMA:
    """An exponential moving average of a module's parameters (buffers, e.g. batch-norm
    statistics, are copied): ``avg = d * avg + (1 - d) * w`` after each step, with the decay
    warmed up as ``min(d, (1 + step) / (10 + step))``. Validation and export use the average."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise HybridCodecError("EMA decay must be in (0, 1)")
        self.decay = decay
        self.module = copy.deepcopy(module).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for a, w in zip(self.module.parameters(), module.parameters()):
            a.lerp_(w.detach(), 1 - d)
        for a, w in zip(self.module.buffers(), module.buffers()):
            a.copy_(w)


def guard_residual(out: torch.Tensor, decoded: torch.Tensor, block: int) -> torch.Tensor:
    """``out`` with the local mean of ``out - decoded`` over ``block``-pixel blocks removed: the
    low-frequency guard of ``hybridcodec.lowguard`` in torch (the same bilinear upsampling
    between block centres, exactly where the sides are multiples of ``block``), so that training
    and validation see the decode that ships. ``block`` 0: ``out`` itself."""
    if not block:
        return out
    r = out - decoded
    low = F.avg_pool2d(r, block, ceil_mode=True, count_include_pad=False)
    return out - F.interpolate(low, size=r.shape[-2:], mode="bilinear", align_corners=False)


def lr_scale(schedule: str, progress: float, step: int = 0, warmup: int = 0) -> float:
    """The learning-rate factor at ``progress`` (share of the run done, 0 to 1), times a linear
    warm-up ``(step + 1) / warmup`` over the first ``warmup`` steps (0: none). A run continued
    from trained weights restarts Adam's moments: without a warm-up its first steps move every
    weight by about the full rate (issue 22: held-out validation dipped 0.05-0.1 dB)."""
    p = min(max(progress, 0.0), 1.0)
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    if schedule == "cosine":
        return ramp * max(0.05, 0.5 * (1 + math.cos(math.pi * p)))
    if schedule == "constant":
        return ramp
    if schedule == "step":
        return ramp * (1.0 if p < 0.8 else 0.1)
    raise HybridCodecError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")


def phase_segments(rounds: int) -> list[tuple[str, float]]:
    """The alternating algorithm's phases and where each ends (share of the run): rounds of
    (a, b), then a final, longer (a)."""
    segs: list[tuple[str, float]] = []
    for _ in range(rounds):
        segs += [("a", 1.0), ("b", 0.5)]
    segs.append(("a", 1.5))
    total = sum(w for _, w in segs)
    ends, acc = [], 0.0
    for phase, w in segs:
        acc += w / total
        ends.append((phase, acc))
    return ends


def segment_at(progress: float, segs: list[tuple[str, float]]) -> int:
    for i, (_, end) in enumerate(segs):
        if progress < end - 1e-12:
            return i
    return len(segs)
