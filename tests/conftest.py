"""Shared fixtures: tiny synthetic photos (no ../shared needed)."""

from __future__ import annotations

import numpy as np
import pytest


def make_image(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like uint8 image with some texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        f = 0.04 + 0.02 * c
        p = 128 + 70 * np.sin(f * x + 0.3 * c) * np.cos(0.7 * f * y) + 20 * rng.standard_normal((h, w))
        planes.append(p)
    img = np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)
    return img[:, :, 0] if channels == 1 else img


@pytest.fixture
def rgb64() -> np.ndarray:
    return make_image(64, 64)


@pytest.fixture
def gray() -> np.ndarray:
    return make_image(37, 29, channels=1, seed=3)


@pytest.fixture
def photos(tmp_path):
    """A folder of four small training photos (PNG)."""
    from PIL import Image

    d = tmp_path / "photos"
    d.mkdir()
    for i in range(4):
        Image.fromarray(make_image(64, 72, seed=i)).save(d / f"{i}.png")
    return d


@pytest.fixture
def empty_weights(tmp_path, monkeypatch):
    """A weights folder with no models installed (only the built-in baseline)."""
    d = tmp_path / "weights"
    d.mkdir()
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS", str(d))
    return d
