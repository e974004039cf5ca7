"""The sizes the decode budget affords (issue 22, item 3): full-resolution RecCNNs on the 2x2
space-to-depth image, from the shipped 6 x 32 to the paper's 20 x 64.

For each size, in one run on this machine (both cores):

* ``decode_ms``: the network exported to ONNX as a registered model is (opset 17, batch norm
  unfused) and run by onnxruntime on one Kodak-sized image (768 x 512, whole), median of
  ``--runs`` after one warm-up: the network's share of a decode, whose budget is 0.25 s per
  Kodak image for the default profile (the base codec's own decode, about 0.02-0.05 s, comes on
  top);
* ``step_ms``: one raw channels-last training step (batch 16 x 64 px, Adam;
  ``train_speed.raw_step_ms``) in the precision ``train`` picks on this machine (``precision``:
  bf16 where the CPU has it, else fp32): what a second of the lane buys.

Writes ``experiments/results/full_arch_speed.csv``. Run it on a quiet machine (the lane paused
with ``kill -STOP``), or the times measure the other load.

    python -m experiments.speed.full_arch_speed
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from experiments.common import write_csv
from experiments.speed.train_speed import raw_step_ms
from hybridcodec.netconfig import macs_per_pixel
from hybridcodec.nn.export import to_onnx
from hybridcodec.nn.networks import HybridNet, NetConfig
from hybridcodec.runtime import make_session
from hybridcodec.training.precision import resolve_precision

SIZES = ((6, 32), (8, 32), (6, 40), (8, 40), (6, 48), (8, 48), (10, 48), (12, 48), (12, 64),
         (16, 64), (20, 64))
ANCHORS = (20.0, 25.0, 30.0, 35.0, 40.0, 45.0)  # JPEG 2000's (the cost does not depend on them)


def decode_ms(net: torch.nn.Module, runs: int, threads: int) -> float:
    x, q = torch.rand(1, 3, 512, 768), torch.tensor([30.0])
    sess = make_session(to_onnx(net, (x, q)), threads)  # exactly as a registered model decodes
    feed = {"x": x.numpy(), "q": q.numpy()}
    sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=7, help="timed decodes per size")
    p.add_argument("--steps", type=int, default=20, help="timed training steps per size")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="experiments/results/full_arch_speed.csv")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    # every training step first: onnxruntime's spinning thread pool, once started, would slow
    # torch's steps in the same process
    prec = resolve_precision("auto", torch.device("cpu"))
    steps = {s: raw_step_ms(*s, prec == "bf16", True, a.steps) for s in SIZES}
    rows = []
    for depth, width in SIZES:
        cfg = NetConfig(0, depth, width, True, ANCHORS, scale=1, s2d=2)
        net = HybridNet(cfg).rec.eval()
        rows.append({"depth": depth, "width": width,
                     "parameters": sum(p.numel() for p in net.parameters()),
                     "macs_per_pixel": round(macs_per_pixel(cfg)["reccnn"]),
                     "decode_ms": round(decode_ms(net, a.runs, a.threads), 1),
                     "step_ms": round(steps[depth, width], 1), "precision": prec})
        print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
