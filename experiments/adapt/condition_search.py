"""Would an encoder that chose the quality RecCNN is conditioned on, per image, pay (issue 25,
item 5: a higher effort that sends a few bytes)? The full-resolution network of the default
(fast) profile on jpegli (JPEG) and OpenJPEG (JPEG 2000) files of centre crops of the held-out
photos, decoded with the condition the payload says plus an offset; the plain decode beside
it, since the encoder already keeps the plain decoder where the network loses
(``modes.choose_decoder``). Reports the oracle gain of the best offset over the network at its
own condition and over what ships today (the better of the network and the plain decode).

    python -m experiments.adapt.condition_search ../shared/data/train \\
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80
    -> experiments/results/condition_search.csv, condition_search_summary.csv
"""
import os

import numpy as np

from experiments.common import RESULTS, heldout_crops, heldout_parser, write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.metrics import psnr
from hybridcodec.models import default_model_name, get_model
from hybridcodec.pipeline import reconstruct

#: (base, qualities, condition offsets): JPEG quality factor, JPEG 2000 PSNR target (dB)
SWEEPS = (("jpeg", (20, 40, 60, 80, 90), (-20, -10, -5, 0, 5, 10, 20)),
          ("jpeg2000", (26, 30, 34, 38), (-4, -2, -1, 0, 1, 2, 4)))


def main() -> None:
    p = heldout_parser(__doc__, images=6)
    p.add_argument("--crop", type=int, default=512)
    p.add_argument("--out", default=str(RESULTS / "condition_search.csv"))
    a = p.parse_args()
    rows = []
    for f, x in heldout_crops(a, a.crop):
        for name, qualities, offsets in SWEEPS:
            base = get_base(name, "jpegli")
            model = get_model(default_model_name(name, "full", "fast"))
            for q in qualities:
                data = base.encode(x, q)
                dec = base.decode(data, decoder=model.decoder)
                c0 = base.condition_quality(data, q)
                net = {d: psnr(x, reconstruct(model, dec, float(np.clip(c0 + d, 1, 100)),
                                              *x.shape[:2])) for d in offsets}
                best = max(net, key=net.get)
                plain = psnr(x, dec)
                rows.append({"image": os.path.basename(f), "base": name, "model": model.name,
                             "quality": q, "bpp": round(8 * len(data) / (x.shape[0] * x.shape[1]), 4),
                             "condition": round(c0, 2), "plain_db": round(plain, 4),
                             "network_db": round(net[0], 4), "best_offset": best,
                             "best_db": round(net[best], 4),
                             "gain_over_network_db": round(net[best] - net[0], 4),
                             "gain_over_shipped_db": round(net[best] - max(net[0], plain), 4)})
                print(rows[-1], flush=True)
    write_csv(a.out, rows)
    summary = []
    for name, *_ in SWEEPS:
        rs = [r for r in rows if r["base"] == name]
        summary.append({"base": name, "cases": len(rs),
                        "mean_gain_over_network_db": round(float(np.mean(
                            [r["gain_over_network_db"] for r in rs])), 4),
                        "mean_gain_over_shipped_db": round(float(np.mean(
                            [max(0.0, r["gain_over_shipped_db"]) for r in rs])), 4),
                        "max_gain_over_shipped_db": round(max(r["gain_over_shipped_db"]
                                                              for r in rs), 4),
                        "cases_offset_not_zero": sum(r["best_offset"] != 0 for r in rs)})
        print(summary[-1], flush=True)
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
