"""Does a lane version of the enhancement network win? (issue 22, items 2 and 6)

Candidates against the shipped model, in one run, on JPEG files from every encoder a user has
(libjpeg-turbo 4:2:0, jpegli, mozjpeg) at QF 10-90, beside the classical decoders (libjpeg-turbo,
jpegli's): mean RGB PSNR of ``hybridcodec.enhance`` (with its default quantisation-constraint
projection) per encoder and quality.

* ``--heldout DATA...``: the held-out validation photos of the training split (the
  ``--val-images`` photos ``trainingdata.split_files`` keeps out of training), whole: what a
  version is chosen by;
* ``--folder DIR``: any other folder, e.g. Kodak for the bench's view (never used to choose).

    python -m experiments.rd.lane_eval hyc-jpeg-full-v2 runs/lane/hyc-jpeg-full-v3/hyc-jpeg-full-v3.pt \\
        --heldout ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --tag heldout
    -> experiments/results/lane_eval_<tag>.csv (per encoder and QF) and _summary.csv
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from experiments.common import write_csv  # noqa: E402
from hybridcodec.basecodecs import get_base
from hybridcodec.enhance import enhance_jpeg_ex
from hybridcodec.imageio import list_images, read_image
from hybridcodec.metrics import psnr
from hybridcodec.training.data import split_files

QFS = (10, 30, 50, 70, 90)
ENCODERS = ("turbo", "jpegli", "mozjpeg")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="model names or files; the first is the reference")
    p.add_argument("--heldout", nargs="+", help="training folders: use their held-out photos")
    p.add_argument("--val-images", type=int, default=8)
    p.add_argument("--folder", help="a folder of test images instead")
    p.add_argument("--encoders", default=",".join(ENCODERS))
    p.add_argument("--qf", default=",".join(map(str, QFS)))
    p.add_argument("--tag", default="heldout")
    p.add_argument("--out", default="experiments/results")
    a = p.parse_args()
    if a.heldout:
        files = [Path(f) for f in split_files(os.pathsep.join(a.heldout), a.val_images)[1]]
    else:
        files = list_images(a.folder)
    encoders = [e for e in a.encoders.split(",") if e]
    qfs = [int(q) for q in a.qf.split(",")]
    acc: dict[tuple, list[float]] = {}
    secs: dict[str, list[float]] = {m: [] for m in a.models}
    for i, f in enumerate(files):
        img = read_image(f, rgb=True)
        for enc in encoders:
            codec = get_base("jpeg", enc)
            for qf in qfs:
                data = codec.encode(img, qf, subsampling="420")
                row = {"libjpeg-turbo": psnr(img, codec.decode(data, decoder="turbo")),
                       "jpegli decoder": psnr(img, codec.decode(data, decoder="jpegli"))}
                for m in a.models:
                    t = time.perf_counter()
                    out = enhance_jpeg_ex(data, model=m).image
                    secs[m].append(time.perf_counter() - t)
                    row[m] = psnr(img, out)
                for k, v in row.items():
                    acc.setdefault((enc, qf, k), []).append(v)
        print(f"[{i + 1}/{len(files)}] {f.name}", flush=True)
    rows = []
    for enc in encoders:
        for qf in qfs:
            base = np.mean(acc[(enc, qf, "jpegli decoder")])
            for k in ("libjpeg-turbo", "jpegli decoder", *a.models):
                v = float(np.mean(acc[(enc, qf, k)]))
                rows.append({"encoder": enc, "qf": qf, "decoder": Path(k).stem, "psnr": round(v, 4),
                             "gain_vs_jpegli_dec": round(v - base, 4), "images": len(files)})
    out = Path(a.out)
    write_csv(out / f"lane_eval_{a.tag}.csv", rows)
    summary = []
    ref = Path(a.models[0]).stem
    for m in a.models:
        name = Path(m).stem
        gains = [r["gain_vs_jpegli_dec"] for r in rows if r["decoder"] == name]
        vs_ref = [r["psnr"] - s["psnr"] for r, s in zip(
            [r for r in rows if r["decoder"] == name], [r for r in rows if r["decoder"] == ref])]
        wins = sum(d > 0 for d in vs_ref)
        summary.append({"model": name, "mean_gain_vs_jpegli_dec_db": round(float(np.mean(gains)), 4),
                        "mean_vs_reference_db": round(float(np.mean(vs_ref)), 4),
                        "cases_better_than_reference": f"{wins}/{len(vs_ref)}",
                        "s_per_image": round(float(np.mean(secs[m])), 3),
                        "images": len(files), "set": a.tag})
        print(summary[-1], flush=True)
    write_csv(out / f"lane_eval_{a.tag}_summary.csv", summary)


if __name__ == "__main__":
    main()
