"""The training recipe, measured on this CPU (issue 13, items 2 and 3).

Every variant trains the same full-resolution network from its zero-initialised start (the plain
decoder) for the same wall-clock budget on one thread, and is validated every ``--val-every``
training seconds on the same held-out photos (8 photos of the training folders, fixed by their
names; never Kodak), each 256 x 256 crop coded whole at five qualities (JPEG QF 10/20/40/70/90,
JPEG 2000 24-40 dB). The figure of merit is the mean gain in dB over the plain decode, every
quality counting the same. One change at a time against ``whole-mse``:

* pipeline: ``patch`` (every 64 x 64 patch coded alone: the old way) against ``whole`` (crops of
  256-384 pixels coded whole, patches cut from the decoded crop), for each base;
* loss: ``mse``, ``db`` (per-quality weights: equal weight in dB), ``l1+db``;
* EMA of the weights (0.999), the learning-rate schedule (constant), patch and batch size
  (96 x 8 against 64 x 16: the same pixels per step), depth against width at equal MAC per pixel
  (6 x 32 against 12 x 22 on the space-to-depth image).

    python -m experiments.train.recipe ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --budget 600 --jobs 2      # = make recipe
    -> experiments/results/recipe.csv (every validation), recipe_summary.csv, recipe.png
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import record, write_csv# noqa: E402

COMMON = ["--mode", "full", "--s2d", "2", "--com-width", "0", "--rec-depth", "6",
          "--rec-width", "32", "--patch", "64", "--batch", "16", "--lr", "1e-3", "--threads", "1",
          "--rounds", "0", "--val-images", "8", "--log-every", "50"]
#: name: (base, changed flags)
VARIANTS = {
    "jpeg-patch-mse": ("jpeg", ["--pipeline", "patch"]),
    "jpeg-whole-mse": ("jpeg", []),
    "jpeg2000-patch-mse": ("jpeg2000", ["--pipeline", "patch"]),
    "jpeg2000-whole-mse": ("jpeg2000", []),
    "jpeg-whole-db": ("jpeg", ["--loss", "db"]),
    "jpeg-whole-l1+db": ("jpeg", ["--loss", "l1+db"]),
    "jpeg-whole-db-ema": ("jpeg", ["--loss", "db", "--ema", "0.999"]),
    "jpeg-whole-db-constlr": ("jpeg", ["--loss", "db", "--schedule", "constant"]),
    "jpeg-whole-db-p96b8": ("jpeg", ["--loss", "db", "--patch", "96", "--batch", "8"]),
    "jpeg-whole-db-12x22": ("jpeg", ["--loss", "db", "--rec-depth", "12", "--rec-width", "22"]),
    # second batch, after the first showed JPEG 2000 losing at 600 s with noisy validations
    "jpeg2000-whole-db-ema": ("jpeg2000", ["--loss", "db", "--ema", "0.999"]),
    "jpeg2000-whole-db-ema-nobn": ("jpeg2000", ["--loss", "db", "--ema", "0.999",
                                                "--no-batch-norm"]),
    "jpeg-whole-db-ema-nobn": ("jpeg", ["--loss", "db", "--ema", "0.999", "--no-batch-norm"]),
    # jpeg-whole-mse again: the first pair shared the machine with other work (fewer steps)
    "jpeg-whole-mse-b": ("jpeg", []),
}


def run_variant(name: str, a: argparse.Namespace) -> subprocess.Popen:
    base, flags = VARIANTS[name]
    out = Path(a.runs) / name
    cmd = [sys.executable, "-m", "hybridcodec", "train", *a.data, "--base", base, "--name", name,
           "--out", str(out), "--budget", str(a.budget), "--val-every", str(a.val_every),
           *COMMON, *flags]
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "stdout.log", "w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def collect(name: str, a: argparse.Namespace) -> list[dict]:
    rows = []
    for line in open(Path(a.runs) / name / "log.jsonl"):
        r = json.loads(line)
        if "val_psnr" not in r or r["event"] not in ("start", "val", "done", "phase_end"):
            continue
        v = r["val_psnr"]
        rows.append({"variant": name, "base": VARIANTS[name][0], "event": r["event"],
                     "step": r.get("step", 0), "train_s": r.get("elapsed_s", 0.0),
                     "gain_db": v.get("gain"), "mean_db": v["mean"],
                     **{k: v[k] for k in v if k not in ("mean", "gain")}})
    done = [r for r in rows if r["event"] == "done"]
    if done:  # the final record has no elapsed time: it is the budget
        done[0]["train_s"] = a.budget
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, base in zip(axes, ("jpeg", "jpeg2000")):
        for name in VARIANTS:
            pts = [r for r in rows if r["variant"] == name and r["event"] != "phase_end"]
            if not pts or VARIANTS[name][0] != base:
                continue
            ax.plot([r["train_s"] for r in pts], [r["gain_db"] for r in pts], marker=".",
                    label=name)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("training seconds (1 thread)")
        ax.set_ylabel("validation gain over the plain decode (dB, mean of 5 qualities)")
        ax.set_title(f"{base}: full-resolution 6x32 network from the plain decoder")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    record(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per variant")
    p.add_argument("--val-every", type=float, default=60.0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--runs", default="runs/recipe")
    p.add_argument("--out", default="experiments/results")
    a = p.parse_args()
    names = [n for n in a.variants.split(",") if n]
    for n in names:
        if n not in VARIANTS:
            p.error(f"unknown variant {n}")
    todo = [n for n in names if not (Path(a.runs) / n / f"{n}.pt").exists()]
    running: list[tuple[str, subprocess.Popen]] = []
    t0 = time.monotonic()
    while todo or running:
        while todo and len(running) < a.jobs:
            n = todo.pop(0)
            running.append((n, run_variant(n, a)))
            print(f"[{time.monotonic() - t0:6.0f} s] started {n}", flush=True)
        time.sleep(5)
        for n, proc in list(running):
            if proc.poll() is not None:
                running.remove((n, proc))
                print(f"[{time.monotonic() - t0:6.0f} s] {n} exited {proc.returncode}",
                      flush=True)
    rows = [r for n in names for r in collect(n, a)]
    out = Path(a.out)
    write_csv(out / "recipe.csv", rows)
    summary = []
    for n in names:
        pts = [r for r in rows if r["variant"] == n]
        start = next(r for r in pts if r["event"] == "start")
        end = next((r for r in pts if r["event"] == "done"), pts[-1])
        summary.append({"variant": n, "base": VARIANTS[n][0],
                        "flags": " ".join(VARIANTS[n][1]) or "(whole pipeline, mse)",
                        "budget_s": a.budget, "steps": end["step"],
                        "start_mean_db": start["mean_db"], "final_mean_db": end["mean_db"],
                        "final_gain_db": end["gain_db"],
                        **{f"final_{k}": end[k] for k in end
                           if k.startswith("q") or k.endswith("dB")}})
    write_csv(out / "recipe_summary.csv", summary)
    plot(rows, out / "recipe.png")
    for s in summary:
        print(f"{s['variant']:24s} steps {s['steps']:6d} gain {s['final_gain_db']:+.3f} dB")


if __name__ == "__main__":
    main()
