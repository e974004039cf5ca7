"""The alternating training loop on a tiny model: runs, validates, checkpoints and resumes."""

import json

import numpy as np
import pytest

import torch

from hybridcodec.models import load_model
from hybridcodec.training import precision
from hybridcodec.training.precision import resolve_precision
from hybridcodec.training.trainer import TrainConfig, train

from .conftest import make_image


def _cfg(photos, out, **kw):
    args = dict(data=str(photos), base="jpeg", out=str(out), name="tiny", com_width=4,
                rec_depth=3, rec_width=4, patch=16, batch=2, rounds=1, steps=8, val_images=1,
                checkpoint_every_s=0.0)
    args.update(kw)
    return TrainConfig(**args)


def test_train_exports_a_loadable_model(photos, tmp_path):
    res = train(_cfg(photos, tmp_path / "run"))
    assert res["steps"] == 8
    model = load_model(res["weights"])
    assert model.name == "tiny" and model.base == "jpeg"
    records = [json.loads(l) for l in open(tmp_path / "run" / "log.jsonl")]
    events = [r["event"] for r in records]
    assert events[0] == "start" and events[-1] == "done"
    # the default precision is resolved for this machine and recorded, in the log and the model
    assert records[0]["precision"] == resolve_precision("auto", torch.device("cpu"))
    assert model.meta["precision"] == records[0]["precision"]
    # one validation per phase: a, b, final a
    assert [h["segment"] for h in res["history"]] == [0, 1, 2]


class Killed(Exception):
    pass


def _kill_after_phase_b(photos, out) -> None:
    """Start a run in ``out`` and kill it once phase (b) begins (a checkpoint is left)."""
    def kill(msg):
        if msg.startswith("phase b"):
            raise Killed

    with pytest.raises(Killed):
        train(_cfg(photos, out), progress=kill)


def test_killed_run_resumes_from_checkpoint(photos, tmp_path):
    out = tmp_path / "run"
    _kill_after_phase_b(photos, out)
    res = train(_cfg(photos, out))
    assert res["steps"] == 8
    events = [json.loads(l)["event"] for l in open(out / "log.jsonl")]
    assert events.count("start") == 1 and events[-1] == "done"


def test_checkpoint_from_before_a_field_existed_resumes_with_its_default(photos, tmp_path):
    """A checkpoint whose stored settings lack a field added since (here ``warmup``) ran with
    that field's default: it resumes under the default and is refused under another value."""
    from hybridcodec import HybridCodecError

    out = tmp_path / "run"
    _kill_after_phase_b(photos, out)
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    del ck["config"]["warmup"]
    torch.save(ck, out / "checkpoint.pt")
    with pytest.raises(HybridCodecError, match="other settings"):
        train(_cfg(photos, out, warmup=4))
    assert train(_cfg(photos, out))["steps"] == 8


def test_resume_with_other_settings_is_refused(photos, tmp_path):
    train(_cfg(photos, tmp_path / "run"))
    from hybridcodec import HybridCodecError

    with pytest.raises(HybridCodecError, match="other settings"):
        train(_cfg(photos, tmp_path / "run", lr=1.0))


def test_ste_variant_and_jpeg2000(photos, tmp_path):
    res = train(_cfg(photos, tmp_path / "run", base="jpeg2000", com_grad="ste", steps=4))
    assert np.isfinite(list(res["val_psnr"].values())).all()


def test_full_resolution_mode_trains_and_codes(photos, tmp_path):
    import hybridcodec

    res = train(_cfg(photos, tmp_path / "run", mode="full", rounds=2, s2d=2))
    assert [h["segment"] for h in res["history"]] == [0]  # no ComCNN: only phase (a)
    model = load_model(res["weights"])
    assert model.net.config.scale == 1 and model.net.config.s2d == 2
    img = make_image(21, 30)
    data = hybridcodec.encode(img, base="jpeg", quality=50, model=res["weights"])
    assert hybridcodec.info(data)["mode"] == "full"
    assert hybridcodec.decode(data, model=res["weights"]).shape == img.shape


def test_decoder_modules_train_and_load(photos, tmp_path):
    res = train(_cfg(photos, tmp_path / "run", steps=4, hf_width=4, feature_enh=True,
                     deform=True))
    cfg = load_model(res["weights"]).net.config
    assert cfg.hf_width == 4 and cfg.feature_enh and cfg.deform


