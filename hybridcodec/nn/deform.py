"""Deformable convolution with torch only, and the deformable residual module of the encoder-side
network (Fu et al. 2024; deformable convolution: Dai et al. 2017, "Deformable Convolutional
Networks"), since torchvision's ``deform_conv2d`` is not available here.

For every output pixel and every tap (i, j) of a 3x3 kernel, a small convolution predicts an offset
(dy, dx); the input is sampled there bilinearly (``grid_sample``, zeros outside the image, like a
convolution's zero padding) and the nine samples are combined by the kernel weights. Offsets are
bounded (``max_offset * tanh``) so that the receptive field, and with it the context a tile needs,
stays finite. With zero offsets the layer is exactly an ordinary 3x3 convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DeformConv2d", "DeformableResidual"]


class DeformConv2d(nn.Module):
    """3x3 deformable convolution (stride 1, padding 1); offsets start at zero."""

    def __init__(self, cin: int, cout: int, max_offset: float = 2.0) -> None:
        super().__init__()
        self.cin, self.cout, self.max_offset = cin, cout, max_offset
        self.offset = nn.Conv2d(cin, 18, 3, padding=1)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)
        conv = nn.Conv2d(cin, cout, 3, padding=1)  # for its initialisation
        self.weight = nn.Parameter(conv.weight.detach().clone())  # (cout, cin, 3, 3)
        self.bias = nn.Parameter(conv.bias.detach().clone())

    @property
    def radius(self) -> float:
        """Input pixels an output pixel can depend on, each side (offset conv + tap + offset)."""
        return 1 + 1 + self.max_offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        off = self.max_offset * torch.tanh(self.offset(x))  # (n, 18, h, w): (dy, dx) per tap
        ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, 1, h, 1)
        xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, 1, w)
        taps = torch.tensor([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=x.dtype,
                            device=x.device)
        py = ys + taps[:, 0].view(1, 9, 1, 1) + off[:, 0::2]  # (n, 9, h, w)
        px = xs + taps[:, 1].view(1, 9, 1, 1) + off[:, 1::2]
        # normalised coordinates (align_corners=True: -1 and 1 are the centres of the edge pixels)
        gx = 2 * px / max(w - 1, 1) - 1
        gy = 2 * py / max(h - 1, 1) - 1
        grid = torch.stack([gx, gy], -1).view(n, 9 * h, w, 2)
        samples = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=True)  # (n, c, 9h, w)
        samples = samples.view(n, c, 9, h, w)
        wt = self.weight.view(self.cout, c, 9)
        return torch.einsum("nckhw,ock->nohw", samples, wt) + self.bias.view(1, -1, 1, 1)


class DeformableResidual(nn.Module):
    """``h + conv(relu(deform(h)))`` with the last convolution zero-initialised (identity)."""

    def __init__(self, channels: int, max_offset: float = 2.0) -> None:
        super().__init__()
        self.deform = DeformConv2d(channels, channels, max_offset)
        self.out = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def radius(self) -> float:
        return self.deform.radius + 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.out(F.relu(self.deform(h)))
