"""Reading, validating and writing images (Pillow), with the supported modes in one place.

Supported: 8-bit RGB, shape (H, W, 3), and 8-bit grayscale, shape (H, W). Everything else is
refused with a message that says what is supported, by the same rules for files (CLI), arrays
(API) and Pillow images (plugin): 16-bit images are refused (Pillow would silently drop their low
bytes), alpha is dropped only when it is fully opaque, palette and bilevel images are expanded.

Files are written through a temporary file and a rename (no partial outputs), with the
permissions a new file gets under the user's umask, or those of the file it replaces.
"""

from __future__ import annotations

import glob
import io
import os
import re
import secrets
import stat
from pathlib import Path

import numpy as np

from .errors import DEFAULT_MAX_PIXELS, HybridCodecError, check_pixels, one_line

__all__ = ["as_image", "from_pil", "read_image", "write_image", "list_images", "atomic_write",
           "IMAGE_EXTS"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")
SUPPORTED = "8-bit RGB (H, W, 3) or 8-bit grayscale (H, W)"


def as_image(array: object, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Validate an array as a supported image (at most ``max_pixels`` pixels, 65535 per side,
    the JPEG limit); returns it C-contiguous uint8."""
    if not isinstance(array, np.ndarray):
        try:
            array = np.asarray(array)
        except Exception as exc:  # noqa: BLE001 - ragged lists and the like
            raise HybridCodecError(f"not an image array: {one_line(exc)}") from None
    arr = array
    if arr.dtype != np.uint8:
        raise HybridCodecError(f"unsupported pixel type {arr.dtype}; supported: {SUPPORTED}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise HybridCodecError(f"unsupported image shape {arr.shape}; supported: {SUPPORTED}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise HybridCodecError(f"empty image of shape {arr.shape}")
    if arr.shape[0] > 65535 or arr.shape[1] > 65535:
        raise HybridCodecError(f"image of shape {arr.shape} is too large (max 65535 per side)")
    check_pixels(arr.shape[1], arr.shape[0], max_pixels)
    return np.ascontiguousarray(arr)


def _refuse_deep(img, source: str) -> None:
    """Refuse 16/32-bit images, including files Pillow would read as an 8-bit mode (recognised
    from the raw mode of their tiles, which only exists before ``load()``)."""
    deep = img.mode if img.mode in ("I", "F") or img.mode.startswith("I;") else None
    for tile in getattr(img, "tile", None) or []:
        args = tile.args if hasattr(tile, "args") else tile[3]
        raw = args[0] if isinstance(args, tuple) and args else args
        if isinstance(raw, str) and (";16" in raw or ";32" in raw):
            deep = raw
    if deep:
        raise HybridCodecError(f"{source}: {deep} images (16/32-bit) are not supported; "
                               f"supported: {SUPPORTED} (convert to 8 bits first)")


def from_pil(img, source: str = "image", *, rgb: bool = False) -> np.ndarray:
    """A Pillow image as a supported array, by this module's rules (``source`` names it in
    errors); ``rgb`` expands grayscale to RGB. Call before ``load()`` for files, so that
    16-bit data that Pillow narrows to 8 bits is recognised."""
    _refuse_deep(img, source)
    mode = img.mode
    if mode == "CMYK":  # refused everywhere, as enhance refuses CMYK JPEGs (issue 23)
        raise HybridCodecError(f"{source}: CMYK images are not supported; supported: "
                               f"{SUPPORTED} (convert to RGB with its ICC profile first)")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA"):
        alpha = np.asarray(img.getchannel("A"))
        if alpha.size and alpha.min() < 255:
            raise HybridCodecError(f"{source}: image has transparency ({mode}); alpha is not "
                                   f"supported, supported: {SUPPORTED}")
        img = img.convert("RGB" if mode == "RGBA" else "L")
    elif mode == "1":
        img = img.convert("L")
    elif mode not in ("RGB", "L"):
        img = img.convert("RGB")
    if rgb and img.mode == "L":
        img = img.convert("RGB")
    return _to_array(img)


def _to_array(img, rows: int = 512) -> np.ndarray:
    """A Pillow RGB or L image as a writable uint8 array, copied in strips of ``rows`` rows (no
    second whole-image copy: ``np.asarray`` would make a read-only one through ``tobytes``)."""
    w, h = img.size
    out = np.empty((h, w, 3) if img.mode == "RGB" else (h, w), np.uint8)
    for y in range(0, h, rows):
        out[y : y + rows] = np.asarray(img.crop((0, y, w, min(y + rows, h))))
    return as_image(out, max_pixels=None)


def _upright(img):
    """The image with its EXIF orientation applied (as ``enhance`` does; issue 23: a phone
    photo came out of ``compress`` sideways)."""
    from PIL import ImageOps

    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: the pixels as stored
        return img
    return ImageOps.exif_transpose(img) if orientation not in (1, None) else img


def read_image_meta(path: str | os.PathLike | bytes, *, rgb: bool = False,
                    name: str | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """:func:`read_image` and the file's ICC profile and EXIF block (``metadata.ImageMeta``,
    orientation reset to 1), for outputs that carry them."""
    holder: list = []
    img = read_image(path, rgb=rgb, name=name, max_pixels=max_pixels, _meta=holder)
    return img, holder[0]


def read_image(path: str | os.PathLike | bytes, *, rgb: bool = False,
               name: str | None = None,
               max_pixels: int | None = DEFAULT_MAX_PIXELS, _meta: list | None = None,
               ) -> np.ndarray:
    """Read an image file (or its bytes) into a supported uint8 array, upright (EXIF
    orientation applied) and refusing CMYK; ``name`` labels bytes in error messages. The size
    is checked against ``max_pixels`` from the file's header,
    before decoding (Pillow's own ``Image.MAX_IMAGE_PIXELS`` applies as well)."""
    from PIL import Image, UnidentifiedImageError

    source = name or ("<bytes>" if isinstance(path, bytes) else str(path))
    try:
        fh = io.BytesIO(path) if isinstance(path, bytes) else open(path, "rb")
    except OSError as exc:
        raise HybridCodecError(f"cannot open {source}: {exc.strerror}") from exc
    with fh:
        try:
            with Image.open(fh) as img:
                check_pixels(img.width, img.height, max_pixels, source)
                _refuse_deep(img, source)
                img.load()
                up = _upright(img)
                if _meta is not None:
                    from .metadata import from_pil_info

                    _meta.append(from_pil_info(up))
                return from_pil(up, source, rgb=rgb)
        except HybridCodecError:
            raise
        except UnidentifiedImageError:
            raise HybridCodecError(f"{source} is not an image file Pillow can read") from None
        except Image.DecompressionBombError as exc:
            raise HybridCodecError(f"{source}: {one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - any plugin's error on a corrupt file
            raise HybridCodecError(f"{source}: cannot read image: {one_line(exc)}") from exc


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write(path: str | os.PathLike, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (no partial files). The
    file gets the mode a new file gets under the umask, or, with ``force`` over an existing
    file, that file's mode. Refuses folders and, without ``force``, existing files."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise HybridCodecError(f"{p} is a folder; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a stream (a FIFO, /dev/stdout, /dev/null) is written into; anything else that is not
        # a regular file is refused: never replaced by one (issue 23: --force turned /dev/full
        # into a PNG)
        if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise HybridCodecError(f"{p} is not a regular file; refusing to replace it")
        try:
            with open(p, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise HybridCodecError(f"cannot write {p}: {exc.strerror}") from None
        return
    if st is not None and not force:
        raise HybridCodecError(f"{p} exists; use force=True to overwrite")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise HybridCodecError(f"output folder {parent} does not exist")
    try:
        mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0o666 & ~_umask()
    except OSError:
        mode = 0o666 & ~_umask()
    tmp = parent / f".{p.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise HybridCodecError(f"cannot write in {parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HybridCodecError(f"cannot write {p}: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temps(path: str | os.PathLike) -> int:
    """Remove the hidden temporary files that writers of ``path`` (:func:`atomic_write`'s
    ``.<name>.<12 hex>.tmp``) left behind when they were killed mid-write (a batch worker lost
    on a cluster); call it only once ``path`` is complete and nobody writes it. Returns how many
    were removed."""
    p = Path(path)
    removed = 0
    for tmp in (p.parent if str(p.parent) else Path(".")).glob(f".{glob.escape(p.name)}.*.tmp"):
        if re.fullmatch(rf"\.{re.escape(p.name)}\.[0-9a-f]{{12}}\.tmp", tmp.name):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def encode_image_file(image: np.ndarray, fmt: str, *, icc_profile: bytes | None = None) -> bytes:
    """Encode an array in a Pillow format (``PNG``, ``BMP``, ...) and return the bytes."""
    from PIL import Image

    buf = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    try:
        Image.fromarray(as_image(image)).save(buf, format=fmt, **extra)
    except (KeyError, ValueError, OSError) as exc:
        raise HybridCodecError(f"cannot write format {fmt!r}: {exc}") from exc
    return buf.getvalue()


#: the image files decompress and enhance write, by extension (Pillow's encoders)
WRITTEN_EXTS = (".png", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp", ".jpg", ".jpeg")
WRITTEN_FORMATS = ("PNG", "BMP", "TIFF", "PPM", "WEBP", "JPEG")


def image_file_bytes(path: str | os.PathLike, image: np.ndarray, *,
                     icc_profile: bytes | None = None) -> bytes:
    """The bytes of an image file named ``path`` (a path or URL): the format follows the
    extension (PNG if there is none)."""
    from PIL import Image

    ext = Path(str(path)).suffix.lower()
    fmt = Image.registered_extensions().get(ext) if ext else "PNG"
    if fmt is None or fmt not in WRITTEN_FORMATS:
        raise HybridCodecError(f"cannot write an image with the extension {ext or '(none)'} "
                               f"({path}); decoded images are written as "
                               f"{', '.join(WRITTEN_EXTS)}")
    return encode_image_file(image, fmt, icc_profile=icc_profile)


def write_image(path: str | os.PathLike, image: np.ndarray, *, force: bool = False,
                icc_profile: bytes | None = None) -> None:
    """Write an image file; the format follows the extension (PNG if there is none)."""
    atomic_write(path, image_file_bytes(path, image, icc_profile=icc_profile), force=force)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    p = Path(folder)
    if not p.is_dir():
        raise HybridCodecError(f"{p} is not a folder")
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS and f.is_file())
    if not files:
        raise HybridCodecError(f"no images ({', '.join(IMAGE_EXTS)}) in {p}")
    return files
