"""How much the scalar quality loses on files of every JPEG encoder (issue 22, item 5): a probe.

The full-resolution JPEG network is conditioned on one number, the IJG-equivalent quality of the
payload's luminance table (``jpeginfo.estimate_quality``), whoever wrote the file. jpegli's and
mozjpeg's tables are not IJG-shaped, so that number may not be the one the network does best
with. On the held-out validation photos (centre crops; never Kodak), each coded by libjpeg-turbo,
mozjpeg and jpegli at QF 10-90 and read through jpegli's decoder, this measures the network's
PSNR with the shipped scalar and with the best scalar of a sweep around it (an oracle that
knows the original). The oracle's margin is what any better *scalar* conditioning could gain;
conditioning on the tables themselves (a table-shaped input) could gain more only where the
tables' shape, not their overall step, is what the network misreads. Evaluation only.

    python -m experiments.train.conditioning_probe ../shared/data/train \
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80 \
        --model experiments/lane/hyc-jpeg-full-v9/hyc-jpeg-full-v9.pt
"""
from __future__ import annotations

import numpy as np
import torch

from experiments.common import heldout_crops, heldout_parser, write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.metrics import psnr
from hybridcodec.nn.modelfile import read_model_file

ENCODERS = ("turbo", "mozjpeg", "jpegli")
QUALITIES = (10, 20, 40, 70, 90)
OFFSETS = (-20, -12, -8, -5, -3, -1.5, 0, 1.5, 3, 5, 8, 12, 20)


def _u8(t: torch.Tensor) -> np.ndarray:
    return (t[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def main() -> None:
    p = heldout_parser(__doc__, images=8)
    p.add_argument("--model", required=True, help="the full-resolution JPEG network (model file)")
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--out", default="experiments/results/conditioning_probe.csv")
    a = p.parse_args()
    torch.set_num_threads(2)
    name, _, net, _ = read_model_file(a.model)
    base = get_base("jpeg")
    lo, hi = base.anchors[0], base.anchors[-1]
    rows = []
    for f, im in heldout_crops(a, a.crop):
        for enc in ENCODERS:
            codec = base.with_encoder(enc)
            for qf in QUALITIES:
                data = codec.encode(im, qf)
                dec = codec.decode(data, decoder="jpegli")
                q0 = codec.condition_quality(data, float(qf))
                x = torch.from_numpy(dec).permute(2, 0, 1)[None].float() / 255
                scores = {}
                with torch.no_grad():
                    for off in OFFSETS:
                        q = float(np.clip(q0 + off, lo, hi))
                        if q not in scores:
                            scores[q] = psnr(im, _u8(net.rec(x, torch.tensor([q]))))
                best_q = max(scores, key=lambda k: scores[k])
                rows.append({"image": f.rsplit("/", 1)[-1], "encoder": enc, "qf": qf,
                             "bpp": round(8 * len(data) / (im.shape[0] * im.shape[1]), 4),
                             "scalar_q": round(q0, 2), "decode_db": round(psnr(im, dec), 3),
                             "shipped_db": round(scores[float(np.clip(q0, lo, hi))], 3),
                             "oracle_q": round(best_q, 2), "oracle_db": round(scores[best_q], 3)})
            print(f, enc, flush=True)
    write_csv(a.out, rows)
    summary = []
    for enc in ENCODERS:
        for qf in QUALITIES:
            r = [x for x in rows if x["encoder"] == enc and x["qf"] == qf]
            summary.append({
                "network": name, "encoder": enc, "qf": qf, "images": len(r),
                "scalar_q": round(float(np.mean([x["scalar_q"] for x in r])), 2),
                "gain_db": round(float(np.mean([x["shipped_db"] - x["decode_db"] for x in r])), 3),
                "oracle_margin_db": round(float(np.mean([x["oracle_db"] - x["shipped_db"]
                                                         for x in r])), 3),
                "oracle_offset": round(float(np.mean([x["oracle_q"] - x["scalar_q"]
                                                      for x in r])), 2)})
            print(summary[-1], flush=True)
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
