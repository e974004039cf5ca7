"""Validation PSNR of the distilled students after each of the three passes (issue 5).

Reads the logs of ``make distill`` (``runs/<teacher>-fast-v1/log.jsonl``) and writes
``experiments/results/distill_passes.csv``: the teacher, the student at step 0 (the classical
baseline: bicubic or the plain decode), and the student after each pass, per validation quality.

    python -m experiments.train.distill_report [runs/jpeg-fast-v1 ...]
"""
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = ["jpeg", "jpeg2000", "jpeg-full", "jpeg2000-full"]


def main(argv: list[str]) -> None:
    folders = [Path(a) for a in argv] or [ROOT / "runs" / f"{t}-fast-v1" for t in RUNS]
    rows = []
    for folder in folders:
        recs = [json.loads(line) for line in open(folder / "log.jsonl")]
        start = next(r for r in recs if r["event"] == "start")
        stages = [("teacher", 0, start["val_psnr"]["teacher"]),
                  ("student at step 0", 0, start["val_psnr"]["student"])]
        stages += [(f"after pass {r['pass']}", r["step"], r["val_psnr"])
                   for r in recs if r["event"] == "pass_end"]
        done = [r for r in recs if r["event"] == "done"]
        if done:
            stages.append(("after pass ground_truth (final)", done[-1]["step"],
                           done[-1]["val_psnr"]))
        for stage, step, val in stages:
            rows.append({"run": folder.name, "teacher": start.get("teacher", ""),
                         "stage": stage, "step": step,
                         **{f"psnr_{q}": v for q, v in val.items()},
                         "mean_psnr": round(sum(val.values()) / len(val), 3)})
    out = ROOT / "experiments" / "results" / "distill_passes.csv"
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(r["run"], r["stage"], r["mean_psnr"])


if __name__ == "__main__":
    main(sys.argv[1:])
