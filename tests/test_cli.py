"""The command line, run as a user would (subprocess): exit codes, stdin/stdout, no data loss."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import make_image

CMD = [sys.executable, "-m", "hybridcodec"]


def run(*args, stdin: bytes | None = None, cwd=None):
    return subprocess.run([*CMD, *map(str, args)], input=stdin, capture_output=True, cwd=cwd,
                          timeout=600)


@pytest.fixture
def png(tmp_path) -> Path:
    p = tmp_path / "in.png"
    Image.fromarray(make_image(40, 52)).save(p)
    return p


def test_compress_info_decompress(png, tmp_path):
    hyc, out = tmp_path / "a.hyc", tmp_path / "out.png"
    r = run("compress", png, hyc, "--base", "jpeg2000", "--bpp", "1.2")
    assert r.returncode == 0, r.stderr
    assert b"bpp" in r.stderr
    r = run("info", hyc)
    assert r.returncode == 0 and b"jpeg2000" in r.stdout and b"52x40" in r.stdout
    r = run("decompress", hyc, out)
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(out)).shape == (40, 52, 3)


def test_stdin_stdout(png):
    r = run("compress", "-", "-", "--base", "jpeg", "--quality", "40", stdin=png.read_bytes())
    assert r.returncode == 0 and r.stdout[:4] == b"\x89HYC"
    r2 = run("decompress", "-", "-", stdin=r.stdout)
    assert r2.returncode == 0 and r2.stdout[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_output_needs_force(png, tmp_path):
    hyc = tmp_path / "a.hyc"
    hyc.write_bytes(b"precious")
    r = run("compress", png, hyc, "--quality", "30")
    assert r.returncode == 2 and b"--force" in r.stderr
    assert hyc.read_bytes() == b"precious"
    assert run("compress", png, hyc, "--quality", "30", "--force").returncode == 0
    assert hyc.read_bytes()[:4] == b"\x89HYC"


def test_never_overwrites_input(png):
    before = png.read_bytes()
    r = run("compress", png, png, "--force")
    assert r.returncode == 2 and b"input" in r.stderr
    assert png.read_bytes() == before


@pytest.mark.parametrize("content,msg", [
    (b"this is not an image", b"not an image"),
    (b"\x89HYC\x01garbage", b"hyc"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, content, msg):
    bad, out = tmp_path / "bad.bin", tmp_path / "out.hyc"
    bad.write_bytes(content)
    cmd = "compress" if b"HYC" not in content else "decompress"
    r = run(cmd, bad, out)
    assert r.returncode == 2
    assert msg in r.stderr.lower()
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.hyc*"))


def test_rgba_with_transparency_is_refused(tmp_path):
    p = tmp_path / "a.png"
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., 3] = 128
    Image.fromarray(arr).save(p)
    r = run("compress", p, tmp_path / "a.hyc")
    assert r.returncode == 2 and b"supported" in r.stderr


def test_sixteen_bit_is_refused(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8), np.uint16) + 1000).save(p)
    r = run("compress", p, tmp_path / "a.hyc")
    assert r.returncode == 2 and b"16" in r.stderr


def test_missing_input_and_bad_option(tmp_path):
    r = run("compress", tmp_path / "nope.png", tmp_path / "a.hyc")
    assert r.returncode == 2 and b"cannot read" in r.stderr
    r = run("compress", tmp_path / "nope.png", tmp_path / "a.hyc", "--base", "gif")
    assert r.returncode == 2


COMMANDS = ("compress", "decompress", "enhance", "info", "bench", "train", "distill", "compare",
            "psnr")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_each_example_whole_on_its_own_line(command):
    """Every command's help has examples, one complete command per line at 80 columns."""
    from typer.testing import CliRunner

    from hybridcodec.cli import app

    r = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert r.exit_code == 0
    lines = [line.strip() for line in r.output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line in ("Example:", "Examples:")) + 1
    end = lines.index("", start)
    examples = lines[start:end]
    assert examples and all(e.split()[0] in ("hybridcodec", "torchrun", "cat") for e in examples)
    assert any(f"hybridcodec {command} " in e for e in examples)


def test_unknown_output_extension_is_refused(png, tmp_path):
    hyc = tmp_path / "a.hyc"
    assert run("compress", png, hyc, "--quality", "30").returncode == 0
    r = run("decompress", hyc, tmp_path / "out.xyz")
    assert r.returncode == 2 and b"extension" in r.stderr
    assert not (tmp_path / "out.xyz").exists()


def test_error_names_the_input_file(tmp_path):
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"")
    r = run("compress", bad, tmp_path / "a.hyc")
    assert r.returncode == 2 and b"holiday.png" in r.stderr


