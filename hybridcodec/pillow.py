"""Pillow plugin for ``.hyc`` files (thin glue, in the style of pillow-heif / pillow-avif-plugin).

    >>> import hybridcodec.pillow  # registers the plugin
    >>> im = Image.open("photo.hyc")
    >>> im.save("copy.hyc", base="jpeg2000", quality=32)   # also bpp=, size=, codec_mode=

Save options: ``base`` ("jpeg" or "jpeg2000", default "jpeg2000"), ``quality``, ``bpp``,
``size``, ``model``, ``subsampling``, ``jpeg_encoder``, ``adapt`` (as :func:`hybridcodec.encode`).
Images are taken by the CLI's rules (``imageio``): RGB, L, P and 1 modes, and RGBA/LA only when
fully opaque; anything else (transparency, 16-bit) raises :class:`HybridCodecError`.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile

from . import codec, container
from .errors import HybridCodecError
from .imageio import from_pil

__all__ = ["HycImageFile", "register_hyc"]

FORMAT = "HYC"


def _accept(prefix: bytes) -> bool:
    return prefix[:4] == container.MAGIC


class HycImageFile(ImageFile.ImageFile):
    """Pillow image backed by a ``.hyc`` file; decoding happens on :meth:`load`."""

    format = FORMAT
    format_description = "hybridcodec ComCNN/RecCNN image"

    def _open(self) -> None:
        assert self.fp is not None
        self._hyc_data = self.fp.read()
        try:
            hdr = container.peek_header(self._hyc_data)
        except HybridCodecError as exc:
            raise SyntaxError(str(exc)) from exc
        self._mode = container.MODES[hdr.channels]
        self._size = (hdr.width, hdr.height)
        self.tile = []

    def load(self):  # noqa: ANN201 - Pillow's signature
        if self._im is None:
            try:
                arr = codec.decode(self._hyc_data)
            except HybridCodecError as exc:
                raise OSError(str(exc)) from exc
            self.im = Image.fromarray(arr).im
        return Image.Image.load(self)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    opts = im.encoderinfo
    image = from_pil(im, "image")  # the CLI's rules: no alpha or 16-bit data lost silently
    data = codec.encode(
        image, base=opts.get("base", "jpeg2000"), quality=opts.get("quality"),
        bpp=opts.get("bpp"), size=opts.get("size"), mode=opts.get("codec_mode", "auto"),
        profile=opts.get("profile", "fast"), model=opts.get("model"),
        subsampling=opts.get("subsampling", "420"), jpeg_encoder=opts.get("jpeg_encoder"),
        adapt=opts.get("adapt"))
    fp.write(data)


def register_hyc() -> None:
    """Register the ``.hyc`` opener and saver with Pillow (idempotent)."""
    Image.register_open(FORMAT, HycImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".hyc")
    Image.register_mime(FORMAT, "image/x-hyc")


register_hyc()
