"""How well the differentiable rate proxies (``hybridcodec/training/rateproxy.py``) follow the real file
sizes (issue 13, item 4): area-downsampled training photos (ComCNN's starting point) coded by
each base codec over its quality range; real bits per full-resolution pixel against the proxy,
a least-squares line through the origin and the correlation, per base.

    python -m experiments.train.rate_proxy ../shared/data/train --images 20
    -> experiments/results/rate_proxy.csv, rate_proxy.png
"""
import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import record, write_csv# noqa: E402
from hybridcodec.basecodecs import get_base  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.training.rateproxy import rate_proxy  # noqa: E402

QUALITIES = {"jpeg": [5, 10, 20, 35, 55, 75, 95], "jpeg2000": [20, 25, 30, 35, 40, 45]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="training photos (never Kodak)")
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--out", default="experiments/results")
    a = p.parse_args()
    rows = []
    for f in list_images(a.data)[: a.images]:
        im = read_image(f, rgb=True)
        h, w = im.shape[0] // 2 * 2, im.shape[1] // 2 * 2
        x = torch.from_numpy(im[:h, :w]).permute(2, 0, 1)[None].float() / 255
        small = F.avg_pool2d(x, 2)
        s8 = (small[0] * 255).round().byte().permute(1, 2, 0).numpy()
        for name, qs in QUALITIES.items():
            base = get_base(name)
            for q in qs:
                bits = 8 * len(base.encode(s8, q))
                tq = base.table_quality(q)
                proxy = rate_proxy(base.name, small, torch.tensor([tq])).item()
                rows.append({"base": name, "image": f.name, "quality": q, "table_quality": tq,
                             "bpp": bits / (h * w), "proxy": proxy})
    summary = []
    for name in QUALITIES:
        r = [x for x in rows if x["base"] == name]
        bpp, proxy = np.array([x["bpp"] for x in r]), np.array([x["proxy"] for x in r])
        slope = float(bpp @ proxy / (proxy @ proxy))
        corr = float(np.corrcoef(bpp, proxy)[0, 1])
        lcorr = float(np.corrcoef(np.log(bpp), np.log(proxy))[0, 1])
        summary.append({"base": name, "points": len(r), "bpp_per_proxy": round(slope, 4),
                        "correlation": round(corr, 4), "log_correlation": round(lcorr, 4)})
        print(summary[-1])
    write_csv(Path(a.out) / "rate_proxy.csv", rows)
    write_csv(Path(a.out) / "rate_proxy_summary.csv", summary)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, s in zip(axes, summary):
        r = [x for x in rows if x["base"] == s["base"]]
        ax.loglog([x["proxy"] for x in r], [x["bpp"] for x in r], ".", alpha=0.6)
        ax.set_xlabel("rate proxy (bits per pixel, unscaled)")
        ax.set_ylabel("real bits per full-resolution pixel")
        ax.set_title(f"{s['base']}: r = {s['correlation']:.3f}, log r = {s['log_correlation']:.3f}")
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(Path(a.out) / "rate_proxy.png", dpi=110)
    record(Path(a.out) / "rate_proxy.png")


if __name__ == "__main__":
    main()
