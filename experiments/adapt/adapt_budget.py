"""Does ``--adapt`` honour ``--adapt-seconds``? (issue 25, item 3): the wall seconds of the whole
adaptation stage (encode with adaptation minus the same encode without) against the budget,
at a quality and at a bpp target, on 768 x 512 crops of photos that are not the benchmark.

    python -m experiments.adapt.adapt_budget ../shared/data/train --images 3 --budgets 3 6 12
"""
import argparse
import time
from pathlib import Path

import numpy as np

from experiments.common import RESULTS, spread, write_csv
from hybridcodec.adaptconfig import AdaptConfig
from hybridcodec.codec import encode_ex
from hybridcodec.imageio import list_images, read_image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--images", type=int, default=3)
    p.add_argument("--budgets", type=float, nargs="+", default=[3.0, 6.0, 12.0])
    p.add_argument("--out", default=str(RESULTS / "adapt_budget.csv"))
    a = p.parse_args()
    rows = []
    for f in spread(list_images(a.folder), a.images):
        im = read_image(f, rgb=True)
        h, w = im.shape[:2]
        y, x = max(0, (h - 512) // 2), max(0, (w - 768) // 2)
        im = np.ascontiguousarray(im[y : y + 512, x : x + 768])
        for target in ({"quality": 40}, {"bpp": 0.4}):
            encode_ex(im, base="jpeg", **target)  # warm: models and sessions loaded
            t = time.monotonic()
            encode_ex(im, base="jpeg", **target)
            plain = time.monotonic() - t
            for budget in a.budgets:
                cfg = AdaptConfig(seconds=budget, steps=10**6)  # the budget, not the steps, stops
                t = time.monotonic()
                res = encode_ex(im, base="jpeg", adapt=cfg, **target)
                stage = time.monotonic() - t - plain
                rows.append({"image": Path(f).name, "target": "=".join(map(str, *target.items())),
                             "budget_s": budget, "stage_s": round(stage, 2),
                             "over_budget": round(stage / budget, 3),
                             "kept": res.decision.get("kept"),
                             "reason": res.decision.get("reason", "")})
                print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
