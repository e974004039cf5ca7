import numpy as np
import pytest

from hybridcodec import HybridCodecError
from hybridcodec.basecodecs import BASE_CODECS, base_by_id, get_base
from hybridcodec.metrics import psnr

from .conftest import make_image


def test_ids_never_change():
    assert {n: c.id for n, c in BASE_CODECS.items()} == {"jpeg": 1, "jpeg2000": 2}
    assert base_by_id(1).name == "jpeg" and base_by_id(2).name == "jpeg2000"
    with pytest.raises(HybridCodecError):
        base_by_id(9)
    with pytest.raises(HybridCodecError, match="unknown base codec"):
        get_base("webp")


@pytest.mark.parametrize("name", ["jpeg", "jpeg2000"])
def test_roundtrip_and_version(name):
    codec = get_base(name)
    assert codec.available()
    assert codec.version()
    img = make_image(48, 40)
    lo, hi = codec.encode(img, codec.anchors[0]), codec.encode(img, codec.anchors[-1])
    assert len(lo) < len(hi)
    dec_lo, dec_hi = codec.decode(lo), codec.decode(hi)
    assert dec_lo.shape == img.shape and dec_hi.dtype == np.uint8
    assert psnr(img, dec_hi) > psnr(img, dec_lo)
    g = make_image(9, 7, channels=1)
    assert codec.decode(codec.encode(g, 50 if name == "jpeg" else 40)).shape == g.shape


def test_jpeg_subsampling_option():
    codec = get_base("jpeg")
    img = make_image(64, 64)
    assert len(codec.encode(img, 80, subsampling="444")) > len(codec.encode(img, 80))
    with pytest.raises(HybridCodecError, match="subsampling"):
        codec.encode(img, 80, subsampling="411")


@pytest.mark.parametrize("name,bad", [("jpeg", 0), ("jpeg", 101), ("jpeg2000", 5),
                                      ("jpeg2000", float("nan"))])
def test_quality_out_of_range(name, bad):
    with pytest.raises(HybridCodecError, match="quality"):
        get_base(name).encode(make_image(8, 8), bad)


def test_garbage_payload_is_our_error():
    with pytest.raises(HybridCodecError):
        get_base("jpeg").decode(b"\xff\xd8garbage")
    with pytest.raises(HybridCodecError):
        get_base("jpeg2000").decode(b"\xffO\xffQ" + b"\x00" * 10)
