"""Validation against cumulative training, per lane (issue 22: the closing note's plot).

For every lane run under ``experiments/lane/`` (the committed copies of ``runs/lane``), the
held-out validation PSNR (mean of the five qualities, and the gain over the plain decode) against
the cumulative steps and seconds of the model's whole history: the manifest's figures of the
model the run started from (steps summed along ``fine_tuned_from``; seconds from
``train_seconds_cumulative``) plus the run's own.

    python -m experiments.train.lane_curves
    -> experiments/results/lane_curves.csv, lane_curves.png, and lane_curves_summary.csv (per
       lane: where it stands, and the gain per doubling of steps fitted to the runs' final points)
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path
from experiments.common import record

ROOT = Path(__file__).resolve().parents[2]


def history(models: dict, name: str) -> tuple[int, float]:
    """(steps, seconds) a registered model has seen in all, before any lane run: the manifest's
    ``steps_cumulative`` where it has one (it counts unregistered lane runs too), else the steps
    summed along ``fine_tuned_from``."""
    entry = models.get(name, {})
    secs = float(entry.get("train_seconds_cumulative") or entry.get("train_seconds") or 0)
    if entry.get("steps_cumulative"):
        return int(entry["steps_cumulative"]), secs
    steps, seen = 0, set()
    cur = name
    while cur in models and cur not in seen:
        seen.add(cur)
        steps += int(models[cur].get("steps") or 0)
        cur = models[cur].get("fine_tuned_from") or models[cur].get("teacher_of") or ""
    return steps, secs


def origin(run: Path, models: dict, lane: Path) -> tuple[str, int, float]:
    """The model a lane run started from and its cumulative (steps, seconds)."""
    cmd = (run / "command.txt").read_text().split()
    init = cmd[cmd.index("--init") + 1]
    if init in models:
        return (init, *history(models, init))
    prev = Path(init).stem  # an earlier lane run: its own origin plus its steps
    name, s0, t0 = origin(lane / prev, models, lane)
    recs = [json.loads(line) for line in open(lane / prev / "log.jsonl")]
    last = [r for r in recs if "step" in r and "elapsed_s" in r][-1]
    return name, s0 + last["step"], t0 + last["elapsed_s"]


def doublings(rows: list[dict]) -> list[dict]:
    """Per lane: where it stands, and the gain per doubling of cumulative steps, fitted (least
    squares, gain against log2 steps) to the final validation of each finished run within the
    last doubling (at least the last two). A run's final point is at the end of its cosine
    decay, so these points are comparable; points inside a run are not (each restart dips,
    issue 22)."""
    out = []
    for ln in dict.fromkeys(r["lane"] for r in rows):
        pts = [r for r in rows if r["lane"] == ln]
        ends = [r for r in pts if r["final"]]
        if ends:
            half = ends[-1]["cumulative_steps"] / 2
            ends = [r for r in ends if r["cumulative_steps"] >= half] if \
                sum(r["cumulative_steps"] >= half for r in ends) >= 2 else ends[-2:]
        slope = ""
        if len(ends) >= 2:
            x = [math.log2(r["cumulative_steps"]) for r in ends]
            y = [r["gain_db"] for r in ends]
            mx, my = sum(x) / len(x), sum(y) / len(y)
            sxx = sum((v - mx) ** 2 for v in x)
            if sxx > 0:
                slope = round(sum((u - mx) * (v - my) for u, v in zip(x, y)) / sxx, 4)
        last = pts[-1]
        out.append({"lane": ln, "last_run": last["run"], "last_run_finished": last["final"],
                    "cumulative_steps": last["cumulative_steps"],
                    "cumulative_seconds": last["cumulative_seconds"],
                    "last_gain_db": last["gain_db"], "best_gain_db": max(r["gain_db"] for r in pts),
                    "finished_runs_fitted": len(ends), "db_per_doubling_of_steps": slope})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lane", default=str(ROOT / "experiments" / "lane"))
    p.add_argument("--out", default=str(ROOT / "experiments" / "results"))
    a = p.parse_args()
    models = json.loads((ROOT / "weights" / "MANIFEST.json").read_text())["models"]
    lane = Path(a.lane)
    rows = []
    def version(p: Path) -> tuple[str, int]:  # v10 after v9, not after v1
        m = re.fullmatch(r"(.*)-v(\d+)", p.name)
        return (m.group(1), int(m.group(2))) if m else (p.name, 0)

    for run in sorted((p for p in lane.glob("*") if (p / "log.jsonl").exists()), key=version):
        start, s0, t0 = origin(run, models, lane)
        el = 0.0
        for r in (json.loads(line) for line in open(run / "log.jsonl")):
            el = r.get("elapsed_s", el)  # the final record has none: the last one's
            if "val_psnr" not in r:
                continue
            step = r.get("step", 0)
            rows.append({"lane": re.sub(r"-v\d+$", "", run.name), "run": run.name, "from": start,
                         "run_step": step, "run_seconds": el, "cumulative_steps": s0 + step,
                         "cumulative_seconds": round(t0 + el, 1),
                         "val_mean_db": r["val_psnr"]["mean"], "gain_db": r["val_psnr"]["gain"],
                         "final": int(r.get("event") == "done")})
    if not rows:
        sys.exit(f"no lane runs with logs under {lane}")
    out = Path(a.out)
    with open(out / "lane_curves.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summary = doublings(rows)
    with open(out / "lane_curves_summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lanes = sorted({r["lane"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ln in lanes:
        pts = [r for r in rows if r["lane"] == ln]
        for ax, key in zip(axes, ("cumulative_steps", "cumulative_seconds")):
            ax.plot([r[key] for r in pts], [r["gain_db"] for r in pts], "o-", ms=3, label=ln)
    for ax, label in zip(axes, ("cumulative training steps (batch 16)",
                                "cumulative training seconds")):
        ax.set_xlabel(label)
        ax.set_ylabel("held-out validation: dB over the plain decode")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Training lane (issue 22): 8 held-out photos, 5 qualities, whole crops coded")
    fig.tight_layout()
    fig.savefig(out / "lane_curves.png", dpi=110)
    record(out / "lane_curves.png")
    print(f"{len(rows)} points -> {out / 'lane_curves.csv'}, {out / 'lane_curves.png'}")


if __name__ == "__main__":
    main()
