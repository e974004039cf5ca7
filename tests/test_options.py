"""One encode-options object (issue 24 item 2): checked once, shared by the API, the CLI, the
Pillow saver and the batch runner."""

import dataclasses
import inspect

import numpy as np
import pytest

import hybridcodec
from hybridcodec import EncodeOptions, HybridCodecError
from hybridcodec.adaptconfig import AdaptConfig


@pytest.mark.parametrize("bad, match", [
    (dict(base="webp"), "unknown base codec"),
    (dict(mode="half"), "mode must be one of"),
    (dict(profile="slow"), "profile must be one of"),
    (dict(base="jpeg", quality=101), "quality must be in"),
    (dict(base="jpeg", quality=40.5, jpeg_encoder="turbo"), "whole qualities"),
    (dict(quality=30, bpp=0.5), "only one of"),
    (dict(bpp=65), "up to 64"),
    (dict(size=0), "positive number of bytes"),
    (dict(size=1.5), "size must be an integer"),
    (dict(subsampling="422"), "420 or 444"),
    (dict(container="jpeg"), "holds base jpeg"),
    (dict(adapt="yes"), "adapt must be"),
    (dict(rate_control="slow"), "rate_control must be one of"),
    (dict(model=3), "model must be a string"),
])
def test_every_setting_is_checked_when_the_options_are_made(bad, match):
    with pytest.raises(HybridCodecError, match=match):
        EncodeOptions(**bad)
    with pytest.raises(HybridCodecError, match=match):  # the API checks through the same object
        hybridcodec.encode(np.zeros((8, 8), np.uint8), **bad)


def test_options_are_frozen_normalised_and_overridable():
    opts = EncodeOptions(base="jpeg", quality=40, adapt=True)
    assert isinstance(opts.adapt, AdaptConfig) and opts.quality == 40.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.quality = 50  # type: ignore[misc]
    assert EncodeOptions(base="jpeg").target_quality == 75
    assert EncodeOptions(base="jpeg", bpp=0.5).target_quality is None
    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    plain = hybridcodec.encode(img, base="jpeg", quality=30, model="baseline")
    same = hybridcodec.encode(img, options=EncodeOptions(base="jpeg", quality=60,
                                                         model="baseline"), quality=30)
    assert plain == same  # keywords override the options' fields
    with pytest.raises(HybridCodecError, match="unknown encode option 'qualty'"):
        hybridcodec.encode(img, qualty=30)
    with pytest.raises(HybridCodecError, match="options must be an EncodeOptions"):
        hybridcodec.encode(img, options={"base": "jpeg"})


def test_the_signature_shows_every_option():
    for fn in (hybridcodec.encode, hybridcodec.codec.encode_ex):
        params = inspect.signature(fn).parameters
        assert set(EncodeOptions.names()) <= set(params), fn
        assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in EncodeOptions.names())


def test_the_pillow_saver_and_the_batch_runner_use_the_same_options():
    from hybridcodec.pillow import save_options

    opts = save_options({"codec_mode": "full", "quality": 30, "dpi": (72, 72)}, "jpeg")
    assert opts == EncodeOptions(base="jpeg", mode="full", quality=30, container="jpeg")
    with pytest.raises(HybridCodecError, match="quality must be in"):
        save_options({"quality": 0}, "hyc")
    # checked once, before any worker starts
    with pytest.raises(HybridCodecError, match="mode must be one of"):
        hybridcodec.encode_many([np.zeros((8, 8), np.uint8)] * 3, jobs=2, mode="half")


def test_the_training_command_takes_its_defaults_from_trainconfig():
    from hybridcodec.cli_train import train
    from hybridcodec.training.config import TrainConfig

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    renamed = {"budget": "budget_s", "val_every": "val_every_s"}
    params = dict(inspect.signature(train).parameters)
    params.pop("data")
    assert {renamed.get(n, n) for n in params} <= set(defaults)
    for name, p in params.items():
        assert p.default.default == defaults[renamed.get(name, name)], name


def test_library_messages_name_arguments_and_the_cli_its_options():
    from hybridcodec.cli_files import cli_terms

    with pytest.raises(HybridCodecError) as info:
        EncodeOptions(base="jpeg2000", container="jpeg")
    msg = str(info.value)
    assert "base='jpeg'" in msg and "--" not in msg
    assert "--base jpeg" in cli_terms(msg) and "container='hyc'" not in cli_terms(msg)
    assert cli_terms("x exists; use force=True to overwrite") == "x exists; use --force to overwrite"
    assert cli_terms("(raise it: max_pixels=N, or max_pixels=None for no limit)") == \
        "(raise it: --max-pixels N, or --max-pixels 0 for no limit)"
    assert cli_terms("init=waifu2x:N needs rec_arch=upconv7") == \
        "--init waifu2x:N needs --rec-arch upconv7"
    assert cli_terms("quality must be in [1, 100]") == "quality must be in [1, 100]"


def test_a_users_quality_is_checked_once_where_it_enters():
    """EncodeOptions validates; the encoder's searches and caches only snap to the grid
    (``snap_quality``). The base codec's own ``encode`` is the other boundary."""
    import ast
    from pathlib import Path

    pkg = Path(hybridcodec.__file__).parent
    callers = set()
    for path in pkg.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "check_quality" and \
                    isinstance(node.ctx, ast.Load):
                callers.add(path.relative_to(pkg).as_posix())
    assert callers == {"options.py", "codecbase.py"}
    codec = hybridcodec.basecodecs.get_base("jpeg", "turbo")
    assert codec.snap_quality(40.4) == 40 and codec.check_quality(40.4) == 40
    with pytest.raises(HybridCodecError, match="whole"):
        EncodeOptions(base="jpeg", quality=40.5, jpeg_encoder="turbo")


def test_effort_is_a_preset_of_rate_control_and_adaptation():
    from hybridcodec.options import EFFORTS

    assert EncodeOptions().effort is None and EncodeOptions().adapt is None
    assert EncodeOptions(effort=1).rate_control == "fast" and EncodeOptions(effort=1).adapt is None
    assert EncodeOptions(effort=2).rate_control == "exact" and EncodeOptions(effort=2).adapt is None
    steps = [EncodeOptions(effort=e).adapt.steps for e in range(3, 10)]
    assert steps == sorted(steps) and len(set(steps)) == len(steps) and set(EFFORTS) == set(range(1, 10))
    assert EncodeOptions(effort=5).adapt == AdaptConfig()  # the default recipe
    assert dataclasses.replace(EncodeOptions(effort=7), quality=40).adapt.steps == 200
    refine = [EncodeOptions(effort=e).adapt.refine_steps for e in range(3, 10)]
    assert refine == [0, 0, 0, 0, 30, 30, 30]  # the compact image refined from effort 7
    for bad in ({"effort": 0}, {"effort": 10}, {"effort": 2.5}, {"effort": 4, "adapt": True},
                {"effort": 1, "rate_control": "exact"}):
        with pytest.raises(HybridCodecError, match="effort"):
            EncodeOptions(**bad)
