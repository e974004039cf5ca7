"""Base (classical) codecs behind one small interface, with numeric ids that never change.

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
* ``jpeg2000`` (id 2): OpenJPEG through imagecodecs, raw J2K codestream. Quality is OpenJPEG's
  fixed-quality target, a PSNR in dB (10-70 here).

Images are uint8 arrays, (H, W) or (H, W, 3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from .errors import HybridCodecError

__all__ = ["BaseCodec", "BASE_CODECS", "get_base", "base_by_id", "JPEG_ENCODERS",
           "JPEG_DECODERS", "ENCODER_IDS", "DEFAULT_JPEG_ENCODER", "jpegli_distance"]

SUBSAMPLINGS = {"420": "420", "444": "444"}
#: JPEG encoders and the ids files record them by (information only: decoding never uses it)
ENCODER_IDS = {"turbo": 0, "jpegli": 1, "mozjpeg": 2}
JPEG_ENCODERS = ("jpegli", "mozjpeg", "turbo")
DEFAULT_JPEG_ENCODER = "jpegli"
JPEG_DECODERS = ("turbo", "jpegli")
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
    #: JPEG only: the encoder that writes the payloads (``jpegli``, ``mozjpeg`` or ``turbo``)
    encoder: str = ""
    #: the largest side (pixels) the codec library takes: libjpeg's JPEG_MAX_DIMENSION is
    #: 65500 (jpegli crashed on 65501-65535, issue 23); OpenJPEG's is far above our 65535 cap
    max_side: int = 65535

    def check_size(self, height: int, width: int) -> None:
        """Refuse an image the codec library cannot code (before it is called)."""
        if max(height, width) > self.max_side:
            raise HybridCodecError(f"{self.name} codes at most {self.max_side} pixels per side, "
                                   f"got {width} x {height}")

    def with_encoder(self, encoder: str | None) -> BaseCodec:
        """This codec with another JPEG encoder (``None``: the default); JPEG 2000 has one."""
        if self.id != 1:
            return self
        encoder = encoder or DEFAULT_JPEG_ENCODER
        if encoder not in JPEG_ENCODERS:
            raise HybridCodecError(f"JPEG encoder must be one of {', '.join(JPEG_ENCODERS)}, "
                                   f"got {encoder!r}")
        if encoder != "turbo":
            _need(encoder)
        return replace(self, encoder=encoder, integer_quality=encoder != "jpegli")

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

    def check_quality(self, quality: float, *, exact: bool = False) -> float:
        """Validate ``quality`` on this codec's scale and return it: a whole number for the
        libjpeg-turbo and mozjpeg encoders (fractions are refused with ``exact``, a user's value,
        and rounded otherwise, a search's), to 0.01 otherwise (jpegli, JPEG 2000 in dB)."""
        try:
            q = float(quality)
        except (TypeError, ValueError):
            raise HybridCodecError(f"{self.name} quality must be a number, got {quality!r}") from None
        if not np.isfinite(q) or not (self.quality_min <= q <= self.quality_max):
            raise HybridCodecError(
                f"{self.name} quality must be in [{self.quality_min:g}, {self.quality_max:g}], "
                f"got {quality!r}"
            )
        if exact and self.integer_quality and q != round(q):
            raise HybridCodecError(
                f"the {self.encoder} JPEG encoder takes whole qualities, got {quality!r} (jpegli, "
                "the default encoder, takes fractional ones)")
        return float(round(q)) if self.integer_quality else round(q, 2)

    def encode(self, image: np.ndarray, quality: float, *, subsampling: str = "420") -> bytes:
        """Encode a uint8 image at ``quality`` (this codec's scale); returns the codestream."""
        q = self.check_quality(quality)
        image = np.array(image, dtype=np.uint8, order="C", copy=True)  # canonical strides
        self.check_size(*image.shape[:2])
        try:
            if self.id == 1:
                if subsampling not in SUBSAMPLINGS:
                    raise HybridCodecError(f"JPEG subsampling must be 420 or 444, got {subsampling!r}")
                return self._encode_jpeg(image, q, subsampling)
            return self._encode_j2k(image, q)
        except HybridCodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - library errors become ours
            raise HybridCodecError(f"{self.name} encoder failed: {exc}") from exc

    def condition_quality(self, payload: bytes, stored: float) -> float:
        """The quality the networks are conditioned on, derived from what the decoder sees. JPEG:
        the IJG-equivalent quality of the payload's luminance quantisation table
        (``jpeginfo.estimate_quality``), whoever wrote it (libjpeg-turbo, jpegli, mozjpeg, a
        camera), so one network serves all. JPEG 2000: OpenJPEG's fixed-quality codestreams
        carry no quality parameter (rate allocation truncates code-blocks; the quantisation
        step sizes do not depend on it), so the quality stored beside the payload is used."""
        if self.id != 1:
            return stored
        from .jpeginfo import parse_jpeg

        return parse_jpeg(payload).quality

    def table_quality(self, quality: float, *, gray: bool = False,
                      subsampling: str = "420") -> float:
        """:meth:`condition_quality` of the payloads this encoder writes at ``quality``, known
        before encoding (the tables depend on the settings, not on the image): what the
        encoder-side ComCNN is conditioned on."""
        q = self.check_quality(quality)
        if self.id != 1:
            return q
        return _table_quality(self.encoder or "turbo", q, gray, subsampling)

    def _encode_jpeg(self, image: np.ndarray, q: float, subsampling: str) -> bytes:
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
        """(height, width, components) of a codestream from its headers alone, refusing what
        the decoder does not take (lossless or 12-bit JPEG, CMYK, J2K that is not 8-bit,
        subsampled or tiled into more than 65535 tiles): checked before any pixel is decoded."""
        if self.id == 1:
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
            # with Huffman coding every 8x8 luma block costs at least one bit (its DC code, in
            # any scan order): shorter data is truncated or forged, and a decoder would
            # allocate the claimed size to fill it with grey
            blocks = -(-info.width // 8) * -(-info.height // 8)
            if not info.arithmetic and blocks > 2**18 and len(data) < blocks // 8:
                raise HybridCodecError(f"JPEG of {len(data)} bytes cannot hold the "
                                       f"{info.width}x{info.height} pixels its header claims "
                                       "(truncated or forged)")
            return info.height, info.width, info.components
        return _j2k_shape(bytes(data))

    def decode(self, data: bytes, *, decoder: str = "turbo") -> np.ndarray:
        """Decode a codestream made by :meth:`encode` to a uint8 array. JPEG: ``decoder`` is
        ``turbo`` (libjpeg-turbo) or ``jpegli``; JPEG 2000 has one decoder (OpenJPEG)."""
        lib = self._lib()
        if decoder not in JPEG_DECODERS:
            raise HybridCodecError(f"JPEG decoder must be one of {', '.join(JPEG_DECODERS)}")
        try:
            if self.id == 1 and decoder == "jpegli":
                out = self._decode_jpegli(data)
            elif self.id == 1:
                out = lib.jpeg8_decode(data)
            else:
                out = self._decode_j2k(bytes(data))
        except HybridCodecError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise HybridCodecError(f"{self.name} payload does not decode: {exc}") from exc
        if out.dtype != np.uint8:
            raise HybridCodecError(f"{self.name} payload decodes to {out.dtype}, expected uint8")
        return out

    def _encode_j2k(self, image: np.ndarray, q: float) -> bytes:
        from . import j2ktiles
        from .runtime import threads

        lib = self._lib()

        def one(im: np.ndarray) -> bytes:
            return bytes(lib.jpeg2k_encode(im, level=q, codecformat="j2k", numthreads=threads()))

        h, w = image.shape[:2]
        tile = j2ktiles.tile_side(h, w) if h * w > j2ktiles.TILED_ABOVE else None
        return (tile and j2ktiles.encode_tiled(image, one, tile)) or one(image)

    def _decode_j2k(self, data: bytes) -> np.ndarray:
        from . import j2ktiles
        from .runtime import threads

        lib = self._lib()
        if j2ktiles.is_split(data):  # tile by tile: memory bounded by one tile
            return j2ktiles.decode_tiled(data, lambda d: lib.jpeg2k_decode(d, numthreads=threads()),
                                         _j2k_shape(data)[2])
        return lib.jpeg2k_decode(data, numthreads=threads())

    @staticmethod
    def _decode_jpegli(data: bytes) -> np.ndarray:
        ajpegli = _need("jpegli")
        gray = ajpegli.info(data).mode == "L"
        # the callers check the size from the headers; no limit of ajpegli's own on top
        return ajpegli.decode(data, mode="L" if gray else "RGB", max_pixels=2**32)


def _j2k_shape(data: bytes) -> tuple[int, int, int]:
    """(height, width, components) from a J2K codestream's SIZ segment (ITU-T T.800 A.5.1)."""
    import struct

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


@functools.lru_cache(maxsize=4096)
def _table_quality(encoder: str, quality: float, gray: bool, subsampling: str) -> float:
    ramp = np.add.outer(np.arange(16), np.arange(16)).astype(np.uint8) * 8
    img = ramp if gray else np.stack([ramp, ramp[::-1], ramp.T], axis=-1)
    codec = BASE_CODECS["jpeg"].with_encoder(encoder)
    return codec.condition_quality(codec.encode(img, quality, subsampling=subsampling), quality)


BASE_CODECS: dict[str, BaseCodec] = {
    "jpeg": BaseCodec(
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
        encoder="turbo",
    ),
    "jpeg2000": BaseCodec(
        name="jpeg2000",
        id=2,
        quality_min=10,
        quality_max=70,
        integer_quality=False,
        default_quality=34,  # the PSNR that JPEG's default (jpegli 75) gives on the training
        # photos (experiments/default_quality.py)
        anchors=(20.0, 25.0, 30.0, 35.0, 40.0, 45.0),
        description="JPEG 2000 (OpenJPEG), fixed-quality PSNR target in dB, 10-70",
    ),
}


def get_base(name: str, jpeg_encoder: str | None = "turbo") -> BaseCodec:
    """The base codec called ``name`` (``jpeg`` or ``jpeg2000``); for JPEG with the encoder
    ``jpeg_encoder`` (``None``: the default, jpegli; ``turbo``, what every decoder-only use
    needs, is always installed)."""
    try:
        codec = BASE_CODECS[name]
    except KeyError:
        raise HybridCodecError(
            f"unknown base codec {name!r}; choose one of {', '.join(BASE_CODECS)}"
        ) from None
    return codec.with_encoder(jpeg_encoder)


def base_by_id(codec_id: int) -> BaseCodec:
    """The base codec with numeric id ``codec_id`` (as stored in files)."""
    for codec in BASE_CODECS.values():
        if codec.id == codec_id:
            return codec
    raise HybridCodecError(f"unknown base codec id {codec_id} in file")
