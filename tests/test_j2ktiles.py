"""JPEG 2000 in tiles (big images in bounded memory): one standard codestream whose tiles,
decoded one by one, equal the whole decode by OpenJPEG and are read by Pillow."""

import io

import imagecodecs
import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec import HybridCodecError, container, j2ktiles
from hybridcodec.basecodecs import get_base

from .conftest import make_image


def _one(im):
    return bytes(imagecodecs.jpeg2k_encode(im, level=32, codecformat="j2k"))


@pytest.mark.parametrize("channels", [3, 1])
def test_tiles_make_one_standard_codestream(channels):
    img = make_image(300, 2400, channels=channels)
    tile = j2ktiles.tile_side(*img.shape[:2])
    assert tile == 2048
    cs = j2ktiles.encode_tiled(img, _one, tile)
    assert cs is not None and j2ktiles.is_split(cs)
    whole = imagecodecs.jpeg2k_decode(cs)  # OpenJPEG reads it as one image
    tiled = j2ktiles.decode_tiled(cs, imagecodecs.jpeg2k_decode, channels)
    assert np.array_equal(whole, tiled) and tiled.shape == img.shape
    assert np.array_equal(get_base("jpeg2000").decode(cs), whole)  # the codec's path: tiles
    pil = np.asarray(Image.open(io.BytesIO(cs)))  # a third-party decoder
    assert pil.shape == img.shape and np.abs(pil.astype(int) - whole).max() <= 1
    mse = np.mean((whole.astype(float) - img) ** 2)
    assert 10 * np.log10(255**2 / mse) > 30  # the PSNR target holds per tile


def test_tile_side_keeps_every_tile_at_least_256_pixels():
    assert j2ktiles.tile_side(8165, 12247) == 2048
    assert j2ktiles.tile_side(2048 + 100, 5000) == 4096  # 100-pixel edge tiles avoided
    assert j2ktiles.tile_side(12288 + 10, 3000) is None  # no side fits: coded whole


def test_damaged_tiled_codestreams_give_our_error():
    img = make_image(300, 2400)
    cs = j2ktiles.encode_tiled(img, _one, 2048)
    hdr = container.Header(2400, 300, 3, 2, "420", 32.0, "baseline-full", b"\x00" * 8, "full")
    assert hybridcodec.decode(container.pack(hdr, [(container.CHUNK_BASE, cs)])).shape == img.shape
    second = cs.index(b"\xff\x90", cs.index(b"\xff\x90") + 2)
    for bad in (cs[:second] + b"\xff\xd9", cs[:-100], cs[:second + 5] + b"\x07" + cs[second + 6:]):
        with pytest.raises(HybridCodecError):
            hybridcodec.decode(container.pack(hdr, [(container.CHUNK_BASE, bad)]))
