"""Coding of a network weight-update (Lam & Zare 2019) with pruning, uniform quantisation and a
block-adaptive range coder (constriction), optionally with a two-pass checkerboard context model
(He et al. 2021 "Checkerboard Context Model"; Fu et al. 2024).

Each coded tensor is viewed as a grid (output channel o, input channel i, kernel position k);
biases and gain vectors are grids with one input channel. Output channels whose update is all
zero after quantisation are not coded (a bitmap says which are, as with Fu et al.'s L1-sparse
channels). The symbols of the kept channels are coded either

* context-free: one adaptive model for the whole tensor, or
* checkerboard: pass 1 codes the cells with (o + i) even with an adaptive model; pass 2 codes the
  cells with (o + i) odd with one adaptive model per context, the context being how many of the
  cell's four (o, i) neighbours (all from pass 1) are non-zero at the same kernel position.
  Every context of pass 2 is computed at once from pass 1, so each pass decodes in parallel.

The encoder codes both and keeps the smaller per tensor (a flag). Probability tables are integer
counts updated with integer arithmetic every ``BLOCK`` symbols; they reach constriction as exactly
representable floats, so every platform builds the same fixed-point models and decodes the same
update.

Chunk payload (big-endian)::

    version u8 | step f32 | n_tensors u16 | tensor headers... | n_words u32 | words (u32 LE)...
    tensor header: index u16 | flags u8 | K u8 | channel bitmap ceil(n_out/8) bytes

Shapes are not stored: the decoder takes them from the model (by parameter index), so a header
costs 4 bytes plus the bitmap, and all tensors share one range-coder stream.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from . import nnccoding
from .errors import HybridCodecError

__all__ = ["encode_update", "decode_update", "quantize", "UpdateStats", "BLOCK", "MAX_K"]

VERSION = 2  # 2: shapes from the model, one shared stream
BLOCK = 64  # symbols between two updates of the adaptive counts
INCREMENT = 16
COUNT_LIMIT = 1 << 15
MAX_K = 127  # largest coded magnitude (quantisation bins)
STEP_RANGE = (1e-7, 1.0)  # allowed quantisation steps (a corrupt step is refused, not used)
FLAG_CHECKERBOARD = 1
N_CONTEXTS = 3
_TENSOR = struct.Struct(">HBB")


@dataclass
class UpdateStats:
    """What an encoded update holds (for ``info`` and the experiments)."""

    tensors: int = 0
    channels_sent: int = 0
    channels_total: int = 0
    nonzeros: int = 0
    bytes: int = 0
    bytes_context_free: int = 0
    bytes_checkerboard: int = 0


def quantize(delta: np.ndarray, step: float) -> np.ndarray:
    """Uniform quantisation to integers in [-MAX_K, MAX_K]."""
    return np.clip(np.rint(delta / step), -MAX_K, MAX_K).astype(np.int64)


def _as_grid(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 1:
        return shape[0], 1, 1
    k = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[0], shape[1], k


# --------------------------------------------------------------------------- adaptive coding
def _encode_adaptive(enc, symbols: np.ndarray, alphabet: int) -> None:
    import constriction

    counts = np.ones(alphabet, np.int64)
    for start in range(0, len(symbols), BLOCK):
        blk = symbols[start : start + BLOCK]
        model = constriction.stream.model.Categorical(counts.astype(np.float64), perfect=False)
        enc.encode(blk.astype(np.int32), model)
        counts = _update(counts, blk)


def _decode_adaptive(dec, n: int, alphabet: int) -> np.ndarray:
    import constriction

    counts = np.ones(alphabet, np.int64)
    out = np.empty(n, np.int64)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        model = constriction.stream.model.Categorical(counts.astype(np.float64), perfect=False)
        blk = np.asarray(dec.decode(model, m), np.int64)
        out[start : start + m] = blk
        counts = _update(counts, blk)
    return out


def _update(counts: np.ndarray, blk: np.ndarray) -> np.ndarray:
    counts = counts + INCREMENT * np.bincount(blk, minlength=len(counts))
    while counts.sum() > COUNT_LIMIT:
        counts = (counts + 1) // 2
    return counts


def _contexts(grid: np.ndarray) -> np.ndarray:
    """Context (0..2) of every cell from the non-zero count of its four (o, i) neighbours."""
    nz = np.pad(grid != 0, ((1, 1), (1, 1), (0, 0))).astype(np.int64)
    n = nz[:-2, 1:-1] + nz[2:, 1:-1] + nz[1:-1, :-2] + nz[1:-1, 2:]
    return np.minimum((n + 1) // 2, N_CONTEXTS - 1)  # 0 | 1-2 | 3-4


def _parity(o: int, i: int, k: int) -> np.ndarray:
    oo, ii = np.meshgrid(np.arange(o), np.arange(i), indexing="ij")
    return np.broadcast_to(((oo + ii) % 2 == 0)[:, :, None], (o, i, k))


def _code_grid(enc, grid: np.ndarray, K: int, checkerboard: bool) -> None:
    sym = grid + K
    if not checkerboard:
        _encode_adaptive(enc, sym.ravel(), 2 * K + 1)
    else:
        first = _parity(*grid.shape)
        _encode_adaptive(enc, sym[first], 2 * K + 1)
        anchors = np.where(first, grid, 0)
        ctx = _contexts(anchors)
        for c in range(N_CONTEXTS):
            _encode_adaptive(enc, sym[~first & (ctx == c)], 2 * K + 1)


def _coded_size(grid: np.ndarray, K: int, checkerboard: bool) -> int:
    """Bytes the grid takes on its own (to choose the coder per tensor)."""
    import constriction

    enc = constriction.stream.queue.RangeEncoder()
    _code_grid(enc, grid, K, checkerboard)
    return 4 * len(enc.get_compressed())


def _decode_grid(dec, shape: tuple[int, int, int], K: int, checkerboard: bool) -> np.ndarray:
    alphabet = 2 * K + 1
    if not checkerboard:
        sym = _decode_adaptive(dec, int(np.prod(shape)), alphabet).reshape(shape)
        return sym - K
    first = _parity(*shape)
    grid = np.zeros(shape, np.int64)
    grid[first] = _decode_adaptive(dec, int(first.sum()), alphabet) - K
    ctx = _contexts(grid)
    for c in range(N_CONTEXTS):
        sel = ~first & (ctx == c)
        grid[sel] = _decode_adaptive(dec, int(sel.sum()), alphabet) - K
    return grid


# --------------------------------------------------------------------------- chunk
def encode_update(deltas: dict[int, np.ndarray], step: float, *,
                  context: str = "best") -> tuple[bytes, UpdateStats]:
    """Quantise and code weight deltas ``{parameter index: delta array}``.

    ``context``: ``"best"`` (per tensor, the smaller of the two coders), ``"none"`` (context-free
    only) or ``"checkerboard"``. Tensors that quantise to all zeros are left out.
    """
    import constriction

    if not (np.isfinite(step) and STEP_RANGE[0] <= step <= STEP_RANGE[1]):
        raise HybridCodecError(f"quantisation step must be in {STEP_RANGE}, got {step}")
    stats = UpdateStats()
    headers, coded = [], []
    for index in sorted(deltas):
        delta = np.asarray(deltas[index], np.float64)
        o, i, k = _as_grid(delta.shape)
        q = quantize(delta, step).reshape(o, i, k)
        keep = np.any(q != 0, axis=(1, 2))
        stats.channels_total += o
        if not keep.any():
            continue
        if index > 0xFFFF:
            raise HybridCodecError("parameter index too large for a weight-update chunk")
        grid = q[keep]
        K = max(1, int(np.abs(grid).max()))
        plain, board = _coded_size(grid, K, False), _coded_size(grid, K, True)
        stats.bytes_context_free += plain
        stats.bytes_checkerboard += board
        use_board = context == "checkerboard" or (context == "best" and board < plain)
        headers.append(_TENSOR.pack(index, FLAG_CHECKERBOARD if use_board else 0, K)
                       + np.packbits(keep).tobytes())
        coded.append((grid, K, use_board))
        stats.tensors += 1
        stats.channels_sent += int(keep.sum())
        stats.nonzeros += int((grid != 0).sum())
    enc = constriction.stream.queue.RangeEncoder()
    for grid, K, use_board in coded:
        _code_grid(enc, grid, K, use_board)
    words = enc.get_compressed().astype("<u4").tobytes() if coded else b""
    payload = (struct.pack(">BfH", VERSION, step, len(headers)) + b"".join(headers)
               + struct.pack(">I", len(words) // 4) + words)
    stats.bytes = len(payload)
    return payload, stats


def decode_update(payload: bytes, shapes: dict[int, tuple[int, ...]]) -> dict[int, np.ndarray]:
    """Decode a chunk into float32 deltas; ``shapes`` are the model's parameter shapes by index.

    Every field is checked against ``shapes`` and the bytes present before it is used."""
    try:
        if bytes(payload[:1]) == bytes([nnccoding.VERSION]):
            return nnccoding.decode(bytes(payload), shapes)
        return _decode_update(bytes(payload), shapes)
    except HybridCodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - constriction or numpy on corrupt data
        raise HybridCodecError(f"corrupt weight-update chunk: {exc}") from exc


def _headers(payload: bytes, shapes: dict[int, tuple[int, ...]]):
    """Parse the tensor headers; returns (step, [(index, flags, K, keep)], end offset)."""
    if len(payload) < 7:
        raise HybridCodecError("truncated weight-update chunk")
    version, step, n = struct.unpack_from(">BfH", payload)
    if version != VERSION:
        raise HybridCodecError(f"unsupported weight-update version {version}")
    if not (np.isfinite(step) and STEP_RANGE[0] <= step <= STEP_RANGE[1]):
        raise HybridCodecError("invalid quantisation step in weight-update chunk")
    pos, out, seen = 7, [], set()
    for _ in range(n):
        if len(payload) - pos < _TENSOR.size:
            raise HybridCodecError("truncated weight-update chunk")
        index, flags, K = _TENSOR.unpack_from(payload, pos)
        pos += _TENSOR.size
        if index not in shapes or index in seen:
            raise HybridCodecError(f"weight update names unknown parameter {index}")
        if flags & ~FLAG_CHECKERBOARD or not 1 <= K <= MAX_K:
            raise HybridCodecError(f"invalid weight-update header for parameter {index}")
        seen.add(index)
        o = _as_grid(tuple(shapes[index]))[0]
        nb = (o + 7) // 8
        if len(payload) - pos < nb:
            raise HybridCodecError("truncated weight-update chunk")
        keep = np.unpackbits(np.frombuffer(payload, np.uint8, nb, pos))[:o].astype(bool)
        pos += nb
        if not keep.any():
            raise HybridCodecError(f"weight update for parameter {index} sends no channel")
        out.append((index, flags, K, keep))
    return step, out, pos


def _decode_update(payload: bytes, shapes: dict[int, tuple[int, ...]]) -> dict[int, np.ndarray]:
    import constriction

    step, tensors, pos = _headers(payload, shapes)
    if len(payload) - pos < 4:
        raise HybridCodecError("truncated weight-update chunk")
    (n_words,) = struct.unpack_from(">I", payload, pos)
    pos += 4
    if len(payload) - pos != 4 * n_words or bool(tensors) != bool(n_words):
        raise HybridCodecError("corrupt weight-update chunk (length)")
    dec = constriction.stream.queue.RangeDecoder(
        np.frombuffer(payload, "<u4", n_words, pos).astype(np.uint32))
    out = {}
    for index, flags, K, keep in tensors:
        o, i, k = _as_grid(tuple(shapes[index]))
        grid = _decode_grid(dec, (int(keep.sum()), i, k), K, bool(flags & FLAG_CHECKERBOARD))
        full = np.zeros((o, i, k), np.float32)
        full[keep] = grid.astype(np.float32) * np.float32(step)
        out[index] = full.reshape(shapes[index])
    return out


def describe_update(payload: bytes, shapes: dict[int, tuple[int, ...]]) -> dict:
    """Bytes, tensors, channels sent and coders of an update chunk, from its headers alone."""
    if bytes(payload[:1]) == bytes([nnccoding.VERSION]):
        return nnccoding.describe(payload, shapes)
    step, tensors, pos = _headers(bytes(payload), shapes)
    coders = ["checkerboard" if f & FLAG_CHECKERBOARD else "context-free" for _, f, _, _ in tensors]
    return {"bytes": len(payload), "step": step, "tensors": len(tensors),
            "channels_sent": int(sum(keep.sum() for *_, keep in tensors)),
            "channels_in_tensors": int(sum(len(keep) for *_, keep in tensors)),
            "coded_bytes": len(payload) - pos - 4,
            "coders": {c: coders.count(c) for c in sorted(set(coders))}}
