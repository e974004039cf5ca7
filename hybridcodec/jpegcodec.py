"""The JPEG base codec (:class:`JpegCodec`, id 1 in files).

* ``jpeg`` (id 1): standard JPEG from one of three encoders (:data:`JPEG_ENCODERS`), every payload
  a baseline or progressive JPEG that libjpeg-turbo decodes:

  - ``jpegli`` (the default; PyPI ``ajpegli``): 4:2:0, progressive, adaptive quantisation off (a
    PSNR-oriented setting). Its own knob is the butteraugli ``distance``; the quality scale 1-100
    (fractional) maps to it by jpegli's own quality-to-distance rule from 30 up
    (``0.1 + 0.09 (100 - q)``) and geometrically below 30, reaching distance 60 at quality 1
    (jpegli's own rule stops at 25, about 0.24 bpp on Kodak; distance 60 reaches about 0.09).
  - ``mozjpeg`` (inside PyPI ``pyvips-binary``, through ``pyvips``): cjpeg's defaults (trellis
    quantisation, table 3, optimised progressive scans), quality factor 1-100.
  - ``turbo`` (libjpeg-turbo through imagecodecs, optimised Huffman tables), quality factor 1-100.

  Two decoders (:data:`JPEG_DECODERS`): ``turbo`` (libjpeg-turbo) and ``jpegli`` (ajpegli), which
  reads the same files with a smoother dequantisation. Which one serves a file never depends on
  its encoder: the networks name the decoder they were trained on, and the encoder measures which
  plain decoder is better for the image (``ratecontrol``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from .codecbase import JPEG_DECODERS, BaseCodec
from .errors import HybridCodecError

__all__ = ["JpegCodec", "JPEG_ENCODERS", "JPEG_DECODERS", "ENCODER_IDS", "DEFAULT_JPEG_ENCODER",
           "jpegli_distance"]

SUBSAMPLINGS = {"420": "420", "444": "444"}
#: JPEG encoders and the ids files record them by (information only: decoding never uses it)
ENCODER_IDS = {"turbo": 0, "jpegli": 1, "mozjpeg": 2}
JPEG_ENCODERS = ("jpegli", "mozjpeg", "turbo")
DEFAULT_JPEG_ENCODER = "jpegli"
_PACKAGES = {"jpegli": ("ajpegli", "pip install ajpegli"),
             "mozjpeg": ("pyvips", "pip install pyvips pyvips-binary")}
_MAX_DISTANCE = 60.0


def jpegli_distance(quality: float) -> float:
    """jpegli's butteraugli distance for a quality 1-100: jpegli's own rule from 30 up, then
    geometric down to distance 60 at quality 1 (see the module docstring)."""
    q = float(quality)
    if q >= 30:
        return 0.1 + 0.09 * (100 - q)
    return 6.4 * (_MAX_DISTANCE / 6.4) ** ((30 - q) / 29)


def _need(encoder: str):
    """Import the package behind a JPEG encoder or decoder, or say which one to install."""
    import importlib

    module, how = _PACKAGES[encoder]
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - ImportError, or a missing shared library
        raise HybridCodecError(f"the {encoder} JPEG encoder needs the package {module} "
                               f"({how})") from exc


@dataclass(frozen=True)
class JpegCodec(BaseCodec):
    """JPEG (id 1): three encoders, two decoders, 4:2:0 or 4:4:4 (module docstring)."""

    decoders: tuple[str, ...] = JPEG_DECODERS
    subsamplings: tuple[str, ...] = ("420", "444")

    def quality_label(self, quality: float) -> str:
        return f"q{quality:g}"

    def with_encoder(self, encoder: str | None) -> BaseCodec:
        """This codec with another JPEG encoder (``None``: the default, jpegli)."""
        encoder = encoder or DEFAULT_JPEG_ENCODER
        if encoder not in JPEG_ENCODERS:
            raise HybridCodecError(f"JPEG encoder must be one of {', '.join(JPEG_ENCODERS)}, "
                                   f"got {encoder!r}")
        if encoder != "turbo":
            _need(encoder)
        return replace(self, encoder=encoder, integer_quality=encoder != "jpegli")

    def encoders_for(self, names: str) -> list[BaseCodec]:
        chosen = [e.strip() for e in names.split(",") if e.strip()]
        if not chosen:
            raise HybridCodecError("give at least one JPEG encoder")
        return [self.with_encoder(e) for e in chosen]

    def file_facts(self, version: int, encoder: str, subsampling: str) -> dict[str, str]:
        # version 1 and 2 files did not record the encoder: libjpeg-turbo wrote them all
        return {"encoder": encoder if version >= 3 else "turbo", "subsampling": subsampling}

    def _available(self, lib) -> bool:
        return bool(lib.JPEG8.available)

    def version(self) -> str:
        return self._lib().jpeg8_version()

    def condition_quality(self, payload: bytes, stored: float) -> float:
        """The IJG-equivalent quality of the payload's luminance quantisation table
        (``jpeginfo.estimate_quality``), whoever wrote it (libjpeg-turbo, jpegli, mozjpeg, a
        camera), so one network serves all."""
        from .jpeginfo import parse_jpeg

        return parse_jpeg(payload).quality

    def table_quality(self, quality: float, *, gray: bool = False,
                      subsampling: str = "420") -> float:
        return _table_quality(self, self.snap_quality(quality), gray, subsampling)

    def _encode(self, image: np.ndarray, q: float, subsampling: str) -> bytes:
        if subsampling not in SUBSAMPLINGS:
            raise HybridCodecError(f"JPEG subsampling must be 420 or 444, got {subsampling!r}")
        encoder = self.encoder or "turbo"
        if encoder == "jpegli":
            ajpegli = _need("jpegli")
            return bytes(ajpegli.encode(image, distance=jpegli_distance(q),
                                        subsampling=subsampling, progressive=2, optimize=True,
                                        adaptive_quantization=False))
        if encoder == "mozjpeg":
            pyvips = _need("mozjpeg")
            v = pyvips.Image.new_from_array(image, interpretation="srgb" if image.ndim == 3
                                            else "b-w")
            return bytes(v.jpegsave_buffer(
                Q=int(q), optimize_coding=True, trellis_quant=True, overshoot_deringing=True,
                optimize_scans=True, quant_table=3, interlace=True, keep="none",
                subsample_mode="on" if subsampling == "420" else "off"))
        kw = {"subsampling": SUBSAMPLINGS[subsampling]} if image.ndim == 3 else {}
        return bytes(self._lib().jpeg8_encode(image, level=int(q), optimize=True, **kw))

    def peek_shape(self, data: bytes) -> tuple[int, int, int]:
        """Refuses lossless or 12-bit JPEG, CMYK, and data too short for its claimed size."""
        from .jpeginfo import parse_jpeg

        info = parse_jpeg(data)
        if info.lossless:
            raise HybridCodecError("lossless JPEG is not supported (it has no quantisation "
                                   "artifacts to remove)")
        if info.precision != 8:
            raise HybridCodecError(f"{info.precision}-bit JPEG is not supported (8-bit only)")
        if info.components not in (1, 3):
            raise HybridCodecError(f"JPEG with {info.components} components (CMYK?) is not "
                                   "supported (gray or colour only)")
        # with Huffman coding every 8x8 luma block costs at least one bit (its DC code, in any
        # scan order): shorter data is truncated or forged, and a decoder would allocate the
        # claimed size to fill it with grey
        blocks = -(-info.width // 8) * -(-info.height // 8)
        if not info.arithmetic and blocks > 2**18 and len(data) < blocks // 8:
            raise HybridCodecError(f"JPEG of {len(data)} bytes cannot hold the "
                                   f"{info.width}x{info.height} pixels its header claims "
                                   "(truncated or forged)")
        return info.height, info.width, info.components

    def _decode(self, data: bytes, decoder: str) -> np.ndarray:
        if decoder == "jpegli":
            ajpegli = _need("jpegli")
            gray = ajpegli.info(data).mode == "L"
            # the callers check the size from the headers; no limit of ajpegli's own on top
            return ajpegli.decode(data, mode="L" if gray else "RGB", max_pixels=2**32)
        return self._lib().jpeg8_decode(data)


@functools.lru_cache(maxsize=4096)
def _table_quality(codec: JpegCodec, quality: float, gray: bool, subsampling: str) -> float:
    ramp = np.add.outer(np.arange(16), np.arange(16)).astype(np.uint8) * 8
    img = ramp if gray else np.stack([ramp, ramp[::-1], ramp.T], axis=-1)
    return codec.condition_quality(codec.encode(img, quality, subsampling=subsampling), quality)
