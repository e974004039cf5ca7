"""Rate control: meeting a bpp / size target by search over the base codec's quality, and the
rate-distortion decision whether an encode-time weight-update (Lam & Zare 2019) pays its bits.

* With a quality, the update is kept when it lowers ``D + lambda * R`` (D: squared error summed
  over the image in 8-bit units; R: bits of the whole file), lambda being the base codec's own
  local slope -dD/dR measured at the neighbouring quality.
* With a target size, "base at the target" is compared against "base at a lower quality plus an
  update, at the same total size", and the better PSNR wins.

The codec mode (``auto``) is chosen the same way, at equal size (``modes.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .decisions import AdaptDecision, Figures
from .errors import HybridCodecError
from .metrics import psnr, psnr_from_sse, sse
from .weightcoding import decode_update

if TYPE_CHECKING:
    from .adaptconfig import AdaptConfig
    from .encoder import Encoder

__all__ = ["target_bytes", "search_quality", "fit_compact", "naive_proxy", "guess_quality",
           "adapt_and_decide", "search_with_slope", "codec_slope"]


def target_bytes(pixels: int, bpp: float | None, size: int | None) -> int | None:
    """The byte budget of a ``bpp`` or ``size`` target (None when neither is given)."""
    if bpp is not None:
        if not (math.isfinite(bpp) and 0 < bpp <= 64):  # 64: beyond any 8-bit RGB codec
            raise HybridCodecError(f"bpp must be a positive number up to 64, got {bpp!r}")
        return int(bpp * pixels / 8)
    if size is not None:
        if not 0 < size < 1 << 40:
            raise HybridCodecError(f"size must be a positive number of bytes, got {size!r}")
        return int(size)
    return None


#: rough log-size slopes (per unit of quality) and anchor points of the base codecs, only used to
#: place the first probes of :func:`search_quality` (they change its speed, not its answer)
_PRIOR = {"jpeg": (0.035, 75.0, 1.4, 30.0), "jpeg2000": (0.17, 34.0, 0.9, 3.0)}


#: how far (quality units: JPEG quality, JPEG 2000 dB) the quality found may move from the one
#: ComCNN was conditioned on before ComCNN is run again at the new one (``fit_compact``)
PIN_TOLERANCE = {"jpeg": 1.0, "jpeg2000": 1.5}


def _grid(base, q: float) -> float:
    """``q`` clamped to the codec's range and rounded down to the search grid (whole numbers,
    or 0.05 dB steps for JPEG 2000)."""
    q = min(max(q, base.quality_min), base.quality_max)
    if base.integer_quality:
        return float(math.floor(q + 1e-9))
    return round(base.quality_min + math.floor((q - base.quality_min) / 0.05 + 1e-6) * 0.05, 2)


def guess_quality(base, bpp: float) -> float:
    """A first guess of the quality that gives ``bpp`` bits per pixel (from typical photos:
    JPEG about 30 quality steps, JPEG 2000 about 3 dB per doubling of the rate)."""
    _, q0, bpp0, per_doubling = _PRIOR.get(base.name, _PRIOR["jpeg"])
    return _grid(base, q0 + per_doubling * math.log2(max(bpp, 1e-6) / bpp0))


def search_quality(enc: Encoder, target: int, update: bytes | None = None, *,
                   guess: float | None = None, slope: float | None = None,
                   progress: Callable[[str], None] | None = None) -> float:
    """Highest quality on the search grid whose whole file (with ``update``, if any) fits in
    ``target`` bytes. File size grows with quality; the search interpolates log-size between the
    nearest known sizes (a secant, with a bisection step whenever the bracket fails to halve
    in three probes), starting at ``guess`` with the log-size ``slope`` per quality unit
    (default: a typical one): typically 3-6 encodes where bisection took 8-13. Raises if the
    lowest quality does not fit."""
    return search_with_slope(enc, target, update, guess, slope, progress)[0]


def search_with_slope(enc: Encoder, target: int, update: bytes | None, guess: float | None,
            slope0: float | None, progress: Callable[[str], None] | None,
            ) -> tuple[float, float | None]:
    """:func:`search_quality`, also returning the local log-size slope it measured.

    Each probe is placed by the secant through the two latest probes (log-size against
    quality), rounded to the grid *across* the estimate from the latest probe: up after a file
    that fits, down after one that does not, so that the target is bracketed within a step or
    two of the answer; a bisection step is taken when the bracket fails to halve in three."""
    base = enc.base
    step = 1.0 if base.integer_quality else 0.05
    qmin, qmax = base.quality_min, base.quality_max
    slope0 = slope0 or _PRIOR.get(base.name, _PRIOR["jpeg"])[0]
    sizes: dict[float, int] = {}
    order: list[float] = []
    lo: float | None = None  # highest quality known to fit
    hi: float | None = None  # lowest quality known not to fit

    def probe(q: float) -> None:
        nonlocal lo, hi
        n = sizes[q] = len(enc.file_at(q, update))
        order.append(q)
        if progress:
            progress(f"rate control: quality {q:g} -> {n} bytes (target {target})")
        if n <= target:
            lo = q if lo is None else max(lo, q)
        else:
            hi = q if hi is None else min(hi, q)

    def slope_between(q1: float, q2: float) -> float | None:
        n1, n2 = sizes[q1], sizes[q2]
        s = (math.log(n2) - math.log(n1)) / (q2 - q1) if q1 != q2 else 0.0
        return s if s > 1e-9 else None

    def ceil_grid(q: float) -> float:
        g = _grid(base, q)
        return g if g >= q - 1e-9 else _grid(base, g + step)

    probe(_grid(base, qmin + (qmax - qmin) / 2 if guess is None else guess))
    width, stalls = qmax - qmin, 0
    while True:
        if hi is None and lo == qmax:
            break
        if lo is None and hi == qmin:
            raise HybridCodecError(
                f"target of {target} bytes is below the smallest file this base codec makes "
                f"({sizes[qmin]} bytes at quality {qmin:g})")
        if lo is not None and hi is not None and hi - lo <= step + 1e-9:
            break
        last = order[-1]
        s = (slope_between(order[-2], last) if len(order) > 1 else None) or slope0
        est = last + (math.log(target) - math.log(sizes[last])) / s
        if lo is not None and hi is not None and stalls >= 3:  # slow progress: bisect
            q, stalls = _grid(base, (lo + hi) / 2), 0
        else:
            q = ceil_grid(est) if sizes[last] <= target else _grid(base, est)
        lower = _grid(base, qmin if lo is None else lo + step)
        upper = _grid(base, qmax if hi is None else hi - step)
        probe(min(max(q, lower), upper))
        if lo is not None and hi is not None:
            stalls = 0 if hi - lo <= width / 2 else stalls + 1
            width = hi - lo
    answer = qmax if hi is None else lo
    # the local slope, fitted over the probes within a few quality units of the answer (two
    # probes one grid step apart give a noisy one): the next search of a similar curve starts
    # from it (fit_compact)
    window = 2.0 if base.name == "jpeg2000" else 4.0
    near = [(q, math.log(n)) for q, n in sizes.items() if abs(q - answer) <= window + 1e-9]
    slope = None
    if len(near) >= 2:
        qs, ls = zip(*near)
        mq, ml = sum(qs) / len(qs), sum(ls) / len(ls)
        var = sum((q - mq) ** 2 for q in qs)
        if var > 0:
            slope = sum((q - mq) * (v - ml) for q, v in near) / var
            slope = slope if slope > 1e-9 else None
    return answer, slope


def naive_proxy(enc: Encoder, target: int, *, guess: float | None = None,
                ) -> tuple[Encoder, float | None, float | None]:
    """The naive compact encoding of the same image (area downsampling, bicubic upsampling: no
    network) rate-controlled to ``target``: a proxy that costs only base-codec encodes. Returns
    (its encoder, its quality or None where nothing fits, the local log-size slope)."""
    from .models import BASELINE, get_model

    proxy = enc.twin(get_model(BASELINE))
    proxy.pin(enc.base.quality_min)  # area downsampling: the same compact image at any quality
    try:
        q, slope = search_with_slope(proxy, target, None, guess, None, None)
    except HybridCodecError:
        return proxy, None, None
    return proxy, q, slope


def fit_compact(enc: Encoder, target: int, *, guess: float | None = None,
                start: tuple[float | None, float | None] | None = None,
                progress: Callable[[str], None] | None = None) -> float:
    """Rate control of a compact-mode encoder with ComCNN run once or twice: the quality is
    first found for the naive encoding (:func:`naive_proxy`, or ``start``: its quality and
    slope), ComCNN is pinned there (``Encoder.pin``) and the base codec alone is searched again
    from it; ComCNN is re-pinned only if the quality moved by more than a few steps (JPEG 3,
    JPEG 2000 0.5 dB: measured in ``experiments/speed/encode_speed.py``)."""
    if not enc.model.config.com_width:  # no ComCNN: nothing to pin
        return search_quality(enc, target, guess=guess, progress=progress)
    q0, slope = start if start is not None else naive_proxy(enc, target, guess=guess)[1:]
    if q0 is None:
        q0 = enc.base.quality_min
    tolerance = PIN_TOLERANCE.get(enc.base.name, 1.0)
    for _ in range(2):
        enc.pin(q0)
        q, slope = search_with_slope(enc, target, None, q0, slope, progress)
        if abs(q - q0) <= tolerance:
            break
        q0 = q
    return q


#: shares of the stage's budget (``AdaptConfig.budget``) by which the fine-tuning must end (from the start of
#: the adaptation stage, model loading included): the rest is the decision's (the reconstruction
#: with the update, the searches). Under a size target the budget holds two fine-tunings.
FINETUNE_UNTIL = 0.75
FIRST_FINETUNE_UNTIL = 0.35
_NO_TIME = "no time left in the adaptation budget (raise seconds)"
_NO_GAIN = "no quantised update pays its bits (D + lambda*R on the image's crops)"


def _adapted_update(enc: Encoder, q: float, cfg: AdaptConfig, until: float,
                    say: Callable[[str], None], slope: float,
                    ) -> tuple[bytes | None, dict | None, dict]:
    """Fine-tune at quality ``q`` until the monotonic time ``until``, the update's bits priced
    at ``slope`` (squared error per bit); returns (chunk payload, decoded deltas, stats;
    ``stats["out_of_time"]`` when no time was left to fine-tune)."""
    from . import nnccoding
    from .training.adaptation import adapt, choose_steps, parameter_shapes, to_tensor

    rec = enc.model.net.rec
    compact = to_tensor(enc.decoded_compact(q))
    seconds = until - time.monotonic()  # after loading torch and the network
    if seconds <= 0:
        return None, None, {"out_of_time": True}
    sensitivity: dict[int, float] = {}
    cond = enc.condition(q)
    # fitted to the decode that ships: through the model's low-frequency guard (full mode)
    guard = int(enc.model.meta.get("lowpass_guard", 0)) if enc.model.scale == 1 else 0
    deltas = adapt(rec, compact, enc.x, cond, replace(cfg, seconds=CHOOSE_SHARE * seconds), say,
                   slope=slope, sensitivity=sensitivity, guard=guard)
    values, codes = choose_steps(rec, compact, enc.x, cond, deltas, sensitivity, cfg, slope,
                                 until=until, guard=guard)
    if not values:
        return None, None, {"tensors": 0, "reason": _NO_GAIN}
    shapes = parameter_shapes(rec)
    payload = nnccoding.encode(values, codes, len(shapes))
    stats = {"tensors": len(values), "parameters": int(sum(v.size for v in values.values())),
             "nonzeros": int(sum((v != 0).sum() for v in values.values())),
             "bytes": len(payload), "steps": {i: nnccoding.code_step(c) for i, c in codes.items()}}
    return payload, decode_update(payload, shapes), stats


#: the share of a fine-tuning's time that trains; the rest chooses the quantisation steps
CHOOSE_SHARE = 0.85


def codec_slope(enc: Encoder, q: float, d0: float, bytes0: int) -> float:
    """The base codec's local -dD/dR (squared error per bit) next to quality ``q``."""
    base = enc.base
    delta = 5.0 if base.integer_quality else 1.0
    q2 = q + delta if q + delta <= base.quality_max else q - delta
    d2 = enc.sse(q2)
    bits = 8 * (len(enc.file_at(q2)) - bytes0)
    if bits == 0 or (d0 - d2) * bits <= 0:
        return math.inf if bits == 0 else abs(d0 - d2) / abs(bits)
    return (d0 - d2) / bits


