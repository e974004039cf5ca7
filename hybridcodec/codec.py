"""The functional API (imagecodecs style): ``encode``, ``decode``, ``check``, ``info``, ``version``.

Pipeline (Jiang et al. 2017): ComCNN maps the image to a compact image at half resolution; the
base codec (JPEG or JPEG 2000) codes it; RecCNN reconstructs the full image from the decoded
compact image, optionally with an encode-time weight-update (Lam & Zare 2019) applied. The file is
a ``.hyc`` container (``container.py``), or a standard JPEG, JP2 or J2K file holding the same
record (``standard.py``); bits per pixel always count the whole file.

Codec modes: ``compact`` (the above), ``full`` (no ComCNN, no resampling: the base codec codes
the image itself and a full-resolution RecCNN removes its artifacts) and ``auto`` (the default:
both are tried per image and the better PSNR at the same size is kept; see ``ratecontrol``).
The mode is a header flag of the container.

Grayscale images are run through the RGB networks with the gray plane replicated; the compact
image is coded as one plane (the mean of ComCNN's three outputs). Odd sizes are padded by edge
replication to even sizes and cropped after reconstruction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field

import numpy as np

import warnings

from . import container as hyc
from . import standard
from .adaptconfig import AdaptConfig
from .basecodecs import BaseCodec, get_base
from .decisions import AdaptDecision, EncodeDecision
from .errors import (DEFAULT_MAX_PIXELS, HybridCodecError, HybridCodecWarning, check_pixels,
                     guarded, one_line)
from .imageio import as_image
from .inference import update_shapes
from .metadata import ImageMeta
from .models import Model, default_model_name, find_model, get_model
from .encoder import Encoder
from .pipeline import COM_MARGIN, compact_image, reconstruct  # noqa: F401
from .modes import choose_decoder, choose_mode
from .options import MODES, EncodeOptions, keyword_signature
from .parsing import as_bytes, info, parse_hyc, parse_standard
from .ratecontrol import (adapt_and_decide, fit_compact, guess_quality, search_quality,
                          target_bytes)

__all__ = ["encode", "decode", "check", "info", "version", "EncodeResult", "encode_ex",
           "reconstruct", "MODES", "EncodeOptions"]



def version() -> str:
    """Version of hybridcodec and of its base codec libraries."""
    from . import __version__
    from .basecodecs import BASE_CODECS

    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    libs = []
    for b in BASE_CODECS.values():
        libs.append(f"{b.name}: {b.version() if b.available() else 'unavailable'}")
    for enc, pkg in (("jpegli", "ajpegli"), ("mozjpeg", "pyvips-binary")):
        try:
            libs.append(f"{enc}: {pkg} {pkg_version(pkg)}")
        except PackageNotFoundError:
            libs.append(f"{enc}: not installed")
    for engine in ("onnxruntime", "torch"):
        try:
            libs.append(f"{engine} {pkg_version(engine)}")
        except PackageNotFoundError:
            libs.append(f"{engine}: not installed")
    return f"hybridcodec {__version__} ({'; '.join(libs)})"


@guarded
def check(data: bytes, /) -> bool:
    """Whether ``data`` (bytes-like) starts like a ``.hyc`` file (magic bytes)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise HybridCodecError(f"expected bytes, got {type(data).__name__}")
    return bytes(data[:4]) == hyc.MAGIC


@dataclass(frozen=True)
class EncodeResult:
    """An encoded file plus the settings chosen for it and what was decided: ``decisions``
    (typed, :class:`~hybridcodec.decisions.EncodeDecision`) and ``decision``, the same as the
    JSON the CLI prints with ``-v`` (the adaptation figures at the top level, ``mode`` and
    ``decoder`` nested)."""

    data: bytes
    quality: float
    model: str
    bpp: float
    decision: dict = field(default_factory=dict)
    mode: str = "compact"  # the container's mode flag: compact or full
    decisions: EncodeDecision = field(default_factory=EncodeDecision)


