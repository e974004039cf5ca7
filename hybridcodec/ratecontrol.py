"""Rate control: meeting a bpp / size target by search over the base codec's quality, and the
rate-distortion decision whether an encode-time weight-update (Lam & Zare 2019) pays its bits.

* With a quality, the update is kept when it lowers ``D + lambda * R`` (D: squared error summed
  over the image in 8-bit units; R: bits of the whole file), lambda being the base codec's own
  local slope -dD/dR measured at the neighbouring quality.
* With a target size, "base at the target" is compared against "base at a lower quality plus an
  update, at the same total size", and the better PSNR wins.

The codec mode (``auto``) is chosen the same way, at equal size: the compact (half-resolution)
and the full-resolution encodings are both rate-controlled to the target, or, with a quality, the
compact one to the size of the full-resolution file at that quality, and the better PSNR wins.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import HybridCodecError
from .metrics import psnr, psnr_from_sse, sse
from .weightcoding import decode_update, encode_update

if TYPE_CHECKING:
    from .adaptconfig import AdaptConfig
    from .pipeline import Encoder

__all__ = ["target_bytes", "search_quality", "adapt_and_decide", "choose_mode"]


def target_bytes(pixels: int, bpp: float | None, size: int | None) -> int | None:
    """The byte budget of a ``bpp`` or ``size`` target (None when neither is given)."""
    if bpp is not None:
        if not (math.isfinite(bpp) and bpp > 0):
            raise HybridCodecError(f"bpp must be a positive number, got {bpp!r}")
        return int(bpp * pixels / 8)
    if size is not None:
        if size <= 0:
            raise HybridCodecError(f"size must be a positive number of bytes, got {size!r}")
        return int(size)
    return None


def search_quality(enc: Encoder, target: int, update: bytes | None = None, *,
                   progress: Callable[[str], None] | None = None) -> float:
    """Highest quality whose whole file (with ``update``, if any) fits in ``target`` bytes, by
    bisection (file size grows with quality). Raises if the lowest quality does not fit."""
    base = enc.base
    lo, hi = base.quality_min, base.quality_max

    def fits(q: float) -> bool:
        n = len(enc.file_at(q, update))
        if progress:
            progress(f"rate control: quality {q:g} -> {n} bytes (target {target})")
        return n <= target

    if not fits(lo):
        raise HybridCodecError(
            f"target of {target} bytes is below the smallest file this base codec makes "
            f"({len(enc.file_at(lo, update))} bytes at quality {lo:g})")
    if fits(hi):
        return hi
    step = 1.0 if base.integer_quality else 0.05
    while hi - lo > step + 1e-9:  # invariant: lo fits, hi does not
        mid = (lo + hi) / 2
        mid = float(math.floor(mid)) if base.integer_quality else round(mid, 2)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _adapted_update(enc: Encoder, q: float, cfg: AdaptConfig, seconds: float,
                    say: Callable[[str], None]) -> tuple[bytes | None, dict | None, dict]:
    """Fine-tune at quality ``q``; returns (chunk payload, decoded deltas, stats)."""
    from .adaptation import adapt, parameter_shapes, to_tensor

    rec = enc.model.net.rec
    compact = to_tensor(enc.decoded_compact(q))
    deltas = adapt(rec, compact, enc.x, enc.condition(q), replace(cfg, seconds=seconds), say)
    payload, stats = encode_update(deltas, cfg.step)
    if stats.tensors == 0:
        return None, None, vars(stats)
    return payload, decode_update(payload, parameter_shapes(rec)), vars(stats)


def _slope(enc: Encoder, q: float, d0: float, bytes0: int) -> float:
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
                     ) -> tuple[bytes, float, dict]:
    """Adapt the decoder to the image and keep the update only when it pays.

    Returns (file bytes, quality used, decision figures)."""
    say = progress or (lambda s: None)
    f0 = enc.file_at(q)
    d0 = enc.sse(q)
    without = {"quality": q, "bytes": len(f0), "psnr": round(enc.psnr(q), 4)}
    if target is None:
        payload, deltas, stats = _adapted_update(enc, q, cfg, cfg.seconds, say)
        if payload is None:
            return f0, q, {"kept": False, "reason": "update quantised to zero", "without": without}
        f1 = enc.file_at(q, payload)
        d1 = sse(enc.image, enc.reconstruct(q, deltas))
        lam = _slope(enc, q, d0, len(f0))
        j0, j1 = d0 + lam * 8 * len(f0), d1 + lam * 8 * len(f1)
        keep = j1 < j0
        decision = {"kept": keep, "rule": "D + lambda*R", "lambda_sse_per_bit": lam,
                    "without": without, "update": stats,
                    "with": {"quality": q, "bytes": len(f1),
                             "psnr": round(psnr_from_sse(d1, enc.image.size), 4)}}
        say(_summary(decision))
        return (f1 if keep else f0), q, decision
    # target size: base at the target vs. base at a lower quality + update at the same size
    half = cfg.seconds / 2
    payload, _, _ = _adapted_update(enc, q, cfg, half, say)
    decision = {"kept": False, "rule": "equal size, better PSNR", "without": without}
    if payload is None:
        decision["reason"] = "update quantised to zero"
        return f0, q, decision
    try:
        q1 = search_quality(enc, target, payload)
        payload, deltas, stats = _adapted_update(enc, q1, cfg, half, say)
        if payload is None:
            decision["reason"] = "update quantised to zero"
            return f0, q, decision
        if len(enc.file_at(q1, payload)) > target:  # the re-trained update grew: step down
            q1 = search_quality(enc, target, payload)
    except HybridCodecError:
        decision["reason"] = "no lower quality leaves room for the update"
        return f0, q, decision
    f1 = enc.file_at(q1, payload)
    p1 = psnr(enc.image, enc.reconstruct(q1, deltas))
    decision.update({"kept": p1 > without["psnr"], "update": stats,
                     "with": {"quality": q1, "bytes": len(f1), "psnr": round(p1, 4)}})
    say(_summary(decision))
    return (f1, q1, decision) if decision["kept"] else (f0, q, decision)


def choose_mode(compact: Encoder, full: Encoder, quality: float | None, target: int | None,
                progress: Callable[[str], None] | None = None) -> tuple[Encoder, float, dict]:
    """Pick the codec mode for one image: the better PSNR at (at most) the same file size.

    With a ``target`` (bytes) both modes are rate-controlled to it; with a ``quality`` the
    full-resolution file at that quality sets the size (so ``--quality`` means what it means for
    the plain base codec) and the compact encoding gets the highest quality that fits in it.
    The full-resolution payload is also tried with the plain decoder (``baseline-full``: the
    decoded base image as is): the same codestream, so the classical codec is always a candidate
    and a network is only used where it helps this image.
    Returns (the chosen encoder, its quality, the figures of the candidates)."""
    say = progress or (lambda s: None)
    base = full.base
    if target is None:
        qf = base.check_quality(base.default_quality if quality is None else quality)
        target = len(full.file_at(qf))
        cands = {"full": qf}
    else:
        cands = {}
        try:
            cands["full"] = search_quality(full, target)
        except HybridCodecError:
            pass
    try:
        cands["compact"] = search_quality(compact, target)
    except HybridCodecError:
        if not cands:
            raise
    figures: dict = {"rule": "equal size, better PSNR", "target_bytes": target}
    encs = {"compact": compact, "full": full}
    if "full" in cands:
        for key, twin in plain_twins(full).items():
            if twin.model.name == full.model.name:
                continue
            q = cands["full"]
            if len(twin.file_at(q)) > target:  # a longer model name in the header
                try:
                    q = search_quality(twin, target)
                except HybridCodecError:
                    continue
            encs[key], cands[key] = twin, q
    for mode, q in cands.items():
        e = encs[mode]
        say(f"auto mode: trying {mode} at quality {q:g}")
        figures[mode] = {"quality": q, "bytes": len(e.file_at(q)),
                         "psnr": round(e.psnr(q), 4)}
    chosen = max(cands, key=lambda m: figures[m]["psnr"])
    figures["chosen"] = chosen
    say("auto mode: " + "; ".join(f"{m} q{figures[m]['quality']:g} {figures[m]['bytes']} B "
                                  f"{figures[m]['psnr']:.3f} dB" for m in cands)
        + f" -> {chosen}")
    return encs[chosen], cands[chosen], figures


def plain_twins(full: Encoder) -> dict[str, Encoder]:
    """The same full-resolution codestreams with the plain decoders: ``baseline-full``
    (libjpeg-turbo, or OpenJPEG) and, for JPEG, ``baseline-full-jpegli`` (jpegli's decoder,
    better on most files but not on mozjpeg's: measured per image here, so the decision never
    rests on who encoded)."""
    from .models import BASELINE_FULL, BASELINE_FULL_JPEGLI, get_model

    out = {"full-plain": full.twin(get_model(BASELINE_FULL))}
    if full.base.id == 1:
        out["full-plain-jpegli"] = full.twin(get_model(BASELINE_FULL_JPEGLI))
    return out


def choose_decoder(full: Encoder, q: float, progress: Callable[[str], None] | None = None,
                   ) -> tuple[Encoder, dict]:
    """Full-resolution mode: keep the network only if it beats the plain decoders on this image
    (the same codestream, so the classical codec is never lost). Returns (encoder, figures)."""
    encs = [*plain_twins(full).values(), full]
    figs = {e.model.name: {"bytes": len(e.file_at(q)),
                           "psnr": round(e.psnr(q), 4)}
            for e in encs}
    best = max(encs, key=lambda e: figs[e.model.name]["psnr"])  # ties: the plain decoder
    figs["chosen"] = best.model.name
    if progress:
        progress(f"full mode decoder: {figs}")
    return best, figs


def _summary(d: dict) -> str:
    w, a = d["without"], d["with"]
    verdict = "kept" if d["kept"] else "dropped"
    return (f"update {verdict} ({d['rule']}): without q{w['quality']:g} {w['bytes']} B "
            f"{w['psnr']:.3f} dB; with q{a['quality']:g} {a['bytes']} B {a['psnr']:.3f} dB")
