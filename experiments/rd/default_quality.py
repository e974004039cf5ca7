"""The default qualities: JPEG 75 (as cjpeg and cwebp) and, for JPEG 2000, the PSNR target that
gives the PSNR of jpegli at 75 on the training photos (never the benchmark set).

    .venv/bin/python -m experiments.rd.default_quality ../shared/data/train

Writes ``experiments/results/default_quality.csv``: per codec and setting, the mean PSNR (dB)
and bits per pixel of the plain codec over the photos.
"""

from __future__ import annotations

import argparse

import numpy as np

from experiments.common import write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.imageio import list_images, read_image
from hybridcodec.metrics import psnr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--out", default="experiments/results/default_quality.csv")
    args = ap.parse_args()
    files = list_images(args.folder)
    settings = [("jpegli", get_base("jpeg", None), 75), ("turbo", get_base("jpeg", "turbo"), 75)]
    settings += [("openjpeg", get_base("jpeg2000"), q) for q in (32, 33, 34, 35, 36)]
    rows = []
    for name, codec, q in settings:
        ps, bs = [], []
        for f in files:
            im = read_image(f, rgb=True)
            data = codec.encode(im, q)
            out = codec.decode(data, decoder=codec.decoder_for("jpegli"))
            ps.append(psnr(im, out))
            bs.append(8 * len(data) / (im.shape[0] * im.shape[1]))
        rows.append({"codec": name, "quality": q, "psnr_db": round(float(np.mean(ps)), 3),
                     "bpp": round(float(np.mean(bs)), 4), "images": len(files)})
        print(rows[-1], flush=True)
    write_csv(args.out, rows)


if __name__ == "__main__":
    main()
