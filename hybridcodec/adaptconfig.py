"""Settings of encode-time adaptation (Lam & Zare 2019; the fine-tuning itself is
``adaptation.py``, which needs torch). Plain data, so that the codec's API can take and check
them without importing torch."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import HybridCodecError

__all__ = ["AdaptConfig"]


@dataclass(frozen=True)
class AdaptConfig:
    """Settings of one adaptation run. ``subset``: ``all``, ``last<k>`` (the last k conv layers),
    ``bias`` (all biases), ``gains`` (the gain vectors), or ``tail`` (= ``last1``)."""

    subset: str = "bias"  # best PSNR gain per update bit in experiments/adapt/adaptation_sweep.py
    steps: int = 40
    seconds: float = 40.0  # the whole stage: loading, fine-tuning(s) and the keep decision
    lr: float = 2e-3
    step: float = 3e-3  # quantisation step of the update (3e-3: same gain, ~20% fewer bytes)
    lambda_l1: float = 2.0
    lambda_q: float = 2.0
    crop: int = 64  # crop side on the compact image (the target crop is twice this)
    crops: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.subset, str) or not re.fullmatch(r"all|bias|gains|tail|last\d+",
                                                                 self.subset):
            raise HybridCodecError(f"unknown parameter subset {self.subset!r} "
                                   "(all, last<k>, tail, bias, gains)")
        for name in ("steps", "crop", "crops"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HybridCodecError(f"adaptation {name} must be a positive integer, got {v!r}")
        for name in ("seconds", "lr", "step"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise HybridCodecError(f"adaptation {name} must be a positive number, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or \
                not 0 <= self.seed < 2**32:
            raise HybridCodecError(f"adaptation seed must be a whole number in [0, 2**32), "
                                   f"got {self.seed!r}")
        for name in ("lambda_l1", "lambda_q"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
                raise HybridCodecError(f"adaptation {name} must be a number >= 0, got {v!r}")
