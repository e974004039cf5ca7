"""Bytes per adapted parameter of the weight-update coders (issue 25, item 2): the former coder
(format 2: one step, block-adaptive symbols, channel bitmaps) against the DeepCABAC-style coder
(format 3, ``hybridcodec/nnccoding.py``), on updates fine-tuned on held-out photos of the
training split at 0.4 bpp, the networks the default decodes with, both bases.

Three codings of each update: format 2 at the recipe's one step; format 3 at the same step (the
same values, so the same PSNR: the entropy coder alone); format 3 with per-tensor steps chosen
by rate-distortion (``training.adaptation.choose_steps``). PSNR gains are on the whole photo.

    python -m experiments.adapt.update_coder ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80
    -> experiments/results/update_coder.csv, update_coder_summary.csv
"""
from dataclasses import replace

import numpy as np

from experiments.common import RESULTS, heldout_files, heldout_parser, write_csv
from hybridcodec import nnccoding
from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.basecodecs import get_base
from hybridcodec.encoder import Encoder
from hybridcodec.imageio import read_image
from hybridcodec.metrics import psnr
from hybridcodec.models import default_model_name, get_model
from hybridcodec.ratecontrol import codec_slope, search_quality
from hybridcodec.training.adaptation import adapt, choose_steps, parameter_shapes, to_tensor
from hybridcodec.weightcoding import decode_update, encode_update


def main() -> None:
    p = heldout_parser(__doc__, images=3)
    p.add_argument("--subsets", nargs="+", default=["bias", "last2"])
    p.add_argument("--bases", nargs="+", default=["jpeg", "jpeg2000"])
    p.add_argument("--bpp", type=float, default=0.4)
    p.add_argument("--out", default=str(RESULTS / "update_coder.csv"))
    a = p.parse_args()
    rows = []
    files = [f for f in heldout_files(a) if np.prod(read_image(f).shape[:2]) >= 0.5e6][: a.images]
    for f in files:
        img = read_image(f, rgb=True)
        for base in a.bases:
            model = get_model(default_model_name(base, "full", "fast"))
            enc = Encoder(img, get_base(base), model, "420")
            q = search_quality(enc, int(a.bpp * img.shape[0] * img.shape[1] / 8))
            f0 = enc.file_at(q)
            p0 = psnr(img, enc.reconstruct(q))
            d0 = enc.sse(q)
            lam = codec_slope(enc, q, d0, len(f0))
            rec = model.net.rec
            shapes = parameter_shapes(rec)
            compact = to_tensor(enc.decoded_compact(q))
            for subset in a.subsets:
                cfg = replace(AdaptConfig(subset=subset), seconds=1e9)
                sens: dict = {}
                deltas = adapt(rec, compact, enc.x, enc.condition(q), cfg, slope=lam,
                               sensitivity=sens)
                n = sum(d.size for d in deltas.values())
                v2, _ = encode_update(deltas, cfg.step)
                code = nnccoding.step_code(cfg.step)
                same = {i: nnccoding.quantize(d, nnccoding.code_step(code))
                        for i, d in deltas.items()}
                v3 = nnccoding.encode(same, {i: code for i in same}, len(shapes))
                values, codes = choose_steps(rec, compact, enc.x, enc.condition(q), deltas,
                                             sens, cfg, lam)
                rd = nnccoding.encode(values, codes, len(shapes)) if values else b""
                gain = {}
                for name, payload in (("v2", v2), ("v3_rd", rd)):
                    dq = decode_update(payload, shapes) if payload else {}
                    gain[name] = psnr(img, enc.reconstruct(q, dq)) - p0 if dq else 0.0
                rows.append({
                    "image": f.rsplit("/", 1)[-1], "megapixels": round(img.size / 3e6, 2),
                    "base": base, "model": model.name, "subset": subset, "parameters": n,
                    "file_bytes": len(f0), "slope_sse_per_bit": round(lam, 1),
                    "bytes_v2": len(v2), "bytes_v3_same_step": len(v3), "bytes_v3_rd": len(rd),
                    "bytes_per_param_v2": round(len(v2) / n, 4),
                    "bytes_per_param_v3_same_step": round(len(v3) / n, 4),
                    "bytes_per_param_v3_rd": round(len(rd) / n, 4),
                    "gain_db_v2": round(gain["v2"], 4), "gain_db_v3_rd": round(gain["v3_rd"], 4),
                    "net_gain_db_v2": round(gain["v2"] - _db_of_bytes(len(v2), lam, d0), 4),
                    "net_gain_db_v3_rd": round(gain["v3_rd"] - _db_of_bytes(len(rd), lam, d0),
                                               4)})
                print(rows[-1], flush=True)
    write_csv(a.out, rows)
    summary = []
    for base in a.bases:
        for subset in a.subsets:
            rs = [r for r in rows if r["base"] == base and r["subset"] == subset]
            if rs:
                summary.append({"base": base, "subset": subset, "images": len(rs), **{
                    k: round(float(np.mean([r[k] for r in rs])), 4) for k in (
                        "bytes_per_param_v2", "bytes_per_param_v3_same_step",
                        "bytes_per_param_v3_rd", "gain_db_v2", "gain_db_v3_rd",
                        "net_gain_db_v2", "net_gain_db_v3_rd")},
                    "v3_same_step_vs_v2_percent": round(100 * (np.mean(
                        [r["bytes_v3_same_step"] / r["bytes_v2"] for r in rs]) - 1), 1)})
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)
    for s in summary:
        print(s)


def _db_of_bytes(update: int, slope: float, sse0: float) -> float:
    """The PSNR the update's bytes would have bought the base codec at its own local slope
    (squared error per bit): the price the equal-size rule makes the update pay."""
    return float(10 * np.log10(sse0 / max(sse0 - slope * 8 * update, 1e-9)))


if __name__ == "__main__":
    main()
