import io

import numpy as np
from PIL import Image

import hybridcodec
import hybridcodec.pillow  # noqa: F401 - registers the plugin

from .conftest import make_image


def test_open_and_save(tmp_path):
    arr = make_image(30, 44)
    path = tmp_path / "x.hyc"
    Image.fromarray(arr).save(path, base="jpeg2000", quality=38)
    assert hybridcodec.info(path.read_bytes())["base"] == "jpeg2000"
    with Image.open(path) as im:
        assert im.format == "HYC" and im.size == (44, 30) and im.mode == "RGB"
        out = np.asarray(im)
    assert np.array_equal(out, hybridcodec.decode(path.read_bytes()))
    Image.fromarray(arr).save(path, base="jpeg", quality=50, codec_mode="full")
    assert hybridcodec.info(path.read_bytes())["mode"] == "full"


def test_grayscale_and_bpp_option():
    buf = io.BytesIO()
    Image.fromarray(make_image(32, 32, channels=1)).save(buf, format="HYC", base="jpeg", bpp=2.0)
    assert len(buf.getvalue()) * 8 / (32 * 32) <= 2.0
    im = Image.open(io.BytesIO(buf.getvalue()))
    assert im.mode == "L"
    im.load()
    assert np.asarray(im).shape == (32, 32)


def test_other_files_are_not_claimed():
    buf = io.BytesIO()
    Image.fromarray(make_image(8, 8)).save(buf, format="PNG")
    assert Image.open(io.BytesIO(buf.getvalue())).format == "PNG"
