"""Settings of encode-time adaptation (Lam & Zare 2019; the fine-tuning itself is
``adaptation.py``, which needs torch). Plain data, so that the codec's API can take and check
them without importing torch."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import HybridCodecError

__all__ = ["AdaptConfig", "MIN_SECONDS"]

#: the least budget of an adaptation stage (seconds): loading torch and the network take ~2 s
MIN_SECONDS = 3.0


@dataclass(frozen=True)
class AdaptConfig:
    """Settings of one adaptation run. ``subset``: ``all``, ``last<k>`` (the last k conv layers),
    ``bias`` (all biases), ``gains`` (the gain vectors), or ``tail`` (= ``last1``).

    Time: ``seconds`` is the whole stage's budget (loading, fine-tuning(s), the keep decision);
    ``None`` (the default) scales it with the image, ``seconds_per_mp`` per megapixel and at
    least :data:`MIN_SECONDS` (:meth:`budget`). Rate: the fine-tuning's sparsity penalty is
    ``lambda_l1 + bits_per_step * slope`` per quantisation step of ``|update|``, where ``slope``
    is the base codec's own -dD/dR at the file's quality (squared error per bit), so the update
    is as sparse as its bits are dear at that rate and image size (Lam & Zare 2019 weigh it by a
    fixed lambda)."""

    # the recipe measured at equal size on held-out photos of 0.8-2.2 MP at 0.4 bpp with the
    # DeepCABAC-style coder (experiments/adapt/adapt_recipe.py, results/adapt_recipe_v3_summary
    # .csv): the last two layers, kept on 7/7 photos for each base, +0.104 dB JPEG / +0.037 dB
    # JPEG 2000 on 0.8-1.1 MP against +0.083 / +0.039 for the biases (the former default) and
    # +0.118 / +0.028 for last2 with bits at 0.3 per step (which loses on 2.2 MP mosaics);
    # 300 steps gain no more (+0.092 / +0.041, adapt_recipe_passes_summary.csv)
    subset: str = "last2"
    steps: int = 100
    seconds: float | None = None  # the whole stage; None: seconds_per_mp, >= MIN_SECONDS
    seconds_per_mp: float = 10.0
    bits_per_step: float = 1.0
    lr: float = 2e-3
    step: float = 3e-3  # quantisation step of the update (3e-3: same gain, ~20% fewer bytes)
    lambda_l1: float = 2.0
    lambda_q: float = 2.0
    crop: int = 48  # crop side on the compact image (the target crop is twice this)
    crops: int = 8
    seed: int = 0
    #: under a size target: 1 fine-tunes once, at the target's quality, and applies that
    #: update at the lower quality that leaves room for it; 2 fine-tunes again at that quality.
    #: Measured (adapt_recipe_passes_summary.csv): the same gain (+0.102 / +0.037 dB against
    #: +0.104 / +0.037 on 0.8-1.1 MP) in 4.3 s/MP instead of 7.7
    passes: int = 1
    #: compact mode: Adam steps that refine ComCNN's compact image for this one image through
    #: RecCNN before the adaptation (issue 25, item 4: the codec in the forward pass, the
    #: identity in the backward, the compact image's rate proxy at ``refine_rate_weight`` times
    #: the codec's slope; no bits sent), kept only when it pays; 0: none. Measured on held-out
    #: 384 px crops (experiments/adapt/encode_side_compact.py, 30 steps, weight 10): the refined
    #: file lies above the plain curve at 8/10 JPEG and 8/11 JPEG 2000 points, +0.083 / +0.088 dB
    #: at equal rate where kept (BD-rate -1.3% / -1.8% kept everywhere), ~27-29 s per megapixel
    refine_steps: int = 0
    refine_lr: float = 1e-3
    refine_rate_weight: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.subset, str) or not re.fullmatch(r"all|bias|gains|tail|last\d+",
                                                                 self.subset):
            raise HybridCodecError(f"unknown parameter subset {self.subset!r} "
                                   "(all, last<k>, tail, bias, gains)")
        if self.passes not in (1, 2) or isinstance(self.passes, bool):
            raise HybridCodecError(f"adaptation passes must be 1 or 2, got {self.passes!r}")
        if isinstance(self.refine_steps, bool) or not isinstance(self.refine_steps, int) or \
                self.refine_steps < 0:
            raise HybridCodecError(f"refine_steps must be an integer >= 0, got "
                                   f"{self.refine_steps!r}")
        for name in ("steps", "crop", "crops"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HybridCodecError(f"adaptation {name} must be a positive integer, got {v!r}")
        for name in ("seconds", "seconds_per_mp", "lr", "step", "refine_lr"):
            v = getattr(self, name)
            if name == "seconds" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise HybridCodecError(f"adaptation {name} must be a positive number, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or \
                not 0 <= self.seed < 2**32:
            raise HybridCodecError(f"adaptation seed must be a whole number in [0, 2**32), "
                                   f"got {self.seed!r}")
        for name in ("lambda_l1", "lambda_q", "bits_per_step", "refine_rate_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
                raise HybridCodecError(f"adaptation {name} must be a number >= 0, got {v!r}")

    def budget(self, pixels: int) -> float:
        """The stage's budget in seconds for an image of ``pixels`` pixels."""
        if self.seconds is not None:
            return float(self.seconds)
        return max(MIN_SECONDS, self.seconds_per_mp * pixels / 1e6)
