"""The networks on images (Jiang et al. 2017): ComCNN makes the compact image, RecCNN
reconstructs from the decoded one, both in overlapping tiles so that memory stays bounded at any
image size (``encoder.Encoder`` codes one image with them).

Images are uint8 arrays (H, W) or (H, W, 3); the networks see float32 (1, 3, h, w) tiles in
[0, 1] (gray replicated) on the engine ``inference.runner_for`` picks (onnxruntime, torch or
numpy). The models are shared and never modified here: every call is thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

from .inference import COM_MARGIN, Runner, runner_for
from .lowguard import lowpass_guard
from .models import Model
from .tiling import DEFAULT_TILE, run_tiled

__all__ = ["reconstruct", "compact_image", "COM_MARGIN"]


def _as_float(t: np.ndarray) -> np.ndarray:
    """uint8 tile (1, C, h, w) -> float32 (1, 3, h, w) in [0, 1] (gray replicated)."""
    f = t.astype(np.float32) / np.float32(255)
    return np.repeat(f, 3, axis=1) if f.shape[1] == 1 else f


def _as_uint8(y: np.ndarray, channels: int) -> np.ndarray:
    """float (1, 3, h, w) -> uint8 (1, channels, h, w): clamped, gray = the mean of the three."""
    y = np.clip(y, 0, 1)
    if channels == 1:
        y = y.mean(1, keepdims=True, dtype=np.float32)
    return np.rint(y * np.float32(255)).astype(np.uint8)


def _nchw(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> a (1, C, H, W) view (no copy)."""
    return image[None, None] if image.ndim == 2 else image.transpose(2, 0, 1)[None]


def reconstruct(model: Model, compact: np.ndarray, quality: float, height: int, width: int,
                deltas: dict[int, np.ndarray] | None = None, *, tile: int | None = None,
                progress: Callable[[str], None] | None = None,
                runner: Runner | None = None) -> np.ndarray:
    """RecCNN on a decoded compact image (uint8), with an optional weight-update applied; runs
    in tiles of ``tile`` input pixels (default: the model's, ``inference.Geometry``) so that
    memory stays bounded at any image size. ``runner``: the engine (default
    :func:`inference.runner_for`). A full-resolution model whose metadata has
    ``lowpass_guard`` (pixels) gets the residual's local mean removed (:mod:`lowguard`)."""
    run_net = runner or runner_for(model, deltas)
    g = run_net.geometry
    gray = compact.ndim == 2
    channels = 1 if gray else 3

    def run(t: np.ndarray) -> np.ndarray:  # uint8 tile in, uint8 tile out
        return _as_uint8(run_net.rec(_as_float(t), quality), channels)

    out = run_tiled(run, _nchw(compact), scale=Fraction(model.scale), margin=g.rec_margin,
                    tile=tile or g.rec_tile, align=g.align, channels_last=True,
                    progress=_tile_progress("RecCNN", progress))
    arr = out[0]  # (H, W, C), written in place tile by tile: no second copy
    arr = arr[:height, :width, 0] if gray else arr[:height, :width]
    block = int(model.meta.get("lowpass_guard", 0)) if model.scale == 1 else 0
    if block:
        return lowpass_guard(np.ascontiguousarray(arr), compact[:height, :width], block)
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def compact_image(model: Model, x: np.ndarray, quality: float, channels: int, *,
                  tile: int = 2 * DEFAULT_TILE,
                  progress: Callable[[str], None] | None = None,
                  runner: Runner | None = None) -> np.ndarray:
    """ComCNN on an even-sized uint8 image (H, W) or (H, W, 3), in tiles; returns the uint8
    compact image (``channels`` planes)."""
    run_net = runner or runner_for(model)

    def run(t: np.ndarray) -> np.ndarray:  # uint8 tile in, uint8 compact tile out
        return _as_uint8(run_net.com(_as_float(t), quality), channels)

    out = run_tiled(run, _nchw(np.ascontiguousarray(x)), scale=Fraction(1, 2),
                    margin=run_net.geometry.com_margin, tile=tile, channels_last=True,
                    progress=_tile_progress("ComCNN", progress))
    arr = out[0]
    return np.ascontiguousarray(arr[:, :, 0]) if channels == 1 else arr


def _tile_progress(what: str, say: Callable[[str], None] | None):
    if say is None:
        return None
    def report(done: int, total: int) -> None:  # at most one line per tenth (issue 23: -v
        if total > 1 and (done == total or done * 10 // total != (done - 1) * 10 // total):
            say(f"{what}: tile {done}/{total}")  # printed 576 lines on a 12 MP photo)

    return report
