"""The JPEG encoders (jpegli, mozjpeg, libjpeg-turbo) and decoders (libjpeg-turbo, jpegli) as the
JPEG base; what the networks are told comes from the payload; files of format version 2 decode."""

import sys

import imagecodecs
import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec import HybridCodecError, container
from hybridcodec.basecodecs import JPEG_ENCODERS, get_base, jpegli_distance
from hybridcodec.codec import Encoder, encode_ex, reconstruct
from hybridcodec.jpeginfo import parse_jpeg
from hybridcodec.metrics import psnr
from hybridcodec.models import get_model
from hybridcodec.nn.modelfile import save_model
from hybridcodec.nn.networks import HybridNet, NetConfig

from .conftest import make_image


@pytest.mark.parametrize("encoder", JPEG_ENCODERS)
def test_every_encoder_writes_a_standard_jpeg(encoder):
    codec = get_base("jpeg", encoder)
    img = make_image(40, 56, seed=1)
    sizes = []
    for q in (5, 30, 60, 90):
        data = codec.encode(img, q)
        for dec in (imagecodecs.jpeg8_decode(data), codec.decode(data, decoder="jpegli"),
                    np.asarray(Image.open(__import__("io").BytesIO(data)))):
            assert dec.shape == img.shape and dec.dtype == np.uint8
        sizes.append(len(data))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    gray = make_image(9, 11, channels=1)
    for dec in ("turbo", "jpegli"):
        assert codec.decode(codec.encode(gray, 50), decoder=dec).shape == gray.shape


def test_jpegli_quality_scale_follows_jpeglis_rule_and_reaches_distance_60():
    assert jpegli_distance(90) == pytest.approx(1.0)  # jpegli's own rule from 30 up
    assert jpegli_distance(30) == pytest.approx(6.4)
    assert jpegli_distance(1) == pytest.approx(60.0)
    qs = np.linspace(1, 100, 199)
    assert np.all(np.diff([jpegli_distance(q) for q in qs]) < 0)
    codec = get_base("jpeg", "jpegli")
    assert not codec.integer_quality and codec.check_quality(37.123) == 37.12
    assert get_base("jpeg", "turbo").check_quality(40.4) == 40


def test_unknown_or_missing_encoder_gives_one_line_naming_the_package(monkeypatch):
    with pytest.raises(HybridCodecError, match="jpegli, mozjpeg, turbo"):
        get_base("jpeg", "cjpeg")
    monkeypatch.setitem(sys.modules, "pyvips", None)  # as if not installed
    with pytest.raises(HybridCodecError, match=r"pyvips.*pip install pyvips pyvips-binary"):
        get_base("jpeg", "mozjpeg")
    assert get_base("jpeg2000", "mozjpeg").name == "jpeg2000"  # JPEG 2000 has one encoder


@pytest.mark.parametrize("encoder", JPEG_ENCODERS)
def test_rate_control_on_each_encoders_knob_never_exceeds_the_target(encoder):
    img = make_image(96, 128, seed=2)
    pixels = img.shape[0] * img.shape[1]
    for bpp in (0.6, 1.5):
        res = encode_ex(img, base="jpeg", bpp=bpp, mode="full", jpeg_encoder=encoder)
        assert 8 * len(res.data) / pixels <= bpp
        assert hybridcodec.info(res.data)["encoder"] == encoder  # recorded, information only
        payload = container.unpack(res.data).get(container.CHUNK_BASE)
        assert imagecodecs.jpeg8_decode(payload).shape == img.shape


