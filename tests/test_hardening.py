"""Hardening (issue 12): threads, decompression bombs, one error class, file permissions, the
same input rules in the API, the CLI and the Pillow plugin, default quality, degenerate shapes."""

import io
import os
import stat
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec import HybridCodecError, container
from hybridcodec.training.adaptation import AdaptConfig
from hybridcodec.basecodecs import get_base
from hybridcodec.codec import encode_ex
from hybridcodec.enhance import enhance_jpeg
from hybridcodec.imageio import atomic_write, read_image

from .conftest import file_with_update, make_image

CMD = [sys.executable, "-m", "hybridcodec"]


def run(*args):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, timeout=600)


# --- threads -------------------------------------------------------------------------------

def test_decoding_with_an_update_is_thread_safe(tiny_model):
    img = make_image(96, 80)
    _, data, _ = file_with_update(tiny_model, img, subset="all", sigma=0.05)
    plain = container.pack(container.unpack(data).header,
                           [(container.CHUNK_BASE, container.unpack(data).get(container.CHUNK_BASE))])
    serial, serial_plain = hybridcodec.decode(data), hybridcodec.decode(plain)
    assert not np.array_equal(serial, serial_plain)  # the update matters
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda d: hybridcodec.decode(d), [data, plain] * 6))
    for i, out in enumerate(outs):
        assert np.array_equal(out, serial if i % 2 == 0 else serial_plain), i
    # the process is unchanged: the shared model still decodes as before
    assert np.array_equal(hybridcodec.decode(plain), serial_plain)
    assert np.array_equal(hybridcodec.decode(data), serial)


def test_encoding_and_enhance_are_thread_safe(tiny_model):
    imgs = [make_image(48, 40, seed=s) for s in range(4)]
    kw = dict(base="jpeg", quality=30, mode="compact")
    serial = [hybridcodec.encode(im, **kw) for im in imgs]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda im: hybridcodec.encode(im, **kw), imgs * 2)) == serial * 2
    jpeg = get_base("jpeg", "turbo").encode(imgs[0], 20)
    ref = enhance_jpeg(jpeg)
    with ThreadPoolExecutor(4) as pool:
        for out in pool.map(lambda _: enhance_jpeg(jpeg), range(6)):
            assert np.array_equal(out, ref)


# --- decompression bombs -----------------------------------------------------------------

def _with_sof_size(jpeg: bytes, width: int, height: int) -> bytes:
    i = next(i for i in range(2, len(jpeg)) if jpeg[i] == 0xFF and jpeg[i + 1] in (0xC0, 0xC2))
    return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]


def test_jpeg_bomb_is_refused_from_the_header_quickly():
    small = get_base("jpeg", "turbo").encode(make_image(16, 16), 50)
    bomb = _with_sof_size(small, 30000, 20000)
    t0 = time.monotonic()
    with pytest.raises(HybridCodecError, match="megapixels"):
        enhance_jpeg(bomb)
    assert time.monotonic() - t0 < 300  # a hang guard only (the check reads headers)
    with pytest.raises(HybridCodecError, match="cannot hold"):  # under the limit, but forged
        enhance_jpeg(_with_sof_size(small, 16000, 16000))
    with pytest.raises(HybridCodecError, match="megapixels"):
        enhance_jpeg(small, max_pixels=100)
    with pytest.raises(HybridCodecError, match="max_pixels"):
        enhance_jpeg(small, max_pixels=0)


def test_hyc_limits_and_payload_headers_are_checked_before_decoding():
    img = make_image(16, 24)
    data = hybridcodec.encode(img, base="jpeg", quality=50, mode="full", model="baseline-full")
    with pytest.raises(HybridCodecError, match="megapixels"):
        hybridcodec.decode(data, max_pixels=100)
    assert hybridcodec.decode(data, max_pixels=None).shape == img.shape
    c = container.unpack(data)
    big = _with_sof_size(c.get(container.CHUNK_BASE), 30000, 20000)
    forged = container.pack(c.header, [(container.CHUNK_BASE, big)])
    with pytest.raises(HybridCodecError, match="30000x20000"):
        hybridcodec.decode(forged)
    j2k = hybridcodec.encode(img, base="jpeg2000", quality=30, mode="full", model="baseline-full")
    c = container.unpack(j2k)
    p = bytearray(c.get(container.CHUNK_BASE))
    p[8:12] = struct.pack(">I", 40000)  # Xsiz
    forged = container.pack(c.header, [(container.CHUNK_BASE, bytes(p))])
    with pytest.raises(HybridCodecError, match="40000x"):
        hybridcodec.decode(forged)


