"""Candidate models against the shipped default, with the bench's protocol (issue 13, item 6).

Before a new version replaces a shipped model, this measures the candidates' compact or
full-resolution RD curves on a folder with `make bench`'s fixed-quality sweep (``SWEEPS``),
bpp from the whole ``.hyc`` file and RGB PSNR, beside the classical baseline of the mode (naive
half resolution for compact, the plain decode for full) and the shipped default, in one run.
The final word stays with `make bench` once the winner is registered.

    python -m experiments.rd.compare_models ../shared/data/kodak --base jpeg --mode compact \\
        hyc-jpeg-v2 runs/jpeg-w2x-v1/hyc-jpeg-w2x-v1.pt --tag w2x
    -> experiments/results/compare_<base>_<mode>[_<tag>].csv (RD points per image),
       compare_<base>_<mode>_summary.csv (BD-rate / BD-PSNR vs the baseline and the first model,
       PSNR gain over the baseline at 0.25 bpp and at each quality, decode seconds per image)
"""
import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import write_csv  # noqa: E402
from hybridcodec import codec  # noqa: E402
from hybridcodec.benchmark import SWEEPS  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.metrics import bd_psnr, bd_rate, psnr, psnr_at_rate  # noqa: E402
from hybridcodec.models import BASELINE, BASELINE_FULL  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("models", nargs="+", help="model names or files; the first is the reference")
    p.add_argument("--base", default="jpeg", choices=["jpeg", "jpeg2000"])
    p.add_argument("--mode", default="compact", choices=["compact", "full"])
    p.add_argument("--images", type=int, default=0, help="first N images only (0: all)")
    p.add_argument("--at-bpp", type=float, default=0.25)
    p.add_argument("--tag", default="", help="appended to the file names")
    p.add_argument("--out", default="experiments/results")
    a = p.parse_args()
    qs = SWEEPS[f"{'half' if a.mode == 'compact' else 'auto'}-{a.base}"]
    baseline = BASELINE if a.mode == "compact" else BASELINE_FULL
    variants = [baseline] + a.models
    files = list_images(a.folder)[: a.images or None]
    rows = []
    for i, f in enumerate(files):
        im = read_image(f, rgb=True)
        px = im.shape[0] * im.shape[1]
        for m in variants:
            for q in qs:
                data = codec.encode(im, base=a.base, quality=q, mode=a.mode, model=m)
                t0 = time.perf_counter()
                rec = codec.decode(data, model=m)
                rows.append({"model": m, "image": Path(f).name, "quality": q,
                             "bpp": 8 * len(data) / px, "psnr": psnr(im, rec),
                             "dec_s": time.perf_counter() - t0})
        print(f"[{i + 1}/{len(files)}] {Path(f).name}", flush=True)
    tag = f"{a.base}_{a.mode}" + (f"_{a.tag}" if a.tag else "")
    write_csv(Path(a.out) / f"compare_{tag}.csv", rows)

    def curve(m: str) -> tuple[list[float], list[float]]:
        r = [x for x in rows if x["model"] == m]
        return ([float(np.mean([x["bpp"] for x in r if x["quality"] == q])) for q in qs],
                [float(np.mean([x["psnr"] for x in r if x["quality"] == q])) for q in qs])

    summary = []
    for m in variants:
        c = curve(m)
        row = {"model": m, "images": len(files)}
        for ref, name in ((baseline, "baseline"), (a.models[0], "first")):
            row[f"bd_rate_vs_{name}_pct"] = round(bd_rate(*curve(ref), *c), 2)
            row[f"bd_psnr_vs_{name}_db"] = round(bd_psnr(*curve(ref), *c), 3)
        row[f"gain_over_baseline_at_{a.at_bpp:g}bpp_db"] = round(
            psnr_at_rate(*c, a.at_bpp) - psnr_at_rate(*curve(baseline), a.at_bpp), 3)
        for q, p0, p1 in zip(qs, curve(baseline)[1], c[1]):  # same quality, same codestream
            row[f"dpsnr_q{q:g}_db"] = round(p1 - p0, 3)  # in full mode
        row["dec_s"] = round(float(np.mean([x["dec_s"] for x in rows if x["model"] == m])), 3)
        summary.append(row)
        print(row, flush=True)
    write_csv(Path(a.out) / f"compare_{tag}_summary.csv", summary)


if __name__ == "__main__":
    main()
