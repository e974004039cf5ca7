"""The low-frequency guard (issue 22): a colour cast goes, texture stays, memory stays bounded,
and a model that carries it gets it at decode."""

import dataclasses

import numpy as np
import pytest

from hybridcodec import HybridCodecError, lowguard
from hybridcodec.lowguard import lowpass_guard

from .conftest import make_image


def _cast(img: np.ndarray, shift) -> np.ndarray:
    return np.clip(img.astype(np.int16) + np.asarray(shift, np.int16), 0, 255).astype(np.uint8)


def test_a_uniform_cast_is_removed():
    dec = np.clip(make_image(70, 90), 40, 200)  # room for the cast: nothing clips
    out = _cast(dec, [12, -7, 1])
    assert np.array_equal(lowpass_guard(out, dec, 16), dec)


def test_a_cast_that_varies_slowly_is_mostly_removed():
    dec = np.clip(make_image(96, 128), 40, 200)
    ramp = np.linspace(-10, 10, 128)[None, :, None].repeat(96, 0).repeat(3, 2)
    out = np.clip(np.rint(dec + ramp), 0, 255).astype(np.uint8)
    err_before = np.abs(out.astype(float) - dec).mean()
    err_after = np.abs(lowpass_guard(out, dec, 16).astype(float) - dec).mean()
    assert err_after < 0.15 * err_before


def test_zero_mean_texture_passes_unchanged():
    dec = np.full((64, 64, 3), 128, np.uint8)
    checker = (np.indices((64, 64)).sum(0) % 2 * 2 - 1)[:, :, None] * np.array([5, -3, 4])
    out = (dec + checker).astype(np.uint8)
    assert np.array_equal(lowpass_guard(out, dec, 8), out)


def test_block_zero_is_the_identity_and_gray_images_work():
    dec = make_image(33, 47, channels=1)
    out = _cast(np.clip(dec, 20, 230), 9)
    assert lowpass_guard(out, dec, 0) is out
    g = lowpass_guard(out, np.clip(dec, 20, 230), 8)
    assert g.shape == dec.shape and g.dtype == np.uint8
    assert np.abs(g.astype(int) - np.clip(dec, 20, 230)).max() <= 1


def test_strips_give_the_same_result(monkeypatch):
    dec = make_image(150, 70, seed=3)
    out = _cast(make_image(150, 70, seed=4), [3, 0, -2])
    whole = lowpass_guard(out, dec, 16)
    monkeypatch.setattr(lowguard, "STRIP", 7)
    assert np.array_equal(lowpass_guard(out, dec, 16), whole)


@pytest.mark.parametrize("bad", [
    dict(block=1), dict(decoded=np.zeros((8, 9, 3), np.uint8)),
    dict(decoded=np.zeros((8, 8, 3), np.int16)),
])
def test_bad_arguments_are_one_error(bad):
    args = dict(out=np.zeros((8, 8, 3), np.uint8), decoded=np.zeros((8, 8, 3), np.uint8), block=4)
    args.update(bad)
    with pytest.raises(HybridCodecError):
        lowpass_guard(args["out"], args["decoded"], args["block"])


def test_a_full_resolution_model_with_the_guard_gets_it_at_decode():
    """pipeline.reconstruct applies the guard of a model's metadata, and only then."""
    import torch

    from hybridcodec.models import Model
    from hybridcodec.nn.networks import HybridNet, NetConfig
    from hybridcodec.pipeline import reconstruct

    torch.manual_seed(0)
    net = HybridNet(NetConfig(0, 3, 4, True, (24.0, 40.0), scale=1, s2d=2)).eval()
    with torch.no_grad():  # a network that adds a colour cast: the tail's bias
        net.rec.tail.bias.copy_(torch.tensor([0.05] * 4 + [-0.03] * 4 + [0.0] * 4))
    dec = np.clip(make_image(40, 56), 30, 220)
    plain = Model.from_net("cast", net, base="jpeg2000")
    guarded = dataclasses.replace(plain, meta={"lowpass_guard": 16})
    out = reconstruct(plain, dec, 30.0, 40, 56)
    assert abs(out[..., 0].astype(float).mean() - dec[..., 0].mean()) > 8  # the cast
    g = reconstruct(guarded, dec, 30.0, 40, 56)
    assert abs(g[..., 0].astype(float).mean() - dec[..., 0].mean()) < 1


