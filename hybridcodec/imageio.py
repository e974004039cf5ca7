"""Reading, validating and writing images (Pillow), with the supported modes in one place.

Supported: 8-bit RGB, shape (H, W, 3), and 8-bit grayscale, shape (H, W). Everything else is
refused with a message that says what is supported (RGBA and palette images read from files are
converted: alpha is dropped only when it is fully opaque).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import HybridCodecError

__all__ = ["as_image", "read_image", "write_image", "list_images", "atomic_write", "IMAGE_EXTS"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")
SUPPORTED = "8-bit RGB (H, W, 3) or 8-bit grayscale (H, W)"
MAX_PIXELS = 1 << 28  # 268 megapixels


def as_image(array: object) -> np.ndarray:
    """Validate an array as a supported image; returns it C-contiguous uint8."""
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise HybridCodecError(f"unsupported pixel type {arr.dtype}; supported: {SUPPORTED}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise HybridCodecError(f"unsupported image shape {arr.shape}; supported: {SUPPORTED}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise HybridCodecError(f"empty image of shape {arr.shape}")
    if arr.shape[0] > 65535 or arr.shape[1] > 65535 or arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise HybridCodecError(f"image of shape {arr.shape} is too large (max 65535 per side)")
    return np.ascontiguousarray(arr)


def _from_pil(img, source: str, rgb: bool) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F") or mode.startswith("I;"):
        raise HybridCodecError(f"{source}: {mode} images (16/32-bit) are not supported; "
                               f"supported: {SUPPORTED}")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA"):
        alpha = np.asarray(img.getchannel("A"))
        if alpha.min() < 255:
            raise HybridCodecError(f"{source}: image has transparency ({mode}); alpha is not "
                                   f"supported, supported: {SUPPORTED}")
        img = img.convert("RGB" if mode == "RGBA" else "L")
    elif mode == "1":
        img = img.convert("L")
    elif mode not in ("RGB", "L"):
        img = img.convert("RGB")
    if rgb and img.mode == "L":
        img = img.convert("RGB")
    return as_image(np.asarray(img))


def read_image(path: str | os.PathLike | bytes, *, rgb: bool = False,
               name: str | None = None) -> np.ndarray:
    """Read an image file (or its bytes) into a supported uint8 array; ``name`` labels bytes
    in error messages."""
    from PIL import Image, UnidentifiedImageError

    source = name or ("<bytes>" if isinstance(path, bytes) else str(path))
    try:
        fh = io.BytesIO(path) if isinstance(path, bytes) else open(path, "rb")
    except OSError as exc:
        raise HybridCodecError(f"cannot open {source}: {exc.strerror}") from exc
    with fh:
        try:
            with Image.open(fh) as img:
                img.load()
                return _from_pil(img, source, rgb)
        except HybridCodecError:
            raise
        except UnidentifiedImageError:
            raise HybridCodecError(f"{source} is not an image file Pillow can read") from None
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise HybridCodecError(f"{source}: cannot read image: {exc}") from exc


def atomic_write(path: str | os.PathLike, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (no partial files)."""
    p = Path(path)
    if p.exists() and not force:
        raise HybridCodecError(f"{p} exists; use --force to overwrite")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise HybridCodecError(f"output folder {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def write_image(path: str | os.PathLike, image: np.ndarray, *, force: bool = False,
                icc_profile: bytes | None = None) -> None:
    """Write an image file; the format follows the extension (PNG if there is none)."""
    from PIL import Image

    ext = Path(path).suffix.lower()
    fmt = Image.registered_extensions().get(ext) if ext else "PNG"
    if fmt is None:
        raise HybridCodecError(f"unknown image file extension {ext!r} for {path}")
    atomic_write(path, encode_image_file(image, fmt, icc_profile=icc_profile), force=force)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    p = Path(folder)
    if not p.is_dir():
        raise HybridCodecError(f"{p} is not a folder")
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS and f.is_file())
    if not files:
        raise HybridCodecError(f"no images ({', '.join(IMAGE_EXTS)}) in {p}")
    return files
