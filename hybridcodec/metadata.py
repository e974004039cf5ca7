"""What a photo says about itself besides its pixels: the ICC profile and the EXIF block, read
beside the pixels and carried into standard outputs (issue 23: ``compress`` dropped them, where
cjpeg and cwebp keep them).

* JPEG (``.jpg``): an ``APP1`` Exif segment and ``APP2`` ``ICC_PROFILE`` segments (the ICC
  specification's chunking: at most 65519 bytes a segment, numbered), inserted after SOI. They
  are part of the codestream that the hybrid record's ``bcrc`` checks.
* JP2 (``.jp2``): the ICC profile as a ``colr`` box of method 2 in ``jp2h``, EXIF in a ``uuid``
  box with the ``JpgTiffExif->JP2`` UUID (``standard.wrap``).

The EXIF block's orientation tag is reset to 1: the pixels are already upright (``imageio``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["ImageMeta", "from_pil_info", "jpeg_segments", "insert_into_jpeg", "EXIF_UUID"]

EXIF_UUID = b"JpgTiffExif->JP2"
_ICC_TAG = b"ICC_PROFILE\x00"
_ICC_PIECE = 0xFFFF - 2 - len(_ICC_TAG) - 2
_EXIF_MAX = 0xFFFF - 2


@dataclass(frozen=True)
class ImageMeta:
    """``icc``: an ICC profile (bytes); ``exif``: a TIFF-structured EXIF block starting with
    ``Exif\\0\\0`` (bytes); either may be None."""

    icc: bytes | None = None
    exif: bytes | None = None

    def __bool__(self) -> bool:
        return bool(self.icc or self.exif)


def from_pil_info(img) -> ImageMeta:
    """The metadata of a Pillow image (after its orientation was applied: tag 274 set to 1)."""
    icc = img.info.get("icc_profile") or None
    exif_block = None
    try:
        exif = img.getexif()
        if len(exif):
            if 0x0112 in exif:
                exif[0x0112] = 1
            raw = exif.tobytes()
            exif_block = raw if raw.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + raw
    except Exception:  # noqa: BLE001 - a damaged EXIF block is left out, never fatal
        exif_block = None
    if exif_block is not None and len(exif_block) > _EXIF_MAX:
        exif_block = None  # does not fit one APP1 segment: left out rather than cut
    return ImageMeta(bytes(icc) if icc else None, exif_block)


def jpeg_segments(meta: ImageMeta) -> bytes:
    """The APP1 / APP2 segments of ``meta``."""
    out = b""
    if meta.exif:
        out += struct.pack(">BBH", 0xFF, 0xE1, 2 + len(meta.exif)) + meta.exif
    if meta.icc:
        pieces = [meta.icc[i : i + _ICC_PIECE] for i in range(0, len(meta.icc), _ICC_PIECE)]
        if len(pieces) <= 255:
            for i, piece in enumerate(pieces):
                body = _ICC_TAG + bytes([i + 1, len(pieces)]) + piece
                out += struct.pack(">BBH", 0xFF, 0xE2, 2 + len(body)) + body
    return out


def insert_into_jpeg(payload: bytes, meta: ImageMeta | None) -> bytes:
    """``payload`` (a JPEG from the base encoder) with ``meta``'s segments after SOI (and after
    a JFIF APP0, which must come first)."""
    if not meta or payload[:2] != b"\xff\xd8":
        return payload
    pos = 2
    if payload[2:4] == b"\xff\xe0" and len(payload) >= 6:
        pos = 4 + struct.unpack_from(">H", payload, 4)[0]
    return payload[:pos] + jpeg_segments(meta) + payload[pos:]
