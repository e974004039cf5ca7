"""Pillow plugin for ``.hyc`` files and hybrid JPEGs (thin glue, in the style of pillow-heif /
pillow-avif-plugin).

    >>> import hybridcodec.pillow  # registers the plugin
    >>> im = Image.open("photo.hyc")
    >>> im.save("copy.hyc", base="jpeg2000", quality=32)   # also bpp=, size=, codec_mode=
    >>> Image.open("hybrid.jpg")                  # the network's decode of a hybrid JPEG
    >>> Image.open("hybrid.jpg", formats=["JPEG"])  # Pillow's own: the plain JPEG image
    >>> im.save("photo.jpg", hybrid=True, bpp=0.5)  # a hybrid JPEG (any viewer opens it)
    >>> Image.open("hybrid.jp2")                  # hybrid JPEG 2000 files likewise (.j2k too)

A hybrid JPEG is recognised by its first application segment (``standard``); every other JPEG
goes to Pillow's own JPEG plugin, unchanged. One whose hybrid data are damaged, or name a model
that is not installed, opens as the plain JPEG with a :class:`HybridCodecWarning`. Saving a JPEG
without ``hybrid=True`` is Pillow's own JPEG writer, unchanged.

Save options: ``base`` ("jpeg" or "jpeg2000", default "jpeg2000"), ``quality``, ``bpp``,
``size``, ``model``, ``subsampling``, ``jpeg_encoder``, ``adapt`` (as :func:`hybridcodec.encode`).
Images are taken by the CLI's rules (``imageio``): RGB, L, P and 1 modes, and RGBA/LA only when
fully opaque; anything else (transparency, 16-bit) raises :class:`HybridCodecError`.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile

import warnings

from . import codec, container, standard
from .errors import HybridCodecError, HybridCodecWarning
from .imageio import from_pil
from .metadata import ImageMeta, from_pil_info
from .options import EncodeOptions

__all__ = ["HycImageFile", "HybridJpegImageFile", "HybridJ2kImageFile", "register_hyc"]

FORMAT = "HYC"
JPEG_FORMAT = "HYBRID-JPEG"


def _accept(prefix: bytes) -> bool:
    return prefix[:4] == container.MAGIC


class HycImageFile(ImageFile.ImageFile):
    """Pillow image backed by a ``.hyc`` file; decoding happens on :meth:`load`."""

    format = FORMAT
    format_description = "hybridcodec ComCNN/RecCNN image"

    def _open(self) -> None:
        assert self.fp is not None
        self._hyc_data = self.fp.read()
        hdr = self._header(self._hyc_data)
        self._mode = container.MODES[hdr.channels]
        self._size = (hdr.width, hdr.height)
        self.tile = []

    def _header(self, data: bytes) -> container.Header:
        """The file's header; SyntaxError (Pillow tries its other plugins) when unusable."""
        try:
            return container.peek_header(data)
        except HybridCodecError as exc:
            raise SyntaxError(str(exc)) from exc

    def load(self):  # noqa: ANN201 - Pillow's signature
        if self._im is None:
            try:
                arr = codec.decode(self._hyc_data)
            except HybridCodecError as exc:
                raise OSError(str(exc)) from exc
            self.im = Image.fromarray(arr).im
        return Image.Image.load(self)


def _accept_jpeg(prefix: bytes) -> bool:
    return prefix[:4] == b"\xff\xd8\xff\xeb" and prefix[6:10] == standard.SIGNATURE


class HybridJpegImageFile(HycImageFile):
    """A hybrid JPEG (``standard``), decoded by the networks on :meth:`load`."""

    format = JPEG_FORMAT
    format_description = "hybridcodec JPEG (standard JPEG with a hybrid record)"

    def _header(self, data: bytes) -> container.Header:
        from .models import find_model
        from .parsing import parse_standard

        try:
            c, _ = parse_standard(data, standard.split(data))
            find_model(c.header.model_name, c.header.model_digest)
        except HybridCodecError as exc:  # Pillow's JPEG plugin opens it: the plain image
            warnings.warn(f"{exc}; opened as the plain JPEG", HybridCodecWarning, stacklevel=2)
            raise SyntaxError(str(exc)) from exc
        return c.header


