"""Quality and rate metrics: PSNR (dB, RGB over the whole image) and Bjontegaard deltas.

BD-rate (Bjontegaard, VCEG-M33) uses piecewise-cubic (pchip) interpolation of log-rate as a
function of PSNR over the overlapping PSNR range, as in the anchors of ``shared/anchors``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "bd_rate", "bd_psnr", "psnr_at_rate"]


def sse(a: np.ndarray, b: np.ndarray, *, rows: int = 256) -> float:
    """Sum of squared differences of two same-shaped uint8 images (8-bit units), computed in
    strips of ``rows`` rows so that memory stays bounded at any image size (exact: integers)."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    total = 0
    for y in range(0, a.shape[0], rows):
        d = a[y : y + rows].astype(np.int32) - b[y : y + rows].astype(np.int32)
        d = d.ravel()
        total += int(np.dot(d.astype(np.int64), d))
    return float(total)


def psnr_from_sse(error: float, samples: int) -> float:
    """PSNR in dB of 8-bit data from its summed squared error over ``samples`` values."""
    return math.inf if error == 0 else 10 * math.log10(255.0**2 * samples / error)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (all channels and pixels pooled); inf if identical."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == np.uint8 and b.dtype == np.uint8:
        return psnr_from_sse(sse(a, b), a.size)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _sorted(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Sort a curve by x and drop repeated x (pchip needs strictly increasing x)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    keep = np.concatenate([[True], np.diff(x) > 1e-12])
    return x[keep], y[keep]


def psnr_at_rate(rate, quality, at: float) -> float:
    """PSNR of a curve at bpp ``at`` (pchip in log-rate); nan outside the curve's range."""
    from scipy.interpolate import PchipInterpolator

    lr, q = _sorted(np.log(rate), quality)
    x = math.log(at)
    if len(lr) < 2 or not lr[0] <= x <= lr[-1]:
        return math.nan
    return float(PchipInterpolator(lr, q)(x))


def _window(rate, quality, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    r, q = np.asarray(rate, float), np.asarray(quality, float)
    keep = (r >= lo) & (r <= hi)
    return r[keep], q[keep]


def bd_rate(rate_ref, psnr_ref, rate_test, psnr_test,
            rate_range: tuple[float, float] | None = None) -> float:
    """Average bitrate difference of ``test`` vs ``ref`` in percent at equal PSNR (negative:
    ``test`` needs fewer bits). ``rate_range`` (bpp) keeps only the points of both curves inside
    that window before the overlap is taken. nan when the curves do not overlap."""
    from scipy.interpolate import PchipInterpolator

    if rate_range is not None:  # keep the points inside the bpp window (as the anchors do)
        lo_r, hi_r = rate_range
        rate_ref, psnr_ref = _window(rate_ref, psnr_ref, lo_r, hi_r)
        rate_test, psnr_test = _window(rate_test, psnr_test, lo_r, hi_r)
    if len(rate_ref) < 2 or len(rate_test) < 2:
        return math.nan
    q1, lr1 = _sorted(psnr_ref, np.log(rate_ref))
    q2, lr2 = _sorted(psnr_test, np.log(rate_test))
    if len(q1) < 2 or len(q2) < 2:
        return math.nan
    lo, hi = max(q1[0], q2[0]), min(q1[-1], q2[-1])
    if hi - lo < 1e-6:
        return math.nan
    f1, f2 = PchipInterpolator(q1, lr1), PchipInterpolator(q2, lr2)
    avg = (f2.integrate(lo, hi) - f1.integrate(lo, hi)) / (hi - lo)
    return float((math.exp(avg) - 1) * 100)


def bd_psnr(rate_ref, psnr_ref, rate_test, psnr_test) -> float:
    """Average PSNR difference (dB) of ``test`` vs ``ref`` over the overlapping log-rate range."""
    from scipy.interpolate import PchipInterpolator

    lr1, q1 = _sorted(np.log(rate_ref), psnr_ref)
    lr2, q2 = _sorted(np.log(rate_test), psnr_test)
    if len(lr1) < 2 or len(lr2) < 2:
        return math.nan
    lo, hi = max(lr1[0], lr2[0]), min(lr1[-1], lr2[-1])
    if hi - lo < 1e-9:
        return math.nan
    f1, f2 = PchipInterpolator(lr1, q1), PchipInterpolator(lr2, q2)
    return float((f2.integrate(lo, hi) - f1.integrate(lo, hi)) / (hi - lo))
