import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import hybridcodec
from hybridcodec import HybridCodecError, container
from hybridcodec.training.adaptation import AdaptConfig
from hybridcodec.codec import encode_ex
from hybridcodec.metrics import psnr
from hybridcodec.models import default_model_name, get_model
from hybridcodec.nn.modelfile import save_model
from hybridcodec.nn.networks import HybridNet, NetConfig

from .conftest import make_image


@pytest.mark.parametrize("base,quality", [("jpeg", 50), ("jpeg2000", 35)])
@pytest.mark.parametrize("shape", [(64, 64, 3), (37, 29), (1, 1, 3), (1, 1), (3, 8, 3), (33, 17, 3)])
def test_roundtrip_shapes(base, quality, shape):
    img = make_image(shape[0], shape[1], channels=shape[2] if len(shape) == 3 else 1)
    data = hybridcodec.encode(img, base=base, quality=quality)
    out = hybridcodec.decode(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert hybridcodec.check(data)
    info = hybridcodec.info(data)
    assert info["base"] == base and info["bytes"] == len(data)
    assert info["channels"] == ("L" if img.ndim == 2 else "RGB")
    assert info["mode"] in ("compact", "full")


def test_decode_is_deterministic(rgb64):
    data = hybridcodec.encode(rgb64, base="jpeg2000", quality=30)
    assert np.array_equal(hybridcodec.decode(data), hybridcodec.decode(data))


def test_quality_raises_psnr(rgb64):
    lo = hybridcodec.decode(hybridcodec.encode(rgb64, base="jpeg", quality=10))
    hi = hybridcodec.decode(hybridcodec.encode(rgb64, base="jpeg", quality=90))
    assert psnr(rgb64, hi) > psnr(rgb64, lo)


@pytest.mark.parametrize("mode", ["compact", "full"])
@pytest.mark.parametrize("base", ["jpeg", "jpeg2000"])
def test_rate_control_meets_targets_monotonically(base, mode):
    img = make_image(96, 128, seed=5)
    pixels = img.shape[0] * img.shape[1]
    sizes = []
    for bpp in (0.5, 0.8, 1.2, 2.0):  # jpegli's progressive headers: ~550 bytes at the least
        res = encode_ex(img, base=base, bpp=bpp, mode=mode)
        assert res.mode == mode and hybridcodec.info(res.data)["mode"] == mode
        assert len(res.data) * 8 / pixels <= bpp  # whole file, header included
        assert res.bpp == pytest.approx(8 * len(res.data) / pixels)
        sizes.append(len(res.data))
    assert sizes == sorted(sizes)
    assert sizes[-1] > sizes[0]
    by_size = hybridcodec.encode(img, base=base, size=sizes[2], mode=mode)
    assert len(by_size) <= sizes[2]


@pytest.mark.parametrize("base", ["jpeg", "jpeg2000"])
def test_auto_mode_keeps_the_better_psnr_at_equal_size(base, empty_weights):
    """With the built-in baselines: compact = area down + bicubic up, full = the decoded image."""
    img = make_image(64, 96, seed=3)
    for kw in (dict(bpp=1.0), dict(bpp=3.0), dict(quality=50 if base == "jpeg" else 35)):
        res = encode_ex(img, base=base, mode="auto", **kw)
        fig = res.decision["mode"]
        cands = [m for m in ("compact", "full", "full-plain", "full-plain-jpegli") if m in fig]
        assert ("full-plain-jpegli" in fig) == (base == "jpeg")  # both plain JPEG decoders
        assert fig["chosen"] == max(cands, key=lambda m: fig[m]["psnr"])
        assert res.mode == fig["chosen"].split("-")[0]
        assert all(fig[m]["bytes"] <= fig["target_bytes"] for m in cands)
        assert len(res.data) == fig[fig["chosen"]]["bytes"]
        assert hybridcodec.info(res.data)["mode"] == res.mode
        assert psnr(img, hybridcodec.decode(res.data)) == pytest.approx(
            fig[fig["chosen"]]["psnr"], abs=1e-3)
        if "quality" in kw:  # the full-resolution file at that quality sets the size
            assert fig["full"]["quality"] == kw["quality"]


def test_auto_mode_never_worse_than_the_plain_full_resolution_codec(empty_weights):
    """A full-resolution network that hurts is not used: the plain decoder is a candidate."""
    torch.manual_seed(0)
    net = HybridNet(NetConfig(0, 3, 8, True, (5.0, 95.0), scale=1))
    with torch.no_grad():
        net.rec.tail.bias.fill_(0.2)  # adds a constant: always worse than the decoded image
    save_model(net, empty_weights / "bad.pt", name="bad-full", base="jpeg")
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": {"bad-full": {"file": "bad.pt"}}, "defaults": {"jpeg-full": "bad-full"}}))
    img = make_image(48, 64, seed=9)
    res = encode_ex(img, base="jpeg", quality=90, mode="auto")
    fig = res.decision["mode"]
    assert fig["full-plain"]["psnr"] > fig["full"]["psnr"]
    assert fig["chosen"] in ("compact", "full-plain", "full-plain-jpegli")
    if fig["chosen"] != "compact":
        assert hybridcodec.info(res.data)["model"] == {"full-plain": "baseline-full",
                                                      "full-plain-jpegli": "baseline-full-jpegli"
                                                      }[fig["chosen"]]
    forced = encode_ex(img, base="jpeg", quality=90, mode="full", adapt=AdaptConfig(steps=2))
    chosen = forced.decision["decoder"]["chosen"]
    assert chosen in ("baseline-full", "baseline-full-jpegli") and forced.mode == "full"
    assert hybridcodec.info(forced.data)["model"] == chosen
    assert forced.decision["kept"] is False  # nothing to adapt in the plain decoder
    explicit = encode_ex(img, base="jpeg", quality=90, mode="full", model="bad-full")
    assert hybridcodec.info(explicit.data)["model"] == "bad-full"  # an explicit model is used


def test_mode_errors(rgb64, empty_weights):
    with pytest.raises(HybridCodecError, match="mode must be"):
        hybridcodec.encode(rgb64, base="jpeg", mode="half")
    with pytest.raises(HybridCodecError, match="compact-mode model"):
        hybridcodec.encode(rgb64, base="jpeg", mode="full", model="baseline")
    data = hybridcodec.encode(rgb64, base="jpeg", quality=50, mode="compact")
    c = container.unpack(data)
    flipped = container.pack(replace(c.header, resolution="full"), c.chunks)
    with pytest.raises(HybridCodecError, match="full mode but model"):
        hybridcodec.decode(flipped)


def test_unreachable_target_is_an_error(rgb64):
    with pytest.raises(HybridCodecError, match="below the smallest"):
        hybridcodec.encode(rgb64, base="jpeg", size=50)


@pytest.mark.parametrize("kw,msg", [
    (dict(quality=40, bpp=1.0), "only one"),
    (dict(bpp=-1.0), "positive"),
    (dict(size=0), "positive"),
    (dict(base="gif"), "unknown base"),
    (dict(quality=500), "quality"),
    (dict(subsampling="422"), "subsampling"),
    (dict(model="no-such-model"), "not installed"),
])
def test_bad_options(rgb64, kw, msg):
    with pytest.raises(HybridCodecError, match=msg):
        hybridcodec.encode(rgb64, **kw)


@pytest.mark.parametrize("arr,msg", [
    (np.zeros((8, 8, 4), np.uint8), "unsupported image shape"),
    (np.zeros((8, 8), np.uint16), "unsupported pixel type"),
    (np.zeros((8, 8, 3), np.float32), "unsupported pixel type"),
    (np.zeros((0, 8, 3), np.uint8), "empty"),
    (np.zeros(8, np.uint8), "unsupported image shape"),
])
def test_bad_arrays(arr, msg):
    with pytest.raises(HybridCodecError, match=msg):
        hybridcodec.encode(arr)


def test_file_needing_missing_model_names_it(rgb64, tmp_path, empty_weights):
    net = HybridNet(NetConfig(4, 2, 4, True, (5.0, 95.0)))
    path = tmp_path / "tiny.pt"
    save_model(net, path, name="tiny-test", base="jpeg")
    data = hybridcodec.encode(rgb64, base="jpeg", quality=50, model=str(path))
    hdr = container.unpack(data).header
    assert hdr.model_name == "tiny-test"
    assert hdr.model_digest == hashlib.sha256(path.read_bytes()).digest()[:8]
    with pytest.raises(HybridCodecError, match="tiny-test"):
        hybridcodec.decode(data)
    # installed under that name, it decodes; installed with other weights, it is refused
    (empty_weights / "tiny.pt").write_bytes(path.read_bytes())
    (empty_weights / "MANIFEST.json").write_text(
        json.dumps({"models": {"tiny-test": {"file": "tiny.pt"}}, "defaults": {}}))
    assert hybridcodec.decode(data).shape == rgb64.shape
    save_model(HybridNet(NetConfig(4, 2, 4, True, (5.0, 95.0))), empty_weights / "tiny.pt",
               name="tiny-test", base="jpeg", meta={"other": True})
    with pytest.raises(HybridCodecError, match="tiny-test.*not installed"):
        hybridcodec.decode(data)


def test_model_for_other_base_is_refused(rgb64, tmp_path):
    path = tmp_path / "j.pt"
    save_model(HybridNet(NetConfig(4, 2, 4, True, (5.0, 95.0))), path, name="j", base="jpeg")
    with pytest.raises(HybridCodecError, match="for base jpeg"):
        hybridcodec.encode(rgb64, base="jpeg2000", model=str(path))


@pytest.mark.parametrize("base", ["jpeg", "jpeg2000"])
def test_shipped_default_models_load(base):
    name = default_model_name(base)
    model = get_model(name)
    assert model.name == name
    assert model.base in (None, base)


def test_version_mentions_libraries():
    v = hybridcodec.version()
    assert "hybridcodec" in v and "jpeg" in v and "openjpeg" in v.lower()


def test_profiles_pick_the_student_and_fall_back(rgb64, empty_weights):
    for name, cfg in (("big", NetConfig(4, 4, 8, True, (5.0, 95.0))),
                      ("big-fast", NetConfig(4, 3, 4, True, (5.0, 95.0), s2d=2))):
        save_model(HybridNet(cfg), empty_weights / f"{name}.pt", name=name, base="jpeg")
    models = {n: {"file": f"{n}.pt"} for n in ("big", "big-fast")}
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": models, "defaults": {"jpeg": "big", "jpeg-fast": "big-fast"}}))
    fast = hybridcodec.encode(rgb64, base="jpeg", quality=50, mode="compact")
    best = hybridcodec.encode(rgb64, base="jpeg", quality=50, mode="compact", profile="best")
    assert hybridcodec.info(fast)["model"] == "big-fast"  # the default profile is fast
    assert hybridcodec.info(best)["model"] == "big"
    assert hybridcodec.decode(fast).shape == hybridcodec.decode(best).shape == rgb64.shape
    # no student for the full mode: fast falls back to best (here the built-in baseline)
    assert default_model_name("jpeg", "full", "fast") == "baseline-full"
    with pytest.raises(HybridCodecError, match="profile"):
        hybridcodec.encode(rgb64, base="jpeg", profile="quick")


def test_decode_takes_a_model_file_or_name(rgb64, tmp_path, empty_weights):
    path = tmp_path / "tiny.pt"
    save_model(HybridNet(NetConfig(4, 2, 4, True, (5.0, 95.0))), path, name="tiny-x",
               base="jpeg")
    data = hybridcodec.encode(rgb64, base="jpeg", quality=50, model=str(path))
    assert hybridcodec.decode(data, model=str(path)).shape == rgb64.shape  # a file
    (empty_weights / "t.pt").write_bytes(path.read_bytes())
    (empty_weights / "MANIFEST.json").write_text(
        json.dumps({"models": {"tiny-x": {"file": "t.pt"}}, "defaults": {}}))
    assert hybridcodec.decode(data, model="tiny-x").shape == rgb64.shape  # a registry name
    other = tmp_path / "other.pt"
    save_model(HybridNet(NetConfig(4, 2, 4, True, (5.0, 95.0))), other, name="tiny-x",
               base="jpeg", meta={"other": True})
    with pytest.raises(HybridCodecError, match="needs model 'tiny-x'"):
        hybridcodec.decode(data, model=str(other))


def test_an_installation_without_its_networks_is_never_silent(tmp_path, monkeypatch):
    """Issue 23: a wheel without the weights encoded with the baseline and said nothing."""
    import warnings as _w

    import imagecodecs

    from hybridcodec.errors import HybridCodecWarning

    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS", str(tmp_path / "nothing-here"))
    img = make_image(32, 48, seed=1)
    with pytest.raises(hybridcodec.HybridCodecError, match="force-reinstall"):
        hybridcodec.encode(img, base="jpeg", quality=50)
    data = hybridcodec.encode(img, base="jpeg", quality=50, model="baseline")  # when asked
    assert hybridcodec.info(data)["model"] == "baseline"
    jpg = imagecodecs.jpeg8_encode(img, level=40)
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always", HybridCodecWarning)
        hybridcodec.enhance_jpeg(jpg)
    assert len(caught) == 1 and "no networks are installed" in str(caught[0].message)
    assert "\n" not in str(caught[0].message)
