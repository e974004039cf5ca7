"""The interface every base (classical) codec has (:class:`BaseCodec`); the codecs are
``jpegcodec.JpegCodec`` and ``j2kcodec.Jpeg2000Codec``, registered in ``basecodecs``. What differs
between codecs is a method or an attribute of their class, never a test of the id elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import HybridCodecError

__all__ = ["BaseCodec", "JPEG_DECODERS"]

#: the decoders a JPEG payload may be read with (``JpegCodec``); every codec's ``decode`` takes
#: these names (JPEG 2000 has one decoder, which callers name ``turbo``)
JPEG_DECODERS = ("turbo", "jpegli")


@dataclass(frozen=True)
class BaseCodec:
    """One classical codec (the interface; :class:`JpegCodec` and :class:`Jpeg2000Codec` are
    the codecs). ``id`` is written into files and never changes."""

    name: str
    id: int
    quality_min: float
    quality_max: float
    integer_quality: bool
    default_quality: float
    #: anchor qualities of the gain units of models for this base (G-VAE)
    anchors: tuple[float, ...]
    description: str
    #: the qualities a training run is validated at (``training.validation``)
    validation_qualities: tuple[float, ...]
    #: JPEG only: the encoder that writes the payloads (``jpegli``, ``mozjpeg`` or ``turbo``)
    encoder: str = ""
    #: the largest side (pixels) the codec library takes: libjpeg's JPEG_MAX_DIMENSION is
    #: 65500 (jpegli crashed on 65501-65535, issue 23); OpenJPEG's is far above our 65535 cap
    max_side: int = 65535
    #: the ``decoder`` names that give different images of one payload (``decode``): JPEG's
    #: two; JPEG 2000 has one decoder, OpenJPEG, which every caller names ``turbo``
    decoders: tuple[str, ...] = ("turbo",)
    #: the chroma subsamplings this codec codes ("420" is what files store for the others)
    subsamplings: tuple[str, ...] = ("420",)

    # --- what every codec has -------------------------------------------------------------

    def check_size(self, height: int, width: int) -> None:
        """Refuse an image the codec library cannot code (before it is called)."""
        if max(height, width) > self.max_side:
            raise HybridCodecError(f"{self.name} codes at most {self.max_side} pixels per side, "
                                   f"got {width} x {height}")

    def decoder_for(self, wanted: str) -> str:
        """``wanted`` where this codec has that decoder, else its first (its only one)."""
        return wanted if wanted in self.decoders else self.decoders[0]

    def subsampling_for(self, wanted: str) -> str:
        """``wanted`` where this codec codes that subsampling, else what files store."""
        return wanted if wanted in self.subsamplings else self.subsamplings[0]

    def quality_label(self, quality: float) -> str:
        """A quality as result tables name it (``q40`` for JPEG, ``32dB`` for JPEG 2000)."""
        return f"{quality:g}"

    def with_encoder(self, encoder: str | None) -> BaseCodec:
        """This codec with another encoder (``None``: the default); only JPEG has several."""
        return self

    def encoders_for(self, names: str) -> list[BaseCodec]:
        """This codec with each encoder of a comma-separated list (the training round trip);
        a codec with one encoder is itself."""
        return [self]

    def file_facts(self, version: int, encoder: str, subsampling: str) -> dict[str, str]:
        """The encoder and subsampling ``info`` reports for a file of this base."""
        return {"encoder": encoder, "subsampling": subsampling}

    def _lib(self):  # imported lazily: no work at import time
        import imagecodecs

        return imagecodecs

    def available(self) -> bool:
        """Whether the codec library can be loaded."""
        try:
            return self._available(self._lib())
        except Exception:  # noqa: BLE001 - any import failure means "not available"
            return False

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
        return self.snap_quality(q)

    def snap_quality(self, quality: float) -> float:
        """``quality`` on this codec's grid (whole numbers for libjpeg-turbo and mozjpeg, 0.01
        otherwise), not checked again: what the encoder's searches and caches use for a value that
        :class:`~hybridcodec.options.EncodeOptions` (or :meth:`check_quality`) already accepted or
        that a search produced inside ``[quality_min, quality_max]``."""
        return float(round(quality)) if self.integer_quality else round(float(quality), 2)

    def encode(self, image: np.ndarray, quality: float, *, subsampling: str = "420") -> bytes:
        """Encode a uint8 image at ``quality`` (this codec's scale); returns the codestream."""
        q = self.check_quality(quality)  # the base-codec API's own boundary (used directly too)
        image = np.array(image, dtype=np.uint8, order="C", copy=True)  # canonical strides
        self.check_size(*image.shape[:2])
        try:
            return self._encode(image, q, subsampling)
        except HybridCodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - library errors become ours
            raise HybridCodecError(f"{self.name} encoder failed: {exc}") from exc

    def decode(self, data: bytes, *, decoder: str = "turbo") -> np.ndarray:
        """Decode a codestream made by :meth:`encode` to a uint8 array. JPEG: ``decoder`` is
        ``turbo`` (libjpeg-turbo) or ``jpegli``; JPEG 2000 has one decoder (OpenJPEG)."""
        if decoder not in JPEG_DECODERS:
            raise HybridCodecError(f"JPEG decoder must be one of {', '.join(JPEG_DECODERS)}")
        try:
            out = self._decode(bytes(data) if not isinstance(data, bytes) else data, decoder)
        except HybridCodecError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise HybridCodecError(f"{self.name} payload does not decode: {exc}") from exc
        if out.dtype != np.uint8:
            raise HybridCodecError(f"{self.name} payload decodes to {out.dtype}, expected uint8")
        return out

    # --- what each codec does its own way -------------------------------------------------

    def _available(self, lib) -> bool:
        raise NotImplementedError

    def version(self) -> str:
        """Version string of the underlying library, e.g. ``libjpeg_turbo 3.1.3/8.0``."""
        raise NotImplementedError

    def _encode(self, image: np.ndarray, q: float, subsampling: str) -> bytes:
        raise NotImplementedError

    def _decode(self, data: bytes, decoder: str) -> np.ndarray:
        raise NotImplementedError

    def condition_quality(self, payload: bytes, stored: float) -> float:
        """The quality the networks are conditioned on, derived from what the decoder sees."""
        raise NotImplementedError

    def table_quality(self, quality: float, *, gray: bool = False,
                      subsampling: str = "420") -> float:
        """:meth:`condition_quality` of the payloads this encoder writes at ``quality``, known
        before encoding (the tables depend on the settings, not on the image): what the
        encoder-side ComCNN is conditioned on."""
        raise NotImplementedError

    def peek_shape(self, data: bytes) -> tuple[int, int, int]:
        """(height, width, components) of a codestream from its headers alone, refusing what
        the decoder does not take: checked before any pixel is decoded."""
        raise NotImplementedError
