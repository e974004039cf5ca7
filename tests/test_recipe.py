"""Issue 13's training pieces on tiny tensors: the fixed validation split, the pool of crops coded
whole, the dB-equal loss weights, EMA, schedules, the rate proxies and the validator."""

import os

import numpy as np
import pytest
import torch

from hybridcodec import HybridCodecError
from hybridcodec.basecodecs import get_base
from hybridcodec.training.rateproxy import ijg_tables, j2k_rate_proxy, jpeg_rate_proxy
from hybridcodec.training.recipe import EMA, QualityWeights, lr_scale, reconstruction_loss
from hybridcodec.training.data import CodedPool, split_files

from .conftest import make_image


def _folders(tmp_path, names):
    from PIL import Image

    out = []
    for n in names:
        d = tmp_path / n
        d.mkdir()
        for i in range(5):
            Image.fromarray(make_image(40, 44, seed=i)).save(d / f"{n}{i}.png")
        out.append(str(d))
    return out


def test_validation_split_is_fixed_by_names(tmp_path):
    a, b = _folders(tmp_path, ["a", "b"])
    train, val = split_files(os.pathsep.join([a, b]), 3)
    assert len(val) == 3 and len(train) == 7 and not set(val) & set(train)
    assert split_files(os.pathsep.join([b, a]), 3)[1] == val  # the folders' order does not matter
    with pytest.raises(HybridCodecError, match="more than"):
        split_files(a, 5)


def test_pool_cuts_patches_from_crops_coded_whole():
    images = [make_image(60, 70, seed=i) for i in range(3)]
    calls = []

    def identity(crop):
        calls.append(crop.shape)
        return crop.copy(), 50.0

    pool = CodedPool(images, crop=(32, 48), size=4, refresh=1, scale=1, seed=0)
    x, dec, q = pool.batch(5, 16, identity)
    assert x.shape == dec.shape == (5, 3, 16, 16) and q == [50.0] * 5
    assert torch.equal(x, dec)  # patch and decoded patch come from the same place
    assert len(calls) == 5  # 4 to fill the pool, then 1 refreshed per batch
    assert all(32 <= h <= 48 and h % 2 == 0 and 32 <= w <= 48 for h, w, _ in calls)
    pool.batch(2, 16, identity)
    assert len(calls) == 6
    pool.clear()
    pool.batch(1, 16, identity)
    assert len(calls) == 11

    def half(crop):  # compact mode: the decoded image is half size
        h, w = crop.shape[:2]
        return crop.reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3)).astype(np.uint8), 30.0

    pool = CodedPool(images, crop=(32, 48), size=4, refresh=1, scale=2, seed=1)
    x, dec, _ = pool.batch(3, 16, half)
    assert dec.shape == (3, 3, 8, 8)
    area = torch.nn.functional.avg_pool2d(x, 2)
    assert (area - dec).abs().max() <= 1 / 255 + 1e-6  # flips/rotations applied to both


def test_quality_weights_count_every_quality_equally_in_db():
    qw = QualityWeights(0, 100, bins=2, momentum=1.0)
    per = torch.tensor([1e-2, 1e-2, 1e-3, 1e-3])
    w = qw.weights(per, [10, 20, 80, 90])
    assert (w * per).tolist() == pytest.approx([1.0] * 4)  # MSE in units of its quality's mean
    # the high-quality examples get ten times the weight: a 10 % lower MSE counts the same
    assert (w[2] / w[0]).item() == pytest.approx(10.0, rel=1e-5)
    qw.frozen = True  # phase (b): the yardstick does not move
    qw.weights(per * 100, [10, 20, 80, 90])
    assert qw.mean == pytest.approx([1e-2, 1e-3])
    out = torch.zeros(4, 3, 2, 2, requires_grad=True)
    loss = reconstruction_loss("db", out, torch.ones(4, 3, 2, 2), 0.3, [10, 20, 80, 90], qw)
    loss.backward()
    assert torch.isfinite(out.grad).all()
    assert reconstruction_loss("l1+db", out, torch.ones(4, 3, 2, 2), 0.3, [10] * 4, qw).item() \
        == pytest.approx(1.0)  # first half: L1
    with pytest.raises(HybridCodecError):
        reconstruction_loss("psnr", out, out, 0.0, [10] * 4, qw)


