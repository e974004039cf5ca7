"""The networks on images (Jiang et al. 2017): ComCNN makes the compact image, RecCNN
reconstructs from the decoded one, both in overlapping tiles so that memory stays bounded at any
image size; :class:`Encoder` holds one image and codes it at any quality of the base codec,
caching payloads and reconstructions (what rate control and the mode decisions search over).

Images are uint8 arrays (H, W) or (H, W, 3); the networks see float32 (1, 3, h, w) tiles in
[0, 1] (gray replicated) on the engine ``inference.runner_for`` picks (onnxruntime, torch or
numpy). The models are shared and never modified here: every call is thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

from . import container
from .basecodecs import BaseCodec
from .inference import COM_MARGIN, Runner, runner_for
from .metrics import psnr_from_sse, sse
from .models import Model
from .tiling import DEFAULT_TILE, run_tiled

__all__ = ["Encoder", "reconstruct", "compact_image", "COM_MARGIN"]


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
    :func:`inference.runner_for`)."""
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
    return lambda done, total: say(f"{what}: tile {done}/{total}") if total > 1 else None


class Encoder:
    """Holds the padded input and the model; codes the compact image at any quality (cached)."""

    def __init__(self, image: np.ndarray, base: BaseCodec, model: Model, subsampling: str,
                 progress: Callable[[str], None] | None = None):
        self.image, self.base, self.model, self.subsampling = image, base, model, subsampling
        self.progress = progress
        self.resolution = "full" if model.config.scale == 1 else "compact"
        self.channels = 1 if image.ndim == 2 else 3
        self._payload: dict[float, bytes] = {}
        self._sse: dict[float, float] = {}

    def padded(self) -> np.ndarray:
        """The image, padded by edge replication to even sides for a compact model (uint8;
        a copy only when a side is odd)."""
        h, w = self.image.shape[:2]
        if self.model.config.scale == 1 or not (h % 2 or w % 2):
            return self.image
        pad = ((0, h % 2), (0, w % 2)) + (((0, 0),) if self.image.ndim == 3 else ())
        return np.pad(self.image, pad, mode="edge")

    @property
    def x(self):
        """The padded image as a float torch tensor (1, 3, H, W): built on demand (adaptation's
        target), never kept, since at 100 megapixels it takes 1.2 GB."""
        from .adaptation import to_tensor

        return to_tensor(self.padded())

    def twin(self, model: Model) -> Encoder:
        """An encoder for the same image with another model. Full-resolution encoders share
        their coded payloads (the base codec codes the image itself, only the decoder
        differs); compact ones do not (each ComCNN makes its own compact image)."""
        other = Encoder(self.image, self.base, model, self.subsampling, self.progress)
        if self.resolution == other.resolution == "full":
            other._payload = self._payload
        return other

    def payload(self, quality: float) -> bytes:
        q = self.base.check_quality(quality)
        if q not in self._payload:
            if self.model.config.scale == 1:
                compact = self.image
            else:  # ComCNN is told the quality the payload's tables will say
                qc = self.base.table_quality(q, gray=self.channels == 1,
                                             subsampling=self.subsampling)
                compact = compact_image(self.model, self.padded(), qc, self.channels,
                                        progress=self.progress)
            self._payload[q] = self.base.encode(compact, q, subsampling=self.subsampling)
        return self._payload[q]

    def condition(self, quality: float) -> float:
        """The quality RecCNN is conditioned on: what the payload at ``quality`` says."""
        return self.base.condition_quality(self.payload(quality), quality)

    def file_at(self, quality: float, update: bytes | None = None) -> bytes:
        q = self.base.check_quality(quality)
        h, w = self.image.shape[:2]
        hdr = container.Header(w, h, self.channels, self.base.id, self.subsampling, q,
                               self.model.name, self.model.digest, self.resolution,
                               encoder=self.base.encoder or "turbo")
        chunks = [(container.CHUNK_BASE, self.payload(q))]
        if update is not None:
            chunks.append((container.CHUNK_UPDATE, update))
        return container.pack(hdr, chunks)

    def decoded_compact(self, quality: float) -> np.ndarray:
        return self.base.decode(self.payload(quality), decoder=self.model.decoder)

    def reconstruct(self, quality: float, deltas: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """The decoder's output at ``quality`` (not kept: see :meth:`sse`)."""
        h, w = self.image.shape[:2]
        return reconstruct(self.model, self.decoded_compact(quality), self.condition(quality),
                           h, w, deltas)

    def sse(self, quality: float) -> float:
        """Squared error of the decoder's output at ``quality`` (8-bit units, summed; cached:
        the mode, decoder and update decisions all compare against it; the images themselves
        are not kept, so that big images stay in bounded memory)."""
        q = self.base.check_quality(quality)
        if q not in self._sse:
            self._sse[q] = sse(self.image, self.reconstruct(q))
        return self._sse[q]

    def psnr(self, quality: float) -> float:
        """PSNR (dB) of the decoder's output at ``quality`` (from :meth:`sse`)."""
        return psnr_from_sse(self.sse(quality), self.image.size)