def _mode_model(base: str, mode: str, model: str | None,
                profile: str = "fast") -> tuple[str, list[Model]]:
    """The codec mode and the model(s) to try: both defaults for ``auto``, else one."""
    if model is not None:
        m = get_model(model)
        own = m.resolution
        if mode not in ("auto", own):
            raise HybridCodecError(f"model {m.name!r} is a {own}-mode model, not {mode}")
        mode, models = own, [m]
    elif mode == "auto":
        models = [get_model(default_model_name(base, r, profile)) for r in ("compact", "full")]
    else:
        models = [get_model(default_model_name(base, mode, profile))]
    for m in models:
        if m.base not in (None, base):
            raise HybridCodecError(f"model {m.name!r} is for base {m.base}, not {base}")
    return mode, models


@guarded
def encode_ex(image: np.ndarray, /, *, options: EncodeOptions | None = None,
              metadata: ImageMeta | None = None, progress: Callable[[str], None] | None = None,
              **settings: Any) -> EncodeResult:
    """Like :func:`encode`, returning the chosen quality, mode and bpp and, with ``adapt``, the
    figures of the keep-or-drop decision for the weight-update (and, in ``auto`` mode, of the
    mode choice under ``decision["mode"]``). ``progress`` receives one line per step."""
    opts = EncodeOptions.of(options, settings)
    base, mode, model, quality = opts.base, opts.mode, opts.model, opts.target_quality
    bpp, size, container, profile = opts.bpp, opts.size, opts.container, opts.profile
    exact = opts.rate_control == "exact"
    cfg = opts.adapt if isinstance(opts.adapt, AdaptConfig) else None  # normalised: or None
    img = as_image(image, max_pixels=opts.max_pixels)
    codec = opts.codec
    if not codec.available():
        raise HybridCodecError(f"base codec {base} is not available in this installation")
    codec.check_size(*img.shape[:2])  # every mode codes the full-size image (or a probe of it)
    if container != "hyc" and mode == "auto" and model is None:
        mode = "full"  # a standard file is shown by every viewer: full size (issue 23)
    mode, models = _mode_model(base, mode, model, profile)
    if container != "hyc" and mode == "compact":
        warnings.warn(f"a compact-mode {container} file holds a half-size image: viewers show "
                      f"it at half size, hybridcodec decodes it at full size",
                      HybridCodecWarning, stacklevel=3)
    encs = [Encoder(img, codec, m, codec.subsampling_for(opts.subsampling), progress)
            for m in models]
    if metadata is not None and not isinstance(metadata, ImageMeta):
        raise HybridCodecError("metadata must be a hybridcodec.metadata.ImageMeta")
    for e in encs:
        e.container = container
        e.metadata = metadata
    pixels = img.shape[0] * img.shape[1]
    target = target_bytes(pixels, bpp, size)
    mode_d, decoder_d, adapt_d, refine_d = None, None, None, None
    if len(encs) == 2:
        enc, q, mode_d = choose_mode(encs[0], encs[1], quality, target, progress, exact=exact)
    else:
        enc = encs[0]
        if target is not None:
            bpp_target = 8 * target / pixels
            if enc.resolution == "compact" and not exact:
                q = fit_compact(enc, target, guess=guess_quality(codec, 4 * bpp_target),
                                progress=progress)
            else:
                q = search_quality(enc, target, progress=progress,
                                   guess=guess_quality(codec, bpp_target * enc.model.scale ** 2))
        else:
            assert quality is not None  # EncodeOptions.target_quality: no target, a quality
            q = codec.snap_quality(quality)
        if mode == "full" and model is None and enc.model.has_rec:
            enc, decoder_d = choose_decoder(enc, q, progress)
    data = enc.file_at(q)
    chosen_plain = len(encs) == 2 or decoder_d is not None  # the encoder picked the decoder
    if cfg is not None and chosen_plain and not enc.model.has_rec:
        adapt_d = AdaptDecision(False, None, reason=f"the encoder chose {enc.model.name}, "
                                                    f"which has no parameters to adapt")
    elif cfg is not None:
        if cfg.refine_steps and enc.resolution == "compact":
            from .refinement import refine_and_decide

            refine_d = refine_and_decide(enc, q, target, cfg, progress)
        data, q, adapt_d = adapt_and_decide(enc, q, target, cfg, progress)
    elif progress:
        progress(f"{enc.resolution} mode, quality {q:g}, {len(data)} bytes")
    decisions = EncodeDecision(mode_d, decoder_d, adapt_d, refine_d)
    return EncodeResult(data, q, enc.model.name, 8 * len(data) / pixels, decisions.as_dict(),
                        enc.resolution, decisions)


