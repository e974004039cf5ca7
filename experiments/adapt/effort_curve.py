"""The effort knob's time / BD-rate curve (issue 25, item 5): the default encode at each
``effort`` (``EncodeOptions.effort``, ``--effort``) on centre crops of the held-out photos of the
training split, both bases, rate-controlled to a few bpp targets; BD-rate of each effort against
effort 1 (pchip over the targets, per photo, then the mean) and encode seconds per megapixel.

    python -m experiments.adapt.effort_curve ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80
    -> experiments/results/effort_curve.csv, effort_curve_summary.csv
"""
import os
import time

import numpy as np

from experiments.common import RESULTS, heldout_crops, heldout_parser, write_csv
from hybridcodec.codec import decode, encode_ex
from hybridcodec.metrics import bd_rate, psnr


def main() -> None:
    p = heldout_parser(__doc__, images=3)
    p.add_argument("--crop", type=int, default=512)
    p.add_argument("--efforts", type=int, nargs="+", default=[1, 2, 5, 9])
    p.add_argument("--bpp", type=float, nargs="+", default=[0.25, 0.4, 0.6, 0.9])
    p.add_argument("--bases", nargs="+", default=["jpeg", "jpeg2000"])
    p.add_argument("--out", default=str(RESULTS / "effort_curve.csv"))
    a = p.parse_args()
    rows = []
    for f, x in heldout_crops(a, a.crop):
        mp = x.shape[0] * x.shape[1] / 1e6
        for base in a.bases:
            for effort in a.efforts:
                for bpp in a.bpp:
                    t0 = time.perf_counter()
                    res = encode_ex(x, base=base, bpp=bpp, effort=effort)
                    secs = time.perf_counter() - t0
                    rows.append({"image": os.path.basename(f), "base": base, "effort": effort,
                                 "target_bpp": bpp, "bpp": round(8 * len(res.data) / (mp * 1e6), 5),
                                 "psnr": round(psnr(x, decode(res.data)), 4),
                                 "update_kept": bool(res.decision.get("kept", False)),
                                 "seconds": round(secs, 2),
                                 "seconds_per_mp": round(secs / mp, 2)})
                    print(rows[-1], flush=True)
    write_csv(a.out, rows)
    summary = []
    for base in a.bases:
        for effort in a.efforts:
            bds, secs = [], []
            for name in sorted({r["image"] for r in rows}):
                def pts(e):
                    return [r for r in rows if r["image"] == name and r["base"] == base
                            and r["effort"] == e]
                ref, test = pts(a.efforts[0]), pts(effort)
                bds.append(bd_rate([r["bpp"] for r in ref], [r["psnr"] for r in ref],
                                   [r["bpp"] for r in test], [r["psnr"] for r in test]))
                secs += [r["seconds_per_mp"] for r in test]
            summary.append({"base": base, "effort": effort, "images": len(bds),
                            "bd_rate_percent_vs_effort1": round(float(np.mean(bds)), 2),
                            "bd_rate_each": " ".join(f"{b:.2f}" for b in bds),
                            "encode_seconds_per_mp": round(float(np.median(secs)), 1),
                            "updates_kept": sum(r["update_kept"] for r in rows
                                                if r["base"] == base and r["effort"] == effort)})
            print(summary[-1])
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
