"""Wall time of cold command lines (issue 14, item 3): each command a fresh process, as a user
runs it, the median of ``--repeat`` runs on each of a few images.

    python -m experiments.speed.cold_cli ../shared/data/kodak --images 4 --repeat 3
    -> experiments/results/cold_cli.csv

Commands: ``hybridcodec --help``; ``decompress`` of a default-settings ``.hyc`` of each base;
``enhance`` of a JPEG written by Pillow at quality 40; ``compress`` with default settings (JPEG
2000, ``--bpp 0.25``). Also whether torch was imported (``HYBRIDCODEC_DEBUG_IMPORTS``-free: the
command runs under ``python -X importtime`` once and its stderr is searched).
"""
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import image_args, spread, write_csv  # noqa: E402
from hybridcodec.imageio import list_images  # noqa: E402

CLI = [sys.executable, "-m", "hybridcodec"]


def wall(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(CLI + args, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def imports_torch(args: list[str]) -> bool:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "hybridcodec", *args],
                       capture_output=True, check=True)
    return b" torch\n" in r.stderr or b"| torch\n" in r.stderr


def main() -> None:
    a = image_args(__doc__, "experiments/results/cold_cli.csv", 4, repeat=(int, 3))
    from PIL import Image

    files = spread(list_images(a.folder), a.images)
    tmp = Path(tempfile.mkdtemp())
    rows = []
    try:
        rows.append({"command": "--help", "image": "", "median_s": wall(["--help"], a.repeat),
                     "imports_torch": imports_torch(["--help"])})
        for f in files:
            jpg = tmp / f"{f.stem}.jpg"
            Image.open(f).convert("RGB").save(jpg, quality=40)
            cases = {"enhance": ["enhance", str(jpg), "-o", str(tmp / "e.png"), "--force"],
                     "compress jpeg2000 --bpp 0.25": ["compress", str(f), str(tmp / "c.hyc"),
                                                      "--base", "jpeg2000", "--bpp", "0.25",
                                                      "--force"]}
            for b in ("jpeg", "jpeg2000"):
                hyc = tmp / f"{f.stem}-{b}.hyc"
                subprocess.run(CLI + ["compress", str(f), str(hyc), "--base", b], check=True,
                               capture_output=True)
                cases[f"decompress {b}"] = ["decompress", str(hyc), str(tmp / "d.png"),
                                            "--force"]
            for name, args in cases.items():
                rows.append({"command": name, "image": f.name,
                             "median_s": round(wall(args, a.repeat), 3),
                             "imports_torch": imports_torch(args)})
                print(rows[-1], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_csv(a.out, rows)
    for name in dict.fromkeys(r["command"] for r in rows):
        sel = [r["median_s"] for r in rows if r["command"] == name]
        print(f"{name}: {statistics.mean(sel):.3f} s (mean of {len(sel)})")


if __name__ == "__main__":
    main()
