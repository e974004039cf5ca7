"""Base (classical) codecs by name and by the numeric id files store (ids never change).

* ``jpeg`` (id 1, :class:`~hybridcodec.jpegcodec.JpegCodec`): standard JPEG from jpegli (the
  default), mozjpeg or libjpeg-turbo, read by libjpeg-turbo or jpegli's decoder.
* ``jpeg2000`` (id 2, :class:`~hybridcodec.j2kcodec.Jpeg2000Codec`): OpenJPEG, raw J2K
  codestream, quality a PSNR target in dB.

Both behind the interface :class:`~hybridcodec.codecbase.BaseCodec`. Images are uint8 arrays,
(H, W) or (H, W, 3).
"""

from __future__ import annotations

from .codecbase import JPEG_DECODERS, BaseCodec
from .errors import HybridCodecError
from .j2kcodec import Jpeg2000Codec
from .jpegcodec import (DEFAULT_JPEG_ENCODER, ENCODER_IDS, JPEG_ENCODERS, JpegCodec,
                        jpegli_distance)

__all__ = ["BaseCodec", "JpegCodec", "Jpeg2000Codec", "BASE_CODECS", "get_base", "base_by_id",
           "JPEG_ENCODERS", "JPEG_DECODERS", "ENCODER_IDS", "DEFAULT_JPEG_ENCODER",
           "jpegli_distance"]


BASE_CODECS: dict[str, BaseCodec] = {
    "jpeg": JpegCodec(
        name="jpeg",
        id=1,
        max_side=65500,
        quality_min=1,
        quality_max=100,
        integer_quality=True,
        default_quality=75,  # as cjpeg and cwebp: a good-looking photo (about 1.4 bpp, 33.8 dB
        # with jpegli on the training photos)
        anchors=(5.0, 10.0, 20.0, 35.0, 55.0, 75.0, 95.0),
        description="JPEG (jpegli, mozjpeg or libjpeg-turbo), quality 1-100",
        validation_qualities=(10.0, 20.0, 40.0, 70.0, 90.0),
        encoder="turbo",
    ),
    "jpeg2000": Jpeg2000Codec(
        name="jpeg2000",
        id=2,
        quality_min=10,
        quality_max=70,
        integer_quality=False,
        default_quality=34,  # the PSNR that JPEG's default (jpegli 75) gives on the training
        # photos (experiments/rd/default_quality.py)
        anchors=(20.0, 25.0, 30.0, 35.0, 40.0, 45.0),
        description="JPEG 2000 (OpenJPEG), fixed-quality PSNR target in dB, 10-70",
        validation_qualities=(24.0, 28.0, 32.0, 36.0, 40.0),
    ),
}
_BY_ID = {codec.id: codec for codec in BASE_CODECS.values()}


def get_base(name: str, jpeg_encoder: str | None = "turbo") -> BaseCodec:
    """The base codec called ``name`` (``jpeg`` or ``jpeg2000``); for JPEG with the encoder
    ``jpeg_encoder`` (``None``: the default, jpegli; ``turbo``, what every decoder-only use
    needs, is always installed)."""
    try:
        codec = BASE_CODECS[name]
    except (KeyError, TypeError):
        raise HybridCodecError(
            f"unknown base codec {name!r}; choose one of {', '.join(BASE_CODECS)}"
        ) from None
    return codec.with_encoder(jpeg_encoder)


def base_by_id(codec_id: int) -> BaseCodec:
    """The base codec with numeric id ``codec_id`` (as stored in files)."""
    try:
        return _BY_ID[codec_id]
    except (KeyError, TypeError):
        raise HybridCodecError(f"unknown base codec id {codec_id} in file") from None
