"""Where the default encode spends its time (issue 14, item 1): seconds and calls per stage.

Runs ``hybridcodec.encode_ex`` in-process (default ``--mode auto``, fast profile) on each image
at a quality and at a bpp target, with the stages wrapped by timers: ComCNN (``compact_image``),
the base codec's encoder and decoder, and the decoder networks (``reconstruct``, which the mode
and decoder decisions run to measure PSNR). The rest (rate-control bookkeeping, container,
PSNR sums) is ``other``. Run it on an otherwise idle machine.

    python -m experiments.speed.encode_stages ../shared/data/kodak --images 6
    -> experiments/results/encode_stages.csv
"""
import argparse
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import write_csv  # noqa: E402
from hybridcodec import basecodecs, codec, encoder  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402

STAGES = {"comcnn": (encoder, "compact_image"), "network": (encoder, "reconstruct"),
          "base_encode": (basecodecs.BaseCodec, "encode"),
          "base_decode": (basecodecs.BaseCodec, "decode")}


def instrument(acc: dict) -> None:
    """Wrap each stage so that its seconds and calls add up in ``acc``."""
    for stage, (owner, attr) in STAGES.items():
        fn = getattr(owner, attr)

        def timed(*a, _fn=fn, _stage=stage, **k):
            t0 = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                acc[_stage + "_s"] += time.perf_counter() - t0
                acc[_stage + "_calls"] += 1

        setattr(owner, attr, timed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--images", type=int, default=6, help="first N images (0: all)")
    p.add_argument("--out", default="experiments/results/encode_stages.csv")
    a = p.parse_args()
    acc: dict = defaultdict(float)
    instrument(acc)
    settings = [("jpeg", {"quality": 40}), ("jpeg", {"bpp": 0.5}), ("jpeg2000", {"bpp": 0.5}),
                ("jpeg2000", {"quality": 32}), ("jpeg2000", {"bpp": 0.25})]
    rows = []
    for f in list_images(a.folder)[: a.images or None]:
        im = read_image(f, rgb=True)
        for base, target in settings:
            codec.encode_ex(im, base=base, **target)  # warm: models loaded, caches filled
            acc.clear()
            t0 = time.perf_counter()
            res = codec.encode_ex(im, base=base, **target)
            total = time.perf_counter() - t0
            staged = sum(v for k, v in acc.items() if k.endswith("_s"))
            rows.append({"image": f.name, "base": base, "target": ",".join(
                f"{k}={v}" for k, v in target.items()), "mode": res.mode, "total_s": round(total, 3),
                **{k: round(v, 3) if k.endswith("_s") else int(v) for k, v in sorted(acc.items())},
                "other_s": round(total - staged, 3)})
            print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