def test_init_from_a_model_keeps_its_function_and_adds_identity_modules(photos, tmp_path):
    import torch

    from hybridcodec.errors import HybridCodecError
    from hybridcodec.training.warmstart import init_from
    from hybridcodec.nn.networks import HybridNet

    first = train(_cfg(photos, tmp_path / "a", steps=4))["weights"]
    plain = load_model(first).net.eval()
    torch.manual_seed(1)
    x, q = torch.rand(1, 3, 32, 32), torch.tensor([50.0])
    for extra in ({"hf_width": 4}, {"feature_enh": True}, {"deform": True}):
        net = HybridNet(type(plain.config)(**{**plain.config.__dict__, **extra}))
        init_from(net, first)
        assert torch.allclose(net.eval()(x, q), plain(x, q), atol=1e-6), extra
    narrower = HybridNet(type(plain.config)(**{**plain.config.__dict__, "rec_width": 2}))
    with pytest.raises(HybridCodecError, match="does not fit"):
        init_from(narrower, first)
    # a wider RecCNN (Net2Net-style) starts as the model's function, batch norm's batch
    # statistics included, and its new channels learn
    wider = HybridNet(type(plain.config)(**{**plain.config.__dict__, "rec_width": 8}))
    init_from(wider, first)
    x2, q2 = torch.rand(2, 3, 32, 32), torch.tensor([30.0, 70.0])
    assert torch.allclose(wider.eval()(x2, q2), plain.eval()(x2, q2), atol=1e-6)
    out = wider.train()(x2, q2)
    assert torch.allclose(out, plain.train()(x2, q2), atol=1e-5)
    new_in = wider.rec.body[0].weight[:4, 4:]
    assert not new_in.any() and wider.rec.body[0].weight[4:].abs().sum() > 0
    (out - x2.mean()).square().mean().backward()
    assert wider.rec.tail.weight.grad[:, 4:].abs().sum() > 0
    # a fine-tuning run starts from the model's validation figures, not the baseline's
    res = train(_cfg(photos, tmp_path / "b", steps=2, init=first, hf_width=4))
    start = json.loads(open(tmp_path / "b" / "log.jsonl").readline())["val_psnr"]
    first_end = json.loads(open(tmp_path / "a" / "log.jsonl").readlines()[-1])["val_psnr"]
    assert start == first_end and res["steps"] == 2


def test_auto_precision_is_bf16_only_where_the_hardware_has_it(monkeypatch):
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert resolve_precision("auto", cpu) == "fp32"  # emulated bf16 is ~10x slower
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert resolve_precision("auto", cpu) == "bf16"
    monkeypatch.undo()
    assert precision.native_bf16(torch.device("meta")) is False
    assert isinstance(precision.native_bf16(cpu), bool)


def test_a_teacher_joins_the_target_and_is_recorded(photos, tmp_path):
    """Issue 22 item 3: a student re-distilled from a bigger full-resolution model of its base."""
    from hybridcodec.errors import HybridCodecError
    from hybridcodec.training.teacher import load_teacher, teacher_target

    teacher = train(_cfg(photos, tmp_path / "t", mode="full", s2d=2, rec_width=8, steps=4))
    cfg = _cfg(photos, tmp_path / "s", mode="full", s2d=2, steps=4, teacher=teacher["weights"],
               teacher_weight=0.25)
    net = load_teacher(cfg, torch.device("cpu"), torch.contiguous_format)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    # a private copy: the shared, cached network of the model is left as it is
    assert net is not load_model(teacher["weights"]).net
    torch.manual_seed(0)
    x, dec, qt = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16), torch.tensor([20.0, 60.0])
    amp = dict(device_type="cpu", dtype=torch.bfloat16, enabled=False)
    with torch.no_grad():
        t = net.rec(dec, qt).clamp(0, 1)
    assert torch.allclose(teacher_target(net, x, dec, qt, cfg, amp), 0.75 * x + 0.25 * t,
                          atol=1e-6)
    res = train(cfg)
    assert res["steps"] == 4 and np.isfinite(list(res["val_psnr"].values())).all()
    student = load_model(res["weights"])
    assert student.net.config.rec_width == 4
    assert student.meta["train_config"]["teacher"] == teacher["weights"]
    # refused: a teacher outside full mode, a weight outside (0, 1], a teacher of another base
    for bad in (dict(mode="compact"), dict(teacher_weight=0.0), dict(teacher_weight=1.5)):
        with pytest.raises(HybridCodecError, match="teacher"):
            train(TrainConfig(**{**cfg.__dict__, **bad, "out": str(tmp_path / "x")}))
    with pytest.raises(HybridCodecError, match="needs a full-resolution jpeg2000 model"):
        train(_cfg(photos, tmp_path / "y", mode="full", s2d=2, base="jpeg2000", steps=2,
                   teacher=teacher["weights"]))
