"""Where batch files live (issue 26, item 4): local paths, or fsspec URLs (``s3://``, ``gs://``,
``memory://``, ``file://`` ...; S3 needs ``pip install 'hybridcodec[s3]'``).

One set of rules for both: an output is never replaced without ``force`` and never visible half
written (local files go through a temporary file and a rename, ``imageio.atomic_write``; an
object store shows an object only once its upload is complete, and other remote file systems get
a temporary name and a move). Reads are bounded by ``MAX_INPUT_BYTES``. fsspec is imported only
for a URL.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path, PurePosixPath

from .errors import HybridCodecError, one_line

__all__ = ["is_url", "read_bytes", "write_bytes", "size", "sha256", "exists", "is_file",
           "expand", "join", "name_of", "MAX_INPUT_BYTES"]

#: the largest input file read (bytes): a corrupt or hostile listing never allocates more
MAX_INPUT_BYTES = 1 << 31
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


def is_url(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an fsspec URL (``scheme://...``), not a local path."""
    return isinstance(path, str) and bool(_URL.match(path))


def _fs(url: str):
    try:
        import fsspec
    except ImportError:
        raise HybridCodecError("remote paths need fsspec: pip install 'hybridcodec[cluster]'"
                               ) from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise HybridCodecError(f"cannot open {url}: {one_line(exc)} (S3: pip install "
                               f"'hybridcodec[s3]')") from None


def _remote(url: str, what: str, fn):
    try:
        return fn()
    except HybridCodecError:
        raise
    except FileNotFoundError:
        raise HybridCodecError(f"{url} does not exist") from None
    except Exception as exc:  # noqa: BLE001 - network, permissions, the store's own errors
        raise HybridCodecError(f"cannot {what} {url}: {one_line(exc)}") from None


def read_bytes(path: str) -> bytes:
    """The whole file (at most :data:`MAX_INPUT_BYTES`)."""
    if not is_url(path):
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise HybridCodecError(f"cannot read {path}: {exc.strerror}") from None
    else:
        fs, p = _fs(path)

        def read() -> bytes:
            with fs.open(p, "rb") as fh:
                return fh.read(MAX_INPUT_BYTES + 1)
        data = _remote(path, "read", read)
    if len(data) > MAX_INPUT_BYTES:
        raise HybridCodecError(f"{path} is larger than {MAX_INPUT_BYTES} bytes")
    return data


def write_bytes(path: str, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` whole or not at all; an existing file only with ``force``."""
    if not is_url(path):
        from .imageio import atomic_write

        atomic_write(path, data, force=force)
        return
    fs, p = _fs(path)
    if not force and _remote(path, "look at", lambda: fs.exists(p)):
        raise HybridCodecError(f"{path} exists; use force=True to overwrite")
    atomic_store = type(fs).__name__ in ("S3FileSystem", "GCSFileSystem", "AzureBlobFileSystem",
                                         "MemoryFileSystem")

    def put() -> None:
        if atomic_store:  # an object appears only once its upload is complete
            fs.pipe_file(p, data)
        else:
            tmp = f"{p}.tmp-{os.getpid()}"
            fs.pipe_file(tmp, data)
            fs.mv(tmp, p)
    _remote(path, "write", put)


def size(path: str) -> int:
    if not is_url(path):
        return os.stat(path).st_size
    fs, p = _fs(path)
    return int(_remote(path, "look at", lambda: fs.size(p)))


def sha256(path: str) -> str:
    """SHA-256 (hex) of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    if not is_url(path):
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()
    fs, p = _fs(path)

    def digest() -> str:
        with fs.open(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()
    return _remote(path, "read", digest)


def exists(path: str) -> bool:
    if not is_url(path):
        return os.path.lexists(path)
    fs, p = _fs(path)
    return bool(_remote(path, "look at", lambda: fs.exists(p)))


def is_file(path: str) -> bool:
    if not is_url(path):
        return os.path.isfile(path)
    fs, p = _fs(path)
    return bool(_remote(path, "look at", lambda: fs.isfile(p)))


def _unstrip(url: str, fs, p: str) -> str:
    """The URL of a listed path ``p`` (fsspec lists paths without the scheme)."""
    return fs.unstrip_protocol(p) if hasattr(fs, "unstrip_protocol") else p


def expand(item: str, exts: tuple[str, ...]) -> list[str]:
    """The files a URL names: itself, a folder's files with one of ``exts``, or a glob's."""
    fs, p = _fs(item)

    def listing() -> list[str]:
        if fs.isdir(p):
            return sorted(_unstrip(item, fs, f) for f in fs.ls(p, detail=False)
                          if PurePosixPath(f).suffix.lower() in exts and fs.isfile(f))
        if any(c in p for c in "*?["):
            return sorted(_unstrip(item, fs, f) for f in fs.glob(p))
        return [item]
    return _remote(item, "list", listing)


def join(folder: str, name: str) -> str:
    """``folder/name`` (a URL stays a URL)."""
    return folder.rstrip("/") + "/" + name if is_url(folder) else str(Path(folder) / name)


def name_of(path: str) -> str:
    """The file name of a path or URL."""
    return PurePosixPath(path.split("://", 1)[-1]).name if is_url(path) else Path(path).name


def make_folder(folder: str) -> None:
    """Create an output folder (object stores have none to create)."""
    if not is_url(folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        return
    fs, p = _fs(folder)
    _remote(folder, "create", lambda: fs.makedirs(p, exist_ok=True))
