"""Helpers shared by the experiment scripts."""

from __future__ import annotations

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