def test_the_torch_guard_of_training_is_the_decoders():
    """Training and validation use recipe.guard_residual: the same projection as the decode's
    (to rounding), where the sides are multiples of the block."""
    import torch

    from hybridcodec.training.recipe import guard_residual

    dec = make_image(64, 96, seed=1)
    out = _cast(make_image(64, 96, seed=2), [6, -4, 2])
    ref = lowpass_guard(out, dec, 16).astype(np.float32)

    def t(a):
        return torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]

    got = guard_residual(t(out), t(dec), 16)[0].permute(1, 2, 0).numpy()
    assert np.abs(np.clip(np.rint(got), 0, 255) - ref).max() <= 1
    assert guard_residual(t(out), t(dec), 0) is not None


def test_a_model_trained_with_the_guard_carries_it(photos, tmp_path):
    from hybridcodec.models import load_model
    from hybridcodec.training.trainer import TrainConfig, train

    cfg = TrainConfig(data=str(photos), base="jpeg2000", out=str(tmp_path / "run"), name="g",
                      com_width=0, rec_depth=3, rec_width=4, patch=32, batch=2, rounds=0,
                      steps=3, val_images=1, mode="full", s2d=2, lowpass_guard=16,
                      checkpoint_every_s=0.0, crop_min=64, crop_max=96, pool_size=4)
    res = train(cfg)
    assert load_model(res["weights"]).meta["lowpass_guard"] == 16
    with pytest.raises(HybridCodecError):
        TrainConfig(data="x", mode="compact", lowpass_guard=16).check()


def test_registered_models_keep_their_guard_without_torch():
    """The manifest's ONNX block carries the guard, so the onnxruntime path applies it too."""
    from hybridcodec.models import get_model, manifest

    guarded = {n: e["lowpass_guard"] for n, e in manifest()["models"].items()
               if e.get("lowpass_guard")}
    for name, block in guarded.items():
        model = get_model(name)
        assert model.export is not None and model.meta["lowpass_guard"] == block


def test_adaptation_fits_the_guarded_decode():
    """Encode-time adaptation goes through the model's guard: a target that differs from the
    decode by a uniform colour cast teaches the tail's bias that cast without the guard, and
    nothing with it (the guard would remove it at decode)."""
    import torch

    from hybridcodec.adaptconfig import AdaptConfig
    from hybridcodec.nn.networks import HybridNet, NetConfig
    from hybridcodec.training.adaptation import adapt

    torch.manual_seed(0)
    rec = HybridNet(NetConfig(0, 3, 4, True, (24.0, 40.0), scale=1, s2d=2)).eval().rec
    dec = torch.from_numpy(np.clip(make_image(64, 64), 40, 200).astype(np.float32) / 255)
    dec = dec.permute(2, 0, 1)[None]
    target = dec + torch.tensor([0.06, -0.04, 0.02]).view(1, 3, 1, 1)
    cfg = AdaptConfig(subset="tail", steps=40, seconds=3600, crop=32, crops=1, lr=1e-2)
    names = [n for n, _ in rec.named_parameters()]
    bias = names.index("tail.bias")

    def cast(deltas):  # the colour each channel's bias adds (its mean over the 2x2 planes)
        return np.abs(deltas[bias].reshape(3, 4).mean(1)).mean()

    free = cast(adapt(rec, dec, target, 30.0, cfg))
    guarded = cast(adapt(rec, dec, target, 30.0, cfg, guard=16))
    assert free > 0.02 and guarded < 0.35 * free  # (Adam turns the guarded zero gradient
    # into steps of random sign: a small walk, not a cast)
