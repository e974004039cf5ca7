"""Helpers shared by the experiment scripts: CSV output with its provenance, image folders."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
PROVENANCE = RESULTS / "PROVENANCE.json"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def this_command() -> str:
    """The command that is running, as one would type it again from the repository root."""
    if not sys.argv[0]:  # main(): a command given as it was typed
        return " ".join(map(shlex.quote, sys.argv[1:]))
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    head = f"python -m {spec.name}" if spec and spec.name else \
        f"python {os.path.relpath(sys.argv[0], ROOT)}"
    return " ".join([head, *map(shlex.quote, sys.argv[1:])])


def record(path: str | Path) -> None:
    """Note in ``results/PROVENANCE.json`` the command and commit (``+dirty`` with local
    changes) that wrote ``path``; ``python -m experiments.index`` lists them."""
    p = Path(path).resolve()
    try:
        key = str(p.relative_to(RESULTS))
    except ValueError:  # written elsewhere: not an indexed result
        return
    commit = _git("rev-parse", "--short=12", "HEAD") or "unknown"
    # the table itself does not make a result dirty (an earlier run's entry is not a change)
    own = PROVENANCE.resolve()
    spec = [f":!{own.relative_to(ROOT)}"] if own.is_relative_to(ROOT) else []
    if _git("status", "--porcelain", "--untracked-files=no", "--", ".", *spec):
        commit += "+dirty"
    table = json.loads(PROVENANCE.read_text()) if PROVENANCE.exists() else {}
    table[key] = {"command": this_command(), "commit": commit,
                  "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = PROVENANCE.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
    tmp.replace(PROVENANCE)


def write_csv(path: str | Path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts) to a CSV file, creating its folder; the columns are every key in
    order of first appearance (empty where a row lacks one). Its provenance is recorded."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)),
                           restval="")
        w.writeheader()
        w.writerows(rows)
    record(p)


def save_figure(fig, path: str | Path, dpi: int = 110) -> None:
    """Lay out, write and record a matplotlib figure (a committed PNG result)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    record(path)


def heldout_parser(doc: str, images: int) -> argparse.ArgumentParser:
    """The arguments of a script over the held-out validation photos of the training split:
    ``folders`` (the training folders), ``--val-images`` (how many the split holds out, as the
    trainer's default 8), ``--images`` (how many of them to use)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("folders", nargs="+", help="the training folders (their held-out photos)")
    p.add_argument("--val-images", type=int, default=8)
    p.add_argument("--images", type=int, default=images)
    return p


def heldout_files(a: argparse.Namespace) -> list[str]:
    """The held-out photos of ``a.folders`` (``training.data.split_files``; never trained on)."""
    from hybridcodec.training.data import split_files

    return split_files(os.pathsep.join(a.folders), a.val_images)[1]


def heldout_crops(a: argparse.Namespace, crop: int):
    """(path, centre crop ``crop`` x ``crop``, uint8 RGB) of the first ``a.images`` held-out
    photos (:func:`heldout_files`) that are at least ``crop`` on each side."""
    import numpy as np

    from hybridcodec.imageio import read_image

    used = 0
    for f in heldout_files(a):
        if used == a.images:
            return
        im = read_image(f, rgb=True)
        if min(im.shape[:2]) < crop:
            continue
        y0, x0 = (im.shape[0] - crop) // 2, (im.shape[1] - crop) // 2
        yield f, np.ascontiguousarray(im[y0 : y0 + crop, x0 : x0 + crop])
        used += 1


def bd_rates_by_image(rows: list[dict], key: str, ref: object, test: object) -> list[float]:
    """BD-rate (%, ``bpp``/``psnr`` columns) of the rows whose ``key`` is ``test`` against those
    whose ``key`` is ``ref``, one per ``image`` (sorted by name)."""
    from hybridcodec.metrics import bd_rate

    out = []
    for name in sorted({r["image"] for r in rows}):
        r0 = [r for r in rows if r["image"] == name and r[key] == ref]
        r1 = [r for r in rows if r["image"] == name and r[key] == test]
        out.append(bd_rate([r["bpp"] for r in r0], [r["psnr"] for r in r0],
                           [r["bpp"] for r in r1], [r["psnr"] for r in r1]))
    return out


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


def main() -> None:
    """``python -m experiments.common record "COMMAND" FILE...``: the provenance of files that
    a command outside the experiments wrote (``make bench``: ``hybridcodec bench``)."""
    p = argparse.ArgumentParser(description=main.__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("command")
    r.add_argument("files", nargs="+")
    a = p.parse_args()
    sys.argv = ["", *shlex.split(a.command)]  # this_command() then gives the command itself
    for f in a.files:
        record(f)


if __name__ == "__main__":
    main()
