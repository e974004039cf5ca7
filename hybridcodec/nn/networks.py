"""ComCNN and RecCNN (Jiang et al. 2017) with G-VAE gain units (Cui et al. 2021).

Jiang, Tao, Liu, Zhang, Wang, Li, Zhao, "An End-to-End Compression Framework Based on
Convolutional Neural Networks", IEEE TCSVT 2017:

* ComCNN: conv 3->C + ReLU, conv C->C stride 2 + BN + ReLU, conv C->3; it maps an image to a
  compact image at half resolution, which a standard codec then codes.
* RecCNN: ``depth`` conv layers of ``width`` channels (BN + ReLU inside), residual learning on the
  bicubic-upsampled decoded compact image.

Deviations from the paper, recorded here and in ``weights/MANIFEST.json``:

* Both networks start as the classical baseline they improve: ComCNN adds its learned correction
  to an area (2x2 mean) downsampling skip, and RecCNN's residual branch has its last layer
  initialised to zero, so at step 0 the pair is exactly "area-downsample, code, bicubic-upsample".
* Gain units (Cui et al., "Asymmetric Gained Deep Image Compression With Continuous Rate
  Adaptation", CVPR 2021): channel-wise gain vectors, one per anchor quality of the base codec,
  multiply the hidden features; a quality between two anchors uses the exponential interpolation
  ``g = g_i**(1-l) * g_(i+1)**l``. One model therefore covers every quality of its base codec.

Images are float tensors in [0, 1], shape (N, 3, H, W); H and W of ComCNN inputs are even.

``scale = 1`` gives the full-resolution variant (no ComCNN, no resampling): RecCNN then removes
the base codec's artifacts from the decoded image itself. With ``s2d = 2`` its residual branch
runs on the space-to-depth rearranged image (``pixel_unshuffle``: 12 planes at half resolution,
as FFDNet does), which quarters the cost per pixel and doubles the receptive field for the same
depth and width; the residual is rearranged back with ``pixel_shuffle``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..netconfig import NetConfig, macs_per_pixel
from .decodermodules import FeatureEnhancement, HighFrequencyBranch
from .deform import DeformableResidual
from .ffdnet import FFDNetRec
from .gain import GainUnit
from .waifu2x import Upconv7

__all__ = [
    "GainUnit",
    "ComCNN",
    "RecCNN",
    "NetConfig",
    "HybridNet",
    "macs_per_pixel",
]


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class ComCNN(nn.Module):
    """Encoder-side compact representation network (Jiang et al. 2017, Fig. 2).

    Output: the compact image, (N, 3, H/2, W/2), nominally in [0, 1] (the caller rounds it to
    8 bits for the base codec).
    """

    def __init__(self, width: int, anchors: Sequence[float], batch_norm: bool = True,
                 scale: int = 2, deform: bool = False) -> None:
        super().__init__()
        self.width = width if scale == 2 else 0
        self.scale = scale
        self.dres: DeformableResidual | None = None
        if self.width == 0:
            return
        self.conv1 = _conv(3, width)
        self.conv2 = _conv(width, width, stride=2)
        self.bn2 = nn.BatchNorm2d(width) if batch_norm else nn.Identity()
        self.conv3 = _conv(width, 3)
        self.gain1 = GainUnit(width, anchors)
        self.gain2 = GainUnit(width, anchors)
        nn.init.zeros_(self.conv3.weight)
        nn.init.zeros_(self.conv3.bias)
        if deform:  # on the half-resolution features, before the output layer
            self.dres = DeformableResidual(width)

    @property
    def extra_margin(self) -> int:
        """Full-resolution context beyond the plain ComCNN's that a tile needs."""
        return 0 if self.dres is None else 2 * int(math.ceil(self.dres.radius))

    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        if self.scale == 1:
            return x
        skip = F.avg_pool2d(x, 2)
        if self.width == 0:
            return skip
        h = self.gain1(F.relu(self.conv1(x)), quality)
        h = self.gain2(F.relu(self.bn2(self.conv2(h))), quality)
        if self.dres is not None:
            h = self.dres(h)
        return skip + self.conv3(h)


