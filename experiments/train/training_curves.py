"""Validation PSNR against cumulative training seconds (issue 13: what more training would give).

Reads the ``log.jsonl`` of training runs (``hybridcodec train``: a ``start`` event with the
validation at step 0, ``val`` events with ``elapsed_s``) and writes every validation point with
the run's cumulative seconds (``@OFFSET``: seconds of the model it started from). Runs chained
with ``+`` are one model's successive runs (the second started from the first's result). For
each model it fits the gain over its own step-0 validation against log2(seconds) on the second
half of its points: the dB one more doubling of training would buy, if the trend held.

    python -m experiments.train.training_curves \\
        full-j2k=runs/recipe/jpeg2000-whole-db-ema+runs/keep/hyc-jpeg2000-full-fast-v2 \\
        w2x=runs/jpeg-w2x-v1 full-jpeg-6x32=runs/recipe/jpeg-whole-mse
    -> experiments/results/training_curves.csv, training_curves_summary.csv, training_curves.png
"""
import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import record, write_csv# noqa: E402


def read_points(folder: Path) -> tuple[float, list[tuple[float, float, dict]]]:
    """(the run's own step-0 mean, [(elapsed s, mean, all qualities)]) from its log."""
    start, pts, now = None, [], 0.0
    for line in (folder / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        now = float(rec.get("elapsed_s", now))
        if rec.get("event") == "start" and "val_psnr" in rec:
            start = rec["val_psnr"]
        elif rec.get("event") == "val":
            pts.append((now, rec["val_psnr"]["mean"], rec["val_psnr"]))
        elif rec.get("event") == "done" and "val_psnr" in rec:  # the exported (EMA) weights
            pts.append((float(rec.get("train_seconds", now)), rec["val_psnr"]["mean"],
                        rec["val_psnr"]))
    if start is None:
        raise SystemExit(f"{folder}/log.jsonl has no start event with a validation")
    return start["mean"], pts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="NAME=RUN[+RUN...][@OFFSET_SECONDS]")
    p.add_argument("--out", default="experiments/results")
    a = p.parse_args()
    rows, summary = [], []
    for spec in a.models:
        name, _, rest = spec.partition("=")
        runs, _, offset = rest.partition("@")
        t0 = float(offset or 0)
        base = None
        for run in runs.split("+"):
            start, pts = read_points(ROOT / run)
            if base is None:
                base = start
                rows.append({"model": name, "run": run, "cumulative_s": t0, "val_mean_db": start,
                             "gain_db": 0.0})
            last = 0.0
            for s, mean, allq in pts:
                rows.append({"model": name, "run": run, "cumulative_s": round(t0 + s, 1),
                             "val_mean_db": mean, "gain_db": round(mean - base, 3),
                             **{f"val_{k}": v for k, v in allq.items() if k != "mean"}})
                last = max(last, s)
            t0 += last
        mine = [r for r in rows if r["model"] == name and r["cumulative_s"] > 0]
        tail = mine[len(mine) // 2:]
        slope = np.nan
        if len(tail) >= 2:
            x = np.log2([r["cumulative_s"] for r in tail])
            slope = float(np.polyfit(x, [r["gain_db"] for r in tail], 1)[0])
        summary.append({"model": name, "cumulative_s": mine[-1]["cumulative_s"],
                        "gain_db": mine[-1]["gain_db"], "db_per_doubling": round(slope, 3)})
        print(summary[-1], flush=True)
    out = Path(a.out)
    write_csv(out / "training_curves.csv", rows)
    write_csv(out / "training_curves_summary.csv", summary)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in summary:
        r = [x for x in rows if x["model"] == s["model"]]
        ax.plot([x["cumulative_s"] for x in r], [x["gain_db"] for x in r], marker=".",
                label=f"{s['model']} ({s['db_per_doubling']:+.3f} dB / doubling)")
    ax.set_xlabel("cumulative training seconds (one CPU thread)")
    ax.set_ylabel("validation PSNR gain over the run's start (dB)")
    ax.set_xscale("symlog", linthresh=100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "training_curves.png", dpi=120)
    record(out / "training_curves.png")


if __name__ == "__main__":
    main()
