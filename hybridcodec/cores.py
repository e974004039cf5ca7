"""How many threads the native libraries (OpenJPEG) and onnxruntime sessions may use:
``$HYBRIDCODEC_THREADS`` or every core this process may run on (``batch`` workers set it to 1).
Read at each call, never cached, so that a worker's setting takes effect."""

from __future__ import annotations

import os

from .errors import HybridCodecError

__all__ = ["threads"]


def threads() -> int:
    """Intra-op threads per session: ``$HYBRIDCODEC_THREADS`` or the number of cores."""
    value = os.environ.get("HYBRIDCODEC_THREADS", "").strip()
    if value:
        if not value.isdigit() or not 1 <= int(value) <= 4096:
            raise HybridCodecError(f"HYBRIDCODEC_THREADS must be a whole number of threads "
                                   f"from 1, got {value[:20]!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
