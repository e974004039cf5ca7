"""Rate control (issue 14): the interpolating search finds what bisection finds, in fewer
encodes; ComCNN runs once or twice per target; the mode estimate only removes candidates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybridcodec import encoder as encoder_module
from hybridcodec.basecodecs import get_base
from hybridcodec.codec import encode_ex
from hybridcodec.errors import HybridCodecError
from hybridcodec.ratecontrol import _grid, search_quality

from .conftest import make_image


class FakeEncoder:
    """File size as a function of quality, counting the files made."""

    def __init__(self, base, size):
        self.base, self.size, self.calls = base, size, 0

    def file_at(self, q, update=None):
        self.calls += 1
        return range(self.size(q))  # only its length is read


def _exhaustive(base, size, target):
    step = 1.0 if base.integer_quality else 0.05
    grid = [_grid(base, base.quality_min + i * step)
            for i in range(int(round((base.quality_max - base.quality_min) / step)) + 1)]
    fits = [q for q in grid if size(q) <= target]
    return max(fits) if fits else None


@pytest.mark.parametrize("name,encoder", [("jpeg", "turbo"), ("jpeg", "jpegli"),
                                          ("jpeg2000", None)])
def test_search_finds_the_highest_fitting_quality(name, encoder):
    base = get_base(name, encoder)
    rng = np.random.default_rng(0)
    for trial in range(30):
        a = rng.uniform(1, 7) / (base.quality_max - base.quality_min)
        b = rng.uniform(200, 3000)
        wobble = rng.uniform(0, 0.02)  # small non-smooth steps, as real encoders make

        def size(q, a=a, b=b, wobble=wobble):
            return int(b * math.exp(a * (q - base.quality_min)) * (1 + wobble * math.sin(7 * q)))

        sizes = [size(q) for q in np.linspace(base.quality_min, base.quality_max, 400)]
        if sizes != sorted(sizes):
            continue  # the search assumes size grows with quality
        target = int(rng.uniform(size(base.quality_min), 1.3 * size(base.quality_max)))
        want = _exhaustive(base, size, target)
        enc = FakeEncoder(base, size)
        if want is None:
            with pytest.raises(HybridCodecError, match="below the smallest file"):
                search_quality(enc, target)
            continue
        got = search_quality(enc, target, guess=rng.uniform(base.quality_min, base.quality_max))
        assert got == want, (trial, got, want)
        assert enc.calls <= 16


def test_comcnn_runs_at_most_twice_per_encode(monkeypatch):
    calls = []
    real = encoder_module.compact_image

    def counted(model, *a, **k):
        calls.append(model.name)
        return real(model, *a, **k)

    monkeypatch.setattr(encoder_module, "compact_image", counted)
    img = make_image(96, 128, seed=4)
    for base, kw in (("jpeg", dict(bpp=1.0)), ("jpeg2000", dict(bpp=0.5)),
                     ("jpeg", dict(quality=30))):
        calls.clear()
        res = encode_ex(img, base=base, mode="compact", **kw)
        networks = [c for c in calls if c != "baseline"]  # the naive proxy costs no network
        assert 1 <= len(networks) <= 2, calls
        exact = encode_ex(img, base=base, mode="compact", rate_control="exact", **kw)
        assert abs(len(res.data) - len(exact.data)) <= max(64, 0.05 * len(exact.data))
    with pytest.raises(HybridCodecError, match="rate_control"):
        encode_ex(img, base="jpeg", rate_control="slow")


def test_mode_estimate_only_removes_candidates():
    """At a high quality the plain full-resolution decode leads the naive compact encoding by
    far: the compact candidate is skipped, and the choice is the one measuring all makes."""
    img = make_image(96, 128, seed=6)
    res = encode_ex(img, base="jpeg2000", quality=45, mode="auto")
    fig = res.decision["mode"]
    assert fig["estimate"]["skipped"] == "compact" and "compact" not in fig
    assert fig["estimate"]["plain_full_lead_db"] > 2.0
    full = encode_ex(img, base="jpeg2000", quality=45, mode="auto", rate_control="exact")
    assert "estimate" not in full.decision["mode"] and "compact" in full.decision["mode"]
    assert full.decision["mode"]["chosen"] == fig["chosen"] and full.data == res.data
