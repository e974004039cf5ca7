"""Three-pass distillation of a fast decoder from a tiny teacher."""

import json

import pytest
import torch

import hybridcodec
from hybridcodec import HybridCodecError
from hybridcodec.distill import DistillConfig, distill
from hybridcodec.models import load_model, save_model
from hybridcodec.networks import HybridNet, NetConfig

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
