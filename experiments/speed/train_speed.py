"""Training throughput (issue 22, item 1): the network's raw step against the training loop's.

For each shipped full-resolution architecture, in one run on this machine:

* ``raw``: forward, backward and Adam step of RecCNN on one batch already in memory (batch 16,
  64 px patches, both cores), fp32 against bf16 autocast, NCHW against channels-last;
* ``loop``: ``hybridcodec.training.train`` itself (channels-last) for ``--loop-seconds`` (the whole pipeline:
  coded pool, prefetch worker, db loss, EMA, logging), its ms per step from its own log between
  the first and the last record (the pool's first fill and the baseline validation excluded).

Writes ``experiments/results/train_speed.csv`` (ms per step, k output pixels per second, and
the loop's rate as a share of the raw rate: of bf16, and of its own precision). Run it on a quiet
machine (pause the training lane: ``kill -STOP``), or the shares measure the other load.

    python -m experiments.speed.train_speed ../shared/data/train --loop-seconds 60
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from experiments.common import write_csv  # noqa: E402
from hybridcodec.nn.networks import HybridNet, NetConfig
from hybridcodec.training.trainer import TrainConfig, train

#: architecture -> (depth, width, pool entries re-coded per step): a small network's step is short,
#: so fewer crops are re-coded per step (the worker shares the two cores with the training)
ARCHS = {"12x64": (12, 64, 4), "6x32": (6, 32, 1)}
ANCHORS = (5.0, 10.0, 20.0, 35.0, 55.0, 75.0, 95.0)


def raw_step_ms(depth: int, width: int, bf16: bool, channels_last: bool, steps: int,
                batch: int = 16, patch: int = 64) -> float:
    torch.manual_seed(0)
    net = HybridNet(NetConfig(0, depth, width, True, ANCHORS, scale=1, s2d=2)).rec
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, patch, patch).contiguous(memory_format=fmt)
    y = torch.rand(batch, 3, patch, patch)
    q = torch.full((batch,), 40.0)
    times = []
    for i in range(steps + 5):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x, q)
        loss = (out.float() - y).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 5:  # warm-up (oneDNN primitive creation) excluded
            times.append(time.perf_counter() - t)
    times.sort()
    return 1000 * times[len(times) // 2]


def loop_step_ms(data: str, depth: int, width: int, precision: str, seconds: float,
                 base: str, refresh: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(data=data, base=base, out=tmp, name="speed", com_width=0,
                          rec_depth=depth, rec_width=width, mode="full", s2d=2, rounds=0,
                          patch=64, batch=16, budget_s=seconds, loss="db", ema=0.999,
                          val_images=8, log_every=10, precision=precision, pool_size=1000,
                          pool_refresh=refresh, checkpoint_every_s=1e9)
        train(cfg)
        recs = [json.loads(line) for line in open(Path(tmp) / "log.jsonl")]
    steps = [r for r in recs if r["event"] == "step"]
    if len(steps) < 3:
        raise SystemExit(f"only {len(steps)} log records in {seconds} s: give more --loop-seconds")
    first, last = steps[1], steps[-1]  # the pool's first fill falls in the first record
    ms = 1000 * (last["elapsed_s"] - first["elapsed_s"]) / (last["step"] - first["step"])
    return ms, last["step"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders (never Kodak)")
    p.add_argument("--loop-seconds", type=float, default=60.0)
    p.add_argument("--raw-steps", type=int, default=40)
    p.add_argument("--archs", nargs="*", help="only these (12x64, 6x32)")
    p.add_argument("--out", default="experiments/results/train_speed.csv")
    a = p.parse_args()
    data = ":".join(a.data)
    rows = []
    px = 16 * 64 * 64
    for arch, (d, w, refresh) in ARCHS.items():
        if a.archs and arch not in a.archs:
            continue
        raw = {}
        for prec in ("fp32", "bf16"):
            for cl in (False, True):
                ms = raw_step_ms(d, w, prec == "bf16", cl, a.raw_steps)
                raw[(prec, cl)] = ms
                rows.append({"arch": arch, "what": "raw", "precision": prec,
                             "channels_last": cl, "ms_per_step": round(ms, 1),
                             "kpx_per_s": round(px / ms, 1), "share_of_raw_bf16": "",
                             "share_of_raw_same_precision": ""})
                print(rows[-1], flush=True)
        for prec in ("fp32", "bf16"):
            ms, steps = loop_step_ms(data, d, w, prec, a.loop_seconds, "jpeg", refresh)
            rows.append({"arch": arch, "what": f"loop ({steps} steps, {refresh} re-coded/step)",
                         "precision": prec,
                         "channels_last": True, "ms_per_step": round(ms, 1),
                         "kpx_per_s": round(px / ms, 1),
                         "share_of_raw_bf16": round(raw[("bf16", True)] / ms, 3),
                         "share_of_raw_same_precision": round(raw[(prec, True)] / ms, 3)})
            print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
