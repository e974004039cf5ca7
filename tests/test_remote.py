"""Remote paths (issue 26, item 4): batches read and write fsspec URLs, tested against a local
S3-compatible server (moto's server mode) on 127.0.0.1 that the test starts and stops."""

import os
import socket
import subprocess
import sys
import time

import pytest

from hybridcodec import HybridCodecError, storage
from hybridcodec.batch import compress_files, plan_outputs
from hybridcodec.imageio import encode_image_file

from .conftest import make_image

pytest.importorskip("fsspec")


def test_storage_rules_on_an_in_memory_file_system():
    url = "memory://hyc-test/a/out.bin"
    storage.write_bytes(url, b"one")
    assert storage.read_bytes(url) == b"one" and storage.size(url) == 3
    with pytest.raises(HybridCodecError, match="exists"):
        storage.write_bytes(url, b"two")
    storage.write_bytes(url, b"two", force=True)
    assert storage.read_bytes(url) == b"two"
    with pytest.raises(HybridCodecError, match="does not exist"):
        storage.read_bytes("memory://hyc-test/missing.png")
    assert storage.join("s3://b/x/", "y.hyc") == "s3://b/x/y.hyc"
    assert storage.name_of("s3://b/x/y.png") == "y.png" and not storage.is_url("/tmp/x")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(monkeypatch, tmp_path):
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    port = _free_port()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=open(tmp_path / "moto.log", "w"),
                              stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > end or server.poll() is not None:
                    raise AssertionError("the S3 server did not start")
                time.sleep(0.3)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        import fsspec

        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        fs.mkdir("bkt")
        yield fs, {**os.environ, **env}
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_batch_from_and_to_s3(s3, tmp_path):
    fs, env = s3
    local = tmp_path / "in"
    local.mkdir()
    for i in range(3):
        data = encode_image_file(make_image(40, 44 + 4 * i, seed=i), "PNG")
        fs.pipe_file(f"bkt/in/p{i}.png", data)
        (local / f"p{i}.png").write_bytes(data)
    compress_files(plan_outputs(sorted(map(str, local.glob("*.png"))), str(tmp_path / "ref"),
                                ".hyc"), jobs=1, base="jpeg", quality=60, mode="full")
    cmd = [sys.executable, "-m", "hybridcodec", "compress", "s3://bkt/in/", "-o", "s3://bkt/out",
           "--base", "jpeg", "--quality", "60", "--mode", "full", "--jobs", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    fs.invalidate_cache()
    for i in range(3):
        assert fs.cat_file(f"bkt/out/p{i}.hyc") == (tmp_path / "ref" / f"p{i}.hyc").read_bytes()
    assert fs.exists("bkt/out/hybridcodec-manifest.jsonl")
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0 and "3 files (3 already done)" in r.stderr, r.stderr
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 2 and "exists" in r.stderr  # never replaced without --force
    out = tmp_path / "decoded"
    r = subprocess.run([sys.executable, "-m", "hybridcodec", "decompress", "s3://bkt/out/", "-o",
                        str(out), "--jobs", "1"], capture_output=True, text=True, timeout=600,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.glob("*.png")) == ["p0.png", "p1.png", "p2.png"]
