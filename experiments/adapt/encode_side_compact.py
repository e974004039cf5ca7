"""Encode-side optimisation of the compact image (issue 25, item 4; Jiang et al. 2017's auxiliary
variable used at encode time, for one image): ComCNN's compact image is refined by gradient
steps through RecCNN, the real base codec in the forward pass and the identity in the backward
pass (the paper's own approximation), plus the rate proxy of the compact image priced at the
codec's slope. No bits are sent: the decoder is the shipped one. Does it pay in BD-rate?

For each held-out photo of the training split (a centre crop), each base and each quality, the
plain compact-mode hybrid of the default profile against the same encoder with the refined
compact image, for rate weights ``k``; the files are the library's (``Encoder.file_at``, real
lengths), the PSNR that of its decoder (``Encoder.reconstruct``). The full-resolution case is
``encode_side.py``.

    python -m experiments.adapt.encode_side_compact ../shared/data/train \\
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80
    -> experiments/results/encode_side_compact.csv, encode_side_compact_summary.csv
"""
import os
import time

import numpy as np

from experiments.common import RESULTS, bd_rates_by_image, heldout_crops, heldout_parser, write_csv
from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.basecodecs import get_base
from hybridcodec.encoder import Encoder
from hybridcodec.metrics import psnr
from hybridcodec.models import default_model_name, get_model
from hybridcodec.options import EncodeOptions
from hybridcodec.ratecontrol import codec_slope
from hybridcodec.training.encodeside import refine_compact

QUALITIES = {"jpeg": (10, 20, 35, 50), "jpeg2000": (28.0, 31.0, 34.0, 37.0)}


def _point(enc: Encoder, x: np.ndarray, q: float) -> tuple[int, float]:
    """(file bytes, PSNR of the decoder's output) at ``q``."""
    return len(enc.file_at(q)), psnr(x, enc.reconstruct(q))


def _gain_on_curve(ref: list[dict], row: dict) -> float | None:
    """dB of ``row`` above the plain curve ``ref`` at ``row``'s rate (log-rate interpolation;
    None outside the curve's range)."""
    pts = sorted((r["bpp"], r["psnr"]) for r in ref)
    if not pts[0][0] <= row["bpp"] <= pts[-1][0]:
        return None
    b, p = zip(*pts)
    return float(row["psnr"] - np.interp(np.log(row["bpp"]), np.log(b), p))


def main() -> None:
    p = heldout_parser(__doc__, images=4)
    p.add_argument("--crop", type=int, default=384)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--k", type=float, nargs="+", default=[10.0, 30.0, 100.0])
    p.add_argument("--bases", nargs="+", default=["jpeg", "jpeg2000"])
    p.add_argument("--out", default=str(RESULTS / "encode_side_compact.csv"))
    a = p.parse_args()
    profile = EncodeOptions().profile
    rows = []
    for base_name in a.bases:
        base = get_base(base_name, None if base_name == "jpeg" else "turbo")
        model = get_model(default_model_name(base_name, "compact", profile))
        sub = base.subsampling_for(EncodeOptions().subsampling)
        for f, x in heldout_crops(a, a.crop):
            pixels = x.shape[0] * x.shape[1]
            for q in QUALITIES[base_name]:
                enc = Encoder(x, base, model, sub)
                n0, p0 = _point(enc, x, q)
                slope = codec_slope(enc, q, enc.sse(q), n0)  # as the encoder prices a bit
                common = {"image": os.path.basename(f), "base": base_name, "model": model.name,
                          "quality": q}
                rows.append({**common, "k": "plain", "bpp": 8 * n0 / pixels,
                             "psnr": round(p0, 4), "seconds": 0.0})
                for k in a.k:
                    enc = Encoder(x, base, model, sub)
                    cfg = AdaptConfig(refine_steps=a.steps, refine_lr=a.lr, refine_rate_weight=k)
                    t0 = time.perf_counter()
                    refined = refine_compact(enc, q, slope, cfg)
                    secs = time.perf_counter() - t0
                    enc.replace_compact(q, refined)  # ComCNN's output replaced
                    n, pr = _point(enc, x, q)
                    rows.append({**common, "k": k, "bpp": 8 * n / pixels, "psnr": round(pr, 4),
                                 "seconds": round(secs, 2), "slope_sse_per_bit": round(slope, 2)})
                    print(rows[-2:] if k == a.k[0] else rows[-1], flush=True)
    write_csv(a.out, rows)
    summary = []
    for base_name in a.bases:
        for k in a.k:
            sel = [r for r in rows if r["base"] == base_name]
            bds = bd_rates_by_image(sel, "k", "plain", k)
            secs = [r["seconds"] for r in rows if r["k"] == k and r["base"] == base_name]
            gains = [g for r in rows if r["k"] == k and r["base"] == base_name
                     for g in [_gain_on_curve([s for s in rows if s["image"] == r["image"] and
                                               s["base"] == base_name and s["k"] == "plain"], r)]
                     if g is not None]
            summary.append({"base": base_name, "k": k, "images": len(bds),
                            "bd_rate_percent_mean": round(float(np.mean(bds)), 2),
                            "points_on_curve": len(gains),
                            "points_better": int(sum(g > 0 for g in gains)),
                            "gain_db_mean": round(float(np.mean(gains)), 3),
                            "gain_db_kept_mean": round(float(np.mean([max(g, 0) for g in gains])),
                                                       3),
                            "bd_rate_percent_each": " ".join(f"{b:.2f}" for b in bds),
                            "seconds_per_mp": round(float(np.mean(secs)) / (a.crop**2 / 1e6), 1),
                            "steps": a.steps})
            print(summary[-1])
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
