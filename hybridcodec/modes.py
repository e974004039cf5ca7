"""The codec mode and the decoder of one image (``--mode auto`` / ``full``): the better PSNR at
(at most) the same file size, between the compact (half-resolution, Jiang et al. 2017) encoding,
the full-resolution one with its network, and the same full-resolution codestream with the plain
decoders (so the classical codec is always a candidate and a network is only used where it
helps this image).

A cheap estimate first (``auto``): the plain full-resolution decode and the naive compact
encoding (area down, base codec, bicubic up) cost only base-codec encodes and decodes. Where one
leads the other by more than a network can make up (:data:`SKIP_MARGIN_DB`, from
``experiments/rd/mode_estimate.py`` on the training photos), the losing mode's networks are not
run; otherwise both are, and the measured PSNRs decide. The decision always ends on measured
PSNRs of the candidates that remain (the estimate only removes candidates).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .decisions import DecoderDecision, Figures, ModeDecision
from .errors import HybridCodecError
from .ratecontrol import fit_compact, guess_quality, naive_proxy, search_quality

if TYPE_CHECKING:
    from .encoder import Encoder

__all__ = ["choose_mode", "choose_decoder", "plain_twins", "SKIP_MARGIN_DB"]

#: how far (dB) the plain full-resolution decode must lead the naive compact encoding for the
#: compact candidate to be skipped ("compact"), and the naive compact encoding lead the plain
#: full-resolution decode for the full-resolution network to be skipped ("full"). The largest
#: catch-up seen in ``experiments/results/mode_estimate.csv`` (training photos, both bases, the
#: bench's qualities) plus a 0.5 dB safety margin.
SKIP_MARGIN_DB = {"compact": 1.8, "full": 1.35}


def plain_twins(full: Encoder) -> dict[str, Encoder]:
    """The same full-resolution codestreams with the plain decoders: ``baseline-full``
    (libjpeg-turbo, or OpenJPEG) and, for JPEG, ``baseline-full-jpegli`` (jpegli's decoder,
    better on most files but not on mozjpeg's: measured per image here, so the decision never
    rests on who encoded)."""
    from .models import BASELINE_FULL, BASELINE_FULL_JPEGLI, get_model

    out = {"full-plain": full.twin(get_model(BASELINE_FULL))}
    if "jpegli" in full.base.decoders:
        out["full-plain-jpegli"] = full.twin(get_model(BASELINE_FULL_JPEGLI))
    return out


#: JPEG 2000: how much higher (dB) the naive half-size image's PSNR target is than the
#: full-resolution image's at the same file size, by bpp (medians on the training photos,
#: ``experiments/results/search_prior.csv``), and the full-resolution log-size slope per dB
#: (median). Only where the searches start: they change the number of encodes, not the answer.
_J2K_DELTA = ((0.05, 1.95), (0.1, 2.45), (0.25, 3.65), (0.5, 5.45), (1.0, 8.4))
_J2K_FULL_SLOPE = 0.31


def _j2k_delta(bpp: float) -> float:
    xs = [math.log2(b) for b, _ in _J2K_DELTA]
    return float(np.interp(math.log2(max(bpp, 1e-6)), xs, [d for _, d in _J2K_DELTA]))


def _compact_guess(base, target: int, pixels: int, full_quality: float | None) -> float:
    """Where the naive compact encoding's search starts: for JPEG 2000 with the full-resolution
    quality known, :data:`_J2K_DELTA` above it; else the prior at four times the bpp (a quarter
    of the pixels)."""
    if base.name == "jpeg2000" and full_quality is not None:
        return full_quality + _j2k_delta(8 * target / pixels)
    return guess_quality(base, 4 * 8 * target / pixels)


def choose_mode(compact: Encoder, full: Encoder, quality: float | None, target: int | None,
                progress: Callable[[str], None] | None = None, *, exact: bool = False,
                estimate: bool = True) -> tuple[Encoder, float, ModeDecision]:
    """Pick the codec mode for one image: the better PSNR at (at most) the same file size.

    With a ``target`` (bytes) both modes are rate-controlled to it; with a ``quality`` the
    full-resolution file at that quality sets the size (so ``--quality`` means what it means for
    the plain base codec) and the compact encoding gets the highest quality that fits in it.
    The compact candidate is rate-controlled by ``ratecontrol.fit_compact`` (ComCNN once or
    twice), or with ComCNN at every step of the search (``exact``, which also measures every
    candidate). ``estimate=False`` measures every candidate too (for experiments).
    Returns (the chosen encoder, its quality, the figures of the candidates)."""
    say = progress or (lambda s: None)
    base = full.base
    pixels = full.image.shape[0] * full.image.shape[1]
    if target is None:
        qf = base.snap_quality(base.default_quality if quality is None else quality)
        target = len(full.file_at(qf))
        cands = {"full": qf}
        proxy, qn, slope = naive_proxy(compact, target, guess=_compact_guess(base, target,
                                                                             pixels, qf))
    else:
        proxy, qn, slope = naive_proxy(compact, target,
                                       guess=_compact_guess(base, target, pixels, None))
        cands = {}
        guess, slope_f = guess_quality(base, 8 * target / pixels), None
        if base.name == "jpeg2000" and qn is not None:
            guess, slope_f = qn - _j2k_delta(8 * target / pixels), _J2K_FULL_SLOPE
        try:
            cands["full"] = search_quality(full, target, guess=guess, slope=slope_f)
        except HybridCodecError:
            pass
    estimated: dict | None = None
    encs = {"compact": compact, "full": full}
    if "full" in cands:
        for key, twin in plain_twins(full).items():
            if twin.model.name == full.model.name:
                continue
            q = cands["full"]
            if len(twin.file_at(q)) > target:  # a longer model name in the header
                try:
                    q = search_quality(twin, target, guess=q)
                except HybridCodecError:
                    continue
            encs[key], cands[key] = twin, q
    measured = {m: round(encs[m].psnr(q), 4) for m, q in cands.items() if m != "full"}
    skip = None
    if qn is not None and measured and estimate and not exact:
        naive = round(proxy.psnr(qn), 4)
        lead = max(measured.values()) - naive  # plain full-resolution over naive compact
        estimated = {"naive_compact_psnr": naive, "plain_full_lead_db": round(lead, 4)}
        if lead > SKIP_MARGIN_DB["compact"]:
            skip = "compact"
        elif -lead > SKIP_MARGIN_DB["full"] and full.model.has_rec:
            skip = "full"
        if skip:
            estimated["skipped"] = skip
            say(f"auto mode: the estimate leaves out {skip} (plain full-resolution decode "
                f"{lead:+.2f} dB against the naive compact encoding)")
    if skip != "compact":
        try:
            cands["compact"] = (search_quality(compact, target, guess=qn) if exact else
                                fit_compact(compact, target, start=(qn, slope)))
        except HybridCodecError:
            if not cands:
                raise
    if skip == "full":
        cands.pop("full", None)
    figures: dict[str, Figures] = {}
    for mode, q in cands.items():
        e = encs[mode]
        say(f"auto mode: trying {mode} at quality {q:g}")
        figures[mode] = Figures(q, len(e.file_at(q)), measured.get(mode) or round(e.psnr(q), 4))
    chosen = max(cands, key=lambda m: figures[m].psnr)
    say("auto mode: " + "; ".join(f"{m} q{f.quality:g} {f.bytes} B {f.psnr:.3f} dB"
                                  for m, f in figures.items()) + f" -> {chosen}")
    return encs[chosen], cands[chosen], ModeDecision(target, figures, chosen, estimated)


def choose_decoder(full: Encoder, q: float, progress: Callable[[str], None] | None = None,
                   ) -> tuple[Encoder, DecoderDecision]:
    """Full-resolution mode: keep the network only if it beats the plain decoders on this image
    (the same codestream, so the classical codec is never lost). Returns (encoder, figures)."""
    encs = [*plain_twins(full).values(), full]
    figs = {e.model.name: Figures(None, len(e.file_at(q)), round(e.psnr(q), 4)) for e in encs}
    best = max(encs, key=lambda e: figs[e.model.name].psnr)  # ties: the plain decoder
    decision = DecoderDecision(figs, best.model.name)
    if progress:
        progress(f"full mode decoder: {decision.as_dict()}")
    return best, decision
