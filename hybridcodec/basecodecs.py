"""Base (classical) codecs behind one small interface, with numeric ids that never change.

* ``jpeg`` (id 1): libjpeg-turbo through imagecodecs. Quality is the JPEG quality factor 1-100;
  chroma subsampling 4:2:0 by default, 4:4:4 as an option.
* ``jpeg2000`` (id 2): OpenJPEG through imagecodecs, raw J2K codestream. Quality is OpenJPEG's
  fixed-quality target, a PSNR in dB (10-70 here).

Images are uint8 arrays, (H, W) or (H, W, 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import HybridCodecError

__all__ = ["BaseCodec", "BASE_CODECS", "get_base", "base_by_id"]

SUBSAMPLINGS = {"420": "420", "444": "444"}


@dataclass(frozen=True)
class BaseCodec:
    """One classical codec. ``id`` is written into files and never changes."""

    name: str
    id: int
    quality_min: float
    quality_max: float
    integer_quality: bool
    default_quality: float
    #: anchor qualities of the gain units of models for this base (G-VAE)
    anchors: tuple[float, ...]
    description: str

    def _lib(self):  # imported lazily: no work at import time
        import imagecodecs

        return imagecodecs

    def available(self) -> bool:
        """Whether the codec library can be loaded."""
        try:
            lib = self._lib()
            return bool(lib.JPEG8.available if self.id == 1 else lib.JPEG2K.available)
        except Exception:  # noqa: BLE001 - any import failure means "not available"
            return False

    def version(self) -> str:
        """Version string of the underlying library, e.g. ``libjpeg_turbo 3.1.3/8.0``."""
        lib = self._lib()
        return lib.jpeg8_version() if self.id == 1 else lib.jpeg2k_version()

    def check_quality(self, quality: float) -> float:
        """Validate ``quality`` on this codec's scale and return it (rounded for JPEG)."""
        q = float(quality)
        if not np.isfinite(q) or not (self.quality_min <= q <= self.quality_max):
            raise HybridCodecError(
                f"{self.name} quality must be in [{self.quality_min:g}, {self.quality_max:g}], "
                f"got {quality!r}"
            )
        return float(round(q)) if self.integer_quality else round(q, 2)

    def encode(self, image: np.ndarray, quality: float, *, subsampling: str = "420") -> bytes:
        """Encode a uint8 image at ``quality`` (this codec's scale); returns the codestream."""
        q = self.check_quality(quality)
        image = np.array(image, dtype=np.uint8, order="C", copy=True)  # canonical strides
        lib = self._lib()
        try:
            if self.id == 1:
                if subsampling not in SUBSAMPLINGS:
                    raise HybridCodecError(f"JPEG subsampling must be 420 or 444, got {subsampling!r}")
                kw = {"subsampling": SUBSAMPLINGS[subsampling]} if image.ndim == 3 else {}
                return bytes(lib.jpeg8_encode(image, level=int(q), optimize=True, **kw))
            return bytes(lib.jpeg2k_encode(image, level=q, codecformat="j2k"))
        except HybridCodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - library errors become ours
            raise HybridCodecError(f"{self.name} encoder failed: {exc}") from exc

    def decode(self, data: bytes) -> np.ndarray:
        """Decode a codestream made by :meth:`encode` to a uint8 array."""
        lib = self._lib()
        try:
            out = lib.jpeg8_decode(data) if self.id == 1 else lib.jpeg2k_decode(data)
        except Exception as exc:  # noqa: BLE001
            raise HybridCodecError(f"{self.name} payload does not decode: {exc}") from exc
        if out.dtype != np.uint8:
            raise HybridCodecError(f"{self.name} payload decodes to {out.dtype}, expected uint8")
        return out


BASE_CODECS: dict[str, BaseCodec] = {
    "jpeg": BaseCodec(
        name="jpeg",
        id=1,
        quality_min=1,
        quality_max=100,
        integer_quality=True,
        default_quality=40,
        anchors=(5.0, 10.0, 20.0, 35.0, 55.0, 75.0, 95.0),
        description="JPEG (libjpeg-turbo), quality factor 1-100",
    ),
    "jpeg2000": BaseCodec(
        name="jpeg2000",
        id=2,
        quality_min=10,
        quality_max=70,
        integer_quality=False,
        default_quality=30,
        anchors=(20.0, 25.0, 30.0, 35.0, 40.0, 45.0),
        description="JPEG 2000 (OpenJPEG), fixed-quality PSNR target in dB, 10-70",
    ),
}


def get_base(name: str) -> BaseCodec:
    """The base codec called ``name`` (``jpeg`` or ``jpeg2000``)."""
    try:
        return BASE_CODECS[name]
    except KeyError:
        raise HybridCodecError(
            f"unknown base codec {name!r}; choose one of {', '.join(BASE_CODECS)}"
        ) from None


def base_by_id(codec_id: int) -> BaseCodec:
    """The base codec with numeric id ``codec_id`` (as stored in files)."""
    for codec in BASE_CODECS.values():
        if codec.id == codec_id:
            return codec
    raise HybridCodecError(f"unknown base codec id {codec_id} in file")
