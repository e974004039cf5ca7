"""A rate-aware ComCNN (issue 13, item 4): does a rate term in phase (b) lower BD-rate?

A shipped compact model is fine-tuned by the alternating algorithm (one round: a, b, a) at equal
budget with rate weights ``k`` (0: the paper's distortion-only phase (b), the control), the
recipe's other settings unchanged. Each result is then coded over a fixed-quality sweep through
the real codec (``hybridcodec.encode``, ``--mode compact``, bpp from the file length) on the
held-out validation photos of the training folders (the fixed split; this chooses ``k``), and on
Kodak (``--kodak``; reported, never used to choose). BD-rate and BD-PSNR against the start model.

    python -m experiments.train.rate_aware hyc-jpeg2000-v1 --data ../shared/data/train \\
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80 \\
        --weights 0,2 --budget 900 --kodak ../shared/data/kodak
    -> experiments/results/rate_aware_<base>.csv (RD points), rate_aware_<base>_summary.csv
"""
import argparse
import os
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.train import keep_training  # noqa: E402
from experiments.common import write_csv  # noqa: E402
from hybridcodec import codec  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.metrics import bd_psnr, bd_rate, psnr  # noqa: E402
from hybridcodec.models import get_model  # noqa: E402
from hybridcodec.training.data import split_files  # noqa: E402

SWEEP = {"jpeg": [5, 10, 20, 35, 55, 75], "jpeg2000": [22, 25, 28, 31, 34, 37]}


def train_variant(model: str, k: float, a: argparse.Namespace) -> Path:
    name = f"{get_model(model).name}-rate{k:g}"
    out = Path(a.runs) / name
    if (out / f"{name}.pt").exists():
        return out / f"{name}.pt"
    ns = argparse.Namespace(data=a.data, budget=a.budget, lr=a.lr, rounds=1, runs=a.runs,
                            extra=["--rate-weight", str(k)])
    _, cmd = keep_training.command(model, ns)
    cmd[cmd.index("--name") + 1], cmd[cmd.index("--out") + 1] = name, str(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "stdout.log", "a") as log:
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT)
    return out / f"{name}.pt"


def sweep(model: str, base: str, files: list, tag: str) -> list[dict]:
    rows = []
    for f in files:
        im = read_image(f, rgb=True)
        for q in SWEEP[base]:
            data = codec.encode(im, base=base, quality=q, mode="compact", model=model)
            rec = codec.decode(data, model=model)
            rows.append({"set": tag, "image": Path(f).name, "quality": q,
                         "bpp": 8 * len(data) / (im.shape[0] * im.shape[1]),
                         "psnr": psnr(im, rec)})
    return rows


def curve(rows: list[dict], base: str) -> tuple[np.ndarray, np.ndarray]:
    qs = SWEEP[base]
    bpp = np.array([np.mean([r["bpp"] for r in rows if r["quality"] == q]) for q in qs])
    ps = np.array([np.mean([r["psnr"] for r in rows if r["quality"] == q]) for q in qs])
    return bpp, ps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the shipped compact model to start from")
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--weights", default="0,2", help="rate weights k (0: the control)")
    p.add_argument("--budget", type=float, default=1200.0)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--runs", default="runs/rate")
    p.add_argument("--kodak", default="", help="also report on this folder (never to choose)")
    p.add_argument("--out", default="experiments/results")
    a = p.parse_args()
    start = get_model(a.model)
    base = start.base
    ks = [float(k) for k in a.weights.split(",")]
    variants = {"start": a.model}
    for k in ks:
        variants[f"k={k:g}"] = str(train_variant(a.model, k, a))
    _, val = split_files(os.pathsep.join(a.data), 8)
    sets = {"validation": val}
    if a.kodak:
        sets["kodak"] = [str(f) for f in list_images(a.kodak)]
    rows, summary = [], []
    for tag, files in sets.items():
        ref = None
        for v, m in variants.items():
            r = [{"variant": v, **x} for x in sweep(m, base, files, tag)]
            rows += r
            bpp, ps = curve(r, base)
            if ref is None:
                ref = (bpp, ps)
            summary.append({"set": tag, "variant": v, "bd_rate_vs_start_pct":
                            round(bd_rate(*ref, bpp, ps), 2),
                            "bd_psnr_vs_start_db": round(bd_psnr(*ref, bpp, ps), 3),
                            **{f"bpp_q{q:g}": round(float(b), 4) for q, b in zip(SWEEP[base], bpp)},
                            **{f"psnr_q{q:g}": round(float(x), 3) for q, x in zip(SWEEP[base], ps)}})
            print(summary[-1], flush=True)
    write_csv(Path(a.out) / f"rate_aware_{base}.csv", rows)
    write_csv(Path(a.out) / f"rate_aware_{base}_summary.csv", summary)


if __name__ == "__main__":
    main()
