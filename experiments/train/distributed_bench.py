"""Distributed training benchmark (issue 6, Zhang et al. 2025): throughput for 1 and 2 processes,
and dense vs sparse gradient exchange at equal steps (bytes per step, final validation PSNR).

Every run is a real ``torchrun --nproc_per_node N -m hybridcodec train`` on the training photos
(one CPU thread per process, gloo; on a GPU machine pass --device cuda for NCCL). Figures come from
each run's log.jsonl.

    python -m experiments.train.distributed_bench ../shared/data/train --steps 300
    -> experiments/results/distributed_bench.csv
"""
import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"


def run(data: str, out: Path, procs: int, steps: int, device: str, extra: list[str]) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={procs}", "-m", "hybridcodec", "train", data, "--base", "jpeg",
           "--steps", str(steps), "--rounds", "1", "--rec-depth", "8", "--rec-width", "32",
           "--com-width", "64", "--patch", "64", "--batch", "16", "--threads", "1",
           "--device", device, "--out", str(out), "--name", "bench", "--log-every",
           str(max(1, min(10, steps // 2))), *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    recs = [json.loads(line) for line in open(out / "log.jsonl")]
    steps_recs = [r for r in recs if r["event"] == "step"]
    done = [r for r in recs if r["event"] == "done"][0]
    last = steps_recs[-1]
    comm = [r for r in steps_recs if "comm_bytes_dense_per_step" in r]
    return {
        "processes": procs,
        "sparse": next((extra[i + 1] for i, a in enumerate(extra) if a == "--sparse-density"),
                       "0"),
        "method": next((extra[i + 1] for i, a in enumerate(extra) if a == "--sparse-method"),
                       "topk"),
        "steps": done["step"],
        "train_s": last["elapsed_s"],
        "patches_per_s": round(last["step"] * 16 / last["elapsed_s"], 2),
        "wall_s": round(wall, 1),
        "bytes_dense_per_step": round(sum(r["comm_bytes_dense_per_step"] for r in comm)
                                      / len(comm)) if comm else "",
        "bytes_sent_per_step": round(sum(r["comm_bytes_sent_per_step"] for r in comm)
                                     / len(comm)) if comm else "",
        **{f"val_{k}": v for k, v in done["val_psnr"].items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default=str(ROOT / "runs" / "distbench"))
    a = ap.parse_args()
    work = Path(a.work)
    plan = [(1, []), (2, []), (2, ["--sparse-density", "0.01"]),
            (2, ["--sparse-density", "0.01", "--sparse-method", "sample"])]
    rows = []
    for i, (procs, extra) in enumerate(plan):
        rows.append(run(a.data, work / f"run{i}", procs, a.steps, a.device, extra))
        print(rows[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "distributed_bench.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
