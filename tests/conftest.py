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


def file_with_update(model, img: np.ndarray, q: float = 20, *, subset: str = "tail",
                     sigma: float = 0.01, version: int = 3):
    """A JPEG .hyc file of ``img`` carrying a random weight-update of ``subset`` (N(0, sigma))
    in weight-update format ``version`` (3: what the encoder writes; 2: the former coder);
    returns (encoder, file bytes, update payload)."""
    from hybridcodec import nnccoding
    from hybridcodec.training.adaptation import select_parameters
    from hybridcodec.basecodecs import get_base
    from hybridcodec.encoder import Encoder
    from hybridcodec.weightcoding import encode_update

    enc = Encoder(img, get_base("jpeg"), model, "420")
    rec = model.net.rec
    rng = np.random.default_rng(0)
    chosen = select_parameters(rec, subset)
    deltas = {i: rng.normal(0, sigma, tuple(p.shape)) for i, (_, p) in
              enumerate(rec.named_parameters()) if i in chosen}
    if version == 3:
        code = nnccoding.step_code(0.002)
        values = {i: nnccoding.quantize(d, nnccoding.code_step(code)) for i, d in deltas.items()}
        payload = nnccoding.encode(values, {i: code for i in values},
                                   len(list(rec.parameters())))
    else:
        payload, _ = encode_update(deltas, 0.002)
    return enc, enc.file_at(q, payload), payload


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
def tiny_model(empty_weights):
    """A tiny untrained compact JPEG model, installed as the only (default) one."""
    import json

    import torch

    from hybridcodec.models import get_model

    from hybridcodec.nn.modelfile import save_model
    from hybridcodec.nn.networks import HybridNet, NetConfig

    torch.manual_seed(0)
    net = HybridNet(NetConfig(4, 3, 8, True, (5.0, 95.0)))
    save_model(net, empty_weights / "tiny.pt", name="tiny", base="jpeg")
    (empty_weights / "MANIFEST.json").write_text(
        json.dumps({"models": {"tiny": {"file": "tiny.pt"}}, "defaults": {"jpeg": "tiny"}}))
    return get_model("tiny")


@pytest.fixture
def empty_weights(tmp_path, monkeypatch):
    """A weights folder with no models installed (only the built-in baseline)."""
    d = tmp_path / "weights"
    d.mkdir()
    (d / "MANIFEST.json").write_text('{"models": {}, "defaults": {}}')
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS", str(d))
    return d
