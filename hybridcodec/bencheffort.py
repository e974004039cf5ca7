"""The benchmark's effort section (issue 25, item 5): the default encode at each ``--effort``
(``options.EFFORTS``) on the benchmark's images, both bases, rate-controlled to a few bpp
targets; BD-rate of each effort against effort 1 (pchip over the targets, per image, then the
mean) and encode seconds per megapixel, from the real file lengths and the real decoder."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import HybridCodecError
from .imageio import read_image
from .metrics import bd_rate, psnr
from .options import EFFORTS

__all__ = ["EFFORT_BPP", "EffortResult", "effort_table", "effort_lines", "write_effort"]

#: the bpp targets of the effort section (the range of the benchmark's auto window)
EFFORT_BPP = (0.25, 0.4, 0.6, 0.9)


@dataclass
class EffortResult:
    """One base and effort over the section's images."""

    base: str
    effort: int
    images: int = 0
    bd_rate_each: list[float] = field(default_factory=list)  # % vs effort 1, per image
    encode_seconds: float = 0.0
    megapixels: float = 0.0
    updates_kept: int = 0
    encodes: int = 0

    @property
    def bd_rate(self) -> float:
        """Mean BD-rate against effort 1 (%, negative = fewer bits)."""
        ok = [v for v in self.bd_rate_each if math.isfinite(v)]
        return float(np.mean(ok)) if ok else math.nan

    @property
    def seconds_per_mp(self) -> float:
        return self.encode_seconds / self.megapixels if self.megapixels else math.nan


def effort_table(files: Sequence[Path | str], efforts: Sequence[int], *,
                 bases: Sequence[str] = ("jpeg", "jpeg2000"),
                 bpps: Sequence[float] = EFFORT_BPP,
                 progress: Callable[[str], None] | None = None) -> list[EffortResult]:
    """Encode every image at every effort and bpp target; effort 1 is always measured (the
    reference)."""
    from .codec import decode, encode_ex

    say = progress or (lambda s: None)
    levels = sorted({1, *efforts})
    for e in levels:
        if e not in EFFORTS:
            raise HybridCodecError(f"effort must be one of {sorted(EFFORTS)}, got {e}")
    results = {(b, e): EffortResult(b, e) for b in bases for e in levels}
    for n, f in enumerate(files):
        image = read_image(f, rgb=True)
        mp = image.shape[0] * image.shape[1] / 1e6
        for b in bases:
            curves = {}
            for e in levels:
                res = results[(b, e)]
                rates, dbs = [], []
                for bpp in bpps:
                    t0 = time.perf_counter()
                    out = encode_ex(image, base=b, bpp=bpp, effort=e)
                    res.encode_seconds += time.perf_counter() - t0
                    res.megapixels += mp
                    res.encodes += 1
                    res.updates_kept += bool(out.decision.get("kept", False))
                    rates.append(8 * len(out.data) / (image.shape[0] * image.shape[1]))
                    dbs.append(psnr(image, decode(out.data)))
                curves[e] = (rates, dbs)
                res.images += 1
            for e in levels:
                results[(b, e)].bd_rate_each.append(
                    0.0 if e == 1 else bd_rate(*curves[1], *curves[e]))
        say(f"effort section [{n + 1}/{len(files)}]")
    return list(results.values())


def effort_lines(rows: Sequence[EffortResult], bpps: Sequence[float] = EFFORT_BPP) -> list[str]:
    """The section of the benchmark report (Markdown)."""
    lines = ["", "Encode effort (`--effort`): BD-rate against effort 1 (%, pchip over the bpp "
             f"targets {', '.join(map(str, bpps))} per image, then the mean) and encode "
             "seconds per megapixel:", "",
             "| base | effort | images | BD-rate vs effort 1 | encode s/MP | updates kept |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.base} | {r.effort} | {r.images} | {r.bd_rate:+.2f} | "
                     f"{r.seconds_per_mp:.1f} | {r.updates_kept}/{r.encodes} |")
    return lines


def write_effort(rows: Sequence[EffortResult], path: Path) -> None:
    """The section as CSV (one row per base and effort)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["base", "effort", "images", "bd_rate_percent_vs_effort1", "bd_rate_each",
                    "encode_seconds_per_mp", "updates_kept", "encodes"])
        for r in rows:
            w.writerow([r.base, r.effort, r.images, f"{r.bd_rate:.3f}",
                        " ".join(f"{v:.2f}" for v in r.bd_rate_each),
                        f"{r.seconds_per_mp:.2f}", r.updates_kept, r.encodes])
