"""Which training photos are earlier JPEGs (issue 22, items 5-6): a check of the data.

A photo that was itself a JPEG keeps its 8 x 8 grid: re-encoded by libjpeg-turbo on that grid
(IJG tables) it decodes far better than the same photo shifted by 4 pixels, off the grid, while
a camera photo that never was a JPEG decodes about as well both ways. For each photo of each
folder: the PSNR of a libjpeg-turbo QF 70 re-encode (read by jpegli's decoder) of a centre crop
on the grid and of the crop shifted by 4 pixels; ``earlier_jpeg`` when the grid gains more than
``--margin`` dB. conditioning_probe.py found the full-resolution network losing 1.7-3.0 dB on
three held-out Sun-Hays80 photos at QF 70: the artifacts it removes there are the original's.

    python -m experiments.train.earlier_jpeg ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from experiments.common import write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.imageio import read_image
from hybridcodec.metrics import psnr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--quality", type=int, default=70)
    p.add_argument("--margin", type=float, default=3.0, help="dB the grid must gain")
    p.add_argument("--out", default="experiments/results/earlier_jpeg.csv")
    a = p.parse_args()
    codec = get_base("jpeg").with_encoder("turbo")
    rows = []
    for folder in a.folders:
        for f in sorted(Path(folder).glob("*.png")):
            im = read_image(str(f))
            if im.ndim != 3 or min(im.shape[:2]) < a.crop + 16:
                continue
            y0 = (im.shape[0] // 2 - a.crop // 2) // 8 * 8
            x0 = (im.shape[1] // 2 - a.crop // 2) // 8 * 8
            db = []
            for off in (0, 4):
                c = np.ascontiguousarray(im[y0 + off:y0 + off + a.crop, x0 + off:x0 + off + a.crop])
                db.append(psnr(c, codec.decode(codec.encode(c, a.quality), decoder="jpegli")))
            rows.append({"folder": Path(folder).name, "image": f.name,
                         "on_grid_db": round(db[0], 2), "off_grid_db": round(db[1], 2),
                         "grid_gain_db": round(db[0] - db[1], 2),
                         "earlier_jpeg": int(db[0] - db[1] > a.margin)})
    write_csv(a.out, rows)
    summary = []
    for folder in dict.fromkeys(r["folder"] for r in rows):
        r = [x for x in rows if x["folder"] == folder]
        summary.append({"folder": folder, "photos": len(r),
                        "earlier_jpeg": sum(x["earlier_jpeg"] for x in r),
                        "median_grid_gain_db": round(float(np.median([x["grid_gain_db"]
                                                                       for x in r])), 2)})
        print(summary[-1], flush=True)
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
