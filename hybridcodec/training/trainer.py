"""Training by the alternating algorithm of Jiang et al. 2017 (Sec. III-C, Algorithm 1).

The codec's quantisation has no gradient, so the two networks are trained in turn:

* phase ``a`` (ComCNN fixed): compact images go through the *real* base codec, each example at a
  random quality, and RecCNN learns to reconstruct the original from the decoded compact image;
  by default (``pipeline="whole"``, issue 13) crops of 256-384 pixels are coded whole and the
  patches are cut from the decoded crops (``trainingdata.CodedPool``), as images are coded in use;
* phase ``b`` (RecCNN fixed): ComCNN is trained with the codec replaced by the auxiliary variable,
  i.e. the compact image is passed straight to the upsampler and RecCNN (the paper's choice);
  ``com_grad="ste"`` instead passes the real decoded image forward with an identity gradient;
  ``rate_weight`` adds the codec's differentiable rate proxy (``rateproxy.py``).

The loss, weight average and learning-rate schedule are ``recipe.py``'s; validation
(``validation.Validator``) codes held-out crops whole at five qualities.

Rounds of (a, b) are followed by a final phase (a), so that RecCNN matches the final ComCNN's real
codec outputs. The schedule is measured in progress (elapsed seconds / budget, or step / steps),
so a wall-clock (or CPU-second, ``clock="cpu"``) budget is honoured and a resumed run continues
where it stopped. Validation PSNR (dB, RGB, through the real codec) is measured at the end of
every phase (and every ``val_every_s``) on held-out training photos, never on the benchmark.

Under ``torchrun`` the run is data-parallel (``distributed.py``): every process draws the same
global batch, codes and trains on its share, DistributedDataParallel averages the gradients (or the
sparsifying hook of Zhang et al. 2025 sends only the important ones), and rank 0 alone validates,
logs and checkpoints. The time budget is the slowest process's, so all switch phases together.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..basecodecs import BaseCodec, get_base
from ..errors import HybridCodecError
from ..nn.modelfile import save_model
from .warmstart import init_from
from .distributed import DistContext, SparseState, setup, shutdown, wrap_ddp
from ..nn.networks import HybridNet, NetConfig
from .prefetch import CodedFeed, RoundTrip
from .rateproxy import rate_proxy
from .config import TrainConfig
from .recipe import (EMA, QualityWeights, lr_scale, phase_segments,
                     reconstruction_loss, segment_at)
from .data import (CodedPool, codec_roundtrip_batch, encoder_set, sample_qualities,
                           split_files, training_data)
from .validation import Validator, validate

__all__ = ["TrainConfig", "train", "validate", "sample_qualities", "codec_roundtrip_batch",
           "training_data"]


# --------------------------------------------------------------------------- main loop
def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(cfg: TrainConfig, progress: Callable[[str], None] | None = None) -> dict:
    """Run (or resume) training; returns a summary with the exported weights' path.

    Writes ``checkpoint.pt``, ``log.jsonl`` and finally ``<name>.pt`` under ``cfg.out``.
    """
    base = get_base(cfg.base)
    cfg.check()
    encoders = encoder_set(base, cfg.jpeg_encoders, cfg.decoder)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ctx = setup(cfg.device)
    try:
        with contextlib.ExitStack() as stack:
            return _train(cfg, ctx, base, encoders, progress, stack)
    finally:
        if ctx.distributed:
            shutdown()


def _train(cfg: TrainConfig, ctx: DistContext, base: BaseCodec, encoders: list[BaseCodec],
           progress: Callable[[str], None] | None, stack: contextlib.ExitStack) -> dict:
    dev = ctx.device
    if cfg.batch % ctx.world:
        raise HybridCodecError(f"batch {cfg.batch} is not divisible by {ctx.world} processes")
    share = slice(ctx.rank * cfg.batch // ctx.world, (ctx.rank + 1) * cfg.batch // ctx.world)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    name = cfg.name or f"hyc-{cfg.base}"
    ckpt_path, log_path = out / "checkpoint.pt", out / "log.jsonl"

    decoder = base.decoder_for(cfg.decoder)
    sampler, val_t, val_files = training_data(cfg.data, cfg.val_images, cfg.patch, cfg.seed)
    scale = 2 if cfg.mode == "compact" else 1
    pool = CodedPool(sampler.images, crop=(cfg.crop_min, cfg.crop_max), size=cfg.pool_size,
                     refresh=cfg.pool_refresh, scale=scale, seed=cfg.seed)
    validator = Validator(encoders[0], val_t.to(dev), subsampling=cfg.subsampling,
                          decoder=decoder)

    netcfg = NetConfig(cfg.com_width, cfg.rec_depth, cfg.rec_width, cfg.batch_norm, base.anchors,
                       scale=scale, s2d=cfg.s2d,
                       hf_width=cfg.hf_width, feature_enh=cfg.feature_enh, deform=cfg.deform,
                       rec_arch=cfg.rec_arch)
    torch.manual_seed(cfg.seed)  # the same initial weights in every process and every run
    net = HybridNet(netcfg)
    if cfg.init:
        init_from(net, cfg.init)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    net = net.to(dev, memory_format=fmt)
    ema = EMA(net, cfg.ema) if cfg.ema else None
    amp = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")
    qweights = QualityWeights(base.anchors[0], base.anchors[-1])
    has_com = any(True for _ in net.com.parameters())
    hooks: list[SparseState] = []
    rec_d, com_d = wrap_ddp(net.rec, ctx, cfg.sparse_density, cfg.sparse_method, cfg.seed, hooks), \
        wrap_ddp(net.com, ctx, cfg.sparse_density, cfg.sparse_method, cfg.seed, hooks)
    opt_rec = torch.optim.Adam(net.rec.parameters(), lr=cfg.lr) if net.rec.depth else None
    opt_com = torch.optim.Adam(net.com.parameters(), lr=cfg.com_lr) if has_com else None
    state = {"step": 0, "elapsed": 0.0, "segment": 0, "history": [], "last_val": 0.0}
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=dev, weights_only=False)
        if ck["config"] != asdict(cfg):
            raise HybridCodecError(f"{ckpt_path} was made with other settings; use another --out")
        net.load_state_dict(ck["net"])
        if opt_rec:
            opt_rec.load_state_dict(ck["opt_rec"])
        if opt_com:
            opt_com.load_state_dict(ck["opt_com"])
        if ema:
            ema.module.load_state_dict(ck["ema"])
        qweights.load_state_dict(ck["qweights"])
        state = ck["state"]
        sampler.rng = np.random.default_rng(cfg.seed + state["step"])
        pool.rng = np.random.default_rng(cfg.seed + state["step"])
    rng = random.Random(cfg.seed + state["step"])
    segs = phase_segments(cfg.rounds if has_com else 0)  # nothing to alternate without a ComCNN
    say = (progress if ctx.is_main else None) or (lambda s: None)

    def prog() -> float:
        if cfg.budget_s > 0:
            return state["elapsed"] / cfg.budget_s
        return state["step"] / max(cfg.steps, 1)

    def log(rec: dict) -> None:
        if ctx.is_main:
            with open(log_path, "a") as fh:
                fh.write(json.dumps(rec) + "\n")

    def validate_main() -> dict:
        return validator(ema.module if ema else net) if ctx.is_main else {}

    def checkpoint() -> None:
        if not ctx.is_main:
            return
        _save_checkpoint(
            ckpt_path,
            {
                "config": asdict(cfg),
                "net": net.state_dict(),
                "opt_rec": opt_rec.state_dict() if opt_rec else None,
                "opt_com": opt_com.state_dict() if opt_com else None,
                "ema": ema.module.state_dict() if ema else None,
                "qweights": qweights.state_dict(),
                "state": state,
            },
        )

    def code(crop: np.ndarray) -> tuple[np.ndarray, float]:
        """One pool entry: a crop coded whole (after ComCNN in compact mode), random quality
        and encoder."""
        q = sample_qualities(base, 1, rng)[0]
        c = encoders[rng.randrange(len(encoders))]
        qt = c.table_quality(q, subsampling=cfg.subsampling)
        if scale == 1:
            img = crop
        else:
            with torch.no_grad():
                x1 = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div(255).to(dev)
                img = (net.com(x1, torch.tensor([qt], device=dev))[0].clamp(0, 1) * 255
                       ).round().byte().permute(1, 2, 0).cpu().numpy()
        return c.decode(c.encode(img, q, subsampling=cfg.subsampling), decoder=decoder), qt

    # one process only: data-parallel ranks draw the same global batch from identical pools
    if cfg.prefetch and scale == 1 and cfg.pipeline == "whole" and ctx.world == 1:
        pool.feed = CodedFeed(split_files(cfg.data, cfg.val_images)[0], min_side=cfg.patch,
                              crop=(cfg.crop_min, cfg.crop_max),
                              coder=RoundTrip(cfg.base, cfg.jpeg_encoders, decoder,
                                              cfg.subsampling),
                              seed=cfg.seed + state["step"] + 7919 * ctx.rank)
        stack.callback(pool.feed.close)
    data_info = {"folders": cfg.data.split(os.pathsep), "train_images": len(sampler.images),
                 "validation_files": val_files}
    if state["step"] == 0:
        v = validate_main()
        log({"event": "start", "val_psnr": v, "device": str(dev), "processes": ctx.world,
             "data": data_info})
        say(f"step 0 baseline validation PSNR {v}")
    clock = time.process_time if cfg.clock == "cpu" else time.monotonic
    t_last, t_ckpt = clock(), time.monotonic()
    loss_ema = None
    while (seg := segment_at(prog(), segs)) < len(segs):
        phase = segs[seg][0]
        if seg != state["segment"]:  # a phase ended: validate, log, checkpoint
            v = validate_main()
            state["history"].append({"segment": state["segment"], "step": state["step"], "val": v})
            log({"event": "phase_end", "segment": state["segment"], "step": state["step"],
                 "elapsed_s": round(state["elapsed"], 1), "val_psnr": v})
            say(f"phase {segs[state['segment']][0]} #{state['segment']} done, val PSNR {v}")
            if segs[state["segment"]][0] == "b":
                pool.clear()  # ComCNN changed: its compact images are coded again
            state["segment"] = seg
            checkpoint()
            t_last = clock()  # validation is not training time
        elif cfg.val_every_s and state["elapsed"] - state["last_val"] >= cfg.val_every_s:
            v = validate_main()
            log({"event": "val", "step": state["step"], "elapsed_s": round(state["elapsed"], 1),
                 "val_psnr": v})
            state["last_val"] = state["elapsed"]
            t_last = clock()
        scale_lr = lr_scale(cfg.schedule, prog())
        if phase == "a" and opt_rec and cfg.pipeline == "whole":
            x, dec, qs_t = pool.batch(cfg.batch, cfg.patch, code)  # every rank: the global batch
            x, dec, qt = x[share].to(dev), dec[share].to(dev, memory_format=fmt), qs_t[share]
            qt = torch.tensor(qt, device=dev)
        else:
            x = sampler.batch(cfg.batch)[share].to(dev)  # every rank draws the global batch
            qs = sample_qualities(base, cfg.batch, rng)
            cods = [encoders[rng.randrange(len(encoders))] for _ in qs] if len(encoders) > 1 \
                else [encoders[0]] * len(qs)  # every rank draws the global batch's encoders too
            qs, cods = qs[share], cods[share]
            # both networks are told the quality that the payload's tables say
            qt = torch.tensor([c.table_quality(q, subsampling=cfg.subsampling)
                               for c, q in zip(cods, qs)], device=dev)
            if phase == "a" and opt_rec:
                net.com.eval()
                with torch.no_grad():
                    compact = net.com(x, qt)
                dec = codec_roundtrip_batch(compact, cods, qs, cfg.subsampling, decoder)
        if phase == "a" and opt_rec:
            net.com.eval()
            net.rec.train()
            qweights.frozen = False
            with torch.autocast(**amp):  # bf16 arithmetic, fp32 weights; the loss in fp32
                y = rec_d(dec.contiguous(memory_format=fmt), qt)
            loss = reconstruction_loss(cfg.loss, y.float(), x, prog(), qt.tolist(), qweights)
            opt, lr = opt_rec, cfg.lr
        elif phase == "b" and opt_com:
            net.rec.eval()
            net.com.train()
            with torch.autocast(**amp):
                compact = com_d(x.contiguous(memory_format=fmt), qt).float()
            if cfg.com_grad == "ste":
                dec = codec_roundtrip_batch(compact, cods, qs, cfg.subsampling, decoder)
                compact = compact + (dec - compact).detach()
            for p in net.rec.parameters():
                p.requires_grad_(False)
            qweights.frozen = True  # phase (b) is measured by phase (a)'s yardstick
            with torch.autocast(**amp):
                y = net.rec(compact, qt)
            loss = reconstruction_loss(cfg.loss, y.float(), x, prog(), qt.tolist(), qweights)
            if cfg.rate_weight:  # distortion in units of each quality's mean, rate in ~bits/px
                loss = loss + cfg.rate_weight * rate_proxy(base.name, compact, qt).mean()
            for p in net.rec.parameters():
                p.requires_grad_(True)
            opt, lr = opt_com, cfg.com_lr
        else:  # nothing to train in this phase (a baseline side): skip it
            state["elapsed"] = max(state["elapsed"], segs[seg][1] * cfg.budget_s)
            state["step"] = max(state["step"], int(segs[seg][1] * cfg.steps))
            continue
        for g in opt.param_groups:
            g["lr"] = lr * scale_lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema:
            ema.update(net, state["step"])
        now = clock()
        state["elapsed"] = ctx.max_scalar(state["elapsed"] + now - t_last)
        t_last = now
        state["step"] += 1
        lv = loss.item()
        loss_ema = lv if loss_ema is None else 0.98 * loss_ema + 0.02 * lv
        if state["step"] % cfg.log_every == 0:
            rec = {"event": "step", "step": state["step"], "phase": phase,
                   "elapsed_s": round(state["elapsed"], 1), "loss_avg": round(loss_ema, 7),
                   "loss": ctx.mean_scalar(lv)}  # of the global batch
            if cfg.loss == "mse":
                rec["train_psnr"] = round(10 * math.log10(1 / max(loss_ema, 1e-12)), 3)
            if hooks:  # bytes this worker sent per step since the last record, dense vs actual
                dense = sent = 0
                for h in hooks:
                    d, s_ = h.take_counts()
                    dense, sent = dense + d, sent + s_
                rec.update(comm_bytes_dense_per_step=dense / cfg.log_every,
                           comm_bytes_sent_per_step=sent / cfg.log_every)
            log(rec)
            say(f"step {state['step']} phase {phase} {100 * min(prog(), 1):.1f}% "
                f"loss {loss_ema:.4g}")
        if time.monotonic() - t_ckpt > cfg.checkpoint_every_s:
            checkpoint()
            t_ckpt = time.monotonic()
    v = validate_main()
    state["history"].append({"segment": state["segment"], "step": state["step"], "val": v})
    state["segment"] = len(segs)
    checkpoint()
    weights = out / f"{name}.pt"
    if not ctx.is_main:
        ctx.barrier()  # rank 0 exports the weights
        return {"weights": str(weights), "steps": state["step"], "val_psnr": v,
                "train_seconds": state["elapsed"], "history": state["history"]}
    final = (ema.module if ema else net).cpu()
    save_model(final, weights, name=name, base=cfg.base,
               meta={"train_config": asdict(cfg), "steps": state["step"],
                     "input_decoder": decoder, "data": data_info,
                     "train_seconds": round(state["elapsed"], 1), "device": str(dev),
                     "val_psnr": v})
    log({"event": "done", "step": state["step"], "val_psnr": v, "weights": str(weights)})
    say(f"done: {state['step']} steps, val PSNR {v}, weights {weights}")
    ctx.barrier()
    return {"weights": str(weights), "steps": state["step"], "val_psnr": v,
            "train_seconds": state["elapsed"], "history": state["history"]}
