"""Whether the compact image refined for this image pays (issue 25, item 4; Jiang et al. 2017's
auxiliary variable at encode time, ``training.encodeside``): the file with ComCNN's compact
image against the file with the refined one at the same quality, by the rules of the
weight-update's decision (``ratecontrol.adapt_and_decide``): under a size target the refined
file must fit and reconstruct better; otherwise ``D + lambda*R`` with lambda the codec's own
slope at that quality. Needs torch (the ``train`` extra), as the adaptation does."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .adaptconfig import AdaptConfig
from .decisions import Figures, RefineDecision
from .encoder import Encoder
from .ratecontrol import codec_slope

__all__ = ["refine_and_decide"]


def refine_and_decide(enc: Encoder, quality: float, target: int | None, cfg: AdaptConfig,
                      progress: Callable[[str], None] | None = None) -> RefineDecision:
    """Refine ``enc``'s compact image at ``quality`` (``cfg.refine_steps`` steps) and keep it in
    ``enc`` only when it pays; the decision and its figures (bytes, dB)."""
    from .training.encodeside import refine_compact

    say = progress or (lambda s: None)
    say(f"refining the compact image ({cfg.refine_steps} steps)")
    f0 = enc.file_at(quality)
    d0 = enc.sse(quality)
    without = Figures(quality, len(f0), round(enc.psnr(quality), 4))
    lam = codec_slope(enc, quality, d0, len(f0))
    t0 = time.monotonic()
    refined = refine_compact(enc, quality, lam if math.isfinite(lam) else 0.0, cfg)
    seconds = time.monotonic() - t0
    old = enc.replace_compact(quality, refined)
    f1 = enc.file_at(quality)
    d1 = enc.sse(quality)
    if target is not None:
        rule = "equal size, better PSNR"
        keep = len(f1) <= target and d1 < d0
    elif math.isfinite(lam):
        rule = "D + lambda*R"
        keep = d1 + lam * 8 * len(f1) < d0 + lam * 8 * len(f0)
    else:  # the codec's rate did not move next to this quality: no price for a bit
        rule = "no larger, better PSNR"
        keep = len(f1) <= len(f0) and d1 < d0
    decision = RefineDecision(keep, rule, without,
                              Figures(quality, len(f1), round(enc.psnr(quality), 4)),
                              cfg.refine_steps, seconds)
    if not keep:
        enc.replace_compact(quality, old)
    say(decision.summary())
    return decision