def test_encode_and_read_image_have_the_limit(tmp_path):
    img = make_image(20, 30)
    with pytest.raises(HybridCodecError, match="megapixels"):
        hybridcodec.encode(img, max_pixels=500)
    p = tmp_path / "a.png"
    Image.fromarray(img).save(p)
    with pytest.raises(HybridCodecError, match="megapixels"):
        read_image(p, max_pixels=500)
    r = run("compress", p, tmp_path / "a.hyc", "--max-pixels", "500")
    assert r.returncode == 2 and b"megapixels" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# --- one error class -----------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: hybridcodec.check(None), lambda: hybridcodec.check("x"),
    lambda: enhance_jpeg(None), lambda: enhance_jpeg(12), lambda: hybridcodec.decode(12),
    lambda: hybridcodec.info(None), lambda: hybridcodec.encode("abc"),
    lambda: hybridcodec.encode([[1, 2], [3]]),
    lambda: hybridcodec.encode(make_image(8, 8), quality="high"),
    lambda: hybridcodec.encode(make_image(8, 8), bpp=True),
    lambda: hybridcodec.encode(make_image(8, 8), size=10.5),
    lambda: hybridcodec.encode(make_image(8, 8), base=None),
    lambda: hybridcodec.encode(make_image(8, 8), model=12),
    lambda: hybridcodec.encode(make_image(8, 8), adapt="yes"),
    lambda: hybridcodec.encode(make_image(8, 8), max_pixels=-1),
    lambda: hybridcodec.decode(b"\x89HYC", model=3),
])
def test_bad_arguments_raise_only_our_error(call):
    with pytest.raises(HybridCodecError) as e:
        call()
    assert "\n" not in str(e.value) and "internal error" not in str(e.value)


