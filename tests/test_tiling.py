"""Tiled inference equals untiled inference within rounding (no seams)."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from hybridcodec.codec import COM_MARGIN, compact_image, reconstruct
from hybridcodec.models import Model
from hybridcodec.nn.networks import HybridNet, NetConfig
from hybridcodec.tiling import run_tiled

from .conftest import make_image


@pytest.fixture
def model():
    torch.manual_seed(0)
    net = HybridNet(NetConfig(8, 4, 8, True, (5.0, 95.0)))
    with torch.no_grad():  # non-trivial residual and correction branches
        net.rec.tail.weight.normal_(0, 0.05)
        net.com.conv3.weight.normal_(0, 0.05)
    return Model.from_net("t", net.eval(), "jpeg")


def test_reconstruct_tiled_equals_untiled(model):
    compact = make_image(45, 70)
    whole = reconstruct(model, compact, 30, 90, 140, tile=10_000)
    tiled = reconstruct(model, compact, 30, 90, 140, tile=16)
    assert whole.shape == tiled.shape == (90, 140, 3)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


@pytest.mark.parametrize("s2d", [1, 2])
def test_full_resolution_tiled_equals_untiled(s2d):
    """Full-resolution models (plain and space-to-depth) at an odd size: no seams."""
    torch.manual_seed(1)
    net = HybridNet(NetConfig(0, 4, 8, True, (5.0, 95.0), scale=1, s2d=s2d))
    with torch.no_grad():
        net.rec.tail.weight.normal_(0, 0.1)
    m = Model.from_net("f", net.eval(), "jpeg")
    img = make_image(61, 83)
    whole = reconstruct(m, img, 30, 61, 83, tile=10_000)
    tiled = reconstruct(m, img, 30, 61, 83, tile=12)
    assert whole.shape == tiled.shape == (61, 83, 3)
    assert np.abs(whole.astype(int) - img.astype(int)).max() > 3  # the residual is not trivial
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_compact_tiled_equals_untiled(model):
    x = make_image(90, 132)
    whole = compact_image(model, x, 30, 3, tile=10_000)
    tiled = compact_image(model, x, 30, 3, tile=24)
    assert whole.shape == tiled.shape == (45, 66, 3)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_run_tiled_covers_every_pixel():
    x = np.random.default_rng(0).random((1, 3, 37, 53), dtype=np.float32)
    out = run_tiled(lambda t: t * 2, x, scale=Fraction(1), margin=COM_MARGIN, tile=8)
    np.testing.assert_array_equal(out, x * 2)


def test_decoder_modules_tiled_equals_untiled():
    torch.manual_seed(2)
    net = HybridNet(NetConfig(0, 4, 8, True, (5.0, 95.0), scale=1, s2d=2, hf_width=4,
                              feature_enh=True))
    with torch.no_grad():  # every branch active
        for p in (net.rec.tail.weight, net.rec.hf.conv3.weight, net.rec.fem.excite.weight,
                  net.rec.fem.spatial.weight):
            p.normal_(0, 0.1)
    m = Model.from_net("f", net.eval(), "jpeg")
    img = make_image(57, 70)
    whole = reconstruct(m, img, 30, 57, 70, tile=10_000)
    tiled = reconstruct(m, img, 30, 57, 70, tile=12)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1
