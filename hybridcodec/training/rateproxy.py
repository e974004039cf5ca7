"""Differentiable rate proxies of the base codecs, for a rate-aware ComCNN (issue 13, item 4).

Jiang et al. (2017) train ComCNN for distortion alone, with the codec replaced by the identity
(the auxiliary variable of phase (b)); nothing then tells ComCNN that a smoother compact image
costs fewer bits. Phase (b) can add ``k * R(compact)`` to its loss, where ``R`` estimates the
bits per full-resolution pixel the codec would spend:

* JPEG: the image in YCbCr (JFIF), 4:2:0 chroma, 8 x 8 block DCT (orthonormal, as JPEG's),
  each coefficient divided by its quantisation step (the IJG tables scaled for the quality the
  payload's tables say, the quality the networks are told), ``sum log2(1 + |c / step|)``;
* JPEG 2000: the image in YCbCr (the ICT), a 3-level orthonormal Haar wavelet, each coefficient
  divided by the step of a uniform quantiser whose error would equal the target PSNR
  (``step = sqrt(12) * 10 ** (-dB / 20)`` on [0, 1] samples), the same sum.

``log2(1 + |c| / step)`` grows like the bits of an entropy-coded coefficient (about one bit per
doubling of its magnitude once it is past its step) and is zero for zeros; it is a proxy, not a
bit count: ``experiments/train/rate_proxy.py`` regresses the real file sizes on it, and the weight ``k``
is chosen by the BD-rate it gives (the closing note of issue 13).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import HybridCodecError

__all__ = ["rate_proxy", "jpeg_rate_proxy", "j2k_rate_proxy", "ijg_tables"]

_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)
_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32)], np.float64)


def ijg_tables(quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IJG's scaled luminance and chrominance tables (JPEG Annex K) for each quality (N,) ->
    two (N, 64) tensors of steps, on the 0-255 sample scale, as libjpeg's ``jpeg_set_quality``."""
    q = quality.double().clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)[:, None]
    out = []
    for base in (_LUMA, _CHROMA):
        t = torch.floor((torch.from_numpy(base)[None] * scale + 50) / 100)
        out.append(t.clamp(1, 255).to(quality.device, torch.float32))
    return out[0], out[1]


def _dct_matrix() -> torch.Tensor:
    k = np.arange(8)
    c = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    c[0] /= np.sqrt(2)
    return torch.from_numpy(c).float()


def _ycbcr(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> Y, Cb, Cr (JFIF, ICT) in [0, 1] units, chroma centred on 0."""
    m = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                      [0.5, -0.418688, -0.081312]], device=x.device, dtype=x.dtype)
    return torch.einsum("ij,njhw->nihw", m, x)


def _blocks(plane: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, H, W) -> (N, L, size, size), edge-padded to whole blocks."""
    h, w = plane.shape[-2:]
    plane = F.pad(plane, (0, -w % size, 0, -h % size), mode="replicate")
    b = F.unfold(plane, size, stride=size)  # (N, size*size, L)
    return b.transpose(1, 2).reshape(plane.shape[0], -1, size, size)


def jpeg_rate_proxy(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Proxy bits per full-resolution pixel of JPEG 4:2:0 coding the compact image ``x``
    (N, 3, h, w in [0, 1]) at IJG ``quality`` (N,); shape (N,)."""
    ycc = _ycbcr(x.clamp(0, 1)) * 255
    ycc = torch.cat([ycc[:, :1] - 128, ycc[:, 1:]], 1)
    luma_t, chroma_t = ijg_tables(quality)
    c = _dct_matrix().to(x.device)
    total = torch.zeros(x.shape[0], device=x.device)
    planes = [(ycc[:, :1], luma_t)]
    chroma = F.avg_pool2d(F.pad(ycc[:, 1:], (0, -x.shape[-1] % 2, 0, -x.shape[-2] % 2),
                                mode="replicate"), 2)  # 4:2:0
    planes += [(chroma[:, :1], chroma_t), (chroma[:, 1:], chroma_t)]
    for plane, table in planes:
        b = _blocks(plane, 8)
        coef = (c @ b @ c.T).flatten(2)  # (N, L, 64)
        total = total + torch.log2(1 + coef.abs() / table[:, None, :]).sum((1, 2))
    return total / (4 * x.shape[-2] * x.shape[-1])


def j2k_rate_proxy(x: torch.Tensor, quality_db: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Proxy bits per full-resolution pixel of JPEG 2000 coding ``x`` (N, 3, h, w in [0, 1]) at
    the target PSNR ``quality_db`` (N,); shape (N,)."""
    step = (math.sqrt(12) * 10 ** (-quality_db.float() / 20))[:, None, None, None]
    band = _ycbcr(x.clamp(0, 1))
    total = torch.zeros(x.shape[0], device=x.device)
    for _ in range(levels):
        h, w = band.shape[-2:]
        band = F.pad(band, (0, -w % 2, 0, -h % 2), mode="replicate")
        a, b = band[..., 0::2, 0::2], band[..., 0::2, 1::2]
        c, d = band[..., 1::2, 0::2], band[..., 1::2, 1::2]
        ll = (a + b + c + d) / 2
        for detail in ((a - b + c - d) / 2, (a + b - c - d) / 2, (a - b - c + d) / 2):
            total = total + torch.log2(1 + detail.abs() / step).sum((1, 2, 3))
        band = ll
    total = total + torch.log2(1 + band.abs() / step).sum((1, 2, 3))
    return total / (4 * x.shape[-2] * x.shape[-1])


def rate_proxy(base: str, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """:func:`jpeg_rate_proxy` (base ``jpeg``) or :func:`j2k_rate_proxy` (``jpeg2000``)."""
    proxies: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "jpeg": jpeg_rate_proxy, "jpeg2000": j2k_rate_proxy}
    if base not in proxies:
        raise HybridCodecError(f"no rate proxy for base codec {base!r}")
    return proxies[base](x, quality)
