"""The networks on images (Jiang et al. 2017): ComCNN makes the compact image, RecCNN
reconstructs from the decoded one, both in overlapping tiles so that memory stays bounded at any
image size; :class:`Encoder` holds one image and codes it at any quality of the base codec,
caching payloads and reconstructions (what rate control and the mode decisions search over).

Images are uint8 arrays (H, W) or (H, W, 3); tensors are float (1, 3, H, W) in [0, 1] (gray
replicated). The models are shared and never modified here: every call is thread-safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import torch

from . import container
from .adaptation import with_update
from .basecodecs import BaseCodec
from .metrics import psnr_from_sse, sse
from .models import Model
from .tiling import DEFAULT_TILE, run_tiled

__all__ = ["Encoder", "reconstruct", "compact_image", "to_tensor", "to_uint8", "auto_tile",
           "COM_MARGIN"]

#: context (input pixels) a tile needs: ComCNN sees 3 px at full resolution plus 1 compact px;
#: RecCNN needs 2 compact px for bicubic plus one full-resolution px per layer.
COM_MARGIN = 6

def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) -> float (1, 3, H, W) in [0, 1] (gray replicated)."""
    t = torch.from_numpy(image.astype(np.float32) / 255)
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t


def to_uint8(t: torch.Tensor, channels: int) -> np.ndarray:
    """float (1, 3, H, W) -> uint8 image with ``channels`` planes (gray = mean of the three)."""
    t = t[0].clamp(0, 1)
    if channels == 1:
        t = t.mean(0, keepdim=True)
    arr = t.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(arr[:, :, 0] if channels == 1 else arr)


def auto_tile(rec: torch.nn.Module) -> int:
    """Input pixels per tile side for RecCNN: the largest multiple of 64 whose hidden
    activations stay near 4 M values (16 MB, under glibc's mmap threshold; see ``tiling``)."""
    if rec.depth == 0:
        return DEFAULT_TILE
    if hasattr(rec, "max_width"):  # waifu2x's upconv7: features at the input's resolution
        return max(64, int(math.sqrt(4 * 2**20 / rec.max_width)) // 64 * 64)
    width = rec.head.out_channels
    side = math.sqrt(4 * 2**20 / width) * rec.s2d / rec.scale  # feature side -> input side
    return max(64, int(side) // 64 * 64)


@torch.no_grad()
def reconstruct(model: Model, compact: np.ndarray, quality: float, height: int, width: int,
                deltas: dict[int, np.ndarray] | None = None, *, tile: int | None = None,
                progress: Callable[[str], None] | None = None) -> np.ndarray:
    """RecCNN on a decoded compact image (uint8), with an optional weight-update applied; runs
    in tiles of ``tile`` compact pixels (default :func:`auto_tile`) so that memory stays
    bounded at any image size."""
    q = torch.tensor([float(quality)])
    rec = model.net.rec
    if deltas:  # on a private copy: the cached model is shared by every thread
        rec = with_update(rec, deltas)
    gray = compact.ndim == 2
    x = _uint8_view(np.ascontiguousarray(compact))  # uint8: converted tile by tile

    def run(t: torch.Tensor) -> torch.Tensor:  # uint8 tile in, uint8 tile out
        f = t.float().div(255)
        f = f.expand(-1, 3, -1, -1) if gray else f
        y = rec(f, q)
        y = y.clamp(0, 1)
        y = y.mean(1, keepdim=True) if gray else y
        return y.mul(255).round().to(torch.uint8)

    # receptive field of the network (output pixels), plus bicubic's 2-pixel support on the
    # compact side
    margin = (-(-rec.radius // 2) + 3) if rec.scale == 2 else rec.radius + 1
    out = run_tiled(run, x, scale=Fraction(rec.scale), margin=margin,
                    tile=tile or auto_tile(rec), align=rec.s2d, channels_last=True,
                    progress=_tile_progress("RecCNN", progress))
    arr = out[0].numpy()  # (H, W, C), written in place tile by tile: no second copy
    arr = arr[:height, :width, 0] if gray else arr[:height, :width]
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def _uint8_view(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) -> a (1, C, H, W) view (no copy unless read-only: torch
    tensors cannot be read-only)."""
    x = torch.from_numpy(image if image.flags.writeable else image.copy())
    return x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]


@torch.no_grad()
def compact_image(model: Model, x: torch.Tensor | np.ndarray, quality: float, channels: int, *,
                  tile: int = 2 * DEFAULT_TILE,
                  progress: Callable[[str], None] | None = None) -> np.ndarray:
    """ComCNN on an even-sized image, in tiles; returns the uint8 compact image. ``x``: a uint8
    array (converted tile by tile, so memory stays bounded) or a float tensor (1, 3, H, W)."""
    q = torch.tensor([float(quality)])
    margin = COM_MARGIN + model.net.com.extra_margin
    src = _uint8_view(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x

    def run(t: torch.Tensor) -> torch.Tensor:  # tile in, uint8 compact tile out
        f = t.float().div(255) if t.dtype == torch.uint8 else t
        f = f.expand(-1, 3, -1, -1) if f.shape[1] == 1 else f
        y = model.net.com(f, q).clamp(0, 1)
        y = y.mean(1, keepdim=True) if channels == 1 else y
        return y.mul(255).round().to(torch.uint8)

    out = run_tiled(run, src, scale=Fraction(1, 2), margin=margin, tile=tile, channels_last=True,
                    progress=_tile_progress("ComCNN", progress))
    arr = out[0].numpy()
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
        self.resolution = "full" if model.net.config.scale == 1 else "compact"
        self.channels = 1 if image.ndim == 2 else 3
        self._payload: dict[float, bytes] = {}
        self._sse: dict[float, float] = {}

    def padded(self) -> np.ndarray:
        """The image, padded by edge replication to even sides for a compact model (uint8;
        a copy only when a side is odd)."""
        h, w = self.image.shape[:2]
        if self.model.net.config.scale == 1 or not (h % 2 or w % 2):
            return self.image
        pad = ((0, h % 2), (0, w % 2)) + (((0, 0),) if self.image.ndim == 3 else ())
        return np.pad(self.image, pad, mode="edge")

    @property
    def x(self) -> torch.Tensor:
        """The padded image as a float tensor (1, 3, H, W): built on demand (adaptation's
        target), never kept, since at 100 megapixels it takes 1.2 GB."""
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
            if self.model.net.config.scale == 1:
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
