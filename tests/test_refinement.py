"""The compact image refined at encode time (issue 25, item 4; Jiang et al. 2017's auxiliary
variable for one image): kept only when it pays, honest figures, no bits sent."""

import dataclasses

import numpy as np
import pytest

import hybridcodec
from hybridcodec import HybridCodecError, container
from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.basecodecs import get_base
from hybridcodec.codec import encode_ex
from hybridcodec.encoder import Encoder
from hybridcodec.metrics import psnr
from hybridcodec.refinement import refine_and_decide

from .conftest import make_image

REFINE = AdaptConfig(subset="tail", steps=5, seconds=3600, crop=16, crops=2, refine_steps=12,
                     refine_lr=1e-3, refine_rate_weight=0.0)


def _encoder(model, img):
    return Encoder(img, get_base("jpeg", "turbo"), model, "420")


def _detailed(h: int, w: int) -> np.ndarray:
    """Detail that the untrained (bicubic) decoder loses and a better compact image restores;
    no noise, which no compact image can carry (the codec's error would then steer the
    straight-through gradient)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = [128 + 90 * np.sin(0.35 * x + 0.5 * k) * np.cos(0.28 * y + 0.2 * k) for k in range(3)]
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def test_refining_lowers_the_error_and_the_figures_are_the_files(tiny_model):
    img = _detailed(48, 64)
    enc = _encoder(tiny_model, img)
    plain = enc.file_at(90)
    d = refine_and_decide(enc, 90, None, REFINE)
    assert d.refined.psnr > d.without.psnr + 0.3  # the steps found a better compact image
    assert d.without.bytes == len(plain) and d.steps == 12 and d.seconds >= 0
    assert d.kept and d.rule == "D + lambda*R"
    data = enc.file_at(90)
    assert len(data) == d.refined.bytes and data != plain  # the file holds it ...
    assert psnr(img, hybridcodec.decode(data)) == pytest.approx(d.refined.psnr, abs=0.02)
    res = encode_ex(img, base="jpeg", quality=90, mode="compact", adapt=REFINE,
                    jpeg_encoder="turbo")  # ... and so does the encoder's
    assert res.decision["refine"]["kept"] and res.decision["refine"]["refined"]["psnr"] > \
        res.decision["refine"]["without"]["psnr"]


def test_a_gray_image_is_refined_as_one_plane(tiny_model):
    from hybridcodec.training.encodeside import refine_compact

    enc = _encoder(tiny_model, _detailed(48, 64)[..., 0])
    out = refine_compact(enc, 90, 0.0, REFINE)
    assert out.dtype == np.uint8 and out.shape == enc.compact(90).shape == (24, 32)
    assert not np.array_equal(out, enc.compact(90))


def test_a_refinement_that_does_not_pay_is_dropped(tiny_model, monkeypatch):
    from hybridcodec.training import encodeside

    img = make_image(48, 64, seed=4)
    enc = _encoder(tiny_model, img)
    plain = enc.file_at(40)
    rng = np.random.default_rng(0)
    monkeypatch.setattr(encodeside, "refine_compact", lambda e, q, s, c: rng.integers(
        0, 256, e.compact(q).shape, dtype=np.uint8))  # noise: worse and dearer
    d = refine_and_decide(enc, 40, None, REFINE)
    assert not d.kept and d.refined.psnr < d.without.psnr
    assert enc.file_at(40) == plain  # ComCNN's compact image is back


def test_under_a_size_target_a_kept_refinement_fits(tiny_model):
    img = make_image(64, 64, seed=2)
    for size in (900, 1600):
        res = encode_ex(img, base="jpeg", size=size, mode="compact", adapt=REFINE,
                        jpeg_encoder="turbo")
        r = res.decision["refine"]
        assert len(res.data) <= size and r["rule"] == "equal size, better PSNR"
        assert not r["kept"] or r["refined"]["bytes"] <= size
        assert hybridcodec.decode(res.data).shape == img.shape
        assert container.unpack(res.data).header.resolution == "compact"


def test_full_resolution_files_are_not_refined(empty_weights):
    import json

    import torch

    from hybridcodec.models import get_model
    from hybridcodec.nn.modelfile import save_model
    from hybridcodec.nn.networks import HybridNet, NetConfig

    torch.manual_seed(0)
    net = HybridNet(NetConfig(0, 2, 8, True, (5.0, 95.0), scale=1, s2d=2))
    save_model(net, empty_weights / "f.pt", name="tiny-full", base="jpeg")
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": {"tiny-full": {"file": "f.pt"}}, "defaults": {"jpeg-full": "tiny-full"}}))
    assert get_model("tiny-full").resolution == "full"
    res = encode_ex(make_image(32, 32), base="jpeg", quality=40, mode="full", adapt=REFINE,
                    jpeg_encoder="turbo")
    assert res.mode == "full" and "kept" in res.decision and "refine" not in res.decision


def test_replace_compact_checks_the_image_and_drops_what_it_invalidates(tiny_model):
    enc = _encoder(tiny_model, make_image(32, 48))
    before = enc.file_at(30)
    old = enc.replace_compact(30, np.zeros_like(enc.compact(30)))
    assert enc.file_at(30) != before
    enc.replace_compact(30, old)
    assert enc.file_at(30) == before
    with pytest.raises(HybridCodecError, match="compact image"):
        enc.replace_compact(30, np.zeros((3, 3, 3), np.uint8))


def test_refine_settings_are_checked():
    for bad in ({"refine_steps": -1}, {"refine_steps": True}, {"refine_lr": 0},
                {"refine_rate_weight": -1}):
        with pytest.raises(HybridCodecError, match="refine"):
            dataclasses.replace(AdaptConfig(), **bad)