def adapt_and_decide(enc: Encoder, q: float, target: int | None, cfg: AdaptConfig,
                     progress: Callable[[str], None] | None = None,
                     ) -> tuple[bytes, float, AdaptDecision]:
    """Adapt the decoder to the image and keep the update only when it pays.

    Returns (file bytes, quality used, the decision and its figures)."""
    say = progress or (lambda s: None)
    start = time.monotonic()  # the whole stage's budget (issue 25), scaled with the image
    h, w = enc.image.shape[:2]
    budget = cfg.budget(h * w)
    say(f"adapting the decoder to the image (budget {budget:.0f} s)")
    f0 = enc.file_at(q)
    d0 = enc.sse(q)
    without = Figures(q, len(f0), round(enc.psnr(q), 4))
    lam = codec_slope(enc, q, d0, len(f0))  # what a bit of the update costs at this rate

    def none_because(stats: dict) -> str:
        return _NO_TIME if stats.get("out_of_time") else stats.get("reason", _NO_GAIN)

    if target is None:
        rule = "D + lambda*R"
        payload, deltas, stats = _adapted_update(enc, q, cfg, start + FINETUNE_UNTIL * budget,
                                                 say, lam)
        if payload is None:
            return f0, q, AdaptDecision(False, rule, without, reason=none_because(stats))
        f1 = enc.file_at(q, payload)
        d1 = sse(enc.image, enc.reconstruct(q, deltas))
        j0, j1 = d0 + lam * 8 * len(f0), d1 + lam * 8 * len(f1)
        keep = j1 < j0
        decision = AdaptDecision(keep, rule, without,
                                 Figures(q, len(f1), round(psnr_from_sse(d1, enc.image.size), 4)),
                                 lambda_sse_per_bit=lam, update=stats)
        say(decision.summary())
        return (f1 if keep else f0), q, decision
    # target size: base at the target vs. base at a lower quality + update at the same size
    rule = "equal size, better PSNR"
    first_until = FIRST_FINETUNE_UNTIL if cfg.passes == 2 else FINETUNE_UNTIL
    payload, deltas, stats = _adapted_update(enc, q, cfg, start + first_until * budget, say, lam)
    if payload is None:
        return f0, q, AdaptDecision(False, rule, without, reason=none_because(stats))
    try:
        q1 = search_quality(enc, target, payload)
        if cfg.passes == 2:  # fine-tune again on the base codec's output at the lower quality
            payload, deltas, stats = _adapted_update(enc, q1, cfg,
                                                     start + FINETUNE_UNTIL * budget, say, lam)
            if payload is None:
                return f0, q, AdaptDecision(False, rule, without, reason=none_because(stats))
            # the re-trained update differs in size: the highest quality that fits with it (a
            # smaller update leaves room that the base codec takes back)
            q1 = search_quality(enc, target, payload, guess=q1)
    except HybridCodecError:
        return f0, q, AdaptDecision(False, rule, without,
                                    reason="no lower quality leaves room for the update")
    f1 = enc.file_at(q1, payload)
    p1 = psnr(enc.image, enc.reconstruct(q1, deltas))
    decision = AdaptDecision(p1 > without.psnr, rule, without, Figures(q1, len(f1), round(p1, 4)),
                             lambda_sse_per_bit=lam, update=stats)
    say(decision.summary())
    return (f1, q1, decision) if decision.kept else (f0, q, decision)
