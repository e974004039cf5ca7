"""Hybrid files that are standard JPEG / JP2 / J2K files (issue 15)."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import imagecodecs
import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec import standard
from hybridcodec.basecodecs import get_base
from hybridcodec.codec import encode_ex
from hybridcodec.encoder import Encoder
from hybridcodec.errors import HybridCodecError, HybridCodecWarning
from hybridcodec.inference import parameter_names, update_shapes
from hybridcodec.models import default_model_name, get_model
from hybridcodec.weightcoding import encode_update

from .conftest import make_image

# tests that ask for compact-mode standard files on purpose: the viewers' half-size warning
pytestmark = pytest.mark.filterwarnings("ignore:a compact-mode .* file holds a half-size image")

IMG = make_image(64, 80, seed=7)
CASES = [("jpeg", "jpeg", 50), ("jpeg2000", "jp2", 32), ("jpeg2000", "j2k", 32)]


def _third_party(kind: str, data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data), formats=["JPEG" if kind == "jpeg" else "JPEG2000"]) as im:
        im.load()
        pil = (im.size[1], im.size[0])
    lib = imagecodecs.jpeg8_decode(data) if kind == "jpeg" else imagecodecs.jpeg2k_decode(data)
    assert lib.shape[:2] == pil
    return pil


def _with_update(base: str, mode: str, kind: str, q: float) -> tuple[bytes, bytes]:
    """(.hyc, standard file) of IMG with a random bias update of the default model of the mode."""
    model = get_model(default_model_name(base, mode, "fast"))
    names, shapes = parameter_names(model), update_shapes(model)
    rng = np.random.default_rng(1)
    deltas = {i: rng.normal(0, 0.01, shapes[i]) for i, n in enumerate(names)
              if n.endswith(".bias")}
    payload, _ = encode_update(deltas, 0.002)
    enc = Encoder(IMG, get_base(base), model, "420")
    hyc = enc.file_at(q, payload)
    enc.container = kind
    return hyc, enc.file_at(q, payload)


@pytest.mark.parametrize("base,kind,q", CASES)
@pytest.mark.parametrize("mode", ["compact", "full"])
def test_round_trip_both_modes_with_and_without_update(base, kind, q, mode):
    plain = encode_ex(IMG, base=base, quality=q, mode=mode)
    std = encode_ex(IMG, base=base, quality=q, mode=mode, container=kind)
    assert standard.sniff(std.data) == kind
    assert np.array_equal(hybridcodec.decode(std.data), hybridcodec.decode(plain.data))
    if kind != "jp2":  # JP2's boxes cost more; the .jpg and .j2k record is smaller than .hyc's
        assert len(std.data) - len(plain.data) <= 32
    shape = _third_party(kind, std.data)
    assert shape == ((32, 40) if mode == "compact" else (64, 80))
    info = hybridcodec.info(std.data)
    assert info["mode"] == mode and info["format"].startswith(f"standard {kind}")
    hyc, upd = _with_update(base, mode, kind, q)
    assert hybridcodec.info(upd)["update"] != "none"
    assert np.array_equal(hybridcodec.decode(upd), hybridcodec.decode(hyc))
    assert _third_party(kind, upd) == shape


def test_large_update_spans_several_segments():
    record = standard.pack_record(
        hybridcodec.container.Header(80, 64, 3, 1, "420", 50, "x", bytes(8), "full"),
        [(b"UPDT", bytes(range(256)) * 600)])
    jpeg = imagecodecs.jpeg8_encode(IMG, level=50)
    data = standard.wrap("jpeg", jpeg, record)
    assert data.count(b"\xff\xeb") >= 3 and standard.split(data).record == record
    assert imagecodecs.jpeg8_decode(data).shape == IMG.shape
    j2k = standard.wrap("j2k", imagecodecs.jpeg2k_encode(IMG, level=30, codecformat="j2k"),
                        record)
    assert standard.split(j2k).record == record and imagecodecs.jpeg2k_decode(j2k).shape == IMG.shape


def _hybrid_region(kind: str, data: bytes) -> range:
    """Byte positions of the hybrid segments / box."""
    if kind == "jp2":
        start = data.index(b"uuid") - 4
        return range(start, data.index(b"jp2c") - 4)
    start = 2 if kind == "jpeg" else data.index(b"\xff\x64")
    end = start
    while data[end : end + 2] in (b"\xff\xeb", b"\xff\x64"):
        end += 2 + int.from_bytes(data[end + 2 : end + 4], "big")
    return range(start, end)


def _outcome(data: bytes, good: np.ndarray) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HybridCodecWarning)
        try:
            out = hybridcodec.decode(data)
        except HybridCodecError:
            return "error"
    if caught:
        return "warned"
    assert out.shape == good.shape and np.array_equal(out, good), "silent wrong decode"
    return "same"


@pytest.mark.parametrize("base,kind,q", CASES)
def test_every_bit_flip_and_truncation_of_the_hybrid_data(base, kind, q):
    img = make_image(24, 32, seed=9)
    data = encode_ex(img, base=base, quality=q, mode="compact", container=kind).data
    good = hybridcodec.decode(data)
    region = _hybrid_region(kind, data)
    assert len(region) > 40
    seen = set()
    for pos in region:
        for bit in range(8):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            seen.add(_outcome(bytes(bad), good))
    for cut in [*region, region.stop + 1, len(data) // 2, len(data) - 1]:
        seen.add(_outcome(data[:cut], good))
    assert "warned" in seen and "error" in seen


def test_missing_model_decodes_the_plain_image_with_a_warning_or_fails_strict(tmp_path,
                                                                              monkeypatch):
    from hybridcodec.models import default_model_name

    net = default_model_name("jpeg", "full", "fast")  # named: the plain decoder may win on IMG
    data = encode_ex(IMG, base="jpeg", quality=50, model=net, container="jpeg").data
    empty = tmp_path / "w"
    empty.mkdir()
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS", str(empty))
    with pytest.warns(HybridCodecWarning, match="not installed"):
        out = hybridcodec.decode(data)
    assert np.array_equal(out, get_base("jpeg").decode(standard.split(data).payload))
    with pytest.raises(HybridCodecError, match="unusable"):
        hybridcodec.decode(data, strict=True)


def test_plain_jpeg_goes_through_enhance_and_plain_j2k_through_openjpeg():
    jpeg = imagecodecs.jpeg8_encode(IMG, level=40)
    assert np.array_equal(hybridcodec.decode(jpeg), hybridcodec.enhance_jpeg(jpeg))
    assert "no hybrid data" in hybridcodec.info(jpeg)["format"]
    j2k = imagecodecs.jpeg2k_encode(IMG, level=30, codecformat="j2k")
    assert np.array_equal(hybridcodec.decode(j2k), imagecodecs.jpeg2k_decode(j2k))
    with pytest.raises(HybridCodecError, match="holds base"):
        encode_ex(IMG, base="jpeg2000", container="jpeg")


def test_pillow_opens_hybrid_jpegs_and_saves_them():
    import hybridcodec.pillow  # noqa: F401

    buf = io.BytesIO()
    Image.fromarray(IMG).save(buf, "JPEG", hybrid=True, quality=50, codec_mode="full")
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "HYBRID-JPEG"
        assert np.array_equal(np.asarray(im), hybridcodec.decode(data))
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:  # the plain image on request
        assert im.format == "JPEG" and im.size == (80, 64)
    plain = io.BytesIO()
    Image.fromarray(IMG).save(plain, "JPEG", quality=50)  # Pillow's own writer, unchanged
    assert standard.split(plain.getvalue()).record is None
    with Image.open(plain) as im:
        assert im.format == "JPEG"


def test_cli_writes_standard_files_by_extension_and_strict_fails(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(IMG).save(src)
    cli = [sys.executable, "-m", "hybridcodec"]
    for name, kind in (("a.jpg", "jpeg"), ("b.jp2", "jp2"), ("c.j2k", "j2k"), ("d.hyc", "hyc")):
        r = subprocess.run(cli + ["compress", str(src), str(tmp_path / name), "--bpp", "2"],
                           capture_output=True, timeout=600)
        assert r.returncode == 0, r.stderr
        assert standard.sniff((tmp_path / name).read_bytes()) == kind
    data = bytearray((tmp_path / "a.jpg").read_bytes())
    data[12] ^= 0x40  # inside the record's header
    (tmp_path / "bad.jpg").write_bytes(bytes(data))
    r = subprocess.run(cli + ["decompress", str(tmp_path / "bad.jpg"), str(tmp_path / "o.png")],
                       capture_output=True, timeout=600)
    assert r.returncode == 0 and b"warning" in r.stderr and (tmp_path / "o.png").exists()
    r = subprocess.run(cli + ["decompress", str(tmp_path / "bad.jpg"), str(tmp_path / "p.png"),
                              "--strict"], capture_output=True, timeout=600)
    assert r.returncode == 2 and not (tmp_path / "p.png").exists()
    assert r.stderr.count(b"\n") == 1


@pytest.mark.parametrize("base,kind,q", CASES)
def test_overwritten_bytes_of_the_hybrid_data_are_never_a_silent_wrong_decode(base, kind, q):
    """Issue 23: one byte of the signature (``HYCJ``, the JP2 uuid) overwritten once decoded as
    the plain half-size image without a word, even under strict."""
    img = make_image(24, 32, seed=9)
    data = encode_ex(img, base=base, quality=q, mode="compact", container=kind).data
    good = hybridcodec.decode(data)
    region = _hybrid_region(kind, data)
    sig = data.find(standard.UUID if kind == "jp2" else standard.SIGNATURE)
    assert sig in region
    for pos in range(region.start, min(region.stop, region.start + 48)):
        for value in (0x00, 0xFF, 0x41, data[pos] ^ 0x5A):
            if value == data[pos]:
                continue
            bad = bytearray(data)
            bad[pos] = value
            _outcome(bytes(bad), good)  # asserts: warned, error or the very same image
            if sig <= pos < sig + 4:
                with pytest.raises(HybridCodecError):
                    hybridcodec.decode(bytes(bad), strict=True)


@pytest.mark.parametrize("base,kind,q", CASES)
def test_standard_files_keep_full_size_unless_compact_is_asked_for(base, kind, q):
    """Issue 23: auto mode put half-size images into .jpg files that viewers show as they are."""
    img = make_image(64, 96, seed=4)
    for kw in (dict(bpp=1.2), dict(quality=q)):
        res = encode_ex(img, base=base, container=kind, **kw)
        assert res.mode == "full" and _third_party(kind, res.data) == img.shape[:2]
    with pytest.warns(HybridCodecWarning, match="viewers show it at half size"):
        res = encode_ex(img, base=base, container=kind, mode="compact", quality=q)
    assert _third_party(kind, res.data) == (32, 48)


@pytest.mark.parametrize("base,kind,q", CASES[1:])
def test_pillow_opens_hybrid_jpeg2000_files_with_the_networks(base, kind, q):
    import hybridcodec.pillow  # noqa: F401 - registers the plugin

    img = make_image(48, 64, seed=5)
    data = encode_ex(img, base=base, container=kind, mode="compact", quality=q).data
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "HYBRID-JPEG2000" and im.size == (64, 48)
        assert np.array_equal(np.asarray(im), hybridcodec.decode(data))
    plain = imagecodecs.jpeg2k_encode(img, level=30, codecformat=kind)
    with Image.open(io.BytesIO(plain)) as im:
        assert im.format == "JPEG2000"
