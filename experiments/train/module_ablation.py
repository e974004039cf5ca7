"""Ablation of the optional network modules at equal training budget, on Kodak (issues 5 and 6):
the decoder-side high-frequency enhancement branch and the feature enhancement module (Zhang et
al. 2025), and the encoder's deformable residual module (Fu et al. 2024).

Each variant is trained with the same command and budget (compact mode), then coded over a
fixed-quality sweep on every Kodak image; the report gives BD-rate and BD-PSNR against the variant
without modules and the decode seconds per image, all from one run. With ``--init MODEL`` every
variant fine-tunes the same trained model (the added modules start as identity), so the modules
are judged on a trained network rather than on a few minutes from scratch; the row ``start`` is
that model as it was. ``--jobs 2`` trains two variants at a time (one thread each).

    python -m experiments.train.module_ablation ../shared/data/train ../shared/data/kodak \\
        --base jpeg --budget 480 --init hyc-jpeg-v1 --lr 2e-4 --jobs 2 --threads 1 \\
        --variants none,hf,fem,deform     # = make ablation (the committed results)
    -> experiments/results/module_ablation_<base>.csv
"""
import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from hybridcodec import codec  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.metrics import bd_psnr, bd_rate, psnr  # noqa: E402

FLAGS = {"none": [], "hf": ["--hf-width", "16"], "fem": ["--feature-enh"],
         "hf+fem": ["--hf-width", "16", "--feature-enh"], "deform": ["--deform"]}
SWEEP = {"jpeg": [10, 20, 30, 40, 60, 80], "jpeg2000": [22, 26, 30, 34, 38, 42]}


def train_all(a: argparse.Namespace, variants: list[str]) -> dict[str, Path]:
    """Train every variant not trained yet, ``a.jobs`` at a time; returns the weights' paths."""
    tag = "-ft" if a.init else ""
    todo, weights = [], {}
    for v in variants:
        out = ROOT / "runs" / "ablation" / f"{a.base}-{v}{tag}"
        name = f"abl-{a.base}-{v.replace('+', '-')}{tag}"
        weights[v] = out / f"{name}.pt"
        if not weights[v].exists():
            cmd = [sys.executable, "-m", "hybridcodec", "train", a.train_data, "--base", a.base,
                   "--name", name, "--budget", str(a.budget), "--rec-depth", "8", "--rec-width",
                   "32", "--com-width", "64", "--patch", "64", "--batch", "16", "--threads",
                   str(a.threads), "--device", a.device, "--out", str(out), "--lr", str(a.lr),
                   *(["--init", a.init] if a.init else []), *FLAGS[v]]
            todo.append((cmd, out))
    running: list[subprocess.Popen] = []
    for cmd, out in todo:
        while len(running) >= a.jobs:
            running.pop(0).wait()
        out.mkdir(parents=True, exist_ok=True)
        running.append(subprocess.Popen(cmd, stderr=open(out / "stderr.log", "a")))
    for p in running:
        p.wait()
    missing = [v for v, w in weights.items() if not w.exists()]
    if missing:
        sys.exit(f"training failed for {missing} (see runs/ablation/*/stderr.log)")
    return weights


def evaluate(weights: str, base: str, files: list[Path]) -> dict:
    bpp, ps, dec, enc = {q: [] for q in SWEEP[base]}, {q: [] for q in SWEEP[base]}, [], []
    for f in files:
        img = read_image(f, rgb=True)
        for q in SWEEP[base]:
            t0 = time.perf_counter()
            data = codec.encode(img, base=base, quality=q, mode="compact", model=weights)
            enc.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = codec.decode(data, model=weights)
            dec.append(time.perf_counter() - t0)
            bpp[q].append(8 * len(data) / img[..., 0].size)
            ps[q].append(psnr(img, out))
    return {"bpp": [float(np.mean(bpp[q])) for q in SWEEP[base]],
            "psnr": [float(np.mean(ps[q])) for q in SWEEP[base]], "dec_s": float(np.mean(dec)),
            "enc_s": float(np.mean(enc))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("train_data")
    ap.add_argument("kodak")
    ap.add_argument("--base", default="jpeg")
    ap.add_argument("--budget", type=float, default=1800)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--variants", default="none,hf,fem,hf+fem,deform")
    ap.add_argument("--init", default="", help="fine-tune this model (name or file)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()
    variants = a.variants.split(",")
    if variants[0] != "none":
        sys.exit("the first variant must be none (the reference)")
    files = list_images(a.kodak)
    weights = train_all(a, variants)
    res = {}
    if a.init:
        res["start"] = evaluate(a.init, a.base, files)
    res.update({v: evaluate(str(weights[v]), a.base, files) for v in variants})
    ref = res["none"]
    rows = []
    for v, r in res.items():
        rows.append({"variant": v, "base": a.base, "init": a.init,
                     "budget_s": 0 if v == "start" else a.budget,
                     "bd_rate_vs_none_pct": round(bd_rate(ref["bpp"], ref["psnr"], r["bpp"],
                                                          r["psnr"]), 2),
                     "bd_psnr_vs_none_db": round(bd_psnr(ref["bpp"], ref["psnr"], r["bpp"],
                                                         r["psnr"]), 3),
                     "decode_s_per_image": round(r["dec_s"], 3),
                     "encode_s_per_image": round(r["enc_s"], 3),
                     "psnr_points": " ".join(f"{p:.3f}" for p in r["psnr"]),
                     "bpp_points": " ".join(f"{b:.4f}" for b in r["bpp"])})
        print(rows[-1], flush=True)
    out = ROOT / "experiments" / "results"
    with open(out / f"module_ablation_{a.base}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
