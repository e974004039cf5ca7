"""Inference without torch (issue 14): the exported networks against torch, on tiny images."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from hybridcodec import inference
from hybridcodec.errors import HybridCodecError
from hybridcodec.models import get_model, manifest, weights_dir
from hybridcodec.pipeline import compact_image, reconstruct

from .conftest import make_image

DEFAULTS = sorted(set(manifest()["defaults"].values()))


def _diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def test_every_installed_model_is_exported_with_matching_hashes():
    for name, entry in manifest()["models"].items():
        pt = weights_dir() / entry["file"]
        assert hashlib.sha256(pt.read_bytes()).hexdigest() == entry["sha256"], name
        block = entry["onnx"]
        assert block["max_diff_grey_levels"] <= 1
        for key in ("rec", "com"):
            if key in block:
                data = (weights_dir() / block[key]["file"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == block[key]["sha256"], (name, key)


@pytest.mark.parametrize("name", DEFAULTS)
def test_onnx_equals_torch_within_one_grey_level(name):
    m = get_model(name)
    onnx, torch_ = (inference.runner_for(m, backend=b) for b in ("onnx", "torch"))
    assert (onnx.backend, torch_.backend) == ("onnx", "torch")
    assert onnx.geometry == torch_.geometry
    img = make_image(44, 60, seed=3)
    gray = img.mean(2).astype(np.uint8)
    q = m.config.anchors[len(m.config.anchors) // 2] + 1.5  # between two anchors
    for src in (img, gray):
        inp = src[::2, ::2].copy() if m.scale == 2 else src
        a = reconstruct(m, inp, q, 44, 60, runner=onnx, tile=16)  # tiled
        b = reconstruct(m, inp, q, 44, 60, runner=torch_)
        assert _diff(a, b) <= 1
        if m.scale == 2:
            ch = 1 if src.ndim == 2 else 3
            assert _diff(compact_image(m, src, q, ch, runner=onnx),
                         compact_image(m, src, q, ch, runner=torch_)) <= 1


def test_weight_update_applied_to_the_exported_weights():
    m = get_model(manifest()["defaults"]["jpeg2000-full"])
    shapes = inference.update_shapes(m)
    names = inference.parameter_names(m)
    rng = np.random.default_rng(0)
    deltas = {i: rng.normal(0, 0.02, shapes[i]) for i, n in enumerate(names)
              if n.endswith(".bias")}
    img = make_image(40, 48, seed=5)
    plain = reconstruct(m, img, 30, 40, 48, runner=inference.runner_for(m, backend="onnx"))
    a = reconstruct(m, img, 30, 40, 48, runner=inference.runner_for(m, deltas, backend="onnx"))
    b = reconstruct(m, img, 30, 40, 48, runner=inference.runner_for(m, deltas, backend="torch"))
    assert _diff(a, b) <= 1 and _diff(a, plain) > 1  # the update changes the output
    with pytest.raises(HybridCodecError, match="does not have"):
        inference.runner_for(m, {len(names) + 3: np.zeros(3)}, backend="onnx").rec(
            np.zeros((1, 3, 8, 8), np.float32), 30.0)


def test_baselines_run_in_numpy_like_torch():
    import torch
    import torch.nn.functional as F

    x = np.random.default_rng(1).random((1, 3, 13, 18), dtype=np.float32)
    ref = F.interpolate(torch.from_numpy(x), scale_factor=2, mode="bicubic", align_corners=False)
    np.testing.assert_allclose(inference.bicubic_up(x), ref.numpy(), atol=1e-6)
    np.testing.assert_allclose(inference.area_down(x[..., :12, :18]),
                               F.avg_pool2d(torch.from_numpy(x[..., :12, :18]), 2).numpy(),
                               atol=1e-6)


def test_backend_variable_is_checked(monkeypatch):
    monkeypatch.setenv("HYBRIDCODEC_BACKEND", "cuda")
    with pytest.raises(HybridCodecError, match="HYBRIDCODEC_BACKEND"):
        inference.backend_choice()


def test_encode_decode_enhance_without_importing_torch(tmp_path):
    code = (
        "import sys, io, numpy as np, hybridcodec\n"
        "from PIL import Image\n"
        "from tests.conftest import make_image\n"
        "img = make_image(96, 128, seed=2)\n"
        "for base in ('jpeg', 'jpeg2000'):\n"
        "    data = hybridcodec.encode(img, base=base, bpp=1.5)\n"
        "    assert hybridcodec.decode(data).shape == img.shape\n"
        "buf = io.BytesIO(); Image.fromarray(img).save(buf, 'JPEG', quality=30)\n"
        "assert hybridcodec.enhance_jpeg(buf.getvalue()).shape == img.shape\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600,
                       cwd=str(weights_dir().parent))
    assert r.returncode == 0, r.stderr.decode()[-2000:]


def test_the_package_requires_onnxruntime_and_leaves_torch_to_the_train_extra():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(weights_dir().parent / "setup.cfg")
    names = lambda text: {line.split(">")[0].split("=")[0].split("<")[0].strip()  # noqa: E731
                          for line in text.splitlines() if line.strip()}
    required = names(cfg["options"]["install_requires"])
    assert "onnxruntime" in required and "torch" not in required
    assert "torch" in names(cfg["options.extras_require"]["train"])
