"""bf16 training validates as fp32 training does (issue 22, item 1).

The same network (full-resolution RecCNN on the space-to-depth image, from its zero-initialised
residual: the classical decode) is trained twice for the same number of steps, same seed, same
batches (prefetch off, so the data are identical), once in fp32 and once under bf16 autocast
(fp32 weights, loss and residual addition), and both are validated on the held-out photos at
five qualities. The bf16 network is then exported to ONNX and compared with torch (grey levels).

    python experiments/train/bf16_check.py ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --steps 1500
    -> experiments/results/bf16_check.csv
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from experiments.common import write_csv  # noqa: E402
from hybridcodec.nn.export import export_model
from hybridcodec.models import load_model
from hybridcodec.training.trainer import TrainConfig, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--out", default="experiments/results/bf16_check.csv")
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for prec in ("fp32", "bf16"):
            cfg = TrainConfig(data=os.pathsep.join(a.data), base="jpeg", out=f"{tmp}/{prec}",
                              name=f"check-{prec}", com_width=0, rec_depth=a.depth,
                              rec_width=a.width, mode="full", s2d=2, rounds=0, patch=64,
                              batch=16, steps=a.steps, lr=1e-3, loss="db", val_images=8,
                              precision=prec, prefetch=0, checkpoint_every_s=1e9)
            t = time.monotonic()
            res = train(cfg)
            v = res["val_psnr"]
            row = {"precision": prec, "steps": res["steps"], "wall_s": round(time.monotonic() - t),
                   **{k: v[k] for k in v}}
            if prec == "bf16":
                block = export_model(load_model(res["weights"]), tmp)
                row["onnx_max_diff_grey_levels"] = block["max_diff_grey_levels"]
            rows.append(row)
            print(row, flush=True)
    keys = [k for k in rows[0] if k not in ("precision", "steps", "wall_s")]
    rows.append({"precision": "bf16 - fp32", "steps": rows[0]["steps"], "wall_s": "",
                 **{k: round(rows[1][k] - rows[0][k], 4) for k in keys}})
    rows[-1]["onnx_max_diff_grey_levels"] = ""
    print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
