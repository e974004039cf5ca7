"""Helpers shared by the experiment scripts."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def write_csv(path: str | Path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts) to a CSV file, creating its folder; the columns are every key in
    order of first appearance (empty where a row lacks one)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)),
                           restval="")
        w.writeheader()
        w.writerows(rows)


def spread(files: list, n: int) -> list:
    """``n`` of ``files`` spread evenly over the list (every k-th): a subset for a timing run."""
    return files[:: max(1, len(files) // n)][:n] if n else files


def image_args(doc: str, out: str, images: int, **extra: tuple) -> argparse.Namespace:
    """The usual arguments of a script over a folder of images: ``folder``, ``--images N``
    (spread over the folder), ``--out``; ``extra`` adds ``--name`` options (type, default)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--images", type=int, default=images, help="every k-th image so that N remain")
    p.add_argument("--out", default=out)
    for name, (kind, default) in extra.items():
        p.add_argument(f"--{name}", type=kind, default=default)
    return p.parse_args()


def each_image(folder: str, n: int):
    """(path, RGB image, pixels) of ``n`` images spread over ``folder`` (0: all)."""
    from hybridcodec.imageio import list_images, read_image

    for f in spread(list_images(folder), n):
        im = read_image(f, rgb=True)
        yield f, im, im.shape[0] * im.shape[1]