J2K_FORMAT = "HYBRID-JPEG2000"


def _accept_j2k(prefix: bytes) -> bool:
    return standard.sniff(prefix[:12]) in ("jp2", "j2k")


class HybridJ2kImageFile(HybridJpegImageFile):
    """A hybrid ``.jp2`` / ``.j2k`` (``standard``), decoded by the networks on :meth:`load`;
    a JPEG 2000 file without a hybrid record goes on to Pillow's own plugin (issue 23: hybrid
    JPEG 2000 files once opened as the plain image, silently). The record sits after SIZ or
    in a box, past the bytes Pillow shows ``_accept``, so the file is read to find it."""

    format = J2K_FORMAT
    format_description = "hybridcodec JPEG 2000 (standard JP2/J2K with a hybrid record)"

    def _header(self, data: bytes) -> container.Header:
        try:
            found = standard.split(data).record is not None
        except HybridCodecError as exc:
            raise SyntaxError(str(exc)) from exc
        if not found:
            raise SyntaxError("no hybrid record: a plain JPEG 2000 file")
        return super()._header(data)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes, *,
          container_kind: str = "hyc") -> None:
    opts = im.encoderinfo
    image = from_pil(im, "image")  # the CLI's rules: no alpha or 16-bit data lost silently
    meta = from_pil_info(im)
    if opts.get("icc_profile") or opts.get("exif"):  # Pillow's own save options
        exif = opts.get("exif")
        exif = exif.tobytes() if exif is not None and hasattr(exif, "tobytes") else exif
        meta = ImageMeta(opts.get("icc_profile") or meta.icc, exif or meta.exif)
    fp.write(codec.encode(image, options=save_options(opts, container_kind), metadata=meta))


#: ``im.save`` keywords that are :class:`EncodeOptions` fields under another name (Pillow's
#: ``mode`` is the image's own)
_PILLOW_NAMES = {"mode": "codec_mode"}


def save_options(encoderinfo: dict, container_kind: str = "hyc") -> EncodeOptions:
    """The encode options of an ``im.save(...)`` call: every :class:`EncodeOptions` field
    (``codec_mode`` for ``mode``) except ``container``, which the format decides; the base
    defaults to the container's."""
    given = {name: encoderinfo[_PILLOW_NAMES.get(name, name)] for name in EncodeOptions.names()
             if name != "container" and _PILLOW_NAMES.get(name, name) in encoderinfo}
    given.setdefault("base", standard.BASE_OF.get(container_kind, "jpeg2000"))
    return EncodeOptions(container=container_kind, **given)


def _jpeg_saver(plain):
    """Pillow's JPEG saver, or ours for ``im.save(..., hybrid=True)``."""
    def save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
        if im.encoderinfo.get("hybrid"):
            return _save(im, fp, filename, container_kind="jpeg")
        return plain(im, fp, filename)
    save.hybridcodec_wraps = plain  # type: ignore[attr-defined]
    return save


def register_hyc() -> None:
    """Register the ``.hyc`` opener and saver and the hybrid JPEG opener with Pillow, and let
    its JPEG saver write hybrid JPEGs when asked (``hybrid=True``). Idempotent."""
    Image.register_open(FORMAT, HycImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".hyc")
    Image.register_mime(FORMAT, "image/x-hyc")
    Image.preinit()  # Pillow's JPEG plugin first, so that ours can go before it
    Image.register_open(JPEG_FORMAT, HybridJpegImageFile, _accept_jpeg)
    Image.ID.remove(JPEG_FORMAT)
    Image.ID.insert(0, JPEG_FORMAT)  # tried before Pillow's JPEG plugin (it accepts any JPEG)
    for fmt in ("JPEG2000",):  # ours before Pillow's JPEG 2000 plugin too
        Image.register_open(J2K_FORMAT, HybridJ2kImageFile, _accept_j2k)
        Image.ID.remove(J2K_FORMAT)
        Image.ID.insert(Image.ID.index(fmt) if fmt in Image.ID else 1, J2K_FORMAT)
    plain = Image.SAVE.get("JPEG")
    if plain is not None and not hasattr(plain, "hybridcodec_wraps"):
        Image.register_save("JPEG", _jpeg_saver(plain))


register_hyc()
