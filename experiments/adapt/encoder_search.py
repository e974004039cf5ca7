"""Would a higher effort that searches the JPEG encoder and chroma subsampling per image pay
(issue 25, item 5)? The default encode (``auto`` mode, the default profile) rate-controlled to a
few bpp targets with each encoder and subsampling (jpegli / mozjpeg, 4:2:0 / 4:4:4), on centre
crops of the held-out photos of the training split; then the oracle that keeps, at each target,
the candidate with the best PSNR (what an exhaustive effort level could at best do, at N times
the encode time), as BD-rate against the default (jpegli 4:2:0), per photo and mean.

    python -m experiments.adapt.encoder_search ../shared/data/train \\
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80
    -> experiments/results/encoder_search.csv, encoder_search_summary.csv
"""
import os
import time

import numpy as np

from experiments.common import RESULTS, heldout_crops, heldout_parser, write_csv
from hybridcodec.codec import decode, encode_ex
from hybridcodec.metrics import bd_rate, psnr

CANDIDATES = (("jpegli", "420"), ("jpegli", "444"), ("mozjpeg", "420"), ("mozjpeg", "444"))
DEFAULT = "jpegli-420"


def oracle(rows: list[dict], image: str, names: set[str]) -> list[dict]:
    """At each bpp target of ``image``, the row of ``names`` with the best PSNR."""
    out = []
    for target in sorted({r["target_bpp"] for r in rows if r["image"] == image}):
        c = [r for r in rows if r["image"] == image and r["target_bpp"] == target
             and r["candidate"] in names]
        out.append(max(c, key=lambda r: r["psnr"]))
    return out


def main() -> None:
    p = heldout_parser(__doc__, images=6)
    p.add_argument("--crop", type=int, default=512)
    p.add_argument("--bpp", type=float, nargs="+", default=[0.25, 0.4, 0.6, 0.9])
    p.add_argument("--out", default=str(RESULTS / "encoder_search.csv"))
    a = p.parse_args()
    rows = []
    for f, x in heldout_crops(a, a.crop):
        pixels = x.shape[0] * x.shape[1]
        for encoder, sub in CANDIDATES:
            for bpp in a.bpp:
                t0 = time.perf_counter()
                res = encode_ex(x, base="jpeg", bpp=bpp, jpeg_encoder=encoder, subsampling=sub)
                rows.append({"image": os.path.basename(f), "candidate": f"{encoder}-{sub}",
                             "target_bpp": bpp, "bpp": round(8 * len(res.data) / pixels, 5),
                             "psnr": round(psnr(x, decode(res.data)), 4), "mode": res.mode,
                             "seconds": round(time.perf_counter() - t0, 2)})
                print(rows[-1], flush=True)
    write_csv(a.out, rows)
    names = sorted({r["candidate"] for r in rows})
    sets = {**{n: {n} for n in names}, "oracle jpegli+mozjpeg 4:2:0": {"jpegli-420", "mozjpeg-420"},
            "oracle all": set(names)}
    summary = []
    for label, chosen in sets.items():
        bds, picked = [], []
        for image in sorted({r["image"] for r in rows}):
            ref = [r for r in rows if r["image"] == image and r["candidate"] == DEFAULT]
            test = oracle(rows, image, chosen)
            picked += [r["candidate"] for r in test]
            bds.append(bd_rate([r["bpp"] for r in ref], [r["psnr"] for r in ref],
                               [r["bpp"] for r in test], [r["psnr"] for r in test]))
        summary.append({"candidates": label, "images": len(bds),
                        "bd_rate_percent_vs_default": round(float(np.mean(bds)), 2),
                        "bd_rate_each": " ".join(f"{b:.2f}" for b in bds),
                        "points_not_default": sum(c != DEFAULT for c in picked),
                        "points": len(picked), "encodes_per_point": len(chosen)})
        print(summary[-1], flush=True)
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
