"""Which engine runs a model's networks: onnxruntime, torch, or plain numpy for the baselines.

A :class:`Runner` gives the two networks as functions on float32 arrays (1, 3, H, W) in [0, 1]
(ComCNN: image -> compact image at half resolution; RecCNN: decoded image -> reconstruction),
plus the tiling geometry they need (``pipeline`` tiles every image with it).

* ``numpy``: the built-in baselines, no network: area (2x2 mean) downsampling, bicubic
  upsampling (Keys' kernel, a = -0.75, half-pixel centres, edge replication: what
  ``torch.nn.functional.interpolate(mode="bicubic")`` computes), the identity at full
  resolution.
* ``onnx``: the exported networks (``runtime``), for models whose manifest entry has them.
* ``torch``: the ``.pt`` model itself; needed for models without an export and for training,
  distillation and adaptation (the ``[train]`` extra).

``$HYBRIDCODEC_BACKEND``: ``auto`` (default: onnx where the model has an export and onnxruntime is
installed, else torch), ``onnx`` or ``torch``. Both give the same image to within one grey level
(``tests/test_runtime.py``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import HybridCodecError
from .models import Model

__all__ = ["Geometry", "Runner", "runner_for", "backend_choice", "update_shapes",
           "parameter_names", "torch_geometry", "area_down", "bicubic_up", "BACKENDS",
           "DEFAULT_TILE", "COM_MARGIN"]

BACKENDS = ("auto", "onnx", "torch")

#: input pixels per tile side (before the margin); see ``tiling``
DEFAULT_TILE = 128
#: context (input pixels) a ComCNN tile needs: 3 px at full resolution plus 1 compact px
COM_MARGIN = 6

Net = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Geometry:
    """Tiling of one model: ``rec_margin`` (context of a RecCNN tile, in its input pixels),
    ``rec_tile`` (input pixels per tile side), ``align`` (tile origins are multiples of it: 2
    for a space-to-depth network), ``com_margin`` (context of a ComCNN tile, full-res pixels)."""

    rec_margin: int
    rec_tile: int
    align: int
    com_margin: int

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Runner:
    """A model's networks on one engine (``backend``), with their tiling."""

    backend: str
    geometry: Geometry
    rec: Net
    com: Net


def backend_choice() -> str:
    """``$HYBRIDCODEC_BACKEND`` (``auto``, ``onnx`` or ``torch``; default ``auto``)."""
    value = os.environ.get("HYBRIDCODEC_BACKEND", "auto").strip().lower() or "auto"
    if value not in BACKENDS:
        raise HybridCodecError(f"HYBRIDCODEC_BACKEND must be auto, onnx or torch, got {value!r}")
    return value


def area_down(x: np.ndarray) -> np.ndarray:
    """2x2 mean of a float32 (N, C, H, W) array with even sides."""
    return (x[..., 0::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 0::2]
            + x[..., 1::2, 1::2]) * np.float32(0.25)


def _keys(d: float, a: float = -0.75) -> float:
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a if d < 2 else 0.0


# output pixel 2i sits at input i - 0.25 (taps i-2 .. i+1), 2i+1 at i + 0.25 (taps i-1 .. i+2)
_EVEN = np.array([_keys(d) for d in (1.75, 0.75, 0.25, 1.25)], np.float32)
_ODD = np.array([_keys(d) for d in (1.25, 0.25, 0.75, 1.75)], np.float32)


def _up_axis(x: np.ndarray, axis: int) -> np.ndarray:
    n = x.shape[axis]
    p = np.pad(x, [(2, 2) if a == axis % x.ndim else (0, 0) for a in range(x.ndim)], mode="edge")

    def tap(k: int) -> np.ndarray:  # input index i + k - 2 for every i
        return np.take(p, np.arange(k, k + n), axis=axis)

    taps = [tap(k) for k in range(5)]
    even = sum(_EVEN[j] * taps[j] for j in range(4))
    odd = sum(_ODD[j] * taps[j + 1] for j in range(4))
    out = np.stack([even, odd], axis=axis + 1 if axis >= 0 else axis)
    shape = list(x.shape)
    shape[axis] = 2 * n
    return out.reshape(shape)


def bicubic_up(x: np.ndarray) -> np.ndarray:
    """2x bicubic upsampling of a float32 (N, C, H, W) array (as torch's ``interpolate``)."""
    return _up_axis(_up_axis(x, 2), 3).astype(np.float32, copy=False)


def _baseline_geometry(scale: int) -> Geometry:
    # RecCNN of depth 0: receptive radius 1 output pixel, plus bicubic's support
    return Geometry(3 + 1 if scale == 2 else 2, DEFAULT_TILE, 1, COM_MARGIN)


