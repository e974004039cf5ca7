"""One item of a batch, the same wherever it runs (the local pool of ``batch`` or a Dask cluster
of ``cluster``): run it, turn any failure into a one-line report, with one compute thread."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .errors import HybridCodecError, one_line

__all__ = ["THREAD_VARS", "default_jobs", "call_item", "one_thread"]

#: read by torch, numpy and onnxruntime sessions (``runtime.threads``): one compute thread a task
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "HYBRIDCODEC_THREADS")


def default_jobs() -> int:
    """The cores this process may run on (``--jobs`` default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def one_thread(*, override: bool = True) -> None:
    """One compute thread in this (worker) process; ``override=False`` keeps what a user set."""
    for v in THREAD_VARS:
        if override:
            os.environ[v] = "1"
        else:
            os.environ.setdefault(v, "1")


def call_item(fn: Callable, item: Any, kwargs: dict) -> tuple[bool, Any]:
    """``(True, fn(item, **kwargs))``, or ``(False, one-line message)``: never raises."""
    try:
        return True, fn(item, **kwargs)
    except HybridCodecError as exc:
        return False, one_line(exc)
    except Exception as exc:  # noqa: BLE001 - reported per item, never a lost batch
        return False, f"internal error ({type(exc).__name__}): {one_line(exc)}"
