"""Batches on a Dask cluster (issue 26): the same per-item work as :func:`batch.map_jobs`, run
by ``dask.distributed`` on one machine or many.

``cluster`` is a scheduler address (``tcp://host:8786``), ``local`` / ``local:N`` (an embedded
``LocalCluster`` of N single-threaded worker processes, default: every core), or a
``dask.distributed.Client``. Each item is one task; a task whose worker dies is run again on
another worker by the scheduler (its output is written atomically, so a half-written file is never
visible and a re-run writes the same bytes). Workers are long-lived processes: each loads a model
once and keeps it for every file it codes. Only this module imports dask, and only when a cluster
is asked for (``pip install 'hybridcodec[cluster]'``).

    hybridcodec compress photos/ -o out/ --cluster local:2
    hybridcodec compress photos/ -o out/ --cluster tcp://10.0.0.5:8786
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import HybridCodecError, one_line
from .tasks import call_item, default_jobs, one_thread

__all__ = ["map_cluster", "parse_cluster"]
#: how many times the scheduler may lose a task's worker before the task is reported as failed
ALLOWED_FAILURES = 3


def parse_cluster(cluster: Any) -> tuple[str, Any]:
    """``("client", client)``, ``("address", "tcp://...")`` or ``("local", n_workers or None)``;
    anything else is a one-line error naming ``cluster=``."""
    if cluster is None or isinstance(cluster, bool):
        raise HybridCodecError(f"cluster= must be an address, 'local', 'local:N' or a "
                               f"dask.distributed.Client, got {cluster!r}")
    if not isinstance(cluster, str):
        if hasattr(cluster, "submit") and hasattr(cluster, "scheduler_info"):
            return "client", cluster
        raise HybridCodecError(f"cluster= must be an address or a dask.distributed.Client, "
                               f"got {type(cluster).__name__}")
    m = re.fullmatch(r"local(?::(\d+))?", cluster)
    if m:
        n = int(m.group(1)) if m.group(1) else None
        if n is not None and n < 1:
            raise HybridCodecError(f"cluster='{cluster}' needs at least one worker")
        return "local", n
    if re.fullmatch(r"(tcp|tls|inproc|ws|wss)://[\w.\-\[\]:]+", cluster):
        return "address", cluster
    raise HybridCodecError(f"cluster='{cluster}' is not a scheduler address (tcp://host:8786), "
                           f"local or local:N")


def _client(cluster: Any):
    """(client, whether this call owns it and must close it)."""
    kind, value = parse_cluster(cluster)
    if kind == "client":
        return value, False
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise HybridCodecError("a cluster needs dask: pip install 'hybridcodec[cluster]'"
                               ) from None
    if kind == "local":
        lc = LocalCluster(n_workers=value or default_jobs(), threads_per_worker=1,
                          processes=True, dashboard_address=None, host="127.0.0.1")
        return Client(lc), True
    try:
        return Client(value, timeout="30s"), True
    except (OSError, TimeoutError) as exc:
        raise HybridCodecError(f"cannot reach the scheduler at {value}: {one_line(exc)}") from None


def _task(fn: Callable, item: Any, kwargs: dict) -> tuple[bool, Any]:
    """One item on a worker, with one compute thread (set before the first model loads)."""
    one_thread(override=False)
    return call_item(fn, item, kwargs)


def map_cluster(fn: Callable, items: Sequence, *, cluster: Any,
                **kwargs: Any) -> Iterator[tuple[int, bool, Any]]:
    """Run ``fn(item, **kwargs)`` for every item on a Dask cluster; yields ``(index, ok, value or
    error message)`` in completion order, as :func:`hybridcodec.batch.map_jobs` does. A task
    whose worker died more than :data:`ALLOWED_FAILURES` times is a failed item, not a lost
    batch."""
    if not items:
        return
    client, own = _client(cluster)
    try:
        from dask.distributed import as_completed

        futures = {client.submit(_task, fn, item, kwargs, pure=False,
                                 retries=ALLOWED_FAILURES): i for i, item in enumerate(items)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                ok, value = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost scheduler
                ok, value = False, f"worker failed ({type(exc).__name__}): {one_line(exc)}"
            yield i, ok, value
    finally:
        if own:
            cluster_obj = getattr(client, "cluster", None)
            client.close()
            if cluster_obj is not None:
                cluster_obj.close()
