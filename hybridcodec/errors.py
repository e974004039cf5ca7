"""The one error class of hybridcodec (imagecodecs style)."""

from __future__ import annotations

__all__ = ["HybridCodecError"]


class HybridCodecError(Exception):
    """Raised for every failure a user can cause: bad input, corrupt files, missing models.

    The message is one line and names the problem.
    """
