"""Standard files against ``.hyc`` (issue 15): the bench's hybrid encodes written both ways.

For each image and each setting of the bench's hybrid and auto series (``--quality``, default
profile), the file is written as ``.hyc`` and as the standard file of its base (``.jpg``,
``.j2k``, and ``.jp2``); the decoded images must be identical, and the size difference is what
the container costs. ``hybridcodec bench --container standard`` runs the whole bench this way.

    python -m experiments.rd.standard_vs_hyc ../shared/data/kodak --images 6
    -> experiments/results/standard_vs_hyc.csv
"""
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import image_args, spread, write_csv  # noqa: E402
from hybridcodec import codec  # noqa: E402
from hybridcodec.benchmark import SWEEPS  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402

KINDS = {"jpeg": ("jpeg",), "jpeg2000": ("j2k", "jp2")}


def main() -> None:
    a = image_args(__doc__, "experiments/results/standard_vs_hyc.csv", 6)
    files = spread(list_images(a.folder), a.images)
    rows = []
    for b in ("jpeg", "jpeg2000"):
        for series, mode in ((f"half-{b}", "compact"), (f"auto-{b}", "auto")):
            for kind in KINDS[b]:
                extra, same = [], True
                for f in files:
                    im = read_image(f, rgb=True)
                    for q in SWEEPS[series]:
                        h = codec.encode(im, base=b, quality=q, mode=mode)
                        s = codec.encode(im, base=b, quality=q, mode=mode, container=kind)
                        extra.append(len(s) - len(h))
                        same &= bool(np.array_equal(codec.decode(h), codec.decode(s)))
                rows.append({"base": b, "series": series, "mode": mode, "container": kind,
                             "files": len(extra), "decoded_identical": same,
                             "extra_bytes_mean": round(float(np.mean(extra)), 2),
                             "extra_bytes_max": int(np.max(extra))})
                print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