def test_modes_and_profiles_on_the_command_line(png, tmp_path):
    hyc = tmp_path / "f.hyc"
    r = run("compress", png, hyc, "--base", "jpeg", "--quality", "50", "--mode", "full", "-v")
    assert r.returncode == 0, r.stderr
    assert b"full mode" in r.stderr
    r = run("info", hyc, "--json")
    assert r.returncode == 0 and b'"mode": "full"' in r.stdout
    r = run("compress", png, tmp_path / "a.hyc", "--base", "jpeg", "--bpp", "2.5", "-v",
            "--profile", "best")
    assert r.returncode == 0 and b"auto mode:" in r.stderr  # both candidates' figures
    for bad in (["--mode", "half"], ["--profile", "quick"]):
        r = run("compress", png, tmp_path / "b.hyc", *bad)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "b.hyc").exists()


def test_distill_and_train_help():
    for cmd in ("distill", "train"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and b"Example" in r.stdout
    r = run("distill", "/no/such/folder", "--teacher", "no-such-model")
    assert r.returncode == 2 and b"error" in r.stderr


@pytest.mark.parametrize("args", [
    ["compress", "--quality", "abc", "a.png", "b.hyc"],
    ["compress", "--size", "1e3", "a.png", "b.hyc"],
    ["compress", "--bogus", "a.png", "b.hyc"],
    ["compress", "a.png", "b.hyc", "--jobs", "-3"],
    ["decompress", "a.hyc", "b.png", "--jobs", "-1"],
    ["nosuchcommand"],
])
def test_option_errors_are_one_line_and_exit_2(args):
    """Issue 23: click's five-line box, and --jobs -3 accepted."""
    r = run(*args)
    assert r.returncode == 2
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hybridcodec: error: ") and "--help" in lines[0]


def test_bad_environment_and_values_are_refused_in_one_line(png, tmp_path):
    import os

    env = dict(os.environ, HYBRIDCODEC_THREADS="abc")
    r = subprocess.run([*CMD, "compress", str(png), str(tmp_path / "a.hyc")], env=env,
                       capture_output=True)
    assert r.returncode == 2 and b"HYBRIDCODEC_THREADS" in r.stderr
    r = run("compress", png, tmp_path / "b.hyc", "--bpp", "1e308")
    assert r.returncode == 2 and b"internal error" not in r.stderr and b"bpp" in r.stderr
    assert not (tmp_path / "a.hyc").exists() and not (tmp_path / "b.hyc").exists()


def test_help_and_bare_command_exit_0():
    assert run("--help").returncode == 0 and run().returncode == 0
    assert b"Examples" in run("compress", "--help").stdout


def test_enhance_many_files_with_jobs_and_plain_messages(tmp_path):
    """Issue 23: enhance had no --jobs, and said "x.jpg: cannot read x.jpg: ..."."""
    import imagecodecs

    for i in range(2):
        (tmp_path / f"p{i}.jpg").write_bytes(imagecodecs.jpeg8_encode(make_image(24, 32, seed=i),
                                                                      level=30))
    out = tmp_path / "out"
    r = run("enhance", tmp_path / "p0.jpg", tmp_path / "p1.jpg", tmp_path / "nosuch.jpg",
            "-o", out, "--jobs", "2")
    assert r.returncode == 2
    assert sorted(p.name for p in out.iterdir()) == ["hybridcodec-manifest.jsonl", "p0.png", "p1.png"]
    err = r.stderr.decode()
    line = next(line for line in err.splitlines() if "nosuch" in line)
    assert line.count("nosuch.jpg") == 1
    r = run("enhance", tmp_path / "nosuch.jpg", "-o", tmp_path / "x.png")
    assert r.returncode == 2 and r.stderr.decode().count("nosuch.jpg") == 1


def test_a_full_disk_on_stdout_is_a_plain_error(png):
    with open("/dev/full", "wb") as full:
        r = subprocess.run([*CMD, "compress", str(png), "-", "--quality", "40"], stdout=full,
                           stderr=subprocess.PIPE)
    assert r.returncode == 2 and b"internal error" not in r.stderr
    assert b"standard output" in r.stderr


def test_the_c_decoders_chatter_is_folded_into_one_warning(tmp_path):
    """Issue 23: libjpeg's "Premature end of JPEG file" appeared beside our own lines."""
    import imagecodecs

    data = imagecodecs.jpeg8_encode(make_image(64, 64, seed=3), level=60)
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(data[: len(data) * 2 // 3])
    r = run("enhance", bad, "-o", tmp_path / "out.png")
    assert r.returncode == 0 and (tmp_path / "out.png").exists()
    lines = r.stderr.decode().strip().splitlines()
    assert lines and all(line.startswith("hybridcodec: warning: ") for line in lines)
    assert any("decoder reported" in line for line in lines)
