"""Golden files of every format version (issue 24 item 5), and the hashes of their decodes.

The files are written by the code of the version they stand for, so that a change that breaks an
old file shows even when the new writer changed with it::

    # version 1 (compact .hyc, before ee655be) and version 2 (modes, before dcc2a42)
    git worktree add --detach /tmp/old1 ee655be^
    PYTHONPATH=/tmp/old1 python tests/golden/make_golden.py encode --tag v1
    git worktree add --detach /tmp/old2 dcc2a42^
    PYTHONPATH=/tmp/old2 python tests/golden/make_golden.py encode --tag v2
    # version 3 (this code) and its standard .jpg/.jp2/.j2k files
    python tests/golden/make_golden.py encode --tag v3
    # weight-update format 3 (DeepCABAC-style, 0.3.0) in container version 3
    python tests/golden/make_golden.py encode --tag v3 --updates-only update3
    # the decodes of all of them by this code: decoded/*.png and golden.json
    python tests/golden/make_golden.py record

Only ``hybridcodec.encode`` and ``hybridcodec.decode`` of the version at hand are used (they kept
their names and keywords); ``tests/test_golden.py`` decodes every file again and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def sources() -> dict[str, np.ndarray]:
    """A small RGB and a small grey photo-like image (smooth shading, an edge, texture),
    written once to ``source-*.png`` and read from there afterwards."""
    out = {}
    for name, (h, w, c) in {"rgb": (48, 64, 3), "grey": (32, 40, 1)}.items():
        path = HERE / f"source-{name}.png"
        if not path.exists():
            rng = np.random.default_rng(24)
            y, x = np.mgrid[0:h, 0:w]
            base = 90 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0) + 40 * (x > w // 2)
            img = np.stack([base + 25 * k for k in range(c)], -1)
            img = img + rng.normal(0, 6, img.shape)
            img = np.clip(img, 0, 255).astype(np.uint8)
            Image.fromarray(img[..., 0] if c == 1 else img).save(path)
        out[name] = np.asarray(Image.open(path))
    return out


def _update_file(img: np.ndarray, *, mode: str, container: str) -> bytes:
    """A file of this version carrying a weight-update of the shipped JPEG network of ``mode``:
    the real encode-time adaptation (``ratecontrol._adapted_update``), kept whether or not it
    pays on so small an image, so that the update chunk is in the file."""
    from hybridcodec.adaptconfig import AdaptConfig
    from hybridcodec.basecodecs import get_base
    from hybridcodec.encoder import Encoder
    from hybridcodec.models import default_model_name, get_model
    from hybridcodec.ratecontrol import _adapted_update

    cfg = AdaptConfig(subset="bias", steps=12, seconds=3600, crop=16, crops=2, lr=5e-3, seed=0)
    model = get_model(default_model_name("jpeg", mode, "fast"))
    enc = Encoder(img, get_base("jpeg", "jpegli"), model, "420")
    enc.container = container
    payload, _, _ = _adapted_update(enc, 30.0, cfg, time.monotonic() + 3600, lambda s: None, 0.0)
    if payload is None:
        raise SystemExit(f"the update of {mode}/{container} quantised to zero")
    return enc.file_at(30.0, payload)


def encode(tag: str, updates_only: str = "") -> None:
    import hybridcodec

    if updates_only:  # a new weight-update format inside the same container version
        rgb = sources()["rgb"]
        for mode, container, ext in (("compact", "hyc", "hyc"), ("full", "hyc", "hyc"),
                                     ("full", "jpeg", "jpg")):
            name = f"{tag}-jpeg-{mode}-{updates_only}.{ext}"
            data = _update_file(rgb, mode=mode, container=container)
            (HERE / name).write_bytes(data)
            print(f"{name}: {len(data)} bytes")
        return

    src = sources()
    rgb, grey = src["rgb"], src["grey"]
    keywords = inspect.signature(hybridcodec.encode).parameters
    files: dict[str, bytes] = {}
    compact = {"mode": "compact"} if "mode" in keywords else {}
    files["jpeg-compact.hyc"] = hybridcodec.encode(rgb, base="jpeg", quality=30, **compact)
    files["jpeg2000-compact.hyc"] = hybridcodec.encode(rgb, base="jpeg2000", quality=30,
                                                       **compact)
    files["jpeg-grey.hyc"] = hybridcodec.encode(grey, base="jpeg", quality=40, **compact)
    if "mode" in keywords:
        files["jpeg-full.hyc"] = hybridcodec.encode(rgb, base="jpeg", quality=30, mode="full")
        files["jpeg2000-full.hyc"] = hybridcodec.encode(rgb, base="jpeg2000", quality=30,
                                                        mode="full")
    if "container" in keywords:
        files["jpeg-full.jpg"] = hybridcodec.encode(rgb, base="jpeg", quality=30, mode="full",
                                                    container="jpeg")
        files["jpeg-compact.jpg"] = hybridcodec.encode(rgb, base="jpeg", quality=30,
                                                       mode="compact", container="jpeg")
        files["jpeg2000-full.jp2"] = hybridcodec.encode(rgb, base="jpeg2000", quality=30,
                                                        mode="full", container="jp2")
        files["jpeg2000-full.j2k"] = hybridcodec.encode(rgb, base="jpeg2000", quality=30,
                                                        mode="full", container="j2k")
        files["jpeg-compact-update.hyc"] = _update_file(rgb, mode="compact", container="hyc")
        files["jpeg-full-update.hyc"] = _update_file(rgb, mode="full", container="hyc")
        files["jpeg-full-update.jpg"] = _update_file(rgb, mode="full", container="jpeg")
    for name, data in files.items():
        (HERE / f"{tag}-{name}").write_bytes(data)
        print(f"{tag}-{name}: {len(data)} bytes")


def record() -> None:
    import hybridcodec

    (HERE / "decoded").mkdir(exist_ok=True)
    table = {}
    for path in sorted(HERE.glob("v[0-9]-*")):
        data = path.read_bytes()
        out = hybridcodec.decode(data)
        Image.fromarray(out).save(HERE / "decoded" / f"{path.name}.png")
        table[path.name] = {"file_sha256": hashlib.sha256(data).hexdigest(),
                            "shape": list(out.shape),
                            "decode_sha256": hashlib.sha256(out.tobytes()).hexdigest()}
        print(f"{path.name}: {out.shape} {table[path.name]['decode_sha256'][:12]}")
    (HERE / "golden.json").write_text(json.dumps(table, indent=1) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode", help="write this version's golden files")
    e.add_argument("--tag", required=True, help="v1, v2, v3, ...: the format version written")
    e.add_argument("--updates-only", default="", metavar="NAME",
                   help="write only the files with a weight-update, named <tag>-*-NAME.*")
    sub.add_parser("record", help="decode every golden file; write decoded/ and golden.json")
    a = p.parse_args()
    encode(a.tag, a.updates_only) if a.cmd == "encode" else record()


if __name__ == "__main__":
    main()
