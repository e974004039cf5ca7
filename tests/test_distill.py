"""Three-pass distillation of a fast decoder from a tiny teacher."""

import json

import pytest
import torch

import hybridcodec
from hybridcodec import HybridCodecError
from hybridcodec.training.distill import DistillConfig, distill
from hybridcodec.models import load_model
from hybridcodec.nn.modelfile import save_model
from hybridcodec.nn.networks import HybridNet, NetConfig

from .conftest import make_image


@pytest.fixture
def setup(tmp_path, photos):
    d = photos
    torch.manual_seed(0)
    teacher = HybridNet(NetConfig(4, 4, 8, True, (5.0, 95.0)))
    with torch.no_grad():
        teacher.rec.tail.weight.normal_(0, 0.05)
    path = tmp_path / "teacher.pt"
    save_model(teacher, path, name="teacher", base="jpeg")
    return d, path


def _cfg(d, teacher, out, **kw):
    args = dict(data=str(d), teacher=str(teacher), out=str(out), name="student", rec_depth=3,
                rec_width=4, patch=16, batch=2, steps=9, val_images=1, log_every=1,
                checkpoint_every_s=0.0)
    args.update(kw)
    return DistillConfig(**args)


def test_three_passes_and_a_usable_student(setup, tmp_path):
    d, teacher = setup
    res = distill(_cfg(d, teacher, tmp_path / "run"))
    assert [h["pass"] for h in res["history"]] == ["outputs", "features", "ground_truth"]
    recs = [json.loads(line) for line in open(tmp_path / "run" / "log.jsonl")]
    order = ["outputs", "features", "ground_truth"]
    passes = [r["pass"] for r in recs if r["event"] == "step"]
    assert len(passes) == 9 and set(passes) == set(order)
    assert passes == sorted(passes, key=order.index)  # one pass after the other
    student = load_model(res["weights"])
    t = load_model(str(teacher))
    assert student.net.config.s2d == 2 and student.meta["teacher"] == "teacher"
    for k, v in t.net.com.state_dict().items():  # the encoder side is the teacher's
        assert torch.equal(student.net.com.state_dict()[k], v)
    img = make_image(30, 40)
    data = hybridcodec.encode(img, base="jpeg", quality=50, mode="compact", model=res["weights"])
    assert hybridcodec.decode(data, model=res["weights"]).shape == img.shape


def test_resume_and_errors(setup, tmp_path):
    d, teacher = setup
    out = tmp_path / "run"
    distill(_cfg(d, teacher, out, steps=4))
    res = distill(_cfg(d, teacher, out, steps=4))  # finished: resumes at the end
    assert res["steps"] == 4
    with pytest.raises(HybridCodecError, match="other settings"):
        distill(_cfg(d, teacher, out, steps=6))
    with pytest.raises(HybridCodecError, match="at least 3"):
        distill(_cfg(d, teacher, tmp_path / "x", rec_depth=2))


def test_full_resolution_teacher_and_adaptation_of_the_student(photos, tmp_path):
    """A full-resolution teacher distils too, and encode-time adaptation (Lam & Zare) works on
    the fast students of both modes: the update lowers the error and the decoder applies it."""
    import numpy as np

    from hybridcodec.training.adaptation import AdaptConfig, adapt
    from hybridcodec.basecodecs import get_base
    from hybridcodec.training.adaptation import to_tensor
    from hybridcodec.codec import Encoder, encode_ex
    from hybridcodec.models import get_model

    torch.manual_seed(0)
    full = HybridNet(NetConfig(0, 4, 8, True, (5.0, 95.0), scale=1, s2d=2))
    with torch.no_grad():
        full.rec.tail.weight.normal_(0, 0.05)
    save_model(full, tmp_path / "tf.pt", name="teacher-full", base="jpeg")
    res = distill(_cfg(photos, tmp_path / "tf.pt", tmp_path / "run", steps=6))
    student = load_model(res["weights"])
    assert student.net.config.scale == 1 and student.meta["teacher"] == "teacher-full"

    compact_teacher = HybridNet(NetConfig(4, 4, 8, True, (5.0, 95.0)))
    save_model(compact_teacher, tmp_path / "tc.pt", name="teacher-c", base="jpeg")
    res_c = distill(_cfg(photos, tmp_path / "tc.pt", tmp_path / "run-c", steps=3))
    img = make_image(40, 52, seed=4)
    cfg = AdaptConfig(subset="tail", steps=25, seconds=3600, crop=26, crops=1, lr=3e-3)
    for weights, mode in ((res["weights"], "full"), (res_c["weights"], "compact")):
        model = get_model(weights)
        enc = Encoder(img, get_base("jpeg"), model, "420")
        deltas = adapt(model.net.rec, to_tensor(enc.decoded_compact(15)), enc.x, 15, cfg)
        before = ((enc.reconstruct(15).astype(float) - img) ** 2).mean()
        after = ((enc.reconstruct(15, deltas).astype(float) - img) ** 2).mean()
        assert after < before, mode
        out = encode_ex(img, base="jpeg", quality=15, mode=mode, model=weights, adapt=cfg)
        assert out.mode == mode and "kept" in out.decision
        assert hybridcodec.decode(out.data, model=weights).shape == img.shape
        assert np.isfinite(before)


def test_student_of_a_waifu2x_shaped_teacher(tmp_path, photos):
    """An upconv7 teacher (issue 13): its widening, unpadded features are matched too."""
    torch.manual_seed(0)
    teacher = HybridNet(NetConfig(4, anchors=(5.0, 95.0), rec_arch="upconv7"))
    path = tmp_path / "w2x-teacher.pt"
    save_model(teacher, path, name="w2x-teacher", base="jpeg")
    res = distill(_cfg(photos, path, tmp_path / "run", steps=6))
    student = load_model(res["weights"])
    assert student.net.config.rec_arch == "reccnn" and student.net.config.s2d == 2
    for k, v in teacher.com.state_dict().items():
        assert torch.equal(student.net.com.state_dict()[k], v)
