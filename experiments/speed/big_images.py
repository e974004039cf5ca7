"""Big and degenerate images: seconds per megapixel and peak memory of ``compress`` (the
default settings), ``decompress`` and ``enhance`` at several sizes (issue 12: a 100-megapixel
photo within 2 GB, in time linear in its pixels; 1x5000 strips well under a second).

    .venv/bin/python -m experiments.speed.big_images ../shared/data/train --sizes 1 12 100

The test photos are mosaics of the training photos (never the benchmark set) at the requested
megapixels (3:2), plus 1x5000 and 5000x1 strips. Each command runs as its own process under
``/usr/bin/time`` (wall seconds, peak resident memory, start-up included); the strips are also
timed in-process. Writes
``experiments/results/big_images.csv``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from experiments.common import write_csv
from hybridcodec.imageio import list_images, read_image


def mosaic(folder: str, megapixels: float, seed: int = 0) -> np.ndarray:
    """A 3:2 RGB image of about ``megapixels`` made of 256x256 crops of the photos."""
    w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    h = int(round(megapixels * 1e6 / w))
    rng = np.random.default_rng(seed)
    photos = [read_image(f, rgb=True) for f in list_images(folder)[:40]]
    out = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, 256):
        for x in range(0, w, 256):
            p = photos[int(rng.integers(len(photos)))]
            py = int(rng.integers(p.shape[0] - 255))
            px = int(rng.integers(p.shape[1] - 255))
            tile = p[py : py + 256, px : px + 256]
            out[y : y + 256, x : x + 256] = tile[: h - y, : w - x]
    return out


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, last stderr line) of one command."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    wall = time.monotonic() - t0
    lines = r.stderr.strip().splitlines()
    peak = float(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-500:]}")
    return wall, peak, lines[-2] if len(lines) > 1 else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", help="folder of training photos for the mosaics")
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 12, 100])
    ap.add_argument("--out", default="experiments/results/big_images.csv")
    args = ap.parse_args()
    hyc = [sys.executable, "-m", "hybridcodec"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        cases = [(f"{mp:g} MP", mosaic(args.photos, mp)) for mp in args.sizes]
        strip = mosaic(args.photos, 0.1)[:1]
        cases += [("1x5000", np.resize(strip, (1, 5000, 3))),
                  ("5000x1", np.resize(strip, (1, 5000, 3)).transpose(1, 0, 2).copy())]
        for label, img in cases:
            png, hy, jpg = d / "in.png", d / "out.hyc", d / "in.jpg"
            Image.fromarray(img).save(png, compress_level=1)
            Image.fromarray(img).save(jpg, quality=75)
            mp = img.shape[0] * img.shape[1] / 1e6
            jobs = [("compress", [*hyc, "compress", str(png), str(hy), "-f"]),
                    ("decompress", [*hyc, "decompress", str(hy), str(d / "dec.png"), "-f"]),
                    ("enhance", [*hyc, "enhance", str(jpg), "-o", str(d / "enh.png"), "-f"])]
            if mp < 0.1:  # degenerate shapes: also in-process, without the start-up of a command
                import hybridcodec

                for what, fn in (("encode (in-process)", lambda: hybridcodec.encode(img)),
                                 ("decode (in-process)",
                                  lambda: hybridcodec.decode(hybridcodec.encode(img)))):
                    t0 = time.monotonic()
                    fn()
                    wall = time.monotonic() - t0
                    rows.append({"image": label, "width": img.shape[1], "height": img.shape[0],
                                 "megapixels": round(mp, 3), "command": what,
                                 "seconds": round(wall, 3), "seconds_per_mp": round(wall / mp, 2),
                                 "peak_mb": float("nan"), "note": "encode + decode" if
                                 what.startswith("decode") else ""})
                    print(rows[-1], flush=True)
            for what, cmd in jobs:
                wall, peak, line = timed(cmd)
                rows.append({"image": label, "width": img.shape[1], "height": img.shape[0],
                             "megapixels": round(mp, 3), "command": what,
                             "seconds": round(wall, 2), "seconds_per_mp": round(wall / mp, 2),
                             "peak_mb": round(peak), "note": line[:120]})
                print(rows[-1], flush=True)
    write_csv(args.out, rows)


if __name__ == "__main__":
    main()
