"""Which adaptation recipe pays on real photos? (issue 25, items 1 and 6): the gain at equal
total size of the default encode with ``--adapt`` (auto mode, the networks the default decodes
with) for several recipes (parameter subset, steps, crops, learning rate), against image size.

The photos are the held-out validation photos of the training split (never the benchmark, and
never seen by the networks in training): whole photos of 0.8-1.1 MP and 2 x 2 mosaics of them
(2.2 MP: each tile cropped to the smallest photo's size). Each encode is rate-controlled to ``--bpp``; the encoder's own rule decides whether
the update is kept (equal size, better PSNR). Seconds are those of the adaptation stage (the
encode with ``--adapt`` minus the same encode without).

    python -m experiments.adapt.adapt_recipe ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --bpp 0.4
    -> experiments/results/adapt_recipe.csv, adapt_recipe_summary.csv, adapt_recipe.png
"""
import argparse
import os
import time
from dataclasses import replace

import numpy as np

from experiments.common import RESULTS, save_figure, write_csv
from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.codec import decode, encode_ex
from hybridcodec.imageio import read_image
from hybridcodec.training.data import split_files

#: recipes by name: the former default (bias, 40 steps on 4 crops of 64 px, a fixed lambda),
#: the candidates, and ``bias-100x8-b1``, the default since (AdaptConfig())
RECIPES = {
    "bias-40x4": AdaptConfig(steps=40, crops=4, crop=64, bits_per_step=0.0),
    "bias-100x8": AdaptConfig(subset="bias", steps=100, crops=8, crop=48),
    "last1-100x8": AdaptConfig(subset="last1", steps=100, crops=8, crop=48),
    "last2-100x8": AdaptConfig(subset="last2", steps=100, crops=8, crop=48),
    "last2-100x8-lr1e-3": AdaptConfig(subset="last2", steps=100, crops=8, crop=48, lr=1e-3),
    "last2-200x8": AdaptConfig(subset="last2", steps=200, crops=8, crop=48),
    "last2-100x8-l1=30": AdaptConfig(subset="last2", steps=100, crops=8, crop=48, lambda_l1=30.0),
    "last2-100x8-l1=100": AdaptConfig(subset="last2", steps=100, crops=8, crop=48,
                                      lambda_l1=100.0),
    "last2-100x8-l1=300": AdaptConfig(subset="last2", steps=100, crops=8, crop=48,
                                      lambda_l1=300.0),
    "bias-100x8-l1=30": AdaptConfig(subset="bias", steps=100, crops=8, crop=48, lambda_l1=30.0),
    # the rate term priced by the base codec's slope (bits_per_step bits per quantisation step)
    "bias-100x8-b3": AdaptConfig(subset="bias", steps=100, crops=8, crop=48, bits_per_step=3.0),
    "bias-100x8-b1": AdaptConfig(subset="bias", steps=100, crops=8, crop=48, bits_per_step=1.0),
    "bias-100x8-lr5e-3-b1": AdaptConfig(subset="bias", steps=100, crops=8, crop=48, lr=5e-3,
                                        bits_per_step=1.0),
    "bias-60x8-lr5e-3-b3": AdaptConfig(subset="bias", steps=60, crops=8, crop=48, lr=5e-3,
                                       bits_per_step=3.0),
    "gains-100x8-b3": AdaptConfig(subset="gains", steps=100, crops=8, crop=48, bits_per_step=3.0),
    "last2-100x8-b3": AdaptConfig(subset="last2", steps=100, crops=8, crop=48, bits_per_step=3.0),
    "last2-100x8-b10": AdaptConfig(subset="last2", steps=100, crops=8, crop=48,
                                   bits_per_step=10.0),
    "last2-200x8-b10": AdaptConfig(subset="last2", steps=200, crops=8, crop=48,
                                   bits_per_step=10.0),
    # with the DeepCABAC-style coder and per-tensor steps by RD (weight-update format 3)
    "last2-100x8-b1": AdaptConfig(subset="last2", steps=100, crops=8, crop=48, bits_per_step=1.0),
    "last2-100x8-b0.3": AdaptConfig(subset="last2", steps=100, crops=8, crop=48,
                                    bits_per_step=0.3),
    "last3-100x8-b0.3": AdaptConfig(subset="last3", steps=100, crops=8, crop=48,
                                    bits_per_step=0.3),
    "last2-200x8-b0.3": AdaptConfig(subset="last2", steps=200, crops=8, crop=48,
                                    bits_per_step=0.3),
    # one fine-tuning with the whole budget under a size target (AdaptConfig.passes)
    "last2-100x8-b1-p1": AdaptConfig(subset="last2", steps=100, crops=8, crop=48, passes=1),
    "last2-300x8-b1-p1": AdaptConfig(subset="last2", steps=300, crops=8, crop=48, passes=1),
    "last2-300x16-b1-p1": AdaptConfig(subset="last2", steps=300, crops=16, crop=48, passes=1),
    "last2-100x8-b1-p1-lr1e-3": AdaptConfig(subset="last2", steps=100, crops=8, crop=48,
                                            passes=1, lr=1e-3),
    "last2-100x8-b1-p1-lr5e-3": AdaptConfig(subset="last2", steps=100, crops=8, crop=48,
                                            passes=1, lr=5e-3),
    # every parameter of the network (the headroom probe's +0.69 dB unquantised on one photo)
    "all-100x8-b1-p1-lr3e-4": AdaptConfig(subset="all", steps=100, crops=8, crop=48, passes=1,
                                          lr=3e-4),
    "all-100x8-b1-p1-lr1e-3": AdaptConfig(subset="all", steps=100, crops=8, crop=48, passes=1,
                                          lr=1e-3),
    "last4-100x8-b1-p1-lr1e-3": AdaptConfig(subset="last4", steps=100, crops=8, crop=48,
                                            passes=1, lr=1e-3),
}


