"""Training that keeps going (issue 13, item 6): continue shipped models from their last version.

For each model named, this starts ``hybridcodec train --init <model>`` with the model's own
architecture (read from its file), every training folder given, the recipe's flags and a budget,
as the next version (``-v2`` -> ``-v3``) in ``runs/keep/<new name>``, ``--jobs`` at a time, one
thread each. Run it again with the same arguments and every unfinished run resumes from its
checkpoint (a run that finished is skipped). The budget counts CPU seconds (``--clock cpu``), so
that with ``--nice 19`` the runs use the CPU only when nothing else wants it and lose no budget
meanwhile. The new version replaces the shipped one only if it wins in ``make bench`` (then
``experiments/train/register_models.py runs/keep/<name>/<name>.pt``; the manifest adds the seconds to
the cumulative training time of the model it started from).

    nohup python -m experiments.train.keep_training hyc-jpeg2000-full-v1 --data ../shared/data/train \\
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80 \\
        --budget 4800 --jobs 2 > runs/keep.log 2>&1 &
    # = make keep-training MODELS="hyc-jpeg2000-full-v1 ..."
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from hybridcodec.models import get_model  # noqa: E402

#: architecture and data-shape settings copied from the model's own training run
KEEP = {"com_width": "--com-width", "rec_depth": "--rec-depth", "rec_width": "--rec-width",
        "mode": "--mode", "s2d": "--s2d", "hf_width": "--hf-width", "rec_arch": "--rec-arch",
        "patch": "--patch", "batch": "--batch", "rounds": "--rounds",
        "jpeg_encoders": "--jpeg-encoders", "decoder": "--decoder"}
#: the recipe measured by experiments/train/recipe.py (experiments/results/recipe_summary.csv)
RECIPE = ["--pipeline", "whole", "--loss", "db", "--ema", "0.999",
          "--val-images", "8", "--val-every", "300", "--log-every", "50"]


def next_name(name: str) -> str:
    m = re.fullmatch(r"(.*-v)(\d+)", name)
    return f"{m.group(1)}{int(m.group(2)) + 1}" if m else f"{name}-v2"


def command(model: str, a: argparse.Namespace) -> tuple[str, list[str]]:
    m = get_model(model)
    cfg = m.meta.get("train_config")
    if cfg is None:
        raise SystemExit(f"{model} was not made by hybridcodec train (a distilled student?)")
    new = next_name(m.name)
    flags = []
    for key, flag in KEEP.items():
        if key in cfg and cfg[key] not in (None, ""):
            flags += [flag, str(cfg[key])]
    for key in ("feature_enh", "deform"):
        if cfg.get(key):
            flags.append("--" + key.replace("_", "-"))
    if not cfg.get("batch_norm", True):
        flags.append("--no-batch-norm")
    if a.rounds is not None:
        flags[flags.index("--rounds") + 1] = str(a.rounds)
    cmd = [sys.executable, "-m", "hybridcodec", "train", *a.data, "--base", m.base,
           "--name", new, "--init", model, "--out", str(Path(a.runs) / new),
           "--budget", str(a.budget), "--lr", str(a.lr), *flags, *RECIPE,
           "--clock", a.clock, "--threads", str(a.threads), *a.extra]
    return new, cmd


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="shipped model names (or files) to continue")
    p.add_argument("--data", nargs="+", required=True, help="training folders (never Kodak)")
    p.add_argument("--budget", type=float, default=3600.0)
    p.add_argument("--lr", type=float, default=2e-4, help="fine-tuning learning rate")
    p.add_argument("--rounds", type=int, default=None, help="override the alternating rounds")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1,
                   help="threads per run (issue 22's lane: --jobs 1 --threads 2)")
    p.add_argument("--clock", default="cpu", choices=("cpu", "wall"),
                   help="what the budget counts (wall: a lane that must end by a given time)")
    p.add_argument("--nice", type=int, default=0, help="run at this niceness (19: only when "
                                                        "the machine is otherwise idle)")
    p.add_argument("--runs", default="runs/keep")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="more train flags, last (e.g. --extra --rate-weight 0.3)")
    a = p.parse_args()
    todo = []
    for model in a.models:
        new, cmd = command(model, a)
        if (Path(a.runs) / new / f"{new}.pt").exists():
            print(f"{new}: done already", flush=True)
            continue
        todo.append((new, cmd))
    running: list[tuple[str, subprocess.Popen]] = []
    while todo or running:
        while todo and len(running) < a.jobs:
            new, cmd = todo.pop(0)
            out = Path(a.runs) / new
            out.mkdir(parents=True, exist_ok=True)
            (out / "command.txt").write_text(" ".join(cmd[1:]) + "\n")
            print(f"{time.strftime('%H:%M:%S')} start {new}: {' '.join(cmd[2:])}", flush=True)
            log = open(out / "stdout.log", "a")
            running.append((new, subprocess.Popen(
                cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=(lambda: os.nice(a.nice)) if a.nice else None)))
        time.sleep(10)
        for new, proc in list(running):
            if proc.poll() is not None:
                running.remove((new, proc))
                print(f"{time.strftime('%H:%M:%S')} {new} exited {proc.returncode}", flush=True)


if __name__ == "__main__":
    main()
