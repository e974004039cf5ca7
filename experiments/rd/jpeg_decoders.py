"""Which JPEG decoder for which kind of file (issue 11): libjpeg-turbo vs jpegli's decoder on files
from each encoder, PSNR gain of jpegli's decoder per quality, on training photos (the decision is
not tuned on the benchmark).

Encoders: libjpeg-turbo 4:2:0 (optimised Huffman), jpegli (4:2:0, progressive, adaptive
quantisation off: hybridcodec's setting; and on: jpegli's default), mozjpeg (cjpeg defaults).

    python -m experiments.rd.jpeg_decoders ../shared/data/train --out experiments/results

Writes ``jpeg_decoders.csv`` (per encoder and quality: mean bpp, PSNR with each decoder, gain)
and ``jpeg_decoders.png``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from hybridcodec.basecodecs import get_base, jpegli_distance
from hybridcodec.imageio import list_images, read_image
from hybridcodec.metrics import psnr
from experiments.common import record

QUALITIES = (5, 10, 20, 30, 40, 50, 70, 90)


def _jpegli_aq(image: np.ndarray, q: float) -> bytes:
    import ajpegli

    return ajpegli.encode(image, distance=jpegli_distance(q), subsampling="420")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--out", default="experiments/results")
    ap.add_argument("--images", type=int, default=0, help="use the first N images (0: all)")
    ap.add_argument("--crop", type=int, default=512, help="central crop side (0: whole image)")
    args = ap.parse_args()
    files = list_images(args.folder)[: args.images or None]
    dec = get_base("jpeg")
    encoders = {e: get_base("jpeg", e).encode for e in ("turbo", "jpegli", "mozjpeg")}
    encoders["jpegli-aq"] = _jpegli_aq
    acc: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    for i, f in enumerate(files):
        im = read_image(f, rgb=True)
        if args.crop:
            h, w = im.shape[:2]
            y, x = max(0, (h - args.crop) // 2), max(0, (w - args.crop) // 2)
            im = np.ascontiguousarray(im[y : y + args.crop, x : x + args.crop])
        for name, enc in encoders.items():
            for q in QUALITIES:
                data = enc(im, q)
                acc.setdefault((name, q), []).append(
                    (8 * len(data) / (im.shape[0] * im.shape[1]),
                     psnr(im, dec.decode(data)), psnr(im, dec.decode(data, decoder="jpegli"))))
        print(f"[{i + 1}/{len(files)}] {f.name}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for (name, q), v in acc.items():
        a = [float(x) for x in np.mean(v, axis=0)]
        rows.append({"encoder": name, "quality": q, "bpp": round(a[0], 4),
                     "psnr_turbo_dec": round(a[1], 3), "psnr_jpegli_dec": round(a[2], 3),
                     "jpegli_dec_gain_db": round(a[2] - a[1], 3), "images": len(v)})
    with open(out / "jpeg_decoders.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in encoders:
        r = [x for x in rows if x["encoder"] == name]
        ax.plot([x["bpp"] for x in r], [x["jpegli_dec_gain_db"] for x in r], "-o", label=name)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("bpp")
    ax.set_ylabel("jpegli decoder - libjpeg-turbo decoder (dB)")
    ax.set_title(f"Decoder gain per encoder ({Path(args.folder).name}, {len(files)} images)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "jpeg_decoders.png", dpi=110)
    record(out / "jpeg_decoders.png")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
