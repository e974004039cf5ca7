"""The shipped networks under onnxruntime: inference without torch.

Every registered model is exported to ONNX when it is registered (``export.py``): one graph per
network (``rec``: RecCNN, ``com``: ComCNN), inputs ``x`` (float32 (1, 3, H, W) in [0, 1]) and
``q`` (float32 (1,): the quality on the base codec's own scale; the G-VAE gain units are computed
inside the graph), output ``y``. The manifest lists each file with its SHA-256, which is checked
before a file is used. A weight-update (Lam & Zare 2019) is applied to the exported weights at
decode time: the graph keeps every torch parameter as an initializer of the same name, so the
update's deltas (by parameter index, ``manifest["onnx"]["params"]``) are added to those
initializers' values (read from the file by ``onnxparams``) and fed to a cached session in
which those initializers are graph inputs (onnxruntime's overridable initializers).

Threads: ``HYBRIDCODEC_THREADS`` (default: every core); ``batch`` workers set it to 1.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from .cores import threads
from .errors import HybridCodecError

__all__ = ["available", "threads", "session", "session_with_update", "make_session", "run"]


def available() -> bool:
    """Whether onnxruntime can be imported."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _read_checked(path: str, sha256: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise HybridCodecError(f"cannot read exported network {path}: {exc.strerror}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HybridCodecError(f"{path} does not match the SHA-256 in the manifest")
    return data


def _options(ort, n_threads: int):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n_threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def _new_session(ort, data: bytes, opts):
    try:
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise HybridCodecError(f"onnxruntime cannot load the network: {exc}") from exc


def make_session(data: bytes, n_threads: int):
    """An onnxruntime session of the ONNX graph ``data`` with the decoder's options (CPU,
    ``n_threads`` intra-op threads, every graph optimisation), not cached."""
    import onnxruntime as ort

    return _new_session(ort, data, _options(ort, n_threads))


@functools.lru_cache(maxsize=16)
def _session(path: str, sha256: str, n_threads: int):
    return make_session(_read_checked(path, sha256), n_threads)


def session(path: str, sha256: str):
    """The (cached, thread-safe) onnxruntime session of an exported network file."""
    return _session(path, sha256, threads())


@functools.lru_cache(maxsize=4)
def _base_values(path: str, sha256: str) -> dict[str, np.ndarray]:
    from .onnxparams import float_initializers

    return float_initializers(_read_checked(path, sha256))


@functools.lru_cache(maxsize=8)
def _overridable_session(path: str, sha256: str, names: tuple[str, ...], n_threads: int):
    from .onnxparams import with_inputs

    return make_session(with_inputs(_read_checked(path, sha256), list(names)), n_threads)


def session_with_update(path: str, sha256: str, names: list[str],
                        deltas: dict[int, np.ndarray]) -> tuple[object, dict[str, np.ndarray]]:
    """A session of the network and the feeds that run it with ``deltas`` (by index into
    ``names``, the torch parameter names in order) added to its initializers. The initializers
    an update changes are graph inputs of that session (``onnxparams.with_inputs``: onnxruntime's
    overridable initializers; no ``onnx`` import), so the session is cached per set of changed
    tensors and a second file with an update decodes without building one (issue 25, item 3:
    within 1.2x of a file without)."""
    base = _base_values(path, sha256)
    values = {}
    for index, delta in deltas.items():
        if not 0 <= index < len(names) or names[index] not in base:
            raise HybridCodecError(f"weight-update names parameter {index}, which the exported "
                                   f"network does not have")
        b = base[names[index]]
        d = np.asarray(delta, dtype=np.float64)
        if d.shape != b.shape:
            raise HybridCodecError(f"weight-update for {names[index]} has shape {d.shape}, "
                                   f"the network {b.shape}")
        values[names[index]] = (b + d).astype(np.float32)
    sess = _overridable_session(path, sha256, tuple(sorted(values)), threads())
    return sess, values


def run(sess, x: np.ndarray, quality: float,
        feeds: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One forward pass: ``x`` float32 (1, 3, H, W) -> float32 output (not clamped); ``feeds``:
    values of overridable initializers (``session_with_update``)."""
    q = np.array([quality], dtype=np.float32)
    return sess.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32), "q": q,
                           **(feeds or {})})[0]