class RecCNN(nn.Module):
    """Decoder-side reconstruction network (Jiang et al. 2017, Fig. 3): residual learning on the
    bicubic-upsampled decoded compact image. Output (N, 3, 2h, 2w), not clamped."""

    def __init__(
        self, depth: int, width: int, anchors: Sequence[float], batch_norm: bool = True,
        scale: int = 2, s2d: int = 1, hf_width: int = 0, feature_enh: bool = False,
    ) -> None:
        super().__init__()
        self.depth = depth
        self.scale = scale
        self.s2d = s2d
        self.fem_at = (depth - 2) // 2 if feature_enh else -1  # after this body layer
        if depth == 0:
            return
        if depth < 2:
            raise ValueError("RecCNN depth must be 0 or at least 2")
        planes = 3 * s2d * s2d
        self.head = _conv(planes, width)
        self.body = nn.ModuleList(_conv(width, width) for _ in range(depth - 2))
        self.bns = nn.ModuleList(
            nn.BatchNorm2d(width) if batch_norm else nn.Identity() for _ in range(depth - 2)
        )
        self.gains = nn.ModuleList(GainUnit(width, anchors) for _ in range(depth - 1))
        self.tail = _conv(width, planes)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        # registered after the tail: parameter indices of the plain network are unchanged
        self.fem = FeatureEnhancement(width) if feature_enh else None
        self.hf = HighFrequencyBranch(hf_width) if hf_width else None

    @property
    def radius(self) -> int:
        """Receptive-field radius of the whole network, in output (full-resolution) pixels."""
        r = self.depth * self.s2d + self.s2d
        if self.depth and self.fem is not None:
            r += FeatureEnhancement.radius * self.s2d
        if self.depth and self.hf is not None:
            r += HighFrequencyBranch.radius
        return r

    def residual(self, up: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        s = self.s2d
        if s > 1:
            h, w = up.shape[-2:]
            up = F.pixel_unshuffle(F.pad(up, (0, -w % s, 0, -h % s), mode="replicate"), s)
        h = self.gains[0](F.relu(self.head(up)), quality)
        for i, (conv, bn, gain) in enumerate(zip(self.body, self.bns, self.gains[1:])):
            h = gain(F.relu(bn(conv(h))), quality)
            if i == self.fem_at and self.fem is not None:
                h = self.fem(h)
        r = self.tail(h)
        return r if s == 1 else F.pixel_shuffle(r, s)  # the caller crops the padding

    def upsample(self, compact: torch.Tensor) -> torch.Tensor:
        """Bicubic 2x (``export`` swaps in an equal convolution: ONNX's Resize is slow)."""
        return F.interpolate(compact, scale_factor=2, mode="bicubic", align_corners=False)

    def forward(self, compact: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        up = compact if self.scale == 1 else self.upsample(compact)
        if self.depth == 0:
            return up
        # the residual is added in the input's precision (fp32 under bf16 autocast, issue 22)
        out = up + self.residual(up, quality)[..., : up.shape[-2], : up.shape[-1]].to(up.dtype)
        return out if self.hf is None else self.hf(out)


class HybridNet(nn.Module):
    """A ComCNN/RecCNN pair for one base codec (the unit that is trained and shipped)."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        anchors = config.anchors or (0.0,)
        self.config = config
        self.com = ComCNN(config.com_width, anchors, config.batch_norm, config.scale,
                          config.deform)
        if config.rec_arch == "upconv7":
            self.rec: nn.Module = Upconv7(anchors)
        elif config.rec_arch == "ffdnet":
            self.rec = FFDNetRec(config.rec_depth, config.rec_width, anchors)
        else:
            self.rec = RecCNN(config.rec_depth, config.rec_width, anchors, config.batch_norm,
                              config.scale, config.s2d, config.hf_width, config.feature_enh)

    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """Training-time pass with the codec replaced by the auxiliary variable (identity)."""
        return self.rec(self.com(x, quality), quality)
