"""Validation during training and distillation: RGB PSNR (dB) of held-out crops coded whole by
the real base codec at fixed qualities (never the benchmark's images)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..basecodecs import BaseCodec
from ..nn.networks import HybridNet
from .data import codec_roundtrip_batch
from .recipe import guard_residual

__all__ = ["validation_qualities", "validate", "Validator"]


def validation_qualities(base: BaseCodec) -> tuple[float, ...]:
    """The qualities a run is validated at: JPEG QF 10, 20, 40, 70, 90; JPEG 2000 24 to 40 dB."""
    return base.validation_qualities


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = F.mse_loss(a.clamp(0, 1), b).item()
    return 10 * math.log10(1 / max(mse, 1e-12))


@torch.no_grad()
def validate(net: HybridNet, base: BaseCodec, crops: torch.Tensor, subsampling: str,
             decoder: str = "turbo") -> dict:
    """Mean PSNR (dB) through the real codec (``base``'s encoder, ``decoder``) at the lowest,
    middle and highest anchor; the networks get the quality the payload's tables say."""
    net.eval()
    a = base.anchors
    res = {}
    for q in (a[0], a[len(a) // 2], a[-1]):
        qs = [q] * crops.shape[0]
        qt = torch.tensor([base.table_quality(q, subsampling=subsampling)] * len(qs),
                          device=crops.device)
        dec = codec_roundtrip_batch(net.com(crops, qt), base, qs, subsampling, decoder)
        res[f"q{q:g}"] = round(_psnr(net.rec(dec, qt), crops), 3)
    return res


class Validator:
    """PSNR at :func:`validation_qualities`, each crop coded whole; ``mean`` is their average
    (every quality counts the same in dB). Keys: ``q10`` (JPEG quality factor), ``24dB``
    (JPEG 2000's target PSNR). In full-resolution mode the decoded crops do not
    depend on the network and are coded once, and ``gain`` is ``mean`` minus the plain decode's.
    """

    def __init__(self, base: BaseCodec, crops: torch.Tensor, *, subsampling: str = "420",
                 decoder: str = "turbo", qualities: tuple[float, ...] | None = None,
                 guard: int = 0) -> None:
        self.base, self.crops, self.subsampling, self.decoder = base, crops, subsampling, decoder
        self.guard = guard  # full mode: the low-frequency guard the model ships with
        self.qualities = qualities or validation_qualities(base)
        self._cache: dict[float, torch.Tensor] = {}
        self._plain: float | None = None

    @torch.no_grad()
    def __call__(self, net: HybridNet) -> dict:
        was = net.training
        net.eval()
        res: dict[str, float] = {}
        plain = []
        full = net.config.scale == 1
        key = self.base.quality_label
        for q in self.qualities:
            qs = [q] * self.crops.shape[0]
            qt = torch.tensor([self.base.table_quality(q, subsampling=self.subsampling)] * len(qs),
                              device=self.crops.device)
            if full and q in self._cache:
                dec = self._cache[q]
            else:
                dec = codec_roundtrip_batch(net.com(self.crops, qt), self.base, qs,
                                            self.subsampling, self.decoder)
                if full:
                    self._cache[q] = dec
            if full:
                plain.append(_psnr(dec, self.crops))
            out = torch.cat([net.rec(dec[i : i + 2], qt[i : i + 2])
                             for i in range(0, dec.shape[0], 2)])
            if full and self.guard:
                out = guard_residual(out, dec, self.guard)
            res[key(q)] = round(_psnr(out, self.crops), 3)
        res["mean"] = round(float(np.mean([res[key(q)] for q in self.qualities])), 3)
        if full:
            res["gain"] = round(res["mean"] - float(np.mean(plain)), 3)
        net.train(was)
        return res