def photos(folders: list[str], val_images: int, mosaics: int) -> list[tuple[str, np.ndarray]]:
    """The held-out photos of at least 0.5 MP, whole, and ``mosaics`` 2 x 2 mosaics of them."""
    files = split_files(os.pathsep.join(folders), val_images)[1]
    whole = [(os.path.basename(f), read_image(f, rgb=True)) for f in files]
    whole = [(n, im) for n, im in whole if im.shape[0] * im.shape[1] >= 0.5e6]
    out = list(whole)
    for m in range(mosaics):
        four = [whole[(m + k) % len(whole)][1] for k in range(4)]
        h, w = min(a.shape[0] for a in four), min(a.shape[1] for a in four)
        tiles = [a[:h, :w] for a in four]
        out.append((f"mosaic{m}", np.concatenate([np.concatenate(tiles[:2], 1),
                                                  np.concatenate(tiles[2:], 1)], 0)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", help="the training folders (their held-out photos)")
    p.add_argument("--val-images", type=int, default=8)
    p.add_argument("--mosaics", type=int, default=2)
    p.add_argument("--bpp", type=float, default=0.4)
    p.add_argument("--bases", nargs="+", default=["jpeg", "jpeg2000"])
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--seconds-per-mp", type=float, default=AdaptConfig.seconds_per_mp,
                   help="the stage's budget per megapixel for every recipe (the default's)")
    p.add_argument("--out", default=str(RESULTS / "adapt_recipe.csv"))
    a = p.parse_args()
    rows = []
    for name, im in photos(a.folders, a.val_images, a.mosaics):
        mp = im.shape[0] * im.shape[1] / 1e6
        for base in a.bases:
            t0 = time.perf_counter()
            plain = encode_ex(im, base=base, bpp=a.bpp)
            t_plain = time.perf_counter() - t0
            for rname in a.recipes:
                cfg = replace(RECIPES[rname], seconds_per_mp=a.seconds_per_mp)
                t0 = time.perf_counter()
                res = encode_ex(im, base=base, bpp=a.bpp, adapt=cfg)
                secs = time.perf_counter() - t0 - t_plain
                d = res.decisions.adapt
                row = {"image": name, "megapixels": round(mp, 2), "base": base, "recipe": rname,
                       "model": res.model, "kept": bool(d and d.kept),
                       "reason": (d.reason if d else "") or ""}
                if d and d.without and d.with_update:
                    row.update(bytes_without=d.without.bytes, psnr_without=d.without.psnr,
                               bytes_with=d.with_update.bytes, psnr_with=d.with_update.psnr,
                               gain_db=round(d.with_update.psnr - d.without.psnr, 4),
                               update_bytes=(d.update or {}).get("bytes", ""),
                               bytes_per_parameter=round((d.update or {}).get("bytes", 0)
                                                         / _adapted(res.model, cfg.subset), 4),
                               slope_sse_per_bit=round(d.lambda_sse_per_bit or 0.0, 2))
                row.update(gain_kept_db=round(row.get("gain_db", 0.0) if row["kept"] else 0.0, 4),
                           adapt_seconds=round(secs, 2), seconds_per_mp=round(secs / mp, 2))
                if row["kept"]:  # decoding a file with its update against one without
                    row.update(decode_ratio=round(_decode_seconds(res.data)
                                                  / _decode_seconds(plain.data), 3))
                rows.append(row)
                print(row, flush=True)
    write_csv(a.out, rows)
    summary = []
    for base in a.bases:
        for rname in a.recipes:
            for size, sel in (("0.5-1.5 MP", lambda r: r["megapixels"] < 1.5),
                              ("2+ MP", lambda r: r["megapixels"] >= 2)):
                rs = [r for r in rows if r["base"] == base and r["recipe"] == rname and sel(r)]
                if not rs:
                    continue
                summary.append({
                    "base": base, "recipe": rname, "size": size, "images": len(rs),
                    "kept": sum(r["kept"] for r in rs),
                    "mean_gain_kept_db": round(float(np.mean([r["gain_kept_db"] for r in rs])), 4),
                    "mean_gain_db": round(float(np.mean([r.get("gain_db", 0.0) for r in rs])), 4),
                    "mean_update_bytes": round(float(np.mean([r.get("update_bytes") or 0
                                                              for r in rs])), 1),
                    "seconds_per_mp": round(float(np.median([r["seconds_per_mp"] for r in rs])),
                                            2),
                    "decode_ratio_max": max((r["decode_ratio"] for r in rs if "decode_ratio" in r),
                                            default="")})
    out_sum = a.out.replace(".csv", "_summary.csv")
    write_csv(out_sum, summary)
    _plot(summary, a.out.replace(".csv", ".png"))
    for s in summary:
        print(s)


def _adapted(model: str, subset: str) -> int:
    """How many parameters of ``model``'s RecCNN the subset adapts."""
    from hybridcodec.models import get_model
    from hybridcodec.training.adaptation import select_parameters

    rec = get_model(model).net.rec
    params = list(rec.parameters())
    return sum(params[i].numel() for i in select_parameters(rec, subset))


def _decode_seconds(data: bytes, repeat: int = 3) -> float:
    """The best of ``repeat`` decodes (seconds), after one that loads the networks."""
    decode(data)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        decode(data)
        times.append(time.perf_counter() - t0)
    return min(times)


def _plot(summary: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, base in zip(axes, ["jpeg", "jpeg2000"]):
        for size, marker in (("0.5-1.5 MP", "o"), ("2+ MP", "s")):
            rs = [s for s in summary if s["base"] == base and s["size"] == size]
            ax.scatter([s["seconds_per_mp"] for s in rs], [s["mean_gain_kept_db"] for s in rs],
                       marker=marker, label=size)
            for s in rs:
                ax.annotate(s["recipe"], (s["seconds_per_mp"], s["mean_gain_kept_db"]),
                            fontsize=7)
        ax.axhline(0.2, color="grey", lw=0.5, ls="--")
        ax.set(title=f"{base}: gain at equal size (kept updates)", xlabel="adaptation s / MP",
               ylabel="dB")
        ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
