"""Does a file with a weight-update decode within 1.2x the time of one without? (issue 25,
item 3): cold ``hybridcodec decompress`` commands (a fresh process each, as a user runs them,
the fastest of ``--repeat``, with and without in turn) of the same photo coded at ``--bpp`` with
and without ``--adapt``, on the held-out photos of the training split, both bases; and warm, in this process, ``decode`` of the
same bytes after a first decode (as a batch or a server decodes many files: the network's
session is built once, each file's update is decoded and fed to it).

    python -m experiments.adapt.update_decode ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --images 3
    -> experiments/results/update_decode.csv

Timings on a loaded machine say little: run it with nothing else on the cores.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.common import RESULTS, heldout_files, heldout_parser, write_csv
from hybridcodec.codec import decode, encode_ex
from hybridcodec.imageio import read_image


def _cold(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hybridcodec", *args], check=True, capture_output=True)
    return time.perf_counter() - t0


def _warm(data: bytes) -> float:
    t0 = time.perf_counter()
    decode(data)
    return time.perf_counter() - t0


def _interleaved(fn, pair: dict, repeat: int) -> dict[str, float]:
    """The fastest of ``repeat`` timings of each of the pair, taken in turn (so that a load
    that comes and goes falls on both alike)."""
    times: dict[str, list[float]] = {name: [] for name in pair}
    for _ in range(repeat):
        for name, arg in pair.items():
            times[name].append(fn(arg))
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    p = heldout_parser(__doc__, images=3)
    p.add_argument("--bpp", type=float, default=0.4)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", default=str(RESULTS / "update_decode.csv"))
    a = p.parse_args()
    files = [f for f in heldout_files(a)
             if os.path.getsize(f) > 0]
    rows = []
    with tempfile.TemporaryDirectory() as td:
        used = 0
        for f in files:
            im = read_image(f, rgb=True)
            if im.shape[0] * im.shape[1] < 0.5e6:
                continue
            for base in ("jpeg", "jpeg2000"):
                res = encode_ex(im, base=base, bpp=a.bpp, adapt=True)
                if not res.decision.get("kept"):
                    continue
                plain = encode_ex(im, base=base, bpp=a.bpp)
                cmds = {}
                for name, data in (("without", plain.data), ("with", res.data)):
                    src = Path(td) / f"{name}.hyc"
                    src.write_bytes(data)
                    cmds[name] = ["decompress", str(src), str(Path(td) / f"{name}.png"), "--force"]
                t = _interleaved(_cold, cmds, a.repeat)
                pair = {"without": plain.data, "with": res.data}
                _interleaved(_warm, pair, 1)  # the sessions built
                warm = _interleaved(_warm, pair, 2 * a.repeat)
                rows.append({"image": os.path.basename(f), "base": base,
                             "megapixels": round(im.shape[0] * im.shape[1] / 1e6, 2),
                             "update_bytes": res.decision["update"]["bytes"],
                             "seconds_without": round(t["without"], 3),
                             "seconds_with": round(t["with"], 3),
                             "ratio": round(t["with"] / t["without"], 3),
                             "warm_seconds_without": round(warm["without"], 3),
                             "warm_seconds_with": round(warm["with"], 3),
                             "warm_ratio": round(warm["with"] / warm["without"], 3)})
                print(rows[-1], flush=True)
            used += 1
            if used == a.images:
                break
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
