"""Two ``make bench`` runs against each other: BD-PSNR and BD-rate of each series of the new run
against the same series of the old one, and their encode and decode seconds.

    git show 93bc21c:experiments/results/bench_kodak.csv > /tmp/old.csv
    python -m experiments.rd.compare_bench /tmp/old.csv experiments/results/bench_kodak.csv \
        --out experiments/results/bench_vs_issue13.csv
"""
import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import write_csv  # noqa: E402
from hybridcodec.metrics import bd_psnr, bd_rate  # noqa: E402


def load(path: str) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"bpp": [], "psnr": [], "enc": [], "dec": []})
    with open(path) as fh:
        for r in csv.DictReader(fh):
            s = out[r["codec"]]
            s["bpp"].append(float(r["bpp"]))
            s["psnr"].append(float(r["psnr"]))
            for k, col in (("enc", "enc_s"), ("dec", "dec_s")):
                v = float(r[col]) if r[col] not in ("", "nan") else math.nan
                s[k].append(v)
    return out


def mean(values: list[float]) -> float | str:
    v = [x for x in values if not math.isnan(x)]
    return round(float(np.mean(v)), 4) if v else ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--out", default="")
    a = p.parse_args()
    old, new = load(a.old), load(a.new)
    rows = []
    for name in new:
        if name not in old or len(new[name]["bpp"]) < 2:
            continue
        o, n = old[name], new[name]
        rows.append({"series": name,
                     "bd_psnr_db": round(bd_psnr(o["bpp"], o["psnr"], n["bpp"], n["psnr"]), 4),
                     "bd_rate_pct": round(bd_rate(o["bpp"], o["psnr"], n["bpp"], n["psnr"]), 2),
                     "enc_s_old": mean(o["enc"]), "enc_s_new": mean(n["enc"]),
                     "dec_s_old": mean(o["dec"]), "dec_s_new": mean(n["dec"])})
        print(rows[-1])
    if a.out:
        write_csv(a.out, rows)


if __name__ == "__main__":
    main()
