"""Batches (issue 14, item 4): several files per command on a pool of processes, per-file errors,
the rest still written; the library's encode_many / decode_many."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hybridcodec import HybridCodecError, batch, codec
from hybridcodec.models import BASELINE

from .conftest import make_image

CMD = [sys.executable, "-m", "hybridcodec"]


def run(*args):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, timeout=900)


@pytest.fixture
def photos(tmp_path) -> Path:
    d = tmp_path / "photos"
    d.mkdir()
    for i, (h, w) in enumerate([(32, 40), (24, 36), (40, 28)]):
        Image.fromarray(make_image(h, w, seed=i)).save(d / f"p{i}.png")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (d / "notes.txt").write_text("not an image, not listed")
    return d


def test_encode_many_matches_encode_in_order_on_two_processes():
    images = [make_image(24 + 8 * i, 32, seed=i) for i in range(3)]
    opts = dict(base="jpeg", quality=50, mode="compact", model=BASELINE)
    files = batch.encode_many(images, jobs=2, **opts)
    assert files == [codec.encode(im, **opts) for im in images]
    decoded = batch.decode_many(files, jobs=1)
    assert [d.shape for d in decoded] == [im.shape for im in images]
    assert all(np.array_equal(d, codec.decode(f)) for d, f in zip(decoded, files))


def test_a_failing_item_is_returned_or_raised_after_the_rest():
    images = [make_image(24, 24), "not an image", make_image(16, 24, seed=1)]
    out = batch.encode_many(images, jobs=1, errors="return", base="jpeg", quality=40,
                            model=BASELINE)
    assert isinstance(out[1], HybridCodecError) and "item 1" in str(out[1])
    assert out[0][:4] == out[2][:4] == b"\x89HYC"
    with pytest.raises(HybridCodecError, match="item 1"):
        batch.encode_many(images, jobs=1, base="jpeg", quality=40, model=BASELINE)
    with pytest.raises(HybridCodecError, match="errors"):
        batch.encode_many(images, jobs=1, errors="ignore")
    with pytest.raises(HybridCodecError, match="jobs"):
        batch.encode_many(images, jobs=-1)


def test_plan_refuses_two_inputs_with_one_output(tmp_path):
    a, b = tmp_path / "x" / "a.png", tmp_path / "y" / "a.jpg"
    with pytest.raises(HybridCodecError, match="both"):
        batch.plan_outputs([str(a), str(b)], str(tmp_path / "out"), ".hyc")
    assert not (tmp_path / "out" / "a.hyc").exists()
    jobs = batch.plan_outputs([str(a)], str(tmp_path / "out"), ".hyc")
    assert jobs[0].dest == str(tmp_path / "out" / "a.hyc")


def test_cli_folder_round_trip_with_a_broken_file(photos, tmp_path):
    out, back = tmp_path / "hyc", tmp_path / "back"
    r = run("compress", photos, "-o", out, "--base", "jpeg", "--quality", "40", "--jobs", "2",
            "--model", BASELINE)
    assert r.returncode == 2  # one file failed ...
    err = r.stderr.decode()
    assert "broken.png" in err and "1 of 4 files failed" in err
    assert "internal error" not in err and "3 files: " not in err and "4 files: " in err
    assert sorted(p.name for p in out.iterdir()) == ["hybridcodec-manifest.jsonl", "p0.hyc", "p1.hyc",
                                                    "p2.hyc"]  # ... the rest, and the manifest
    assert err.count(" -> ") == 3
    r = run("decompress", out, "-o", back, "--jobs", "2")
    assert r.returncode == 0, r.stderr
    for i in range(3):
        src = np.asarray(Image.open(photos / f"p{i}.png"))
        assert np.asarray(Image.open(back / f"p{i}.png")).shape == src.shape
    r = run("decompress", out / "p0.hyc", out / "p1.hyc", "-o", back, "--jobs", "1")
    assert r.returncode == 2 and b"--force" in r.stderr  # never overwrites without --force
    assert not list(back.glob(".*.tmp"))


def test_cli_output_forms(photos, tmp_path):
    one = tmp_path / "one.hyc"
    r = run("compress", photos / "p0.png", "-o", one, "--quality", "30", "--base", "jpeg")
    assert r.returncode == 0 and one.read_bytes()[:4] == b"\x89HYC"
    r = run("compress", photos / "p0.png", "--quality", "30")
    assert r.returncode == 2 and b"-o" in r.stderr
    r = run("compress", photos / "p0.png", photos / "p1.png", photos / "p2.png")
    assert r.returncode == 2 and b"-o" in r.stderr
    r = run("decompress", "-", photos / "x.png", "-o", tmp_path / "o")
    assert r.returncode == 2 and b"stdin" in r.stderr