def test_the_network_is_told_what_the_payload_says_not_the_header(empty_weights):
    """Two files with the same payload but different header qualities decode identically, and
    the quality used is the IJG estimate of the payload's tables."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = HybridNet(NetConfig(0, 3, 8, True, (5.0, 95.0), scale=1))
    with torch.no_grad():  # make the output depend on the quality through the gain units
        for p in net.rec.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_model(net, empty_weights / "q.pt", name="q-full", base="jpeg")
    model = get_model(str(empty_weights / "q.pt"))
    img = make_image(32, 48, seed=3)
    payload = get_base("jpeg", "mozjpeg").encode(img, 60)
    files = []
    for stored in (60, 7.5):
        hdr = container.Header(48, 32, 3, 1, "420", stored, model.name, model.digest, "full",
                               encoder="mozjpeg")
        files.append(container.pack(hdr, [(container.CHUNK_BASE, payload)]))
    a, b = (hybridcodec.decode(f, model=str(empty_weights / "q.pt")) for f in files)
    assert np.array_equal(a, b)
    told = parse_jpeg(payload).quality
    assert told != 60  # mozjpeg's table 3 at Q60 is not IJG's Q60
    expect = reconstruct(model, imagecodecs.jpeg8_decode(payload), told, 32, 48)
    assert np.array_equal(a, expect)
    assert not np.array_equal(a, reconstruct(model, imagecodecs.jpeg8_decode(payload), 60, 32, 48))


def test_encoder_side_conditioning_matches_the_payload():
    img = make_image(40, 40, seed=6)
    for enc in JPEG_ENCODERS:
        codec = get_base("jpeg", enc)
        for q in (3, 20, 50.5 if enc == "jpegli" else 50, 95):
            assert codec.table_quality(q) == parse_jpeg(codec.encode(img, q)).quality
    model = get_model("baseline")
    e = Encoder(img, get_base("jpeg", "jpegli"), model, "420")
    assert e.condition(40) == parse_jpeg(e.payload(40)).quality


def test_version_2_files_still_decode(empty_weights):
    """A file as written before the encoder flag (version 2, libjpeg-turbo payload, the header
    quality equal to the IJG quality of the tables) decodes as it did."""
    img = make_image(30, 44, seed=7)
    payload = get_base("jpeg", "turbo").encode(img, 35)
    hdr = container.Header(44, 30, 3, 1, "420", 35, "baseline-full", bytes(8), "full", version=2)
    v2 = container.pack(hdr, [(container.CHUNK_BASE, payload)])
    out = hybridcodec.decode(v2)
    assert np.array_equal(out, imagecodecs.jpeg8_decode(payload))
    info = hybridcodec.info(v2)
    assert info["format"] == ".hyc version 2" and info["encoder"] == "turbo"


def test_plain_decoders_are_both_candidates_and_the_choice_is_in_the_file(empty_weights):
    img = make_image(64, 80, seed=8)
    res = encode_ex(img, base="jpeg", quality=60, mode="full", jpeg_encoder="turbo")
    figs = res.decision["decoder"] if "decoder" in res.decision else None
    assert figs is None  # no network installed: the built-in plain decoder is used as given
    for model in ("baseline-full", "baseline-full-jpegli"):
        r = encode_ex(img, base="jpeg", quality=60, model=model, jpeg_encoder="turbo")
        out = hybridcodec.decode(r.data)
        payload = container.unpack(r.data).get(container.CHUNK_BASE)
        dec = "jpegli" if model.endswith("jpegli") else "turbo"
        assert np.array_equal(out, get_base("jpeg").decode(payload, decoder=dec))
    auto = encode_ex(img, base="jpeg", quality=60, mode="auto", jpeg_encoder="turbo")
    fig = auto.decision["mode"]
    assert fig["full"] and "full-plain-jpegli" in fig  # "full" is baseline-full itself here
    assert psnr(img, hybridcodec.decode(auto.data)) == pytest.approx(
        max(fig[m]["psnr"] for m in fig if isinstance(fig[m], dict) and "psnr" in fig[m]),
        abs=1e-3)


def test_pillow_and_cli_take_the_encoder(tmp_path):
    import subprocess

    import hybridcodec.pillow  # noqa: F401

    img = make_image(48, 64, seed=9)
    p = tmp_path / "x.hyc"
    Image.fromarray(img).save(p, base="jpeg", quality=50, jpeg_encoder="mozjpeg")
    assert hybridcodec.info(p.read_bytes())["encoder"] == "mozjpeg"
    src = tmp_path / "x.png"
    Image.fromarray(img).save(src)
    cmd = [sys.executable, "-m", "hybridcodec", "compress", str(src)]
    r = subprocess.run([*cmd, str(tmp_path / "t.hyc"), "--base", "jpeg", "--quality", "50",
                        "--jpeg-encoder", "turbo"], capture_output=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert hybridcodec.info((tmp_path / "t.hyc").read_bytes())["encoder"] == "turbo"
    r = subprocess.run([*cmd, str(tmp_path / "u.hyc"), "--base", "jpeg", "--jpeg-encoder", "x"],
                       capture_output=True, timeout=600)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "u.hyc").exists()
