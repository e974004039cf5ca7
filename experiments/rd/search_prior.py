"""Where the full-resolution JPEG 2000 search should start (issue 14, item 1): the PSNR target of
the full-resolution image against that of the naive half-size image at the same file size, on
photos that are *not* the benchmark.

``--mode auto`` with ``--bpp``/``--size`` first finds the naive compact encoding's quality ``qn``
(quarter-size encodes, cheap), then searches the full-resolution quality ``qf`` (encodes of the
whole image, 0.045 s each on this machine). A good first probe saves two or three of them. Fits
``qn - qf = a + b * log2(bpp)`` and the ratio of the two local log-size slopes; the constants in
``hybridcodec/modes.py`` come from this run.

    python -m experiments.rd.search_prior ../shared/data/train --images 13
    -> experiments/results/search_prior.csv (and the fit, printed)
"""
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import image_args, spread, write_csv  # noqa: E402
from hybridcodec.basecodecs import get_base  # noqa: E402
from hybridcodec.encoder import Encoder  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.models import BASELINE, BASELINE_FULL, get_model  # noqa: E402
from hybridcodec.ratecontrol import guess_quality, search_with_slope  # noqa: E402

BPPS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


def main() -> None:
    a = image_args(__doc__, "experiments/results/search_prior.csv", 13)
    files = spread(list_images(a.folder), a.images)
    base = get_base("jpeg2000")
    rows = []
    for f in files:
        im = read_image(f, rgb=True)
        pixels = im.shape[0] * im.shape[1]
        for bpp in BPPS:
            target = int(bpp * pixels / 8)
            naive = Encoder(im, base, get_model(BASELINE), "420")
            naive.pin(base.quality_min)
            full = Encoder(im, base, get_model(BASELINE_FULL), "420")
            try:
                qn, sn = search_with_slope(naive, target, None, guess_quality(base, 4 * bpp), None, None)
                qf, sf = search_with_slope(full, target, None, guess_quality(base, bpp), None, None)
            except Exception:  # noqa: BLE001 - a target below the smallest file: skip it
                continue
            rows.append({"image": f.name, "bpp": bpp, "qn": qn, "qf": qf, "delta": round(qn - qf, 3),
                         "slope_naive": sn and round(sn, 4), "slope_full": sf and round(sf, 4)})
            print(rows[-1], flush=True)
    write_csv(a.out, rows)
    x = np.array([math.log2(r["bpp"]) for r in rows])
    y = np.array([r["delta"] for r in rows])
    b, a0 = np.polyfit(x, y, 1)
    resid = y - (a0 + b * x)
    ratios = [r["slope_full"] / r["slope_naive"] for r in rows if r["slope_full"] and r["slope_naive"]]
    print(f"qn - qf = {a0:.2f} + {b:.2f} * log2(bpp); residual sd {resid.std():.2f} dB, "
          f"max {np.abs(resid).max():.2f} (constant 4 dB: sd {np.abs(y - 4).mean():.2f}); "
          f"slope ratio full/naive median {np.median(ratios):.2f}")


if __name__ == "__main__":
    main()
