"""Quantisation-constraint projection: consistent with the JPEG file, and it repairs a blur."""

import io
from pathlib import Path

import cv2
import imagecodecs
import numpy as np
import pytest
from PIL import Image

from hybridcodec import HybridCodecError
from hybridcodec.imageio import read_image
from hybridcodec.metrics import psnr
from hybridcodec.quantconstraint import project

from .conftest import make_image

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "kodim23.png"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_image(SAMPLE)[100:260, 200:392]  # a 160x192 crop of the bundled sample


@pytest.mark.parametrize("subsampling", ["420", "444"])
def test_projection_repairs_a_blurred_decode(photo, subsampling):
    jpeg = imagecodecs.jpeg8_encode(photo, level=15, subsampling=subsampling)
    decoded = imagecodecs.jpeg8_decode(jpeg)
    blurred = cv2.GaussianBlur(decoded, (0, 0), 1.2)
    projected = project(blurred, jpeg)
    assert psnr(photo, projected) > psnr(photo, blurred) + 0.5
    # the decoded JPEG itself is (almost) consistent with its own file
    assert abs(psnr(photo, project(decoded, jpeg)) - psnr(photo, decoded)) < 0.2


@pytest.mark.parametrize("size", [(160, 192), (37, 51)])
def test_grayscale_and_odd_sizes(photo, size):
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[: size[0], : size[1]]
    jpeg = imagecodecs.jpeg8_encode(gray, level=20)
    blurred = cv2.GaussianBlur(imagecodecs.jpeg8_decode(jpeg), (0, 0), 1.2)
    out = project(blurred, jpeg)
    assert out.shape == gray.shape
    # a projection onto a convex set holding the original never moves away from it (up to
    # rounding and edge blocks); on the full crop it repairs the blur
    assert psnr(gray, out) > psnr(gray, blurred) - 0.05
    if size == (160, 192):
        assert psnr(gray, out) > psnr(gray, blurred) + 1.0


def test_size_mismatch_and_bad_jpeg(photo):
    jpeg = imagecodecs.jpeg8_encode(photo, level=15)
    with pytest.raises(HybridCodecError, match="JPEG is"):
        project(photo[:16], jpeg)
    with pytest.raises(HybridCodecError):
        project(photo, b"\xff\xd8not a jpeg")


@pytest.mark.parametrize("subsampling", [0, 2])  # Pillow: 0 = 4:4:4, 2 = 4:2:0
def test_strips_give_the_same_result(subsampling):
    img = make_image(83, 61, seed=7)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=20, subsampling=subsampling)
    noisy = np.clip(img.astype(int) + np.random.default_rng(0).integers(-9, 10, img.shape),
                    0, 255).astype(np.uint8)
    whole = project(noisy, buf.getvalue(), strip_rows=10_000)
    assert np.array_equal(project(noisy, buf.getvalue(), strip_rows=16), whole)
    assert np.array_equal(project(noisy, buf.getvalue(), strip_rows=40), whole)
