"""JPEG enhancement: quality from the file, orientation, ICC, formats, batch CLI, errors."""

import io
import json
import subprocess
import sys

import cv2
import imagecodecs
import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec import HybridCodecError
from hybridcodec.enhance import enhance_jpeg_ex
from hybridcodec.nn.modelfile import save_model
from hybridcodec.nn.networks import HybridNet, NetConfig

from .conftest import make_image


@pytest.fixture
def identity_model(empty_weights):
    """A full-resolution model whose residual is zero: enhancement = the decoded JPEG."""
    net = HybridNet(NetConfig(0, 3, 8, True, (5.0, 95.0), scale=1))
    save_model(net, empty_weights / "full.pt", name="tiny-full", base="jpeg")
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": {"tiny-full": {"file": "full.pt"}}, "defaults": {"jpeg-full": "tiny-full"}}))
    return empty_weights


def _jpeg(img, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("kw", [dict(quality=30), dict(quality=30, subsampling=1),
                                dict(quality=60, progressive=True), dict(quality=90, subsampling=0)])
def test_identity_network_returns_the_decoded_jpeg(identity_model, kw):
    img = make_image(33, 45)
    data = _jpeg(img, **kw)
    res = enhance_jpeg_ex(data, project=False)
    assert res.quality == kw["quality"]
    assert np.array_equal(res.image, imagecodecs.jpeg8_decode(data))
    projected = hybridcodec.enhance_jpeg(data)  # projection keeps a consistent image close
    assert np.abs(projected.astype(int) - res.image.astype(int)).mean() < 1.0


def test_grayscale_restart_markers_and_paths(identity_model, tmp_path):
    gray = make_image(40, 24, channels=1)
    ok, enc = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 50,
                                          cv2.IMWRITE_JPEG_RST_INTERVAL, 1])
    path = tmp_path / "g.jpg"
    path.write_bytes(enc.tobytes())
    out = hybridcodec.enhance_jpeg(path, project=False)
    assert out.shape == (40, 24) and np.array_equal(out, imagecodecs.jpeg8_decode(enc.tobytes()))


def test_orientation_applied_and_icc_kept(identity_model):
    img = make_image(20, 36)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    icc = b"\x00" * 64 + b"fake-icc-profile"
    data = _jpeg(img, quality=80, exif=exif.tobytes(), icc_profile=icc)
    pil = hybridcodec.enhance_to_pil(data, project=False)
    assert pil.size == (20, 36)  # width x height after rotation
    assert pil.info["icc_profile"] == icc
    upright = np.rot90(imagecodecs.jpeg8_decode(data), 3)
    assert np.array_equal(np.asarray(pil), upright)


def test_errors(identity_model, tmp_path):
    with pytest.raises(HybridCodecError, match="not a JPEG"):
        hybridcodec.enhance_jpeg(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(HybridCodecError, match="cannot read"):
        hybridcodec.enhance_jpeg(tmp_path / "missing.jpg")
    with pytest.raises(HybridCodecError, match="not a full-resolution"):
        hybridcodec.enhance_jpeg(_jpeg(make_image(8, 8)), model="baseline")


def test_no_model_installed_falls_back_to_jpeglis_decoder(empty_weights):
    from hybridcodec.basecodecs import get_base

    data = _jpeg(make_image(24, 32, seed=4), quality=30)
    res = enhance_jpeg_ex(data, project=False)
    assert res.model == "baseline-full-jpegli"
    assert np.array_equal(res.image, get_base("jpeg").decode(data, decoder="jpegli"))


def test_the_network_reads_the_decoder_it_was_trained_on(identity_model):
    """A zero-residual network returns its input: the decode named by its input_decoder."""
    from hybridcodec.basecodecs import get_base

    data = _jpeg(make_image(24, 32, seed=5), quality=30)
    net = HybridNet(NetConfig(0, 3, 4, True, (5.0, 95.0), scale=1, s2d=2))
    for dec in ("turbo", "jpegli"):
        save_model(net, identity_model / f"{dec}.pt", name=f"id-{dec}", base="jpeg",
                   meta={"input_decoder": dec})
        out = enhance_jpeg_ex(data, model=str(identity_model / f"{dec}.pt"), project=False)
        assert np.array_equal(out.image, get_base("jpeg").decode(data, decoder=dec))


def test_cli_batch_folder_and_bad_file(identity_model, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        (src / f"p{i}.jpg").write_bytes(_jpeg(make_image(16, 16, seed=i), quality=40))
    (src / "broken.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    env_cmd = [sys.executable, "-m", "hybridcodec", "enhance", str(src), "-o", str(out)]
    r = subprocess.run(env_cmd, capture_output=True, timeout=600)
    assert r.returncode == 2 and b"broken.jpg" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["hybridcodec-manifest.jsonl", "p0.png", "p1.png"]
    r = subprocess.run([sys.executable, "-m", "hybridcodec", "enhance", "-", "-o", "-"],
                       input=(src / "p0.jpg").read_bytes(), capture_output=True, timeout=600)
    assert r.returncode == 0 and r.stdout[:4] == b"\x89PNG"


def test_profiles_pick_the_student_and_fall_back(identity_model):
    data = _jpeg(make_image(24, 32), quality=40)
    assert enhance_jpeg_ex(data, profile="fast").model == "tiny-full"  # no student: the network
    net = HybridNet(NetConfig(0, 3, 4, True, (5.0, 95.0), scale=1, s2d=2))
    save_model(net, identity_model / "fast.pt", name="tiny-full-fast", base="jpeg")
    man = json.loads((identity_model / "MANIFEST.json").read_text())
    man["models"]["tiny-full-fast"] = {"file": "fast.pt"}
    man["defaults"]["jpeg-full-fast"] = "tiny-full-fast"
    (identity_model / "MANIFEST.json").write_text(json.dumps(man))
    assert enhance_jpeg_ex(data, profile="fast").model == "tiny-full-fast"
    assert enhance_jpeg_ex(data).model == "tiny-full"  # enhancement defaults to best
    with pytest.raises(HybridCodecError, match="profile"):
        enhance_jpeg_ex(data, profile="quick")
