"""DeepCABAC-style coding of a network weight-update (issue 25, item 2): format version 3 of the
weight-update chunk (Wiedemann et al. 2020, "DeepCABAC: a universal compression algorithm for
deep neural networks"; MPEG NNC, ISO/IEC 15938-17).

As in DeepCABAC, every quantised value is binarised and each bin is coded with an adaptive
binary probability (a context) by a range coder (constriction):

* a scan order that finds the zeros: for a conv tensor (o, i, k), one flag per output channel
  ("this channel sends something", context: the previous channel's flag), then for each kept
  channel one flag per kernel (i) when k > 1 ("this kernel sends something", context: the
  previous kernel's flag), then the values of the kernels that send something. A 1-D tensor
  (bias, gain) is coded value by value: its zeros are cheaper coded than flagged;
* each value: a significance bin (context: whether the previous value in the scan and the
  same position of the previous channel are zero), a sign bin, ``N_UNARY`` unary
  "greater than" bins (each its own context) and an Exp-Golomb remainder in equiprobable bins;
* contexts are two-speed adaptive probabilities in 16-bit integers (as VVC's CABAC), shared by
  the tensors of one kind (1-D or conv) and carried through the whole update.

Each tensor has its own quantisation step (chosen by rate-distortion by the caller,
``training.adaptation.choose_steps``), sent as an eighth-octave code (one byte). Shapes are
the model's: a presence bitmap over its parameters says which tensors the update holds.

Chunk payload::

    version u8 (3) | presence bitmap ceil(P/8) bytes | step code u8 per present tensor
    | n_words u32 | words (u32 LE)

The decoder's work is bounded by the model's shapes: a corrupt stream decodes to wrong
numbers (the container's CRC catches those) but never to a large allocation or a long loop.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

import numpy as np

from .errors import HybridCodecError

__all__ = ["VERSION", "encode", "decode", "describe", "step_code", "code_step", "estimate_bits",
           "quantize"]

VERSION = 3
ONE = 1 << 16
SHIFTS = (4, 7)  # adaptation speeds of the two probability estimates of a context
P_MIN = 64  # probabilities stay in [P_MIN, ONE - P_MIN] / ONE
N_UNARY = 4  # "greater than m" bins before the Exp-Golomb remainder
MAX_PREFIX = 20  # longest Exp-Golomb prefix (bounds a corrupt stream's work)
STEP_CODE_SCALE = 8  # step = 2 ** (-code / 8): eighth-octave steps, 1.0 .. 2.4e-10
MAX_MAGNITUDE = (1 << MAX_PREFIX) - 1


def step_code(step: float) -> int:
    """The one-byte code of the nearest representable step (``code_step``)."""
    if not (math.isfinite(step) and step > 0):
        raise HybridCodecError(f"quantisation step must be positive, got {step}")
    return int(min(255, max(0, round(-math.log2(step) * STEP_CODE_SCALE))))


def code_step(code: int) -> float:
    """The quantisation step a code stands for (float32, as the decoder uses it)."""
    return float(np.float32(2.0 ** (-code / STEP_CODE_SCALE)))


def quantize(delta: np.ndarray, step: float) -> np.ndarray:
    """Uniform quantisation to integers (the magnitude capped at ``MAX_MAGNITUDE``)."""
    return np.clip(np.rint(np.asarray(delta, np.float64) / step), -MAX_MAGNITUDE,
                   MAX_MAGNITUDE).astype(np.int64)


def _grid(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 1:
        return shape[0], 1, 1
    return shape[0], shape[1], int(np.prod(shape[2:])) if len(shape) > 2 else 1


# --------------------------------------------------------------------------- contexts
class _Contexts:
    """The adaptive binary contexts of one tensor kind: state is ``[fast, slow]`` per context."""

    def __init__(self) -> None:
        self.state: dict[str, list[int]] = {}

    def p(self, name: str) -> int:
        """Probability of a 1 in units of 1 / ONE."""
        s = self.state.setdefault(name, [ONE // 2, ONE // 2])
        return min(ONE - P_MIN, max(P_MIN, (s[0] + s[1]) >> 1))

    def update(self, name: str, bit: int) -> None:
        s = self.state[name]
        target = bit << 16
        s[0] += (target - s[0]) >> SHIFTS[0]
        s[1] += (target - s[1]) >> SHIFTS[1]


def _bins(grid: np.ndarray, ctx: _Contexts) -> Iterator[tuple[int, int | None]]:
    """The (bit, probability of 1 or None for an equiprobable bin) of a tensor's scan, updating
    the contexts as it goes (the encoder's side of :func:`_decode_grid`)."""
    o, i, k = grid.shape
    conv = i * k > 1
    prev_channel = 0
    for oo in range(o):
        ch = grid[oo]
        if conv:
            flag = int(np.any(ch))
            yield from _coded(ctx, f"ch{prev_channel}", flag)
            prev_channel = flag
            if not flag:
                continue
        prev_kernel = 1
        prev_value = 0
        for ii in range(i):
            kern = ch[ii]
            if k > 1:
                flag = int(np.any(kern))
                yield from _coded(ctx, f"k{prev_kernel}", flag)
                prev_kernel = flag
                if not flag:
                    continue
            for kk in range(k):
                above = int(oo > 0 and grid[oo - 1, ii, kk] != 0)
                yield from _value_bins(int(kern[kk]), ctx, f"s{int(prev_value != 0)}{above}")
                prev_value = int(kern[kk])


def _coded(ctx: _Contexts, name: str, bit: int) -> Iterator[tuple[int, int | None]]:
    """One bin in context ``name`` (its probability before the update)."""
    yield bit, ctx.p(name)
    ctx.update(name, bit)


def _value_bins(v: int, ctx: _Contexts, sig: str) -> Iterator[tuple[int, int | None]]:
    yield from _coded(ctx, sig, int(v != 0))
    if v == 0:
        return
    yield from _coded(ctx, "sign", int(v < 0))
    m = abs(v)
    for n in range(1, N_UNARY + 1):
        yield from _coded(ctx, f"gt{n}", int(m > n))
        if m <= n:
            return
    r = m - N_UNARY - 1  # Exp-Golomb order 0 of the remainder, equiprobable bins
    nbits = (r + 1).bit_length() - 1
    for _ in range(nbits):
        yield 1, None
    yield 0, None
    for b in range(nbits - 1, -1, -1):
        yield ((r + 1) >> b) & 1, None


def estimate_bits(grids: list[np.ndarray]) -> float:
    """Bits the coded values of ``grids`` (integer, each (o, i, k) or 1-D) take: the sum of
    -log2 p over their bins (what :func:`encode` spends, within a few bytes)."""
    kinds = {False: _Contexts(), True: _Contexts()}
    bits = 0.0
    for g in grids:
        o, i, k = _grid(g.shape)
        for bit, p in _bins(g.reshape(o, i, k), kinds[i * k > 1]):
            bits += 1.0 if p is None else -math.log2((p if bit else ONE - p) / ONE)
    return bits


# --------------------------------------------------------------------------- chunk
def encode(quantised: dict[int, np.ndarray], codes: dict[int, int], n_params: int) -> bytes:
    """Code integer updates ``{parameter index: values}`` with step codes ``{index: code}``;
    ``n_params``: how many parameters the model has (the presence bitmap's length)."""
    import constriction

    present = sorted(ix for ix, q in quantised.items() if np.any(q))
    if any(not 0 <= ix < n_params for ix in present):
        raise HybridCodecError("parameter index outside the model")
    bitmap = np.zeros(n_params, bool)
    bitmap[present] = True
    kinds = {False: _Contexts(), True: _Contexts()}
    bits, probs = [], []
    for ix in present:
        g = np.asarray(quantised[ix], np.int64)
        if np.abs(g).max() > MAX_MAGNITUDE:
            raise HybridCodecError("quantised update value too large")
        o, i, k = _grid(g.shape)
        for bit, p in _bins(g.reshape(o, i, k), kinds[i * k > 1]):
            bits.append(bit)
            probs.append(0.5 if p is None else p / ONE)
    enc = constriction.stream.queue.RangeEncoder()
    if bits:
        enc.encode(np.asarray(bits, np.int32), constriction.stream.model.Bernoulli(perfect=False),
                   np.asarray(probs, np.float64))
    words = enc.get_compressed().astype("<u4").tobytes() if bits else b""
    head = struct.pack(">B", VERSION) + np.packbits(bitmap).tobytes()
    steps = bytes(int(codes[ix]) for ix in present)
    return head + steps + struct.pack(">I", len(words) // 4) + words


def _parse(payload: bytes, shapes: dict[int, tuple[int, ...]]) -> tuple[list[int], list[int], int]:
    """(present indices, their step codes, offset of n_words) from the headers."""
    n_params = len(shapes)
    if sorted(shapes) != list(range(n_params)):
        raise HybridCodecError("model parameters are not indexed 0..P-1")
    nb = (n_params + 7) // 8
    if len(payload) < 1 + nb:
        raise HybridCodecError("truncated weight-update chunk")
    if payload[0] != VERSION:
        raise HybridCodecError(f"unsupported weight-update version {payload[0]}")
    bitmap = np.unpackbits(np.frombuffer(payload, np.uint8, nb, 1))
    if bitmap[n_params:].any():
        raise HybridCodecError("weight update names unknown parameters")
    present = [int(ix) for ix in np.flatnonzero(bitmap[:n_params])]
    pos = 1 + nb
    if not present or len(payload) < pos + len(present) + 4:
        raise HybridCodecError("truncated or empty weight-update chunk")
    codes = list(payload[pos : pos + len(present)])
    return present, codes, pos + len(present)


def decode(payload: bytes, shapes: dict[int, tuple[int, ...]]) -> dict[int, np.ndarray]:
    """Float32 deltas by parameter index from a version-3 chunk (``shapes``: the model's)."""
    import constriction

    present, codes, pos = _parse(payload, shapes)
    (n_words,) = struct.unpack_from(">I", payload, pos)
    pos += 4
    if len(payload) - pos != 4 * n_words or n_words == 0:
        raise HybridCodecError("corrupt weight-update chunk (length)")
    dec = constriction.stream.queue.RangeDecoder(
        np.frombuffer(payload, "<u4", n_words, pos).astype(np.uint32))
    Bern = constriction.stream.model.Bernoulli
    half = Bern(0.5, perfect=False)
    models: dict[int, object] = {}  # one Bernoulli model per probability seen (they repeat)

    def read(p: int | None) -> int:
        if p is None:
            return int(dec.decode(half))
        model = models.get(p)
        if model is None:
            model = models[p] = Bern(p / ONE, perfect=False)
        return int(dec.decode(model))

    kinds = {False: _Contexts(), True: _Contexts()}
    out = {}
    for ix, code in zip(present, codes):
        o, i, k = _grid(tuple(shapes[ix]))
        grid = _decode_grid((o, i, k), kinds[i * k > 1], read)
        out[ix] = (grid.astype(np.float32) * np.float32(code_step(code))).reshape(shapes[ix])
    return out


_SIG = (("s00", "s01"), ("s10", "s11"))
_GT = tuple(f"gt{m}" for m in range(1, N_UNARY + 1))


def _decode_grid(shape: tuple[int, int, int], ctx: _Contexts, read) -> np.ndarray:
    """The decoder's side of :func:`_bins` (plain lists and the contexts inlined: a 500-byte
    update is some 26k bins, and this loop is most of a file's extra decode time)."""
    o, i, k = shape
    conv = i * k > 1
    grid = [[[0] * k for _ in range(i)] for _ in range(o)]
    state = ctx.state
    fast, slow = SHIFTS
    lo, hi = P_MIN, ONE - P_MIN

    def bin_(name: str) -> int:  # ctx.p, read, ctx.update
        s = state.get(name)
        if s is None:
            s = state[name] = [ONE // 2, ONE // 2]
        p = (s[0] + s[1]) >> 1
        bit = read(lo if p < lo else hi if p > hi else p)
        target = bit << 16
        s[0] += (target - s[0]) >> fast
        s[1] += (target - s[1]) >> slow
        return bit

    prev_channel = 0
    zeros = [0] * k
    for oo in range(o):
        above_row = grid[oo - 1] if oo > 0 else None
        if conv:
            prev_channel = bin_("ch1" if prev_channel else "ch0")
            if not prev_channel:
                continue
        prev_kernel, prev_value = 1, 0
        row = grid[oo]
        for ii in range(i):
            if k > 1:
                prev_kernel = bin_("k1" if prev_kernel else "k0")
                if not prev_kernel:
                    continue
            kern = row[ii]
            up = above_row[ii] if above_row is not None else zeros
            for kk in range(k):
                v = 0
                if bin_(_SIG[prev_value != 0][up[kk] != 0]):
                    neg = bin_("sign")
                    m = 1
                    while m <= N_UNARY and bin_(_GT[m - 1]):
                        m += 1
                    if m > N_UNARY:
                        nbits = 0
                        while read(None):
                            nbits += 1
                            if nbits > MAX_PREFIX:
                                raise HybridCodecError("corrupt weight-update chunk (value)")
                        r1 = 1
                        for _ in range(nbits):
                            r1 = (r1 << 1) | read(None)
                        m = N_UNARY + r1  # r + 1 = r1, m = r + N_UNARY + 1
                    v = -m if neg else m
                kern[kk] = v
                prev_value = v
    return np.array(grid, np.int64).reshape(shape)


def describe(payload: bytes, shapes: dict[int, tuple[int, ...]]) -> dict:
    """Bytes, tensors and steps of a version-3 chunk, from its headers alone."""
    present, codes, pos = _parse(bytes(payload), shapes)
    return {"bytes": len(payload), "version": VERSION, "tensors": len(present),
            "steps": {ix: code_step(c) for ix, c in zip(present, codes)},
            "parameters": int(sum(np.prod(shapes[ix]) for ix in present)),
            "coded_bytes": len(payload) - pos - 4}
