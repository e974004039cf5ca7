"""Drop-in enhancement of existing JPEG files: artifact removal with no re-encode.

The quality is read from the file's own quantisation tables (``jpeginfo``) and conditions a
full-resolution network (``NetConfig(scale=1)``) through its gain units, interpolated for any
table. The network reads the decode it was trained on (``Model.decoder``: jpegli's decoder for the
v2 models, which adds 0.1-0.4 dB to libjpeg-turbo files with no network); where no enhancement
model is installed the result is that best classical decode itself (``baseline-full-jpegli``).
Optionally the result is projected back into the quantisation intervals of the file
(``quantconstraint``). The network runs in tiles, so any image size fits in bounded memory.

Handled: grayscale, 4:2:0 / 4:2:2 / 4:4:4, progressive and restart-marker JPEGs (libjpeg-turbo
decodes them), odd sizes. EXIF orientation is *applied* (the output is upright and carries no
orientation tag); an ICC profile is *kept* (returned with the image and written by the CLI).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .pipeline import reconstruct
from .errors import DEFAULT_MAX_PIXELS, HybridCodecError, HybridCodecWarning, check_pixels, guarded
from .jpeginfo import JpegInfo, parse_jpeg
from .models import (BASELINE_FULL, BASELINE_FULL_JPEGLI, INSTALL_HINT, Model, default_model_name,
                     get_model, networks_installed)

__all__ = ["EnhanceResult", "enhance_jpeg", "enhance_jpeg_ex", "enhance_to_pil",
           "default_enhance_model"]

# EXIF orientation -> (number of 90-degree counter-clockwise turns, mirror left-right first)
_ORIENT = {1: (0, False), 2: (0, True), 3: (2, False), 4: (2, True), 5: (1, True),
           6: (3, False), 7: (3, True), 8: (1, False)}


@dataclass(frozen=True)
class EnhanceResult:
    """An enhanced image with what the file said about itself."""

    image: np.ndarray
    quality: float
    subsampling: str
    icc_profile: bytes | None
    model: str


def default_enhance_model(profile: str = "best") -> str:
    """Registry name of the shipped full-resolution JPEG model (``defaults["jpeg-full"]``, or
    its distilled student ``defaults["jpeg-full-fast"]`` for ``profile="fast"`` where one is
    installed). Enhancement defaults to ``best``: it runs once per photo, for quality. With no
    model installed: ``baseline-full-jpegli``, jpegli's decoder alone (the classical fallback)."""
    if not networks_installed():  # never silent (issue 23): one line, then jpegli alone
        warnings.warn(f"no networks are installed, enhancing with jpegli's decoder alone: "
                      f"{INSTALL_HINT}", HybridCodecWarning, stacklevel=3)
        return BASELINE_FULL_JPEGLI
    name = default_model_name("jpeg", "full", profile)
    return BASELINE_FULL_JPEGLI if name == BASELINE_FULL else name


def _read(data_or_path: bytes | str | os.PathLike) -> bytes:
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        return bytes(data_or_path)
    if not isinstance(data_or_path, (str, os.PathLike)):
        raise HybridCodecError(f"expected JPEG bytes or a path, got {type(data_or_path).__name__}")
    try:
        return Path(data_or_path).read_bytes()
    except OSError as exc:
        raise HybridCodecError(f"cannot read {data_or_path}: {exc.strerror}") from exc


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    turns, mirror = _ORIENT.get(orientation, (0, False))
    if mirror:
        image = image[:, ::-1]
    return np.ascontiguousarray(np.rot90(image, turns))


def _decode(data: bytes, info: JpegInfo, decoder: str) -> np.ndarray:
    from .basecodecs import get_base

    jpeg = get_base("jpeg")
    jpeg.peek_shape(data)  # lossless, 12-bit and CMYK files are refused here, with the reason
    if info.arithmetic and decoder == "jpegli":
        decoder = "turbo"  # jpegli reads Huffman-coded files only
    try:
        img = jpeg.decode(data, decoder=decoder)
    except HybridCodecError as exc:
        raise HybridCodecError(f"JPEG does not decode: {exc}") from exc
    if img.ndim != (2 if info.components == 1 else 3):
        raise HybridCodecError("JPEG decodes to an unexpected shape")
    return img


@guarded
def enhance_jpeg_ex(data_or_path: bytes | str | os.PathLike, /, *, model: str | None = None,
                    project: bool = True, profile: str = "best",
                    max_pixels: int | None = DEFAULT_MAX_PIXELS,
                    progress: Callable[[str], None] | None = None) -> EnhanceResult:
    """Enhance a JPEG (bytes or path); returns the image and the file's quality and profile.
    ``max_pixels`` (default 256 million; None: no limit) is checked against the file's frame
    header before anything is decoded. Safe to call from many threads at once."""
    from .quantconstraint import project as qc_project

    if model is not None and not isinstance(model, str):
        raise HybridCodecError(f"model must be a string or None, got {model!r}")
    data = _read(data_or_path)
    info = parse_jpeg(data)
    check_pixels(info.width, info.height, max_pixels, "the JPEG")
    m: Model = get_model(model or default_enhance_model(profile))
    if m.scale != 1 or (not m.has_rec and m.name != BASELINE_FULL_JPEGLI):
        raise HybridCodecError(f"model {m.name!r} is not a full-resolution enhancement model")
    decoded = _decode(data, info, m.decoder)
    h, w = decoded.shape[:2]
    out = reconstruct(m, decoded, info.quality, h, w, progress=progress)
    del decoded  # big images: the projection's buffers take its place
    if project:
        out = qc_project(out, data)
    return EnhanceResult(_orient(out, info.orientation), info.quality, info.subsampling,
                         info.icc_profile, m.name)


@guarded
def enhance_jpeg(data_or_path: bytes | str | os.PathLike, /, *, model: str | None = None,
                 project: bool = True, profile: str = "best",
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Remove the artifacts of a JPEG file (bytes or path) with no re-encode; returns uint8
    (H, W, 3) or (H, W), upright (EXIF orientation applied)."""
    return enhance_jpeg_ex(data_or_path, model=model, project=project, profile=profile,
                           max_pixels=max_pixels).image


@guarded
def enhance_to_pil(data_or_path: bytes | str | os.PathLike, /, **kw):
    """Like :func:`enhance_jpeg`, as a Pillow image that keeps the file's ICC profile."""
    from PIL import Image

    res = enhance_jpeg_ex(data_or_path, **kw)
    im = Image.fromarray(res.image)
    if res.icc_profile:
        im.info["icc_profile"] = res.icc_profile
    return im
