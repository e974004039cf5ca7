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


def test_a_class_per_codec_behind_one_interface():
    from hybridcodec.basecodecs import BaseCodec, Jpeg2000Codec, JpegCodec, base_by_id, get_base

    jpeg, j2k = get_base("jpeg"), get_base("jpeg2000")
    assert isinstance(jpeg, JpegCodec) and isinstance(j2k, Jpeg2000Codec)
    assert all(isinstance(c, BaseCodec) for c in (jpeg, j2k))
    assert base_by_id(1) is BASE_CODECS["jpeg"] and base_by_id(2) is BASE_CODECS["jpeg2000"]
    for bad in (0, 3, "1", None):
        with pytest.raises(HybridCodecError, match="unknown base codec id"):
            base_by_id(bad)
    assert jpeg.decoder_for("jpegli") == "jpegli" and j2k.decoder_for("jpegli") == "turbo"
    assert jpeg.subsampling_for("444") == "444" and j2k.subsampling_for("444") == "420"
    assert [c.with_encoder(None) is c for c in (j2k,)] == [True]
    assert [c.encoder for c in jpeg.encoders_for("turbo, jpegli")] == ["turbo", "jpegli"]
    assert j2k.encoders_for("turbo,jpegli") == [j2k]
    with pytest.raises(HybridCodecError, match="at least one"):
        jpeg.encoders_for(" , ")
    assert jpeg.quality_label(40) == "q40" and j2k.quality_label(32.5) == "32.5dB"
    assert jpeg.file_facts(2, "jpegli", "444") == {"encoder": "turbo", "subsampling": "444"}
    assert j2k.file_facts(3, "turbo", "420") == {"encoder": "openjpeg", "subsampling": "n/a"}
