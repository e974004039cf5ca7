"""Peak memory and time of enhancing / decoding a large photo (issue 4: 24 megapixels within
2 GB). Each job runs in a fresh subprocess (which also synthesises and codes the test image);
peak RSS is that process's ru_maxrss.

Run: python -m experiments.speed.memory_large [--width 6000 --height 4000]
     -> experiments/results/memory_large.csv
"""
import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

JOB = r"""
import resource, sys, time, numpy as np, cv2
import hybridcodec
from hybridcodec.basecodecs import get_base
rng = np.random.default_rng(0)
h, w = {h}, {w}
small = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)  # smooth photo-like content
img = np.ascontiguousarray(img)
job = {job!r}
t = time.perf_counter()
if job == "enhance":
    data = get_base("jpeg").encode(img, 30)
    del img
    t = time.perf_counter()
    out = hybridcodec.enhance_jpeg(data)
else:
    from hybridcodec.models import default_model_name
    data = hybridcodec.encode(img, base="jpeg", quality=30, mode="full",
                              model=default_model_name("jpeg", "full"))  # the network
    del img
    t = time.perf_counter()
    out = hybridcodec.decode(data)
print(round(time.perf_counter() - t, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=6000)
    ap.add_argument("--height", type=int, default=4000)
    a = ap.parse_args()
    rows = []
    for job in ("enhance", "decode-full"):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", JOB.format(root=str(ROOT), h=a.height,
                                                             w=a.width, job=job)],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr)
        secs, peak = r.stdout.split()
        rows.append({"job": job, "megapixels": round(a.width * a.height / 1e6, 1),
                     "peak_rss_mb": round(int(peak) / 1024), "network_s": float(secs),
                     "wall_s": round(time.perf_counter() - t0, 1)})
        print(rows[-1], flush=True)
    out = ROOT / "experiments" / "results" / "memory_large.csv"
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
