"""The JPEG 2000 base codec (:class:`Jpeg2000Codec`, id 2 in files): OpenJPEG through
imagecodecs, raw J2K codestream. Quality is OpenJPEG's fixed-quality target, a PSNR in dB
(10-70 here)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .codecbase import BaseCodec
from .errors import HybridCodecError

__all__ = ["Jpeg2000Codec"]


@dataclass(frozen=True)
class Jpeg2000Codec(BaseCodec):
    """JPEG 2000 (id 2): OpenJPEG, raw J2K codestreams, quality a PSNR target in dB; images
    above ``j2ktiles.TILED_ABOVE`` pixels coded in tiles. The thread count is the caller's
    (``cores.threads``)."""

    def quality_label(self, quality: float) -> str:
        return f"{quality:g}dB"

    def file_facts(self, version: int, encoder: str, subsampling: str) -> dict[str, str]:
        return {"encoder": "openjpeg", "subsampling": "n/a"}

    def _available(self, lib) -> bool:
        return bool(lib.JPEG2K.available)

    def version(self) -> str:
        return self._lib().jpeg2k_version()

    def condition_quality(self, payload: bytes, stored: float) -> float:
        """OpenJPEG's fixed-quality codestreams carry no quality parameter (rate allocation
        truncates code-blocks; the quantisation step sizes do not depend on it), so the quality
        stored beside the payload is used."""
        return stored

    def table_quality(self, quality: float, *, gray: bool = False,
                      subsampling: str = "420") -> float:
        return self.snap_quality(quality)

    def _encode(self, image: np.ndarray, q: float, subsampling: str) -> bytes:
        from . import j2ktiles
        from .cores import threads

        lib = self._lib()

        def one(im: np.ndarray) -> bytes:
            return bytes(lib.jpeg2k_encode(im, level=q, codecformat="j2k", numthreads=threads()))

        h, w = image.shape[:2]
        tile = j2ktiles.tile_side(h, w) if h * w > j2ktiles.TILED_ABOVE else None
        return (tile and j2ktiles.encode_tiled(image, one, tile)) or one(image)

    def peek_shape(self, data: bytes) -> tuple[int, int, int]:
        """Refuses J2K that is not 8-bit, subsampled, or tiled into more than 65535 tiles."""
        return _j2k_shape(bytes(data))

    def _decode(self, data: bytes, decoder: str) -> np.ndarray:
        from . import j2ktiles
        from .cores import threads

        lib = self._lib()
        if j2ktiles.is_split(data):  # tile by tile: memory bounded by one tile
            return j2ktiles.decode_tiled(data, lambda d: lib.jpeg2k_decode(d, numthreads=threads()),
                                         _j2k_shape(data)[2])
        return lib.jpeg2k_decode(data, numthreads=threads())


def _j2k_shape(data: bytes) -> tuple[int, int, int]:
    """(height, width, components) from a J2K codestream's SIZ segment (ITU-T T.800 A.5.1)."""
    if data[:4] != b"\xff\x4f\xff\x51":
        raise HybridCodecError("JPEG 2000 payload is not a J2K codestream (no SOC/SIZ)")
    if len(data) < 4 + 38:
        raise HybridCodecError("truncated JPEG 2000 header (SIZ)")
    (lsiz, _r, xs, ys, xo, yo, xts, yts, xto, yto, cs) = struct.unpack_from(">HHIIIIIIIIH", data, 4)
    if lsiz != 38 + 3 * cs or len(data) < 4 + lsiz or not 1 <= cs <= 16384:
        raise HybridCodecError("corrupt JPEG 2000 header (SIZ length or component count)")
    if not (xo < xs and yo < ys and xts and yts and xto <= xo and yto <= yo
            and xto + xts > xo and yto + yts > yo):
        raise HybridCodecError("corrupt JPEG 2000 header (image or tile geometry)")
    tiles = -(-(xs - xto) // xts) * -(-(ys - yto) // yts)
    if tiles > 65535:
        raise HybridCodecError(f"corrupt JPEG 2000 header ({tiles} tiles)")
    for c in range(cs):
        ssiz, xr, yr = data[42 + 3 * c : 45 + 3 * c]
        if ssiz != 7 or xr != 1 or yr != 1:
            raise HybridCodecError("JPEG 2000 payload is not 8-bit unsigned and unsubsampled")
    if cs not in (1, 3):
        raise HybridCodecError(f"JPEG 2000 payload with {cs} components is not supported")
    return ys - yo, xs - xo, cs
