import math

import pytest
import torch
import torch.nn.functional as F

from hybridcodec.nn.networks import ComCNN, GainUnit, HybridNet, NetConfig, RecCNN, macs_per_pixel


def test_gain_unit_exponential_interpolation():
    g = GainUnit(4, (10.0, 20.0, 40.0))
    with torch.no_grad():
        g.log_gain.copy_(torch.randn(3, 4))
    gains = g.log_gain.exp()
    q = torch.tensor([10.0, 15.0, 30.0, 40.0])
    out = g.gains(q)
    torch.testing.assert_close(out[0], gains[0])
    torch.testing.assert_close(out[1], gains[0] ** 0.5 * gains[1] ** 0.5)
    torch.testing.assert_close(out[2], gains[1] ** 0.5 * gains[2] ** 0.5)
    torch.testing.assert_close(out[3], gains[2])
    # outside the anchors: clamped to the end gains
    torch.testing.assert_close(g.gains(torch.tensor([1.0, 99.0])), gains[[0, 2]])


def test_gain_unit_rejects_unsorted_anchors():
    with pytest.raises(ValueError):
        GainUnit(2, (3.0, 1.0))


def test_networks_start_as_classical_baseline():
    x = torch.rand(2, 3, 16, 24)
    q = torch.tensor([10.0, 50.0])
    com = ComCNN(16, (5.0, 95.0))
    torch.testing.assert_close(com(x, q), F.avg_pool2d(x, 2))
    rec = RecCNN(4, 8, (5.0, 95.0))
    c = torch.rand(2, 3, 8, 12)
    up = F.interpolate(c, scale_factor=2, mode="bicubic", align_corners=False)
    torch.testing.assert_close(rec(c, q), up)


def test_shapes_and_gradients_flow():
    net = HybridNet(NetConfig(8, 4, 8, True, (5.0, 95.0)))
    x = torch.rand(2, 3, 20, 20, requires_grad=True)
    q = torch.tensor([5.0, 60.0])
    assert net.com(x, q).shape == (2, 3, 10, 10)
    out = net(x, q)
    assert out.shape == x.shape
    out.sum().backward()
    assert net.rec.tail.weight.grad is not None and net.rec.tail.weight.grad.abs().sum() > 0


def test_paper_configuration_runs_and_has_paper_cost():
    cfg = NetConfig(64, 20, 64, True, (30.0,))
    net = HybridNet(cfg).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 8, 8), torch.tensor([30.0])).shape == (1, 3, 8, 8)
    macs = macs_per_pixel(cfg)
    assert abs(macs["reccnn"] - 665e3) / 665e3 < 0.01  # Jiang et al.: about 665k MAC/px
    com_params = sum(p.numel() for n, p in net.com.named_parameters() if "gain" not in n)
    assert abs(com_params - 38e3) / 38e3 < 0.1  # paper: about 38k (40.6k with BN and biases)
    assert math.isclose(macs_per_pixel(NetConfig(0, 0, 0))["reccnn"], 0.0)


def test_baseline_config_has_no_parameters():
    net = HybridNet(NetConfig(0, 0, 0))
    assert sum(p.numel() for p in net.parameters()) == 0
    x = torch.rand(1, 3, 8, 8)
    out = net(x, torch.tensor([1.0]))
    assert out.shape == x.shape


@pytest.mark.parametrize("s2d", [1, 2])
def test_full_resolution_variant_starts_as_identity(s2d):
    net = HybridNet(NetConfig(16, 4, 8, True, (5.0, 95.0), scale=1, s2d=s2d))
    assert sum(p.numel() for p in net.com.parameters()) == 0  # no ComCNN in full mode
    x = torch.rand(1, 3, 11, 14)  # odd height: space-to-depth pads and crops
    q = torch.tensor([30.0])
    torch.testing.assert_close(net.rec(x, q), x)
    assert macs_per_pixel(net.config)["comcnn"] == 0
    with torch.no_grad():
        net.rec.tail.weight.normal_(0, 0.1)
    out = net.rec(x, q)
    assert out.shape == x.shape and not torch.allclose(out, x)
    with pytest.raises(ValueError):
        NetConfig(scale=3)
    with pytest.raises(ValueError):
        NetConfig(scale=1, s2d=3)


@pytest.mark.parametrize("scale,s2d", [(2, 1), (1, 2)])
def test_decoder_modules_start_as_identity_and_keep_parameter_indices(scale, s2d):
    """Zhang et al. 2025 modules: a model with them starts where the model without them does."""
    torch.manual_seed(0)
    plain = HybridNet(NetConfig(0, 4, 8, True, (5.0, 95.0), scale=scale, s2d=s2d))
    torch.manual_seed(0)
    rich = HybridNet(NetConfig(0, 4, 8, True, (5.0, 95.0), scale=scale, s2d=s2d, hf_width=8,
                               feature_enh=True))
    names_plain = [n for n, _ in plain.rec.named_parameters()]
    names_rich = [n for n, _ in rich.rec.named_parameters()]
    assert names_rich[: len(names_plain)] == names_plain  # update indices stay valid
    assert any(n.startswith("hf.") for n in names_rich)
    assert any(n.startswith("fem.") for n in names_rich)
    with torch.no_grad():
        for net in (plain, rich):
            net.rec.tail.weight.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    x, q = torch.rand(1, 3, 10, 14), torch.tensor([30.0])
    plain.eval(), rich.eval()
    torch.testing.assert_close(rich.rec(x, q), plain.rec(x, q))
    assert macs_per_pixel(rich.config)["reccnn"] > macs_per_pixel(plain.config)["reccnn"]
    assert rich.rec.radius > plain.rec.radius
    assert NetConfig.from_dict(rich.config.to_dict()) == rich.config
