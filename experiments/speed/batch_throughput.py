"""Batch throughput (issue 14, item 4): images per second of `hybridcodec compress` and
`decompress` over a folder with 1, 2, ... jobs, run as a user would (wall clock of the whole
command, process start and model loading included). Run it on an otherwise idle machine.

    python -m experiments.speed.batch_throughput ../shared/data/kodak --jobs 1 2 --base jpeg2000
    -> experiments/results/batch_throughput.csv
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import write_csv  # noqa: E402
from hybridcodec.imageio import list_images  # noqa: E402


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--base", default="jpeg2000")
    p.add_argument("--quality", default="")
    p.add_argument("--out", default="experiments/results/batch_throughput.csv")
    a = p.parse_args()
    n = len(list_images(a.folder))
    hyb = [sys.executable, "-m", "hybridcodec"]
    rows = []
    for jobs in a.jobs:
        tmp = Path(tempfile.mkdtemp(prefix="hyc-batch-"))
        try:
            q = ["--quality", a.quality] if a.quality else []
            enc = timed([*hyb, "compress", a.folder, "-o", str(tmp / "hyc"), "--base", a.base,
                         "--jobs", str(jobs), *q])
            dec = timed([*hyb, "decompress", str(tmp / "hyc"), "-o", str(tmp / "png"),
                         "--jobs", str(jobs)])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append({"base": a.base, "jobs": jobs, "images": n,
                     "compress_s": round(enc, 2), "compress_img_per_s": round(n / enc, 3),
                     "decompress_s": round(dec, 2), "decompress_img_per_s": round(n / dec, 3)})
        print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
