"""The training lane that never stops (issue 22, item 2).

The networks users meet most continue training, one run at a time on both cores (bf16 autocast,
channels-last, crops coded ahead by a worker process: ``hybridcodec train``'s defaults since
issue 22), niced, from a separate worktree so that edits never touch a running run:

    make lane LANE_BUDGET="hyc-jpeg-full-v3=3000 hyc-jpeg-full-fast-v3=1500"
    # = git worktree add ../lane HEAD; cd ../lane; nohup nice -n 19 python -m experiments.train.lane
    #   --data ../shared/data/train ... --budget ... --save/--restore ../main/experiments/lane

Each model's run is ``runs/lane/<next version>`` (``hyc-jpeg-full-v2`` -> ``-v3``), started with
``--init <model>``; run the same command again and an unfinished run resumes from its checkpoint
(a finished one is skipped). ``--save DIR`` copies every run's latest checkpoint and log into DIR
(the repository's ``experiments/lane/``, committed before a session stops, since a new machine
may not keep ``runs/``); ``--restore DIR`` copies them back into ``runs/lane`` before starting.
A finished version replaces the shipped one only if it wins on the held-out validation photos and
in ``make bench`` (``experiments/train/register_models.py runs/lane/<name>/<name>.pt``).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: the architecture of each lane's model (as the manifest records it) and its fine-tuning rate
ARCH = {
    "hyc-jpeg-full": ["--base", "jpeg", "--rec-depth", "12", "--rec-width", "64",
                      "--lr", "0.0002", "--pool-refresh", "4"],
    # from fast-v10 on (issue 22 item 3): re-distilled from the winner, hyc-jpeg-full-v13, whose
    # output is half the target (hybridcodec/training/teacher.py); fast-v3..v9 ran without it
    "hyc-jpeg-full-fast": ["--base", "jpeg", "--rec-depth", "6", "--rec-width", "32",
                           "--lr", "0.0003", "--pool-refresh", "1",
                           "--teacher", "hyc-jpeg-full-v13", "--teacher-weight", "0.5"],
    # JPEG 2000 networks ship with the low-frequency guard (results/lowpass_guard_summary.csv):
    # trained and validated with it, so that validation measures the decode users get
    "hyc-jpeg2000-full": ["--base", "jpeg2000", "--rec-depth", "6", "--rec-width", "32",
                          "--lr", "0.0003", "--pool-refresh", "1", "--lowpass-guard", "32"],
    # issue 22 item 3: the width a 0.25 s decode affords (experiments/results/full_arch_speed.csv),
    # grown from hyc-jpeg2000-full's weights (warmstart: the same function at step 0)
    "hyc-jpeg2000-full-m": ["--base", "jpeg2000", "--rec-depth", "6", "--rec-width", "48",
                            "--lr", "0.0003", "--pool-refresh", "1", "--lowpass-guard", "32"],
}
#: full-resolution networks on the 2x2 space-to-depth image, the recipe of issue 13
#: (experiments/results/recipe_summary.csv) and issue 22's bigger pool coded ahead (re-coded per
#: step: 4 for the 12 x 64 network, 1 for the 6 x 32 ones, experiments/results/train_speed.csv)
COMMON = ["--mode", "full", "--s2d", "2", "--com-width", "0", "--rounds", "0", "--patch", "64",
          "--batch", "16", "--pipeline", "whole", "--loss", "db", "--ema", "0.999",
          "--val-images", "8", "--val-every", "300", "--log-every", "100", "--clock", "wall",
          "--threads", "2", "--precision", "auto", "--pool-size", "1000",
          "--jpeg-encoders", "jpegli,mozjpeg,turbo", "--decoder", "jpegli"]


def next_name(name: str) -> str:
    m = re.fullmatch(r"(.*-v)(\d+)", name)
    return f"{m.group(1)}{int(m.group(2)) + 1}" if m else f"{name}-v2"


def family(model: str) -> str:
    return re.sub(r"-v\d+$", "", model)


def command(model: str, budget: float, data: list[str], runs: Path) -> tuple[str, list[str]]:
    """The run that continues ``model``: a registered name, or an earlier lane run's final
    weights (``runs/<model>/<model>.pt``) when that version was not registered.
    ``NEW:FROM`` starts ``NEW`` (a lane family's first version) from ``FROM``'s weights, e.g.
    ``hyc-jpeg2000-full-m-v1:hyc-jpeg2000-full-v5`` (a wider network grown from a narrower)."""
    new, _, start = model.partition(":")
    if not start:
        new, start = next_name(model), model
    if family(new) not in ARCH:
        raise SystemExit(f"{new}: not a lane model ({', '.join(ARCH)})")
    from hybridcodec.models import manifest

    init = start
    if start not in manifest().get("models", {}):
        init = str(runs / start / f"{start}.pt")
        if not Path(init).exists():
            raise SystemExit(f"{start} is neither registered nor a finished lane run ({init})")
    return new, [sys.executable, "-m", "hybridcodec", "train", *data, "--name", new,
                 "--init", init, "--out", str(runs / new), "--budget", str(budget),
                 *ARCH[family(new)], *COMMON]


def copy_runs(src: Path, dst: Path) -> None:
    """checkpoint.pt, the final weights, log.jsonl and command.txt of every run under ``src``
    into ``dst``."""
    for run in sorted(p for p in src.glob("*") if p.is_dir()):
        for f in ("checkpoint.pt", f"{run.name}.pt", "log.jsonl", "command.txt"):
            if (run / f).exists():
                (dst / run.name).mkdir(parents=True, exist_ok=True)
                tmp = dst / run.name / (f + ".tmp")
                shutil.copyfile(run / f, tmp)
                tmp.replace(dst / run.name / f)


def _wait(jobs: list, save: str | None, runs: Path) -> None:
    """Wait for the started runs, then copy every run's state into ``save``."""
    while jobs:
        new, log, proc = jobs.pop(0)
        rc = proc.wait()
        log.close()
        print(f"{time.strftime('%H:%M:%S')} {new} exited {rc}", flush=True)
        if save:
            copy_runs(runs, Path(save))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", nargs="+", required=True, metavar="MODEL=SECONDS",
                   help="lane models in order, each with its wall-clock budget (MODEL: the "
                   "version to continue, or NEW:FROM to start a family from FROM's weights)")
    p.add_argument("--data", nargs="+", required=True, help="training folders (never Kodak)")
    p.add_argument("--runs", default="runs/lane")
    p.add_argument("--save", help="copy checkpoints and logs here after each run and on exit")
    p.add_argument("--restore", help="copy checkpoints and logs from here before starting")
    p.add_argument("--warmup", type=int, default=0, help="learning-rate warm-up steps of every "
                   "run (results/warmup_probe.csv)")
    p.add_argument("--parallel", action="store_true", help="run the models at once, one core "
                   "each (a comparison at equal wall-clock under the same load)")
    a = p.parse_args()
    runs = Path(a.runs)
    if a.restore and Path(a.restore).is_dir():  # a new machine: the committed lane state
        for run in sorted(p for p in Path(a.restore).glob("*") if p.is_dir()):
            if not (runs / run.name / "checkpoint.pt").exists():
                copy_runs(run.parent, runs)
                break
    try:
        jobs = []
        for item in a.budget:
            model, _, secs = item.partition("=")
            new, cmd = command(model, float(secs), a.data, runs)
            out = runs / new
            if (out / f"{new}.pt").exists():
                print(f"{new}: done already", flush=True)
                continue
            if a.warmup:
                cmd += ["--warmup", str(a.warmup)]
            if a.parallel:  # one core each: the runs share the machine, and any other load
                cmd[cmd.index("--threads") + 1] = "1"
            out.mkdir(parents=True, exist_ok=True)
            (out / "command.txt").write_text(" ".join(cmd[1:]) + "\n")
            print(f"{time.strftime('%H:%M:%S')} start {new}", flush=True)
            log = open(out / "stdout.log", "a")
            jobs.append((new, log, subprocess.Popen(cmd, cwd=ROOT, stdout=log,
                                                    stderr=subprocess.STDOUT)))
            if not a.parallel:
                _wait(jobs, a.save, runs)
        _wait(jobs, a.save, runs)
    finally:
        if a.save:
            copy_runs(runs, Path(a.save))


if __name__ == "__main__":
    main()
