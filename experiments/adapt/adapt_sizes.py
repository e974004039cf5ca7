"""The default ``--adapt`` against image size (issue 25, item 6): gain at equal total size,
how often the update is kept, its bytes (and bytes per adapted parameter) and the stage's
seconds per megapixel, on the held-out validation photos of the training split (never the
benchmark, never trained on) at four sizes:

* 0.4 MP: centre crops of 512 x 768 (Kodak's size) of the photos of at least 0.5 MP;
* 1 MP: those photos whole (0.8-1.1 MP);
* 2 MP: 2 x 2 mosaics of them (each tile cropped to the smallest photo's size, 2.2 MP);
* 3+ MP: a 2 x 2 mosaic of 768 x 1024 crops of the four photos at least 768 high (3.1 MP).

A mosaic of four photos is a hard case for one update (four contents); a single large photo is
an easier one. Each encode is rate-controlled to ``--bpp``; the encoder's own rule decides
whether the update is kept (equal size, better PSNR).

    python -m experiments.adapt.adapt_sizes ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --bpp 0.4
    -> experiments/results/adapt_sizes.csv, adapt_sizes_summary.csv, adapt_sizes.png
"""
import time

import numpy as np

from experiments.adapt.adapt_recipe import photos
from experiments.common import RESULTS, heldout_parser, save_figure, write_csv
from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.codec import encode_ex
from hybridcodec.models import get_model
from hybridcodec.training.adaptation import select_parameters

SIZES = ("0.4 MP", "1 MP", "2 MP", "3+ MP")


def images(folders: list[str], val_images: int) -> list[tuple[str, str, np.ndarray]]:
    """(size class, name, image) of every test image."""
    out = []
    whole = [(n, im) for n, im in photos(folders, val_images, 0)]
    for n, im in whole:
        y, x = (im.shape[0] - 512) // 2, (im.shape[1] - 768) // 2
        out.append(("0.4 MP", f"{n}-crop", np.ascontiguousarray(im[y : y + 512, x : x + 768])))
    out += [("1 MP", n, im) for n, im in whole]
    out += [("2 MP", n, im) for n, im in photos(folders, val_images, 2) if n.startswith("mosaic")]
    tall = [im for _, im in whole if im.shape[0] >= 768 and im.shape[1] >= 1024][:4]
    if len(tall) == 4:
        t = [im[:768, :1024] for im in tall]
        out.append(("3+ MP", "mosaic-768x1024",
                    np.concatenate([np.concatenate(t[:2], 1), np.concatenate(t[2:], 1)], 0)))
    return out


def main() -> None:
    p = heldout_parser(__doc__, images=0)
    p.add_argument("--bpp", type=float, default=0.4)
    p.add_argument("--bases", nargs="+", default=["jpeg", "jpeg2000"])
    p.add_argument("--out", default=str(RESULTS / "adapt_sizes.csv"))
    a = p.parse_args()
    cfg = AdaptConfig()
    rows = []
    for size, name, im in images(a.folders, a.val_images):
        mp = im.shape[0] * im.shape[1] / 1e6
        for base in a.bases:
            t0 = time.perf_counter()
            encode_ex(im, base=base, bpp=a.bpp)
            t_plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            res = encode_ex(im, base=base, bpp=a.bpp, adapt=cfg)
            secs = time.perf_counter() - t0 - t_plain
            d = res.decisions.adapt
            n_params = sum(np.prod(p.shape) for i, (_, p) in enumerate(
                get_model(res.model).net.rec.named_parameters())
                if i in select_parameters(get_model(res.model).net.rec, cfg.subset))
            row = {"size": size, "image": name, "megapixels": round(mp, 2), "base": base,
                   "model": res.model, "kept": bool(d and d.kept),
                   "reason": (d.reason if d else "") or ""}
            if d and d.without and d.with_update:
                ub = (d.update or {}).get("bytes", 0)
                row.update(gain_db=round(d.with_update.psnr - d.without.psnr, 4),
                           update_bytes=ub, bytes_per_parameter=round(ub / n_params, 4),
                           update_share_percent=round(100 * ub / d.without.bytes, 2))
            row.update(gain_kept_db=round(row.get("gain_db", 0.0) if row["kept"] else 0.0, 4),
                       adapt_seconds=round(secs, 2), seconds_per_mp=round(secs / mp, 2))
            rows.append(row)
            print(row, flush=True)
    write_csv(a.out, rows)
    summary = []
    for base in a.bases:
        for size in SIZES:
            rs = [r for r in rows if r["base"] == base and r["size"] == size]
            if not rs:
                continue
            summary.append({
                "base": base, "size": size, "images": len(rs), "kept": sum(r["kept"] for r in rs),
                "mean_gain_kept_db": round(float(np.mean([r["gain_kept_db"] for r in rs])), 4),
                "max_gain_kept_db": round(max(r["gain_kept_db"] for r in rs), 4),
                "mean_update_bytes": round(float(np.mean([r.get("update_bytes") or 0
                                                          for r in rs])), 1),
                "mean_bytes_per_parameter": round(float(np.mean(
                    [r.get("bytes_per_parameter") or 0 for r in rs])), 4),
                "seconds_per_mp": round(float(np.median([r["seconds_per_mp"] for r in rs])), 2)})
            print(summary[-1])
    out_sum = a.out.replace(".csv", "_summary.csv")
    write_csv(out_sum, summary)
    _plot(rows, a.out.replace(".csv", ".png"))


def _plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for base, marker in (("jpeg", "o"), ("jpeg2000", "s")):
        rs = [r for r in rows if r["base"] == base]
        ax.scatter([r["megapixels"] for r in rs], [r["gain_kept_db"] for r in rs],
                   marker=marker, label=base)
    ax.axhline(0.2, color="grey", lw=0.5, ls="--")
    ax.set(xscale="log", xlabel="megapixels", ylabel="gain at equal size (dB, kept updates)",
           title="default --adapt against image size")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
