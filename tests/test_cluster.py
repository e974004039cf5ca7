"""Archive scale (issue 26): batches on a Dask cluster, the resume manifest, the summary line.

The cluster tests start a real scheduler and two workers as processes on 127.0.0.1 (or an
embedded LocalCluster), with generous time-outs so that a loaded 2-core machine passes, and stop
everything they started."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hybridcodec
from hybridcodec import HybridCodecError
from hybridcodec.batch import compress_files, plan_outputs, summarize
from hybridcodec.cluster import parse_cluster
from hybridcodec.imageio import write_image
from hybridcodec.manifest import MANIFEST_NAME, Manifest

from .conftest import make_image

distributed = pytest.importorskip("distributed")

OPTS = dict(base="jpeg", quality=60, mode="full")


def _photos(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"img{i:02d}.png"
        write_image(str(p), make_image(40 + 4 * i, 36, seed=i))
        out.append(str(p))
    return out


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.hyc"))}


def test_cluster_addresses_are_checked():
    assert parse_cluster("local") == ("local", None)
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://127.0.0.1:8786") == ("address", "tcp://127.0.0.1:8786")
    for bad in ("local:0", "http://x", "", None, 5):
        with pytest.raises(HybridCodecError, match="cluster"):
            parse_cluster(bad)


def test_no_cluster_imports_no_dask(tmp_path):
    code = ("import sys, numpy as np, hybridcodec; from hybridcodec.batch import encode_many; "
            "encode_many([np.zeros((16, 16), np.uint8)] * 2, jobs=1, base='jpeg', mode='full'); "
            "print('dask' in sys.modules or 'distributed' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_resume_skips_what_is_done_and_redoes_the_rest(tmp_path):
    srcs = _photos(tmp_path / "in", 4)
    out = tmp_path / "out"
    first = compress_files(plan_outputs(srcs, str(out), ".hyc"), jobs=1, **OPTS)
    assert all(r.ok for r in first) and "4 files" in summarize(first)
    ref = _bytes(out)
    (out / "img01.hyc").write_bytes(ref["img01.hyc"][:-10])  # cut short (as by hand)
    (out / "img02.hyc").unlink()
    seen = []
    again = compress_files(plan_outputs(srcs, str(out), ".hyc"), jobs=1, resume=True,
                           on_result=seen.append, **OPTS)
    assert sorted(r.skipped for r in again) == [False, False, True, True]
    assert {Path(r.job.source).name for r in again if not r.skipped} == {"img01.png", "img02.png"}
    assert _bytes(out) == ref and len(seen) == 4
    assert "(2 already done)" in summarize(again)
    lines = [json.loads(x) for x in (out / MANIFEST_NAME).read_text().splitlines()]
    assert {"input_sha256", "output_sha256", "bytes", "quality", "mode", "seconds"} <= set(lines[0])
    # other options: nothing is done under them
    other = compress_files(plan_outputs(srcs, str(out), ".hyc"), jobs=1, resume=True,
                           base="jpeg", quality=30, mode="full")
    assert not any(r.skipped for r in other) and all(r.ok for r in other)
    # a torn last line (a kill while writing) is ignored
    with open(out / MANIFEST_NAME, "a") as fh:
        fh.write('{"input": "x", "tor')
    assert len(Manifest.open(out, "x").entries) == 4


def test_resume_never_replaces_a_file_it_did_not_write(tmp_path):
    srcs = _photos(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "img00.hyc").write_bytes(b"a user's file")
    res = compress_files(plan_outputs(srcs, str(out), ".hyc"), jobs=1, resume=True, **OPTS)
    assert not res[0].ok and "exists" in res[0].line
    assert (out / "img00.hyc").read_bytes() == b"a user's file"


def test_local_cluster_gives_the_same_bytes(tmp_path):
    srcs = _photos(tmp_path / "in", 3)
    compress_files(plan_outputs(srcs, str(tmp_path / "a"), ".hyc"), jobs=1, **OPTS)
    res = compress_files(plan_outputs(srcs, str(tmp_path / "b"), ".hyc"), cluster="local:2",
                         **OPTS)
    assert all(r.ok for r in res)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    images = [make_image(24, 24, seed=k) for k in range(3)]
    assert hybridcodec.batch.encode_many(images, cluster="local:1", **OPTS) == \
        hybridcodec.batch.encode_many(images, jobs=1, **OPTS)
    with pytest.raises(HybridCodecError, match="exclusive"):
        hybridcodec.batch.encode_many(images, jobs=2, cluster="local:1", **OPTS)


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", *args], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_for(pred, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_scheduler_and_two_workers_lose_no_file(tmp_path):
    """A real scheduler and two workers on 127.0.0.1: the batch equals a local run, a worker
    killed mid-batch loses no file, and --resume then codes nothing again."""
    from dask.distributed import Client

    srcs = _photos(tmp_path / "in", 8)
    compress_files(plan_outputs(srcs, str(tmp_path / "local"), ".hyc"), jobs=1, **OPTS)
    sched_file = tmp_path / "scheduler.json"
    procs = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(sched_file)],
                    tmp_path / "scheduler.log")]
    try:
        _wait_for(lambda: sched_file.exists() and sched_file.stat().st_size > 0, 120,
                  "the scheduler")
        address = json.loads(sched_file.read_text())["address"]
        for k in range(2):
            procs.append(_start(["distributed.cli.dask_worker", address, "--nthreads", "1",
                                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                                tmp_path / f"worker{k}.log"))
        with Client(address, timeout="60s") as client:
            _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 120, "two workers")
            killed = []

            def kill_one(result):
                if not killed:  # the first file is back: kill a worker with work in hand
                    procs[1].send_signal(signal.SIGKILL)
                    killed.append(result)

            res = compress_files(plan_outputs(srcs, str(tmp_path / "remote"), ".hyc"),
                                 cluster=client, on_result=kill_one, **OPTS)
        assert killed and all(r.ok for r in res), [r.line for r in res if not r.ok]
        assert _bytes(tmp_path / "remote") == _bytes(tmp_path / "local")
        assert not list((tmp_path / "remote").glob("*.tmp*"))  # no partial file is left
        r = subprocess.run([sys.executable, "-m", "hybridcodec", "compress", *srcs, "-o",
                            str(tmp_path / "remote"), "--base", "jpeg", "--quality", "60",
                            "--mode", "full", "--cluster", address, "--resume"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        assert "8 files (8 already done)" in r.stderr
        assert _bytes(tmp_path / "remote") == _bytes(tmp_path / "local")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=60)


def test_cli_cluster_options_are_for_batches(tmp_path):
    src = _photos(tmp_path / "in", 1)[0]
    r = subprocess.run([sys.executable, "-m", "hybridcodec", "compress", src,
                        str(tmp_path / "x.hyc"), "--resume"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "for batches" in r.stderr
    r = subprocess.run([sys.executable, "-m", "hybridcodec", "compress", str(tmp_path / "in"),
                        "-o", str(tmp_path / "o"), "--cluster", "nowhere"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "not a scheduler address" in r.stderr
    assert "Traceback" not in r.stderr and not list((tmp_path / "o").glob("*.hyc"))


def _session_cache():
    from hybridcodec import runtime

    info = runtime._session.cache_info()
    return info.hits, info.misses


def test_a_worker_loads_each_network_once(tmp_path):
    """Item 2: workers are long-lived; each network session is made once per worker and
    reused for every later file."""
    from dask.distributed import Client, LocalCluster

    images = [make_image(96, 96, seed=k) for k in range(6)]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as lc, Client(lc) as client:
        hybridcodec.batch.encode_many(images, cluster=client, base="jpeg", quality=60)
        (hits, misses), = client.run(_session_cache).values()
    assert 1 <= misses <= 4 and hits >= len(images)


def test_enhance_many_on_a_cluster_equals_a_local_run():
    from hybridcodec.basecodecs import get_base

    jpegs = [get_base("jpeg", "turbo").encode(make_image(48, 40, seed=k), 30) for k in range(3)]
    local = hybridcodec.enhance_many(jpegs, jobs=1)
    remote = hybridcodec.enhance_many(jpegs, cluster="local:2")
    assert all((a == b).all() for a, b in zip(local, remote)) and local[0].shape == (48, 40, 3)
    bad = hybridcodec.enhance_many([b"not a jpeg", jpegs[0]], jobs=1, errors="return")
    assert isinstance(bad[0], HybridCodecError) and bad[1].shape == (48, 40, 3)
