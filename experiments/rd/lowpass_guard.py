"""Does the low-frequency guard help the full-resolution JPEG 2000 networks? (issue 22)

On the held-out validation photos of the training split, *whole* (never Kodak): each photo is
coded by OpenJPEG at JPEG 2000 targets of ``--qualities`` dB, decoded plainly, and reconstructed
by each model; the reconstruction is then guarded (``hybridcodec.lowguard``: the residual's
local mean over ``block``-pixel blocks removed) for each ``--blocks``. Reports RGB PSNR per
photo and rate, and per model and block: the mean gain over OpenJPEG's decode at each target,
the worst photo's, and the BD-rate against OpenJPEG over the rates coded.

    python -m experiments.rd.lowpass_guard ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80 --models hyc-jpeg2000-full-v4 \
        experiments/lane/hyc-jpeg2000-full-v6/hyc-jpeg2000-full-v6.pt \
        experiments/lane/hyc-jpeg2000-full-m-v2/hyc-jpeg2000-full-m-v2.pt
    -> experiments/results/lowpass_guard.csv and lowpass_guard_summary.csv
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from experiments.common import write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.encoder import Encoder
from hybridcodec.imageio import read_image
from hybridcodec.lowguard import lowpass_guard
from hybridcodec.metrics import bd_rate, psnr
from hybridcodec.models import get_model
from hybridcodec.training.data import split_files


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders: their held-out photos are used")
    p.add_argument("--models", nargs="+", required=True, help="full-resolution JPEG 2000 models "
                   "(names or files)")
    p.add_argument("--val-images", type=int, default=8)
    p.add_argument("--qualities", default="22,24,26,28,32,36,40", help="JPEG 2000 targets (dB)")
    p.add_argument("--blocks", default="0,8,16,32", help="guard block sizes (0: no guard)")
    p.add_argument("--out", default="experiments/results/lowpass_guard.csv")
    a = p.parse_args()
    base = get_base("jpeg2000")
    qualities = [float(q) for q in a.qualities.split(",")]
    blocks = [int(b) for b in a.blocks.split(",")]
    _, files = split_files(os.pathsep.join(a.data), a.val_images)
    models = [get_model(m) for m in a.models]
    rows = []
    for f in files:
        img = read_image(f, rgb=True)
        encs = [Encoder(img, base, models[0], "420")]
        encs += [encs[0].twin(m) for m in models[1:]]  # one payload per rate, shared
        for q in qualities:
            payload = encs[0].payload(q)
            plain = encs[0].decoded_compact(q)
            bpp = 8 * len(payload) / (img.shape[0] * img.shape[1])
            for label, enc in zip(a.models, encs):
                out = enc.reconstruct(q)
                rows.append({"photo": f"{Path(f).parent.name}/{Path(f).name}", "model":
                             Path(label).stem, "target_db": q, "bpp": round(bpp, 4),
                             "openjpeg_db": round(psnr(img, plain), 3),
                             **{f"guard{b}_db": round(psnr(img, lowpass_guard(out, plain, b)), 3)
                                for b in blocks}})
                print(rows[-1], flush=True)
    write_csv(a.out, rows)
    summary = []
    for label in a.models:
        name = Path(label).stem
        for b in blocks:
            pts = [r for r in rows if r["model"] == name]
            row = {"model": name, "guard_block": b}
            for q in qualities:
                at = [r for r in pts if r["target_db"] == q]
                gains = [r[f"guard{b}_db"] - r["openjpeg_db"] for r in at]
                row[f"gain_{q:g}dB"] = round(float(np.mean(gains)), 3)
                row[f"worst_{q:g}dB"] = round(min(gains), 3)
            bds = []
            for f in dict.fromkeys(r["photo"] for r in pts):
                mine = sorted((r for r in pts if r["photo"] == f), key=lambda r: r["bpp"])
                rate = [r["bpp"] for r in mine]
                bds.append(bd_rate(rate, [r["openjpeg_db"] for r in mine], rate,
                                   [r[f"guard{b}_db"] for r in mine]))
            row["bd_rate_vs_openjpeg_pct"] = round(float(np.mean(bds)), 2)
            summary.append(row)
            print(row, flush=True)
    write_csv(Path(a.out).with_name(Path(a.out).stem + "_summary.csv"), summary)


if __name__ == "__main__":
    main()