def test_cli_output_errors_are_one_line(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(make_image(16, 16)).save(p)
    (tmp_path / "folder").mkdir()
    for out in ("/sys/a.hyc", tmp_path / "folder", tmp_path / "no" / "a.hyc"):
        r = run("compress", p, out, "--force", "--quality", "30")
        assert r.returncode == 2, (out, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and b"Traceback" not in r.stderr


def test_batch_enhance_goes_on_after_a_bad_file(tmp_path):
    good = get_base("jpeg", "turbo").encode(make_image(24, 24), 30)
    (tmp_path / "a.jpg").write_bytes(good)
    i = good.index(b"\xff\xc0")
    (tmp_path / "b.jpg").write_bytes(good[: i + 4] + b"\x08\x00")  # short SOF
    (tmp_path / "c.jpg").write_bytes(good)
    out = tmp_path / "out"
    r = run("enhance", tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "c.jpg", "-o", out)
    assert r.returncode == 2 and b"b.jpg" in r.stderr and b"Traceback" not in r.stderr
    assert (out / "a.png").exists() and (out / "c.png").exists() and not (out / "b.png").exists()


# --- permissions -----------------------------------------------------------------------------

def test_outputs_get_the_umask_mode_and_force_keeps_the_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.bin", b"x")
        assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o644
        os.umask(0o077)
        atomic_write(tmp_path / "private.bin", b"x")
        assert stat.S_IMODE((tmp_path / "private.bin").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    existing = tmp_path / "existing.bin"
    existing.write_bytes(b"old")
    existing.chmod(0o640)
    atomic_write(existing, b"new", force=True)
    assert existing.read_bytes() == b"new" and stat.S_IMODE(existing.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.bin", "new.bin",
                                                          "private.bin"]


# --- the same rules everywhere ---------------------------------------------------------------

def test_sixteen_bit_rgb_is_refused_not_narrowed(tmp_path):
    import imagecodecs

    arr = (np.arange(8 * 8 * 3, dtype=np.uint16) * 300).reshape(8, 8, 3)
    p = tmp_path / "rgb16.png"
    p.write_bytes(imagecodecs.png_encode(arr))
    with pytest.raises(HybridCodecError, match="16"):
        read_image(p)
    r = run("compress", p, tmp_path / "a.hyc")
    assert r.returncode == 2 and b"16" in r.stderr


def test_fractional_quality_is_refused_where_it_would_be_rounded():
    img = make_image(16, 16)
    with pytest.raises(HybridCodecError, match="whole"):
        hybridcodec.encode(img, base="jpeg", quality=40.5, jpeg_encoder="turbo")
    res = encode_ex(img, base="jpeg", quality=40.5, mode="full", model="baseline-full")
    assert res.quality == 40.5  # jpegli takes fractions


def test_adaptation_options_are_validated(tmp_path):
    with pytest.raises(HybridCodecError, match="subset"):
        AdaptConfig(subset="foo")
    with pytest.raises(HybridCodecError, match="steps"):
        AdaptConfig(steps=0)
    p = tmp_path / "a.png"
    Image.fromarray(make_image(16, 16)).save(p)
    r = run("compress", p, tmp_path / "a.hyc", "--adapt-subset", "bias")
    assert r.returncode == 2 and b"--adapt" in r.stderr and not (tmp_path / "a.hyc").exists()
    r = run("compress", p, tmp_path / "a.hyc", "--adapt", "--adapt-subset", "foo")
    assert r.returncode == 2 and b"subset" in r.stderr


def test_lossless_jpeg_is_named():
    good = get_base("jpeg", "turbo").encode(make_image(16, 16), 50)
    i = good.index(b"\xff\xc0")
    lossless = good[: i + 1] + b"\xc3" + good[i + 2 :]
    with pytest.raises(HybridCodecError, match="lossless"):
        enhance_jpeg(lossless)


def test_pillow_plugin_refuses_transparency_like_the_cli():
    import hybridcodec.pillow  # noqa: F401

    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 100
    with pytest.raises(HybridCodecError, match="transparency"):
        Image.fromarray(rgba).save(io.BytesIO(), format="HYC")
    rgba[..., 3] = 255  # opaque alpha is dropped, as in the CLI
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="HYC", quality=30)
    assert Image.open(io.BytesIO(buf.getvalue())).mode == "RGB"


def test_adapt_true_means_the_default_adaptation(tiny_model):
    img = make_image(32, 32)
    res = encode_ex(img, base="jpeg", quality=50, mode="compact", adapt=True)
    assert "kept" in res.decision and res.decision["rule"] == "D + lambda*R"
    assert "kept" not in encode_ex(img, base="jpeg", quality=50, mode="compact",
                                   adapt=False).decision


# --- defaults and shapes ---------------------------------------------------------------------

@pytest.mark.parametrize("base,expected", [("jpeg", 75), ("jpeg2000", 34)])
def test_default_quality_looks_good(base, expected):
    res = encode_ex(make_image(32, 32), base=base, mode="full", model="baseline-full")
    assert res.quality == expected


@pytest.mark.parametrize("shape", [(1, 5000, 3), (5000, 1, 3), (1, 700), (3, 1)])
def test_degenerate_shapes_round_trip(shape):
    img = np.resize(make_image(8, 8), shape).astype(np.uint8)
    for base in ("jpeg", "jpeg2000"):
        assert hybridcodec.decode(hybridcodec.encode(img, base=base)).shape == img.shape


def test_help_says_the_default_quality():
    r = run("compress", "--help")
    assert r.returncode == 0
    text = b" ".join(r.stdout.split())
    assert b"quality 75 for JPEG, 34 dB for JPEG 2000" in text


def test_importing_the_package_or_asking_for_help_does_not_import_torch():
    code = ("import sys, hybridcodec, hybridcodec.cli; assert 'torch' not in sys.modules; "
            "hybridcodec.encode; assert 'torch' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with pytest.raises(AttributeError):
        hybridcodec.no_such_function  # noqa: B018


@pytest.mark.parametrize("shape", [(1, 65501), (65535, 1), (2, 65535, 3)])
def test_sides_above_libjpegs_limit_are_refused_before_the_encoder_runs(shape):
    """Issue 23: sides 65501-65535 crashed jpegli (SIGSEGV); libjpeg's limit is 65500."""
    img = np.zeros(shape, np.uint8)
    for mode in ("full", "compact", "auto"):
        with pytest.raises(hybridcodec.HybridCodecError, match="65500 pixels per side"):
            hybridcodec.encode(img, base="jpeg", quality=40, mode=mode)


@pytest.mark.parametrize("seed", [-1, 1.5, float("nan"), True])
def test_adaptation_seed_is_checked(seed):
    """Issue 23: these reached the 'internal error' fallback."""
    with pytest.raises(HybridCodecError, match="seed"):
        AdaptConfig(seed=seed)


def test_a_wrong_call_is_a_clear_error_not_an_internal_one():
    with pytest.raises(HybridCodecError, match="wrong call"):
        hybridcodec.encode(np.zeros((8, 8), np.uint8), "jpeg")
    with pytest.raises(HybridCodecError, match="bpp must be a positive number up to 64"):
        hybridcodec.encode(np.zeros((8, 8), np.uint8), base="jpeg", bpp=1e308)
