"""Batch-norm statistics recomputed for the exported weight average (issue 22: validation noise).

The lane validates and exports the EMA of the weights (``--ema 0.999``), but the EMA copies the
batch-norm running statistics of the *live* network, which follow its last few batches
(momentum 0.1) and describe the live weights, not their average. This probe loads a trained
model, keeps its weights, and recomputes every batch-norm layer's mean and variance as the plain
average over ``--batches`` training batches drawn as the lane draws them (its training photos,
codec, encoders and qualities; never the held-out photos); then it validates on the run's
held-out photos before and after. Several ``--seeds`` give the spread that the choice of batches
alone causes.

    python -m experiments.train.bn_recalibrate ../shared/data/train ../shared/data/train-extra/bsd100 \
        ../shared/data/train-extra/sunhays80 --model experiments/lane/hyc-jpeg2000-full-m-v2/hyc-jpeg2000-full-m-v2.pt \
        experiments/lane/hyc-jpeg2000-full-v6/hyc-jpeg2000-full-v6.pt experiments/lane/hyc-jpeg-full-v10/hyc-jpeg-full-v10.pt
    -> experiments/results/bn_recalibrate.csv
"""
from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from dataclasses import fields
from pathlib import Path

import torch

from experiments.common import write_csv
from hybridcodec.models import load_model
from hybridcodec.training.config import TrainConfig


def recalibrate(net: torch.nn.Module, batches) -> None:
    """Reset every batch-norm layer of ``net`` and set its statistics to the cumulative average
    over ``batches`` (an iterable of ``(input, quality)``), the weights unchanged."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    net.train()
    with torch.no_grad():
        for dec, qt in batches:
            net(dec, qt)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training folders, as the model was trained")
    p.add_argument("--model", nargs="+", required=True, help="full-resolution model files (.pt)")
    p.add_argument("--batches", type=int, default=200, help="training batches averaged")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="experiments/results/bn_recalibrate.csv")
    a = p.parse_args()
    from hybridcodec.basecodecs import get_base
    from hybridcodec.training.data import encoder_set
    from hybridcodec.training.distributed import setup
    from hybridcodec.training.trainer import Trainer

    torch.set_num_threads(a.threads)
    known = {f.name for f in fields(TrainConfig)}
    rows = []
    for path, seed in ((m, s) for m in a.model for s in [0, *map(int, a.seeds.split(","))]):
        stored = load_model(path).meta["train_config"]
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            cfg = TrainConfig(**{**{k: v for k, v in stored.items() if k in known},
                                 "data": os.pathsep.join(a.data), "out": tmp, "init": path,
                                 "ema": 0.0, "prefetch": 0, "pool_size": 64, "pool_refresh": 1,
                                 "seed": seed, "threads": a.threads, "device": "cpu"})
            base = get_base(cfg.base)
            tr = Trainer(cfg, setup("cpu"), base, encoder_set(base, cfg.jpeg_encoders,
                                                               cfg.decoder), None, stack)
            if seed:
                recalibrate(tr.net.rec, (tr._batch("a")[1:3] for _ in range(a.batches)))
            v = tr.validate()
            rows.append({"model": Path(path).stem, "bn_stats": f"recomputed, seed {seed}"
                         if seed else "as exported (the live network's)",
                         "batches": a.batches if seed else 0,
                         **{k: v[k] for k in v}})
            print(rows[-1], flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
