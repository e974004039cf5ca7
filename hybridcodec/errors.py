"""The one error class of hybridcodec (imagecodecs style), and the guard that keeps it the only
one the public functions raise."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

__all__ = ["HybridCodecError", "HybridCodecWarning", "guarded", "DEFAULT_MAX_PIXELS",
           "check_pixels"]

#: default limit on the pixels of any image hybridcodec decodes or encodes (as ajpegli's decoder)
DEFAULT_MAX_PIXELS = 256_000_000

F = TypeVar("F", bound=Callable)


class HybridCodecError(Exception):
    """Raised for every failure a user can cause: bad input, corrupt files, missing models.

    The message is one line and names the problem.
    """


class HybridCodecWarning(UserWarning):
    """A file was decoded, but not as its writer meant: e.g. a standard JPEG whose hybrid
    segments are damaged or name a model that is not installed, decoded as the plain image."""


def check_pixels(width: int, height: int, max_pixels: int | None, what: str = "image") -> None:
    """Refuse an image of ``width`` x ``height`` pixels over ``max_pixels`` (None: no limit),
    before anything of that size is allocated (decompression bombs)."""
    if max_pixels is None:
        return
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise HybridCodecError(f"max_pixels must be a positive integer or None, got {max_pixels!r}")
    if width * height > max_pixels:
        raise HybridCodecError(
            f"{what} is {width}x{height} = {width * height / 1e6:.1f} megapixels, over the limit "
            f"of {max_pixels / 1e6:g} megapixels (raise it: max_pixels=N, or max_pixels=None for no limit)")


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (library errors can span lines)."""
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    return lines[0] if lines else type(exc).__name__


def guarded(fn: F) -> F:
    """Decorator for public entry points: any exception other than :class:`HybridCodecError`
    (a library's error on hostile input, exhausted memory) becomes one, with a one-line message
    that starts with ``internal error`` (the fuzz tests treat such messages as bugs to fix)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HybridCodecError:
            raise
        except TypeError as exc:  # a wrong call: say so, in the caller's terms
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
                raise HybridCodecError(f"wrong call: {one_line(exc)}") from None
            raise HybridCodecError(f"internal error (TypeError): {one_line(exc)}") from exc
        except MemoryError as exc:
            raise HybridCodecError("out of memory (lower max_pixels, or use a bigger "
                                   "machine)") from exc
        except Exception as exc:  # noqa: BLE001 - the one-error-class promise
            raise HybridCodecError(f"internal error ({type(exc).__name__}): "
                                   f"{one_line(exc)}") from exc

    return wrapper  # type: ignore[return-value]
