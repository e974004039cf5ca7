"""The settings of one encode (:class:`EncodeOptions`): a frozen record, checked once when it
is made, that ``encode``/``encode_ex``, the CLI, the Pillow saver and the batch runner all pass
along (issue 24). Per-image inputs (the pixels, their ICC profile and EXIF, a progress callback)
are not options: they go beside it."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping
from typing import Any
from dataclasses import dataclass, fields

import numpy as np

from . import standard
from .adaptconfig import AdaptConfig
from .basecodecs import BaseCodec, get_base
from .container import SUBSAMPLING_IDS
from .errors import DEFAULT_MAX_PIXELS, HybridCodecError
from .models import PROFILES

__all__ = ["EncodeOptions", "MODES", "RATE_CONTROLS", "EFFORTS", "effort_settings"]

#: codec modes (``auto`` picks one of the other two per image)
MODES = ("auto", "compact", "full")
#: ``fast``: ComCNN run once or twice per target (``ratecontrol.fit_compact``); ``exact``: at
#: every step of the search, several times slower (``experiments/speed/encode_speed.py``)
RATE_CONTROLS = ("fast", "exact")


#: the encode effort (``--effort``, as cjxl's ``-e``): 1 is the fast default; 2 runs ComCNN at
#: every step of the rate search; 3-9 add encode-time adaptation with more steps and a larger
#: budget per megapixel, and 7-9 refine the compact image first in compact mode
#: (``(steps, seconds per MP, refine steps)``; effort 5 is AdaptConfig's default recipe).
#: Each is a point of experiments/adapt/effort_curve.py (results/effort_curve_summary.csv).
EFFORTS: dict[int, tuple[str, tuple[int, float, int] | None]] = {
    1: ("fast", None), 2: ("exact", None), 3: ("exact", (40, 5.0, 0)), 4: ("exact", (70, 7.5, 0)),
    5: ("exact", (100, 10.0, 0)), 6: ("exact", (150, 15.0, 0)), 7: ("exact", (200, 20.0, 30)),
    8: ("exact", (300, 30.0, 30)), 9: ("exact", (400, 40.0, 30))}


def effort_settings(effort: int) -> tuple[str, AdaptConfig | None]:
    """(rate control, adaptation or None) of an effort level."""
    rate_control, adapt = EFFORTS[effort]
    if adapt is None:
        return rate_control, None
    steps, seconds_per_mp, refine_steps = adapt
    return rate_control, AdaptConfig(steps=steps, seconds_per_mp=seconds_per_mp,
                                     refine_steps=refine_steps)


def _number(name: str, value: object, kind: type = float) -> float | int | None:
    """``value`` as a finite number of ``kind`` (None passes), else an error naming it."""
    if value is None:
        return None
    ok = (int, np.integer) if kind is int else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, ok):
        raise HybridCodecError(f"{name} must be {'an integer' if kind is int else 'a number'}, "
                               f"got {value!r}")
    if not np.isfinite(float(value)):
        raise HybridCodecError(f"{name} must be finite, got {value!r}")
    return kind(value)


def _adapt_config(adapt: object) -> AdaptConfig | None:
    if adapt is None or adapt is False:
        return None
    if adapt is True:
        return AdaptConfig()
    if isinstance(adapt, AdaptConfig):
        return adapt
    raise HybridCodecError(f"adapt must be True, False, None or an AdaptConfig, got {adapt!r}")


@dataclass(frozen=True)
class EncodeOptions:
    """How to encode (every field keyword-only; checked once, in the constructor).

    Give at most one of ``quality`` (the base codec's own scale: JPEG quality factor 1-100,
    JPEG 2000 PSNR target in dB), ``bpp`` (target bits per pixel of the whole file, up to 64) or
    ``size`` (target bytes); with none of them: quality 75 for JPEG (as cjpeg) and 34 dB for
    JPEG 2000 (the PSNR jpegli's 75 gives on the training photos). A fractional JPEG quality
    needs the jpegli encoder. ``mode``: :data:`MODES`. ``profile``: ``fast`` (the distilled
    decoder where one is installed) or ``best``. ``model``: a registry name or model file (its
    mode is used). ``subsampling``: JPEG chroma, ``420`` or ``444``. ``adapt``: ``True`` (the
    default :class:`AdaptConfig`), ``False``/``None`` or a config (stored as a config or None).
    ``jpeg_encoder``: ``jpegli`` (default), ``mozjpeg`` or ``turbo``. ``max_pixels`` (None: no
    limit) bounds the image. ``rate_control``: :data:`RATE_CONTROLS`. ``container``: ``hyc``, or
    a standard file any viewer opens: ``jpeg`` (base jpeg), ``jp2`` or ``j2k`` (base jpeg2000).
    ``effort``: 1-9 (:data:`EFFORTS`), a preset of ``rate_control`` and ``adapt`` (give one or
    the others, not both); None: those two as given.
    """

    base: str = "jpeg2000"
    quality: float | None = None
    bpp: float | None = None
    size: int | None = None
    mode: str = "auto"
    profile: str = "fast"
    model: str | None = None
    subsampling: str = "420"
    adapt: AdaptConfig | bool | None = None
    jpeg_encoder: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    rate_control: str = "fast"
    container: str = "hyc"
    effort: int | None = None

    def __post_init__(self) -> None:
        for key in ("base", "mode", "profile", "subsampling", "rate_control", "container"):
            if not isinstance(getattr(self, key), str):
                raise HybridCodecError(f"{key} must be a string, got {getattr(self, key)!r}")
        for key in ("model", "jpeg_encoder"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), str):
                raise HybridCodecError(f"{key} must be a string or None, "
                                       f"got {getattr(self, key)!r}")
        choices = {"mode": MODES, "profile": PROFILES, "rate_control": RATE_CONTROLS,
                   "container": standard.CONTAINERS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise HybridCodecError(f"{key} must be one of {', '.join(allowed)}, "
                                       f"got {getattr(self, key)!r}")
        if self.container != "hyc" and standard.BASE_OF[self.container] != self.base:
            raise HybridCodecError(f"a {self.container} file holds base "
                                   f"{standard.BASE_OF[self.container]}, not {self.base} (give "
                                   f"base='{standard.BASE_OF[self.container]}' or "
                                   f"container='hyc')")
        set_ = object.__setattr__  # normalised values, once
        set_(self, "quality", _number("quality", self.quality))
        set_(self, "bpp", _number("bpp", self.bpp))
        set_(self, "size", _number("size", self.size, int))
        set_(self, "max_pixels", _number("max_pixels", self.max_pixels, int))
        set_(self, "adapt", _adapt_config(self.adapt))
        effort = _number("effort", self.effort, int)
        if effort is not None:
            if effort not in EFFORTS:
                raise HybridCodecError(f"effort must be 1-9, got {self.effort!r}")
            rate_control, adapt = effort_settings(int(effort))
            # the preset's own values pass (an EncodeOptions copied by dataclasses.replace)
            if self.adapt not in (None, adapt) or self.rate_control not in ("fast", rate_control):
                raise HybridCodecError("an effort sets the rate control and the adaptation: "
                                       "give the effort or those, not both")
            set_(self, "effort", int(effort))
            set_(self, "rate_control", rate_control)
            set_(self, "adapt", adapt)
        codec = self.codec  # checks base and jpeg_encoder (and that the encoder is installed)
        if self.subsampling not in SUBSAMPLING_IDS:
            raise HybridCodecError(f"subsampling must be 420 or 444, got {self.subsampling!r}")
        if sum(v is not None for v in (self.quality, self.bpp, self.size)) > 1:
            raise HybridCodecError("give only one of quality, bpp and size")
        if self.quality is not None:
            codec.check_quality(self.quality, exact=True)
        if self.bpp is not None and not (math.isfinite(self.bpp) and 0 < self.bpp <= 64):
            raise HybridCodecError(f"bpp must be a positive number up to 64, got {self.bpp!r}")
        if self.size is not None and not 0 < self.size < 1 << 40:
            raise HybridCodecError(f"size must be a positive number of bytes, got {self.size!r}")

    @property
    def codec(self) -> BaseCodec:
        """The base codec with its JPEG encoder."""
        return get_base(self.base, self.jpeg_encoder)

    @property
    def target_quality(self) -> float | None:
        """The quality to code at: the one given, the codec's default when no target is given,
        None under a bpp or size target."""
        if self.quality is None and self.bpp is None and self.size is None:
            return self.codec.default_quality
        return self.quality

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def of(cls, options: EncodeOptions | None = None,
           settings: Mapping[str, object] | None = None) -> EncodeOptions:
        """``options`` with ``settings`` (field names) on top; unknown names are an error."""
        given: dict[str, Any] = dict(settings or {})
        unknown = sorted(set(given) - set(cls.names()))
        if unknown:
            raise HybridCodecError(f"unknown encode option {unknown[0]!r} "
                                   f"(options: {', '.join(cls.names())})")
        if options is None:
            return cls(**given)
        if not isinstance(options, EncodeOptions):
            raise HybridCodecError(f"options must be an EncodeOptions, got {options!r:.60}")
        return dataclasses.replace(options, **given) if given else options


def keyword_signature(fn) -> inspect.Signature:
    """``fn``'s signature with the :class:`EncodeOptions` fields spelled out as keyword-only
    parameters in place of ``**settings`` (what ``help()`` and editors show)."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    known = {p.name for p in params}
    extra = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                               annotation=f.type)
             for f in fields(EncodeOptions) if f.name not in known]
    return sig.replace(parameters=[*params, *extra])
