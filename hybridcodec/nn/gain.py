"""G-VAE gain units (Cui et al., "Asymmetric Gained Deep Image Compression With Continuous Rate
Adaptation", CVPR 2021): one channel-wise gain vector per anchor quality of the base codec,
interpolated exponentially between anchors, so that one network covers every quality."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["GainUnit"]


class GainUnit(nn.Module):
    """Channel-wise gains for a set of anchor qualities, interpolated exponentially.

    ``log_gain[i]`` holds log(g_i); linear interpolation of the logs is exactly
    ``g_i**(1-l) * g_(i+1)**l`` and keeps every gain positive. Gains start at 1.
    """

    def __init__(self, channels: int, anchors: Sequence[float]) -> None:
        super().__init__()
        if len(anchors) < 1 or list(anchors) != sorted(anchors):
            raise ValueError("anchors must be a non-empty increasing sequence")
        self.register_buffer("anchors", torch.tensor([float(a) for a in anchors]))
        self.log_gain = nn.Parameter(torch.zeros(len(anchors), channels))

    def gains(self, quality: torch.Tensor) -> torch.Tensor:
        """Gains (N, C) for qualities (N,) on the base codec's own scale, clamped to the anchors.

        The interpolation weights are "hat" functions of the quality (``min`` of a rising and a
        falling ramp per anchor, clamped to [0, 1]): the same weights ``1 - l`` and ``l`` as a
        search for the enclosing pair of anchors, in operations that ONNX has (``export``)."""
        a = self.anchors
        if a.numel() == 1:
            return self.log_gain.exp().expand(quality.shape[0], -1)
        q = quality.to(a.dtype).clamp(a[0], a[-1])[:, None]  # (N, 1)
        prev = torch.cat([a[:1] - 1, a[:-1]])  # a phantom anchor one unit outside each end
        nxt = torch.cat([a[1:], a[-1:] + 1])
        w = torch.minimum((q - prev) / (a - prev), (nxt - q) / (nxt - a)).clamp(0, 1)  # (N, K)
        return torch.exp(w @ self.log_gain)

    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        return x * self.gains(quality)[:, :, None, None].to(x.dtype)
