"""The default encode, fast against exact rate control (issue 14, item 1): seconds per image and
the rate-distortion cost, in one run on the same images.

``fast`` is the default (``--mode auto``): the interpolating search, ComCNN pinned once or twice
(``ratecontrol.fit_compact``) and the cheap mode estimate (``modes``). ``exact`` runs ComCNN at
every step of the search and measures every candidate (what the encoder did before issue 14,
with the same search). Both at the bench's qualities (``--mode auto --quality``) and at bpp
targets; BD-PSNR of fast against exact per base codec and setting kind.

    python -m experiments.speed.encode_speed ../shared/data/kodak --images 8
    -> experiments/results/encode_speed.csv, encode_speed_summary.csv
"""
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import each_image, image_args, write_csv  # noqa: E402
from hybridcodec import codec  # noqa: E402
from hybridcodec.benchmark import SWEEPS  # noqa: E402
from hybridcodec.metrics import bd_psnr, psnr  # noqa: E402

BPPS = {"jpeg": [0.25, 0.5, 1.0, 1.5], "jpeg2000": [0.1, 0.25, 0.5, 1.0]}


def main() -> None:
    a = image_args(__doc__, "experiments/results/encode_speed.csv", 8)
    rows = []
    for f, im, pixels in each_image(a.folder, a.images):
        for b in ("jpeg", "jpeg2000"):
            codec.encode_ex(im, base=b)  # warm: models and sessions loaded
            settings = [("quality", q) for q in SWEEPS[f"auto-{b}"]] + \
                [("bpp", r) for r in BPPS[b]]
            for kind, value in settings:
                row = {"image": f.name, "base": b, "kind": kind, "value": value}
                for rc in ("fast", "exact"):
                    t0 = time.perf_counter()
                    res = codec.encode_ex(im, base=b, rate_control=rc, **{kind: value})
                    row[f"{rc}_s"] = round(time.perf_counter() - t0, 4)
                    row[f"{rc}_bpp"] = round(8 * len(res.data) / pixels, 5)
                    row[f"{rc}_psnr"] = round(psnr(im, codec.decode(res.data)), 4)
                    row[f"{rc}_mode"] = res.decision["mode"]["chosen"]
                rows.append(row)
                print(row, flush=True)
    write_csv(a.out, rows)
    summary = []
    for b in ("jpeg", "jpeg2000"):
        for kind in ("quality", "bpp"):
            sel = [r for r in rows if r["base"] == b and r["kind"] == kind]
            values = sorted({r["value"] for r in sel})

            def curve(rc, sel=sel, values=values):
                return ([float(np.mean([r[f"{rc}_bpp"] for r in sel if r["value"] == v]))
                         for v in values],
                        [float(np.mean([r[f"{rc}_psnr"] for r in sel if r["value"] == v]))
                         for v in values])

            summary.append({
                "base": b, "kind": kind, "images": len({r["image"] for r in sel}),
                "fast_s_per_image": round(float(np.mean([r["fast_s"] for r in sel])), 3),
                "exact_s_per_image": round(float(np.mean([r["exact_s"] for r in sel])), 3),
                "bd_psnr_fast_vs_exact_db": round(bd_psnr(*curve("exact"), *curve("fast")), 4),
                "same_mode_share": round(float(np.mean([r["fast_mode"] == r["exact_mode"]
                                                         for r in sel])), 3)})
            print(summary[-1])
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