def test_ema_and_schedules():
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, 0.5)
    with torch.no_grad():
        net.weight.add_(1.0)
    before = ema.module.weight.clone()
    ema.update(net, step=100)
    assert torch.allclose(ema.module.weight, 0.5 * before + 0.5 * net.weight)
    assert lr_scale("cosine", 0) == 1 and lr_scale("cosine", 1) == pytest.approx(0.05)
    assert lr_scale("constant", 0.9) == 1 and lr_scale("step", 0.9) == pytest.approx(0.1)
    # a linear warm-up over the first steps, then the schedule itself
    assert lr_scale("constant", 0.0, step=0, warmup=4) == pytest.approx(0.25)
    assert lr_scale("cosine", 0.0, step=1, warmup=4) == pytest.approx(0.5)
    assert lr_scale("cosine", 1.0, step=3, warmup=4) == pytest.approx(0.05)
    assert lr_scale("step", 0.9, step=100, warmup=4) == pytest.approx(0.1)
    with pytest.raises(HybridCodecError):
        lr_scale("linear", 0.5)
    with pytest.raises(HybridCodecError):
        EMA(net, 1.0)


def test_ijg_tables_match_libjpeg():
    luma, chroma = ijg_tables(torch.tensor([50.0, 100.0, 10.0]))
    assert luma[0, :3].tolist() == [16, 11, 10] and chroma[0, 0] == 17  # quality 50: Annex K
    assert luma[1].max() == 1 and chroma[1].max() == 1
    assert luma[2, 0] == 80  # scale 500 %


@pytest.mark.parametrize("proxy,qs", [(jpeg_rate_proxy, (20.0, 80.0)),
                                      (j2k_rate_proxy, (28.0, 40.0))])
def test_rate_proxies_follow_the_codecs(proxy, qs):
    smooth = torch.from_numpy(make_image(32, 32)).permute(2, 0, 1)[None].float() / 255
    noisy = (smooth + 0.1 * torch.randn_like(smooth)).clamp(0, 1)
    x = torch.cat([smooth, noisy]).requires_grad_(True)
    low, high = proxy(x, torch.tensor([qs[0]] * 2)), proxy(x, torch.tensor([qs[1]] * 2))
    assert (high > low).all()  # a higher quality costs more
    assert (low[1] > low[0]).item()  # noise costs bits
    high.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0  # differentiable


def test_rate_proxy_tracks_real_sizes():
    base = get_base("jpeg")
    imgs = [make_image(32, 32, seed=s) for s in range(3)]
    imgs.append(np.full((32, 32, 3), 128, np.uint8))
    real, est = [], []
    for im in imgs:
        for q in (20, 60, 90):
            real.append(len(base.encode(im, q)))
            x = torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255
            est.append(jpeg_rate_proxy(x, torch.tensor([base.table_quality(q)])).item())
    assert np.corrcoef(real, est)[0, 1] > 0.9


def test_training_with_a_rate_term_and_its_rules(photos, tmp_path):
    from hybridcodec.training.trainer import TrainConfig, train

    cfg = dict(data=str(photos), base="jpeg", out=str(tmp_path / "r"), name="t", com_width=4,
               rec_depth=3, rec_width=4, patch=16, batch=2, rounds=1, steps=6, val_images=1,
               crop_min=32, crop_max=48, loss="db", rate_weight=0.5, ema=0.9)
    res = train(TrainConfig(**cfg))
    assert res["steps"] == 6 and np.isfinite(res["val_psnr"]["mean"])
    with pytest.raises(HybridCodecError, match="db loss"):
        train(TrainConfig(**{**cfg, "loss": "mse", "out": str(tmp_path / "m")}))
    with pytest.raises(HybridCodecError, match="crop"):
        train(TrainConfig(**{**cfg, "crop_min": 8, "out": str(tmp_path / "c")}))


def test_validator_reports_the_gain_of_full_mode():
    from hybridcodec.nn.networks import HybridNet, NetConfig
    from hybridcodec.training.validation import Validator

    base = get_base("jpeg").with_encoder("turbo")
    crops = torch.from_numpy(make_image(32, 32)).permute(2, 0, 1)[None].float() / 255
    net = HybridNet(NetConfig(0, 3, 4, anchors=base.anchors, scale=1))  # zero residual
    v = Validator(base, crops)(net)
    assert set(v) == {"q10", "q20", "q40", "q70", "q90", "mean", "gain"}
    assert v["gain"] == pytest.approx(0.0, abs=1e-3)  # starts as the plain decode
    v2 = Validator(get_base("jpeg2000"), crops)(HybridNet(NetConfig(4, 3, 4, anchors=(20.0, 45.0))))
    assert "24dB" in v2 and "gain" not in v2