@guarded
def encode(image: np.ndarray, /, *, options: EncodeOptions | None = None,
           metadata: ImageMeta | None = None, **settings: Any) -> bytes:
    """Compress a uint8 image (H, W) or (H, W, 3) to ``.hyc`` bytes (or a standard file).

    The settings are the fields of :class:`~hybridcodec.options.EncodeOptions`, given as
    keywords or as ``options`` (keywords then override its fields); they are checked once.

    Give at most one of ``quality`` (the base codec's own scale: JPEG quality factor 1-100,
    JPEG 2000 PSNR target in dB), ``bpp`` (target bits per pixel of the whole file) or ``size``
    (target bytes); targets are met by bisection over the base codec's quality and never
    exceeded. With none of them: quality 75 for JPEG (as cjpeg) and 34 dB for JPEG 2000 (the PSNR
    jpegli's 75 gives on the training photos). A fractional JPEG quality needs the jpegli
    encoder (libjpeg-turbo and mozjpeg take whole numbers; a fraction is an error). ``mode``: ``compact`` (half-resolution ComCNN/RecCNN), ``full`` (full-resolution
    artifact removal) or ``auto`` (both, keeping the better PSNR at the same size; with a quality,
    the size is that of the full-resolution file at that quality; in ``full`` and ``auto`` the
    plain decoder is kept where the default network does not help). ``model`` is a registry name
    or model file (its mode is used); default: the shipped model of ``base`` for the mode and
    ``profile`` (``fast``: the distilled decoder where one is installed; ``best``: the teacher).
    The decoder used is part of the file's model identity, so decoding needs no profile.
    ``adapt`` fine-tunes the decoder on this image and appends the weight-update when it pays.
    ``jpeg_encoder`` (JPEG only): ``jpegli`` (default), ``mozjpeg`` or ``turbo`` (libjpeg-turbo);
    every payload is a standard JPEG, the file records the encoder for information only.
    ``adapt``: ``True`` (the default :class:`AdaptConfig`), ``False``/``None`` or a config.
    ``max_pixels`` (default 256 million; None: no limit) bounds the image's pixels.
    ``container``: ``hyc`` (default), or a standard file any viewer opens: ``jpeg`` (base jpeg),
    ``jp2`` or ``j2k`` (base jpeg2000), the hybrid data in application segments, a box or
    comment segments (``standard``); targets count the whole file. ``metadata``
    (``metadata.ImageMeta``: ICC profile, EXIF) is carried into ``jpeg`` and ``jp2`` files, as
    cjpeg keeps it; ``imageio.read_image_meta`` reads it beside the pixels. Any failure raises
    :class:`HybridCodecError`; safe to call from many threads at once.
    """
    return encode_ex(image, options=options, metadata=metadata, **settings).data


encode.__signature__ = keyword_signature(encode.__wrapped__)  # type: ignore[attr-defined]
encode_ex.__signature__ = keyword_signature(encode_ex.__wrapped__)  # type: ignore[attr-defined]


