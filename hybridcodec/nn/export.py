"""Export of a model's networks to ONNX (done when a model is registered; needs torch).

Each network becomes one graph (``runtime`` describes its inputs): RecCNN as ``<stem>.rec.onnx``
and, for a compact-mode model with a learned ComCNN, ComCNN as ``<stem>.com.onnx``, beside the
``.pt``. The export keeps every torch parameter as an initializer under its own name (no
constant folding, batch norm not fused into the convolutions: onnxruntime fuses them when it
loads the graph), so that a weight-update can be added to the exported weights at decode time.
Every export is checked against torch on a test image before it is listed; the largest
difference, in grey levels, is recorded in the manifest block.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from ..errors import HybridCodecError
from ..models import Model

__all__ = ["export_model", "to_onnx", "OPSET"]

OPSET = 17


def to_onnx(module, example: tuple) -> bytes:
    """``module`` as the ONNX graph a registered model ships (inputs ``x``, ``q``; every
    parameter an initializer under its own name; batch norm unfused)."""
    import torch

    buf = io.BytesIO()
    try:
        torch.onnx.export(
            module, example, buf, dynamo=False, opset_version=OPSET, input_names=["x", "q"],
            output_names=["y"], dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "oh", 3: "ow"}},
            do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds
        raise HybridCodecError(f"ONNX export failed: {exc}") from exc
    return buf.getvalue()


def _bicubic_as_conv(channels: int = 3):
    """2x bicubic upsampling (torch's, a = -0.75, edge replication) as a replicate pad, one
    grouped 5x5 convolution (the four output phases) and a pixel shuffle."""
    import torch
    import torch.nn.functional as F

    from ..inference import _EVEN, _ODD

    taps = [np.r_[_EVEN, 0.0], np.r_[0.0, _ODD]]  # 5 taps around each input pixel
    k = np.stack([np.outer(taps[i], taps[j]) for i in (0, 1) for j in (0, 1)])  # (4, 5, 5)
    weight = torch.from_numpy(np.tile(k, (channels, 1, 1))[:, None].astype(np.float32))

    def up(x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), weight, groups=channels)
        return F.pixel_shuffle(y, 2)
    return up


def _check_names(data: bytes, names: list[str]) -> None:
    """Every torch parameter must be an initializer of its own name (weight-updates)."""
    import onnx

    inits = {t.name for t in onnx.load_from_string(data).graph.initializer}
    missing = [n for n in names if n not in inits]
    if missing:
        raise HybridCodecError(f"the exported graph lost parameters {missing[:3]}")


def _write(data: bytes, path: Path) -> dict:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _max_diff(module, data: bytes, x, q: float) -> int:
    """Largest difference (grey levels) between torch and onnxruntime on ``x``."""
    import torch

    from .. import runtime

    sess = runtime.make_session(data, runtime.threads())
    with torch.no_grad():
        ref = module(x, torch.tensor([q])).clamp(0, 1).mul(255).round().numpy()
    got = np.rint(np.clip(runtime.run(sess, x.numpy(), q), 0, 1) * np.float32(255))
    return int(np.abs(ref.astype(np.int16) - got.astype(np.int16)).max())


def export_model(model: Model, folder: str | os.PathLike | None = None, *,
                 check_side: int = 96) -> dict:
    """Export ``model``'s networks beside its ``.pt`` (or into ``folder``); returns the manifest
    block (files with SHA-256, configuration, tiling geometry, RecCNN's parameter names and
    shapes, the check's largest difference in grey levels at three qualities)."""
    import torch

    from ..inference import torch_geometry

    if model.path is None:
        raise HybridCodecError("the built-in baselines have nothing to export")
    net = model.net
    out = Path(folder) if folder is not None else Path(model.path).parent
    stem = Path(model.path).stem
    anchors = net.config.anchors or (0.0,)
    qs = sorted({anchors[0], anchors[len(anchors) // 2], (anchors[0] + anchors[-1]) / 2})
    gen = torch.Generator().manual_seed(0)
    block: dict = {"opset": OPSET, "config": net.config.to_dict(),
                   "geometry": torch_geometry(net).to_dict(),
                   "params": [f"{n}:{','.join(map(str, p.shape))}"
                              for n, p in net.rec.named_parameters()],
                   "max_diff_grey_levels": 0}
    # what decoding needs besides the weights: the decode RecCNN reads, the low-frequency guard
    kept = {k: model.meta[k] for k in ("input_decoder", "lowpass_guard") if k in model.meta}
    if kept:
        block["meta"] = kept
    nets = []
    if model.has_rec:
        rec = net.rec
        if getattr(rec, "scale", 1) == 2 and hasattr(rec, "upsample"):
            rec = copy.deepcopy(rec)
            rec.upsample = _bicubic_as_conv()  # an instance attribute: the copy only
        nets.append(("rec", rec))
    if net.config.scale == 2 and net.config.com_width > 0:
        nets.append(("com", net.com))
    for key, module in nets:
        x = torch.rand(1, 3, check_side, check_side, generator=gen)
        data = to_onnx(module, (x, torch.tensor([float(qs[0])])))
        if key == "rec":
            _check_names(data, [n for n, _ in module.named_parameters()])
        diff = max(_max_diff(module, data, x, float(q)) for q in qs)
        if diff > 1:
            raise HybridCodecError(f"{model.name}: the exported {key} network differs from "
                                   f"torch by {diff} grey levels")
        block[key] = _write(data, out / f"{stem}.{key}.onnx")
        block["max_diff_grey_levels"] = max(block["max_diff_grey_levels"], diff)
    return block
