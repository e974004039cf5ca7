"""The functional API (imagecodecs style): ``encode``, ``decode``, ``check``, ``info``, ``version``.

Pipeline (Jiang et al. 2017): ComCNN maps the image to a compact image at half resolution; the
base codec (JPEG or JPEG 2000) codes it; RecCNN reconstructs the full image from the decoded
compact image. The file is a ``.hyc`` container (``container.py``); bits per pixel are always
computed from the whole file, header included.

Grayscale images are run through the RGB networks with the gray plane replicated; the compact
image is coded as one plane (the mean of ComCNN's three outputs). Odd sizes are padded by edge
replication to even sizes and cropped after reconstruction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import container
from .basecodecs import BaseCodec, base_by_id, get_base
from .errors import HybridCodecError
from .imageio import as_image
from .models import Model, default_model_name, find_model, get_model

__all__ = ["encode", "decode", "check", "info", "version", "EncodeResult", "encode_ex"]


def version() -> str:
    """Version of hybridcodec and of its base codec libraries."""
    from . import __version__
    from .basecodecs import BASE_CODECS

    libs = []
    for b in BASE_CODECS.values():
        libs.append(f"{b.name}: {b.version() if b.available() else 'unavailable'}")
    return f"hybridcodec {__version__} ({'; '.join(libs)}; torch {torch.__version__})"


def check(data: bytes, /) -> bool:
    """Whether ``data`` starts like a ``.hyc`` file (magic bytes)."""
    return bytes(data[:4]) == container.MAGIC


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(image.astype(np.float32) / 255)
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t


def _to_uint8(t: torch.Tensor, channels: int) -> np.ndarray:
    t = t[0].clamp(0, 1)
    if channels == 1:
        t = t.mean(0, keepdim=True)
    arr = t.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(arr[:, :, 0] if channels == 1 else arr)


class _Encoder:
    """Holds the padded input and the model; codes the compact image at any quality."""

    def __init__(self, image: np.ndarray, base: BaseCodec, model: Model, subsampling: str):
        self.image, self.base, self.model, self.subsampling = image, base, model, subsampling
        self.channels = 1 if image.ndim == 2 else 3
        h, w = image.shape[:2]
        x = _to_tensor(image)
        self.x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) else x
        self._cache: dict[float, bytes] = {}

    @torch.no_grad()
    def file_at(self, quality: float) -> bytes:
        q = self.base.check_quality(quality)
        if q not in self._cache:
            compact = self.model.net.com(self.x, torch.tensor([q]))
            payload = self.base.encode(_to_uint8(compact, self.channels), q,
                                       subsampling=self.subsampling)
            h, w = self.image.shape[:2]
            hdr = container.Header(w, h, self.channels, self.base.id, self.subsampling, q,
                                   self.model.name, self.model.digest)
            self._cache[q] = container.pack(hdr, [(container.CHUNK_BASE, payload)])
        return self._cache[q]


def _search_quality(enc: _Encoder, target_bytes: int) -> float:
    """Highest quality whose whole file fits in ``target_bytes`` (bisection; size grows with
    quality). Raises if even the lowest quality does not fit."""
    base = enc.base
    lo, hi = base.quality_min, base.quality_max
    if len(enc.file_at(lo)) > target_bytes:
        raise HybridCodecError(
            f"target of {target_bytes} bytes is below the smallest file this base codec makes "
            f"({len(enc.file_at(lo))} bytes at quality {lo:g})")
    if len(enc.file_at(hi)) <= target_bytes:
        return hi
    step = 1.0 if base.integer_quality else 0.05
    while hi - lo > step + 1e-9:  # invariant: lo fits, hi does not
        mid = (lo + hi) / 2
        mid = float(math.floor(mid)) if base.integer_quality else round(mid, 2)
        if mid in (lo, hi):
            break
        if len(enc.file_at(mid)) <= target_bytes:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class EncodeResult:
    """An encoded file plus the settings chosen for it."""

    data: bytes
    quality: float
    model: str
    bpp: float


def encode_ex(
    image: np.ndarray, /, *, base: str = "jpeg2000", quality: float | None = None,
    bpp: float | None = None, size: int | None = None, model: str | None = None,
    subsampling: str = "420", progress: Callable[[str], None] | None = None,
) -> EncodeResult:
    """Like :func:`encode`, returning the chosen quality and the achieved bpp too."""
    img = as_image(image)
    codec = get_base(base)
    if not codec.available():
        raise HybridCodecError(f"base codec {base} is not available in this installation")
    if subsampling not in container.SUBSAMPLING_IDS:
        raise HybridCodecError(f"subsampling must be 420 or 444, got {subsampling!r}")
    given = [v is not None for v in (quality, bpp, size)]
    if sum(given) > 1:
        raise HybridCodecError("give only one of quality, bpp and size")
    m = get_model(model or default_model_name(base))
    if m.base not in (None, base):
        raise HybridCodecError(f"model {m.name!r} is for base {m.base}, not {base}")
    enc = _Encoder(img, codec, m, subsampling if codec.id == 1 else "420")
    pixels = img.shape[0] * img.shape[1]
    if bpp is not None or size is not None:
        if bpp is not None and not (math.isfinite(bpp) and bpp > 0):
            raise HybridCodecError(f"bpp must be a positive number, got {bpp!r}")
        if size is not None and size <= 0:
            raise HybridCodecError(f"size must be a positive number of bytes, got {size!r}")
        target = int(bpp * pixels / 8) if bpp is not None else int(size)
        q = _search_quality(enc, target)
    else:
        q = codec.default_quality if quality is None else quality
    data = enc.file_at(q)
    if progress:
        progress(f"quality {q:g}, {len(data)} bytes")
    return EncodeResult(data, codec.check_quality(q), m.name, 8 * len(data) / pixels)


def encode(
    image: np.ndarray, /, *, base: str = "jpeg2000", quality: float | None = None,
    bpp: float | None = None, size: int | None = None, model: str | None = None,
    subsampling: str = "420",
) -> bytes:
    """Compress a uint8 image (H, W) or (H, W, 3) to ``.hyc`` bytes.

    Give at most one of ``quality`` (the base codec's own scale: JPEG quality factor 1-100,
    JPEG 2000 PSNR target in dB), ``bpp`` (target bits per pixel of the whole file) or ``size``
    (target bytes); targets are met by bisection over the base codec's quality and never
    exceeded. ``model`` is a registry name or model file; default: the shipped model of ``base``.
    """
    return encode_ex(image, base=base, quality=quality, bpp=bpp, size=size, model=model,
                     subsampling=subsampling).data


def _parse(data: bytes) -> tuple[container.Container, BaseCodec]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise HybridCodecError(f"expected bytes, got {type(data).__name__}")
    c = container.unpack(bytes(data))
    return c, base_by_id(c.header.base_id)


@torch.no_grad()
def decode(data: bytes, /) -> np.ndarray:
    """Decompress ``.hyc`` bytes to a uint8 array (H, W) or (H, W, 3)."""
    c, base = _parse(data)
    h = c.header
    model = find_model(h.model_name, h.model_digest)
    compact = base.decode(c.get(container.CHUNK_BASE))
    ch, cw = (h.height + 1) // 2, (h.width + 1) // 2
    expected = (ch, cw) if h.channels == 1 else (ch, cw, 3)
    if compact.shape != expected:
        raise HybridCodecError(f"base payload has shape {compact.shape}, expected {expected}")
    out = model.net.rec(_to_tensor(compact), torch.tensor([h.quality]))
    return _to_uint8(out, h.channels)[: h.height, : h.width]


def info(data: bytes, /) -> dict:
    """Header fields and chunk sizes of a ``.hyc`` file (bytes; bpp of the whole file)."""
    c, base = _parse(data)
    h = c.header
    return {
        "format": f".hyc version {h.version}",
        "size": f"{h.width}x{h.height}",
        "mode": container.MODES[h.channels],
        "base": base.name,
        "quality": h.quality,
        "subsampling": h.subsampling if base.id == 1 else "n/a",
        "model": h.model_name,
        "model_digest": h.model_digest.hex(),
        "bytes": len(data),
        "header_bytes": c.header_size,
        "base_bytes": len(c.get(container.CHUNK_BASE)),
        "bpp": round(8 * len(data) / (h.width * h.height), 5),
    }