@guarded
def decode(data: bytes, /, *, model: str | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS,
           progress: Callable[[str], None] | None = None, strict: bool = False) -> np.ndarray:
    """Decompress a ``.hyc`` file, or a hybrid JPEG, JP2 or J2K file (``standard``), to a uint8
    array (H, W) or (H, W, 3). A JPEG without hybrid segments goes through
    :func:`hybridcodec.enhance_jpeg`, a plain JP2/J2K file through OpenJPEG; a standard file whose
    hybrid data are damaged or name a model that is not installed decodes as the plain image
    with a :class:`HybridCodecWarning` (an error with ``strict``). ``model`` may name a model
    file to use instead of the installed registry (its name and hash must match);
    ``max_pixels`` (default 256 million; None: no limit) is checked against the header and the
    payload's own header before anything image-sized is allocated; ``progress`` receives a
    line per network tile of large images. Safe to call from many threads at once."""
    data = as_bytes(data)
    kind = standard.sniff(data)
    if kind in (None, "hyc"):
        c, base = parse_hyc(data)
        return _decode(c, base, find_model(c.header.model_name, c.header.model_digest, model),
                       max_pixels, progress)
    split = standard.split(data)
    if split.record is None:  # a plain standard file
        if kind == "jpeg":
            from .enhance import enhance_jpeg

            return enhance_jpeg(data, max_pixels=max_pixels)
        return _plain(split, max_pixels)
    try:
        c, base = parse_standard(data, split)
        net = find_model(c.header.model_name, c.header.model_digest, model)
    except HybridCodecError as exc:
        if strict:
            raise HybridCodecError(f"the hybrid data of this {kind} file are unusable: "
                                   f"{one_line(exc)}") from exc
        warnings.warn(f"{one_line(exc)}; decoded as the plain {kind} image",
                      HybridCodecWarning, stacklevel=3)
        return _plain(split, max_pixels)
    return _decode(c, base, net, max_pixels, progress)


def _plain(split: standard.Split, max_pixels: int | None) -> np.ndarray:
    """The codestream of a standard file, decoded by the plain decoder."""
    base = get_base(standard.BASE_OF[split.kind])
    h, w, _ = base.peek_shape(split.payload)
    check_pixels(w, h, max_pixels, f"the {split.kind} image")
    return base.decode(split.payload)


def _decode(c: hyc.Container, base: BaseCodec, net: Model, max_pixels: int | None,
            progress: Callable[[str], None] | None) -> np.ndarray:
    from .weightcoding import decode_update

    h = c.header
    check_pixels(h.width, h.height, max_pixels, "the .hyc image")
    if net.resolution != h.resolution:
        raise HybridCodecError(f"file is in {h.resolution} mode but model {h.model_name!r} is not")
    update = c.get(hyc.CHUNK_UPDATE)
    deltas = None
    if update is not None:
        if not net.has_rec:
            raise HybridCodecError("weight-update chunk for a model without parameters")
        deltas = decode_update(update, update_shapes(net))
    payload = c.get(hyc.CHUNK_BASE)
    if payload is None:
        raise HybridCodecError("file has no base payload chunk")
    scale = net.scale
    ch, cw = (h.height + scale - 1) // scale, (h.width + scale - 1) // scale
    shape = base.peek_shape(payload)  # from its headers: nothing is decoded if it is wrong
    if shape != (ch, cw, h.channels):
        raise HybridCodecError(f"base payload is {shape[1]}x{shape[0]} with {shape[2]} "
                               f"components, the header expects {cw}x{ch} with {h.channels}")
    compact = base.decode(payload, decoder=net.decoder)
    expected = (ch, cw) if h.channels == 1 else (ch, cw, 3)
    if compact.shape != expected:
        raise HybridCodecError(f"base payload has shape {compact.shape}, expected {expected}")
    cond = base.condition_quality(payload, h.quality)  # what the payload says, not the header
    return reconstruct(net, compact, cond, h.height, h.width, deltas, progress=progress)
