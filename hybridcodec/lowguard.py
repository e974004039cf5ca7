"""The low-frequency guard of a full-resolution reconstruction (issue 22).

A full-resolution RecCNN adds a residual to the base codec's decode. At the lowest JPEG 2000
rates it can add a *colour cast*: on a held-out grass photo coded at the 24 dB target (21 dB
reached) hyc-jpeg2000-full-m-v2 shifted the crop's mean by +12.5 / -6.9 grey levels (R / G) and
lost 2.2 dB, which dominated the validation mean (``experiments/rd/lowpass_guard.py``). The base
codec's decode keeps the local means well (JPEG 2000's low-pass band is the last to be
quantised away), so the guard removes the residual's local mean: with ``r = out - decoded``,

    guarded = out - upsample(block_mean(r, block))

where ``block_mean`` averages ``block x block`` pixels and ``upsample`` is bilinear between block
centres. Texture, edges and ringing (what the network is for) pass; a cast wider than a block
does not. Models that carry ``lowpass_guard`` (pixels) in their metadata get it at decode.
Memory stays bounded: the block means are 1/block^2 of the image, and the correction is applied
in strips of rows.
"""

from __future__ import annotations

import numpy as np

from .errors import HybridCodecError

__all__ = ["lowpass_guard"]

#: rows corrected at a time (bounded memory on very large images)
STRIP = 256


def _axis_weights(n: int, block: int, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pixel along an axis of ``n`` pixels: the two block indices either side of it
    and the weight of the second (bilinear between block centres, clamped at the borders)."""
    pos = (np.arange(n, dtype=np.float64) + 0.5) / block - 0.5
    pos = np.clip(pos, 0, blocks - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, blocks - 1)
    return i0, i1, (pos - i0).astype(np.float32)


def _interp_matrix(n: int, block: int, blocks: int) -> np.ndarray:
    """(n, blocks) float32: row ``i`` holds the bilinear weights of pixel ``i`` on the block
    centres (two non-zeros per row)."""
    i0, i1, w = _axis_weights(n, block, blocks)
    m = np.zeros((n, blocks), np.float32)
    np.add.at(m, (np.arange(n), i0), 1 - w)
    np.add.at(m, (np.arange(n), i1), w)
    return m


def lowpass_guard(out: np.ndarray, decoded: np.ndarray, block: int) -> np.ndarray:
    """``out`` (uint8, (H, W) or (H, W, C)) with the local mean of ``out - decoded`` over
    ``block``-pixel blocks removed (module docstring); ``block`` 0 returns ``out`` unchanged."""
    if block == 0:
        return out
    if block < 2 or out.shape != decoded.shape or out.dtype != np.uint8 \
            or decoded.dtype != np.uint8:
        raise HybridCodecError("lowpass_guard needs two uint8 images of one shape and a block "
                               "of at least 2 pixels")
    o = out[..., None] if out.ndim == 2 else out
    d = decoded[..., None] if decoded.ndim == 2 else decoded
    h, w, c = o.shape
    bh, bw = -(-h // block), -(-w // block)
    means = np.zeros((bh, bw, c), np.float32)
    counts = np.zeros((bh, bw, 1), np.float32)
    for y0 in range(0, h, block):  # one block row at a time: bounded memory
        r = o[y0 : y0 + block].astype(np.float32) - d[y0 : y0 + block]
        means[y0 // block] = np.add.reduceat(r.sum(0), np.arange(0, w, block), axis=0)
        counts[y0 // block, :, 0] = r.shape[0] * np.diff(np.append(np.arange(0, w, block), w))
    means /= counts
    # bilinear upsampling as two small matrix products: columns once, then rows per strip
    cols = np.einsum("xb,ybc->yxc", _interp_matrix(w, block, bw), means)  # (bh, w, c)
    rows = _interp_matrix(h, block, bh)
    res = np.empty_like(o)
    for y0 in range(0, h, STRIP):
        ys = slice(y0, min(y0 + STRIP, h))
        low = np.tensordot(rows[ys], cols, axes=(1, 0))  # (strip, w, c)
        res[ys] = np.clip(np.rint(o[ys] - low), 0, 255).astype(np.uint8)
    return res[..., 0] if out.ndim == 2 else res