def _baseline_runner(model: Model) -> Runner:
    if model.scale == 1:
        same: Net = lambda x, q: x  # noqa: E731
        return Runner("numpy", _baseline_geometry(1), same, same)
    return Runner("numpy", _baseline_geometry(2), lambda x, q: bicubic_up(x),
                  lambda x, q: area_down(x))


def torch_geometry(net) -> Geometry:
    """The tiling of a torch ``HybridNet`` (what ``export`` writes into the manifest)."""
    rec = net.rec
    margin = (-(-rec.radius // 2) + 3) if rec.scale == 2 else rec.radius + 1
    if rec.depth == 0:
        tile = DEFAULT_TILE
    elif hasattr(rec, "max_width"):  # waifu2x's upconv7: features at the input's resolution
        tile = max(64, int(math.sqrt(4 * 2**20 / rec.max_width)) // 64 * 64)
    else:  # hidden activations near 4 M values (16 MB, under glibc's mmap threshold)
        side = math.sqrt(4 * 2**20 / rec.head.out_channels) * rec.s2d / rec.scale
        tile = max(64, int(side) // 64 * 64)
    return Geometry(int(margin), int(tile), int(rec.s2d), COM_MARGIN + int(net.com.extra_margin))


def _torch_runner(model: Model, deltas: dict[int, np.ndarray] | None) -> Runner:
    try:
        import torch
    except ImportError:
        raise HybridCodecError(f"model {model.name!r} needs torch (it has no ONNX export, or "
                               f"HYBRIDCODEC_BACKEND=torch): pip install 'hybridcodec[train]'"
                               ) from None
    net = model.net
    rec = net.rec
    if deltas:  # on a private copy: the cached model is shared by every thread
        from .training.adaptation import with_update

        rec = with_update(rec, deltas)

    def wrap(module) -> Net:
        def fn(x: np.ndarray, q: float) -> np.ndarray:
            with torch.no_grad():
                return module(torch.from_numpy(x), torch.tensor([float(q)])).numpy()
        return fn

    return Runner("torch", torch_geometry(net), wrap(rec), wrap(net.com))


def _onnx_runner(model: Model, deltas: dict[int, np.ndarray] | None) -> Runner:
    from . import runtime

    block = model.export or {}
    folder = os.path.dirname(model.path or "")

    def net(key: str, fallback: Net, update: dict | None = None) -> Net:
        entry = block.get(key)
        if entry is None:
            return fallback
        path = os.path.join(folder, entry["file"])
        if update:
            sess, feeds = runtime.session_with_update(path, entry["sha256"],
                                                      parameter_names(model), update)
            return lambda x, q: runtime.run(sess, x, q, feeds)
        sess = runtime.session(path, entry["sha256"])
        return lambda x, q: runtime.run(sess, x, q)

    base = _baseline_runner(model)
    g = block["geometry"]
    return Runner("onnx", Geometry(**g), net("rec", base.rec, deltas), net("com", base.com))


def runner_for(model: Model, deltas: dict[int, np.ndarray] | None = None, *,
               backend: str | None = None) -> Runner:
    """The engine for ``model`` (with a weight-update by parameter index, if given)."""
    if model.builtin:
        return _baseline_runner(model)
    if model.module is not None:  # an in-memory network
        return _torch_runner(model, deltas)
    choice = backend or backend_choice()
    if choice != "torch" and model.export is not None:
        from . import runtime

        if runtime.available():
            return _onnx_runner(model, deltas)
        if choice == "onnx":
            raise HybridCodecError("HYBRIDCODEC_BACKEND=onnx, but onnxruntime is not installed")
    elif choice == "onnx":
        raise HybridCodecError(f"model {model.name!r} has no ONNX export")
    return _torch_runner(model, deltas)


def parameter_names(model: Model) -> list[str]:
    """RecCNN's parameter names in order (a weight-update indexes into this list)."""
    if model.export is not None:
        return [p.rpartition(":")[0] for p in model.export["params"]]
    return [name for name, _ in model.net.rec.named_parameters()]


def update_shapes(model: Model) -> dict[int, tuple[int, ...]]:
    """Shapes of RecCNN's parameters by index (what a decoder checks an update against)."""
    if model.export is not None:
        return {i: tuple(int(s) for s in p.rpartition(":")[2].split(",") if s)
                for i, p in enumerate(model.export["params"])}
    return {i: tuple(p.shape) for i, (_, p) in enumerate(model.net.rec.named_parameters())}
