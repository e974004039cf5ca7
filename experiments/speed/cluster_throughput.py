"""Batch throughput on Dask against the local pool (issue 26, item 6): images per second of
``hybridcodec compress DIR -o OUT`` with ``--jobs N``, with ``--cluster local:N`` (an embedded
LocalCluster of N single-threaded workers) and with ``--cluster tcp://...`` (a scheduler and N
worker processes on loopback, started here), each as a user runs it (a fresh command, wall clock
of the whole batch, process start and model loading included; the loopback cluster is started
before the clock). The scheduling overhead per file is the cluster's extra seconds per file over
the local pool.

    python -m experiments.speed.cluster_throughput ../shared/data/kodak --workers 2
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.common import RESULTS, write_csv
from hybridcodec.imageio import list_images


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t0


def _loopback(n: int, tmp: Path) -> tuple[str, list[subprocess.Popen]]:
    sched = tmp / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                               "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(sched)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    while not (sched.exists() and sched.stat().st_size):
        time.sleep(0.2)
    address = json.loads(sched.read_text())["address"]
    procs += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for _ in range(n)]
    from dask.distributed import Client

    with Client(address) as c:
        c.wait_for_workers(n, timeout=120)
    return address, procs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--images", type=int, default=0, help="0: every image of the folder")
    p.add_argument("--base", default="jpeg")
    p.add_argument("--quality", default="60")
    p.add_argument("--out", default=str(RESULTS / "cluster_throughput.csv"))
    a = p.parse_args()
    files = list_images(a.folder)[: a.images or None]
    n = a.workers
    rows = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        address, procs = _loopback(n, tmp)
        try:
            engines = [(f"--jobs {n}", ["--jobs", str(n)]),
                       (f"--cluster local:{n}", ["--cluster", f"local:{n}"]),
                       (f"--cluster tcp (loopback, {n} workers)", ["--cluster", address])]
            for name, extra in engines:
                out = tmp / "out"
                shutil.rmtree(out, ignore_errors=True)
                secs = _run([sys.executable, "-m", "hybridcodec", "compress", *map(str, files),
                             "-o", str(out), "--base", a.base, "--quality", a.quality, *extra])
                digest = sorted((f.name, f.read_bytes()) for f in out.glob("*.hyc"))
                rows.append({"engine": name, "images": len(files), "seconds": round(secs, 2),
                             "images_per_second": round(len(files) / secs, 3),
                             "same_bytes_as_local": digest == rows[0]["_digest"] if rows
                             else True, "_digest": digest})
                print(rows[-1]["engine"], rows[-1]["seconds"], flush=True)
        finally:
            for pr in procs:
                pr.terminate()
            for pr in procs:
                pr.wait(timeout=60)
    base_s = rows[0]["seconds"]
    for r in rows:
        r.pop("_digest")
        r["overhead_s_per_file"] = round((r["seconds"] - base_s) / len(files), 3)
    write_csv(a.out, rows)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
