import io

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from hybridcodec import HybridCodecError
from hybridcodec.jpeginfo import STD_LUMA, estimate_quality, ijg_table, parse_jpeg

from .conftest import make_image


@pytest.mark.parametrize("quality", [1, 5, 10, 25, 50, 51, 75, 90, 100])
@pytest.mark.parametrize("subsampling", ["420", "422", "444"])
def test_quality_and_subsampling_of_libjpeg_files(quality, subsampling):
    data = imagecodecs.jpeg8_encode(make_image(24, 40), level=quality, subsampling=subsampling)
    info = parse_jpeg(data)
    assert info.quality == quality
    assert info.subsampling == subsampling
    assert (info.width, info.height, info.components) == (40, 24, 3)
    assert not info.progressive


def test_non_ijg_table_gets_a_fractional_quality():
    t = np.clip(ijg_table(30) * 1.1, 1, 255)
    q = estimate_quality(t)
    assert 25 < q < 30 and q != round(q)
    assert estimate_quality(STD_LUMA) == 50.0


def _pil_jpeg(**kw) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(make_image(16, 24))
    if kw.pop("gray", False):
        img = img.convert("L")
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def test_progressive_gray_exif_icc():
    assert parse_jpeg(_pil_jpeg(progressive=True, quality=70)).progressive
    gray = parse_jpeg(_pil_jpeg(gray=True, quality=40))
    assert gray.subsampling == "gray" and gray.quality == 40
    exif = Image.Exif()
    exif[0x0112] = 6
    assert parse_jpeg(_pil_jpeg(exif=exif.tobytes())).orientation == 6
    icc = bytes(range(256)) * 300  # longer than one APP2 segment
    assert parse_jpeg(_pil_jpeg(icc_profile=icc)).icc_profile == icc
    assert parse_jpeg(_pil_jpeg()).orientation == 1


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xdb\x00\x43\x00"])
def test_bad_jpeg_is_our_error(data):
    with pytest.raises(HybridCodecError):
        parse_jpeg(data)


def test_every_truncation_of_the_headers_is_handled():
    data = _pil_jpeg(quality=50)
    sos = data.index(b"\xff\xda")
    for n in range(sos):
        with pytest.raises(HybridCodecError):
            parse_jpeg(data[:n])
