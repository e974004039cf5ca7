"""The torch-only deformable convolution and the encoder's deformable residual module."""

import numpy as np
import torch
import torch.nn.functional as F

from hybridcodec.codec import compact_image
from hybridcodec.nn.deform import DeformConv2d
from hybridcodec.models import Model
from hybridcodec.nn.networks import HybridNet, NetConfig, macs_per_pixel

from .conftest import make_image


def _bilinear(img: np.ndarray, y: float, x: float) -> np.ndarray:
    """Reference: bilinear sample of (c, h, w) at (y, x), zeros outside."""
    c, h, w = img.shape
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    out = np.zeros(c)
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                out += wy * wx * img[:, yy, xx]
    return out


def test_zero_offsets_are_an_ordinary_convolution():
    torch.manual_seed(0)
    layer = DeformConv2d(3, 5)
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), F.conv2d(x, layer.weight, layer.bias, padding=1),
                                   atol=1e-5, rtol=1e-5)


def test_learned_offsets_match_a_reference_implementation():
    torch.manual_seed(1)
    layer = DeformConv2d(2, 3, max_offset=1.5)
    with torch.no_grad():
        layer.offset.weight.normal_(0, 0.5)
        layer.offset.bias.normal_(0, 0.5)
        x = torch.rand(1, 2, 6, 7)
        got = layer(x)[0].numpy()
        off = (1.5 * torch.tanh(layer.offset(x)))[0].numpy()
    img, wt, b = x[0].numpy(), layer.weight.detach().numpy(), layer.bias.detach().numpy()
    want = np.zeros_like(got)
    for yy in range(6):
        for xx in range(7):
            acc = b.astype(np.float64).copy()
            for k, (i, j) in enumerate((i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)):
                s = _bilinear(img, yy + i + off[2 * k, yy, xx], xx + j + off[2 * k + 1, yy, xx])
                acc += wt[:, :, i + 1, j + 1] @ s
            want[:, yy, xx] = acc
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_comcnn_deformable_module_identity_at_init_and_tiles():
    torch.manual_seed(2)
    plain = HybridNet(NetConfig(8, 3, 8, True, (5.0, 95.0)))
    torch.manual_seed(2)
    rich = HybridNet(NetConfig(8, 3, 8, True, (5.0, 95.0), deform=True))
    x, q = torch.rand(1, 3, 20, 24), torch.tensor([30.0])
    plain.eval(), rich.eval()
    with torch.no_grad():
        for net in (plain, rich):
            net.com.conv3.weight.normal_(0, 0.1, generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(rich.com(x, q), plain.com(x, q))
        for p in (rich.com.dres.out.weight, rich.com.dres.deform.offset.weight):
            p.normal_(0, 0.2)
    assert macs_per_pixel(rich.config)["comcnn"] > macs_per_pixel(plain.config)["comcnn"]
    m = Model.from_net("d", rich, "jpeg")
    t = make_image(80, 104)
    whole = compact_image(m, t, 30, 3, tile=10_000)
    tiled = compact_image(m, t, 30, 3, tile=24)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1
