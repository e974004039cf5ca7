"""Does a learning-rate warm-up remove the dip a continued lane run starts with (issue 22)?

Every lane run continues the previous version's weights with a fresh Adam and the cosine schedule
at its full rate; held-out validation then dips 0.05-0.1 dB for the first few hundred steps and
needs 1,200-1,500 s to recover (``results/lane_curves.png``). This probe continues one lane model
several ways at once, one core each (the same load on every arm, as ``lane.py --parallel``), with
the lane's recipe (``lane.py`` ARCH and COMMON) and the same wall-clock budget, and differing only
in ``--warmup`` (steps of a linear ramp):

    python -m experiments.train.warmup_probe ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80 --model hyc-jpeg2000-full-m-v2 --warmup 0,1000 \
        --budget 1200
    -> experiments/results/warmup_probe.csv, warmup_probe.png

The CSV has every validation point of every arm (step, seconds, the mean of the five qualities,
the gain over the plain decode and each quality); the start (step 0) is the model itself,
validated by the first arm.
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from experiments.common import save_figure, write_csv
from experiments.train.ffdnet_budget import curve
from experiments.train.lane import command


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--model", required=True, help="the lane model to continue (registered, or "
                   "a finished lane run under --lane-runs)")
    p.add_argument("--warmup", default="0,1000", help="warm-up steps, one arm each")
    p.add_argument("--budget", type=float, default=1200, help="wall-clock seconds per arm")
    p.add_argument("--lane-runs", default="runs/lane")
    p.add_argument("--runs", default="runs/warmup_probe")
    p.add_argument("--out", default="experiments/results/warmup_probe.csv")
    p.add_argument("--report", action="store_true", help="only read the arms' logs")
    a = p.parse_args()
    arms = [int(w) for w in a.warmup.split(",")]
    jobs = []
    for w in [] if a.report else arms:
        _, cmd = command(a.model, a.budget, a.data, Path(a.lane_runs))
        out = Path(a.runs) / f"warmup{w}"
        out.mkdir(parents=True, exist_ok=True)
        cmd[cmd.index("--name") + 1] = f"probe-warmup{w}"
        cmd[cmd.index("--out") + 1] = str(out)
        cmd[cmd.index("--threads") + 1] = "1"  # one core each: the arms share the machine
        cmd += ["--warmup", str(w)]
        jobs.append((w, out, subprocess.Popen(cmd, stdout=open(out / "stdout.log", "a"),
                                              stderr=subprocess.STDOUT)))
    for _, _, proc in jobs:
        proc.wait()
    logs = [(w, Path(a.runs) / f"warmup{w}" / "log.jsonl") for w in arms]
    rows = [{"warmup": w, **r} for w, log in logs if log.exists() for r in curve(log)]
    write_csv(a.out, rows)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for w in arms:
        pts = [r for r in rows if r["warmup"] == w]
        slots = [k for k in pts[0] if k not in ("warmup", "step", "seconds", "mean_db",
                                                 "gain_db")] if pts else []
        ax[0].plot([r["step"] for r in pts], [r["mean_db"] for r in pts], "o-",
                   label=f"warm-up {w} steps")
        # the four upper qualities: the lowest one swings most between points
        ax[1].plot([r["step"] for r in pts],
                   [sum(r[k] for k in slots[1:]) / max(len(slots) - 1, 1) for r in pts], "o-",
                   label=f"warm-up {w} steps")
    ax[0].set_ylabel("held-out PSNR, mean of the five qualities (dB)")
    ax[1].set_ylabel("held-out PSNR, mean of the four upper qualities (dB)")
    for x in ax:
        x.set_xlabel("training steps (batch 16)")
        x.grid(alpha=0.3)
        x.legend()
    fig.suptitle(f"Continuing {a.model}: a learning-rate warm-up against none")
    save_figure(fig, Path(a.out).with_suffix(".png"))


if __name__ == "__main__":
    main()
