"""FFDNet's pretrained start against training from scratch, at equal wall-clock (issue 22, item 4).

Two runs of the lane's recipe (``experiments/train/lane.py`` COMMON: full resolution, 2x2
space-to-depth, the precision ``train`` picks for this CPU, JPEG files of jpegli, mozjpeg and
libjpeg-turbo read through jpegli's decoder, the same 8 held-out validation photos), each with
the same wall-clock budget, one after the other on both cores (run it with nothing else on the
machine, the lane paused), or with ``--parallel`` both at once, one core each (the same load on
both, so the machine need not be quiet):

* ``ffdnet``: FFDNet colour (12 x 96, ``--init ffdnet:<low>:<high>``, the levels fitted by
  ``ffdnet_start.py``), its noise map replaced by the quality's gain unit, fine-tuned at
  ``--ffdnet-lr``;
* ``scratch``: the lane's own 12 x 64 network from its classical start (zero-initialised residual).

Their validation curves (mean PSNR of QF 10-90 and the gain over the plain decode, against
seconds and steps) go to ``results/ffdnet_budget.csv`` and ``.png``; the lane's chain (34k s)
is in ``lane_curves.csv``.

    python -m experiments.train.ffdnet_budget ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80 --budget 900 --levels 15.21:1.04

FFDNet has no batch norm and outputs the image itself, so Adam's first steps (every weight moved
by about the learning rate) wreck it at the lane's rates. The rate is chosen by a short probe
(one run per rate, FFDNet only, ``results/ffdnet_lr_probe.csv``):

    python -m experiments.train.ffdnet_budget ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80 --budget 60 --only ffdnet --ffdnet-lr 2e-4,5e-5,2e-5 \
        --runs runs/ffdnet_lr_probe --out experiments/results/ffdnet_lr_probe.csv
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from experiments.common import save_figure, write_csv
from experiments.train.lane import COMMON

RUNS = {
    "ffdnet": ["--rec-arch", "ffdnet", "--rec-depth", "12", "--rec-width", "96",
               "--no-batch-norm", "--pool-refresh", "4"],  # --lr: --ffdnet-lr
    "scratch": ["--rec-depth", "12", "--rec-width", "64", "--lr", "0.0005",
                "--pool-refresh", "4"],
}


def curve(log: Path) -> list[dict]:
    """Every validation record of a training log: step, seconds, mean, gain over the plain
    decode and each quality's PSNR (dB)."""
    rows, seconds = [], 0.0
    for line in log.read_text().splitlines():
        ev = json.loads(line)
        seconds = ev.get("elapsed_s", seconds)  # the final record has none: the last one's
        if ev.get("event") in ("start", "val", "done") and "val_psnr" in ev:
            v = ev["val_psnr"]
            rows.append({"step": ev.get("step", 0), "seconds": seconds,
                         "mean_db": v["mean"], "gain_db": v["gain"],
                         **{k: v[k] for k in v if k not in ("mean", "gain")}})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--budget", type=float, default=900, help="wall-clock seconds per run")
    p.add_argument("--levels", default="15.21:1.04", help="FFDNet's start: noise levels (grey "
                   "levels) at the lowest and highest anchor quality (ffdnet_start.py's fit)")
    p.add_argument("--ffdnet-lr", default="2e-5", help="FFDNet's fine-tuning rate, or several "
                   "(comma-separated: one run each). A pretrained network without batch norm: "
                   "2e-4 and 5e-5 wreck it in 60 s, 2e-5 gains (results/ffdnet_lr_probe.csv)")
    p.add_argument("--runs", default="runs/ffdnet_budget")
    p.add_argument("--only", choices=sorted(RUNS), help="run one of the two (the other's log "
                   "is read if it is there)")
    p.add_argument("--out", default="experiments/results/ffdnet_budget.csv")
    p.add_argument("--report", action="store_true", help="only read the runs' logs and write "
                   "the CSV and plot")
    p.add_argument("--parallel", action="store_true", help="run them at once, one core each "
                   "(the same load on both: for a machine that is not quiet)")
    a = p.parse_args()
    rows, jobs, runs = [], [], []
    lrs = a.ffdnet_lr.split(",")
    for name, args in RUNS.items():
        for lr in lrs if name == "ffdnet" else [""]:
            run = f"{name}@{lr}" if len(lrs) > 1 and lr else name
            out = Path(a.runs) / run
            if a.only in (None, name) and not a.report:
                init = ["--init", f"ffdnet:{a.levels}", "--lr", lr] if lr else []
                cmd = [sys.executable, "-m", "hybridcodec", "train", *a.data, "--name",
                       f"budget-{name}", "--out", str(out), "--budget", str(a.budget), *init,
                       "--base", "jpeg", *args, *COMMON]
                if a.parallel:
                    cmd[cmd.index("--threads") + 1] = "1"
                    jobs.append(subprocess.Popen(cmd))
                else:
                    subprocess.run(cmd, check=True)
            runs.append((run, out))
    for job in jobs:
        if job.wait():
            raise SystemExit(f"a run exited {job.returncode}")
    for run, out in runs:
        if (out / "log.jsonl").exists():
            rows += [{"run": run, **r} for r in curve(out / "log.jsonl")]
    write_csv(a.out, rows)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(r["run"] for r in rows):
        pts = [r for r in rows if r["run"] == name]
        if pts:
            ax[0].plot([r["seconds"] for r in pts], [r["gain_db"] for r in pts], "o-", label=name)
            ax[1].plot([r["step"] for r in pts], [r["gain_db"] for r in pts], "o-", label=name)
    ax[0].set_xlabel("training seconds (wall clock; --parallel: one core each)")
    ax[1].set_xlabel("training steps (batch 16)")
    for x in ax:
        x.set_ylabel("validation gain over jpegli's decode (dB, QF 10-90)")
        x.grid(alpha=0.3)
        x.legend()
    fig.suptitle("FFDNet's pretrained start against the lane's network from scratch")
    save_figure(fig, Path(a.out).with_suffix(".png"))


if __name__ == "__main__":
    main()
