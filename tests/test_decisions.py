"""Decisions travel as typed records (issue 24 item 4); ``EncodeResult.decision`` is their JSON."""

import json

import numpy as np

from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.codec import encode_ex
from hybridcodec.decisions import (AdaptDecision, DecoderDecision, EncodeDecision, Figures,
                                   ModeDecision)

from .conftest import make_image


def test_auto_mode_decision_is_typed_and_its_dict_is_the_json():
    res = encode_ex(make_image(32, 48), base="jpeg", quality=40, mode="auto")
    d = res.decisions
    assert isinstance(d, EncodeDecision) and isinstance(d.mode, ModeDecision)
    assert d.mode.chosen in d.mode.candidates
    assert all(isinstance(f, Figures) and f.bytes <= d.mode.target_bytes
               for f in d.mode.candidates.values())
    assert res.decision == d.as_dict() and json.loads(json.dumps(res.decision)) == res.decision
    assert res.decision["mode"]["chosen"] == d.mode.chosen


def test_full_mode_decoder_and_adaptation_decisions():
    res = encode_ex(make_image(32, 48), base="jpeg", quality=40, mode="full",
                    adapt=AdaptConfig(steps=2, crop=16, crops=1))
    d = res.decisions
    assert isinstance(d.decoder, DecoderDecision) and d.decoder.chosen in d.decoder.candidates
    assert d.decoder.chosen == res.model
    assert isinstance(d.adapt, AdaptDecision)
    assert res.decision["kept"] is d.adapt.kept
    if d.adapt.with_update is None:  # the plain decoder won: nothing to adapt
        assert "no parameters" in (d.adapt.reason or "") or "zero" in (d.adapt.reason or "")
    else:
        assert res.decision["with"]["bytes"] == d.adapt.with_update.bytes


def test_figures_and_summaries():
    f = Figures(30.0, 1000, 31.5)
    assert f.as_dict() == {"quality": 30.0, "bytes": 1000, "psnr": 31.5}
    assert Figures(None, 5, 1.0).as_dict() == {"bytes": 5, "psnr": 1.0}
    a = AdaptDecision(True, "D + lambda*R", f, Figures(30.0, 1100, 32.0), 1.5, {"tensors": 2})
    assert list(a.as_dict()) == ["kept", "rule", "lambda_sse_per_bit", "without", "update", "with"]
    assert "kept" in a.summary() and "1100 B" in a.summary()
    assert "zero" in AdaptDecision(False, None, f, reason="update quantised to zero").summary()
    assert np.isfinite(a.as_dict()["with"]["psnr"])
