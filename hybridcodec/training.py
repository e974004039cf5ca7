"""Training by the alternating algorithm of Jiang et al. 2017 (Sec. III-C, Algorithm 1).

The codec's quantisation has no gradient, so the two networks are trained in turn:

* phase ``a`` (ComCNN fixed): compact images go through the *real* base codec, each example at a
  random quality, and RecCNN learns to reconstruct the original from the decoded compact image;
* phase ``b`` (RecCNN fixed): ComCNN is trained with the codec replaced by the auxiliary variable,
  i.e. the compact image is passed straight to the upsampler and RecCNN (the paper's choice);
  ``com_grad="ste"`` instead passes the real decoded image forward with an identity gradient.

Rounds of (a, b) are followed by a final phase (a), so that RecCNN matches the final ComCNN's real
codec outputs. The schedule is measured in progress (elapsed seconds / budget, or step / steps),
so a wall-clock budget is honoured and a resumed run continues where it stopped. Validation PSNR
(dB, RGB, through the real codec) is measured at the end of every phase on held-out training
photos, never on the benchmark.

Under ``torchrun`` the run is data-parallel (``distributed.py``): every process draws the same
global batch, codes and trains on its share, DistributedDataParallel averages the gradients (or the
sparsifying hook of Zhang et al. 2025 sends only the important ones), and rank 0 alone validates,
logs and checkpoints. The time budget is the slowest process's, so all switch phases together.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .basecodecs import BaseCodec, get_base
from .errors import HybridCodecError
from .models import init_from, save_model
from .distributed import DistContext, SparseState, dense_hook, setup, shutdown, sparse_hook
from .networks import HybridNet, NetConfig
from .trainingdata import codec_roundtrip_batch, sample_qualities, training_data

__all__ = ["TrainConfig", "train", "sample_qualities", "codec_roundtrip_batch", "training_data"]


@dataclass
class TrainConfig:
    """Everything a training run depends on (stored in checkpoints and the manifest)."""

    data: str
    base: str = "jpeg"
    out: str = "runs/train"
    name: str = ""
    com_width: int = 64
    rec_depth: int = 20
    rec_width: int = 64
    batch_norm: bool = True
    mode: str = "compact"  # compact: ComCNN + half resolution; full: artifact removal only
    s2d: int = 1  # full mode: RecCNN on pixel_unshuffle(x, 2) when 2
    hf_width: int = 0  # decoder-side high-frequency enhancement branch (Zhang et al. 2025)
    feature_enh: bool = False  # feature enhancement module (Zhang et al. 2025)
    deform: bool = False  # deformable residual module in ComCNN (Fu et al. 2024)
    patch: int = 96
    batch: int = 16
    lr: float = 5e-4
    com_lr: float = 1e-4
    rounds: int = 2
    budget_s: float = 0.0
    steps: int = 2000
    com_grad: str = "aux"
    val_images: int = 3
    subsampling: str = "420"
    seed: int = 0
    threads: int = 0
    device: str = "auto"
    checkpoint_every_s: float = 120.0
    sparse_density: float = 0.0  # distributed: 0 = dense all-reduce, else the sparse hook
    sparse_method: str = "topk"  # topk or sample (probability proportional to magnitude)
    log_every: int = 50
    init: str = ""  # start from this model (name or file); added modules start as identity
    #: JPEG: encoders drawn per example (one network serves files from all of them) and the
    #: decoder whose output RecCNN reads (recorded in the model as its ``input_decoder``)
    jpeg_encoders: str = "jpegli,mozjpeg,turbo"
    decoder: str = "jpegli"
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- schedule
def _segments(rounds: int) -> list[tuple[str, float]]:
    """Phases and their share of the run: rounds of (a, b), then a final, longer (a)."""
    segs: list[tuple[str, float]] = []
    for _ in range(rounds):
        segs += [("a", 1.0), ("b", 0.5)]
    segs.append(("a", 1.5))
    total = sum(w for _, w in segs)
    ends, acc = [], 0.0
    for phase, w in segs:
        acc += w / total
        ends.append((phase, acc))
    return ends


def _segment_at(progress: float, segs: list[tuple[str, float]]) -> int:
    for i, (_, end) in enumerate(segs):
        if progress < end - 1e-12:
            return i
    return len(segs)


# --------------------------------------------------------------------------- validation
def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = F.mse_loss(a.clamp(0, 1), b).item()
    return 10 * math.log10(1 / max(mse, 1e-12))


@torch.no_grad()
def validate(net: HybridNet, base: BaseCodec, crops: torch.Tensor, subsampling: str,
             decoder: str = "turbo") -> dict:
    """Mean PSNR (dB) through the real codec (``base``'s encoder, ``decoder``) at the lowest,
    middle and highest anchor; the networks get the quality the payload's tables say."""
    net.eval()
    a = base.anchors
    res = {}
    for q in (a[0], a[len(a) // 2], a[-1]):
        qs = [q] * crops.shape[0]
        qt = torch.tensor([base.table_quality(q, subsampling=subsampling)] * len(qs),
                          device=crops.device)
        dec = codec_roundtrip_batch(net.com(crops, qt), base, qs, subsampling, decoder)
        res[f"q{q:g}"] = round(_psnr(net.rec(dec, qt), crops), 3)
    return res


# --------------------------------------------------------------------------- main loop
def _wrap(module: torch.nn.Module, ctx: DistContext, cfg: TrainConfig,
          hooks: list[SparseState]) -> torch.nn.Module:
    """DistributedDataParallel around ``module`` with the chosen gradient exchange."""
    if not ctx.distributed or not any(True for _ in module.parameters()):
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ddp = DDP(module, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    state = SparseState(cfg.sparse_density or 1.0, cfg.sparse_method, cfg.seed)
    ddp.register_comm_hook(state, sparse_hook if cfg.sparse_density else dense_hook)
    hooks.append(state)
    return ddp


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(cfg: TrainConfig, progress: Callable[[str], None] | None = None) -> dict:
    """Run (or resume) training; returns a summary with the exported weights' path.

    Writes ``checkpoint.pt``, ``log.jsonl`` and finally ``<name>.pt`` under ``cfg.out``.
    """
    base = get_base(cfg.base)
    if cfg.com_grad not in ("aux", "ste"):
        raise HybridCodecError("com_grad must be 'aux' (the paper's) or 'ste'")
    if cfg.patch % 2:
        raise HybridCodecError("patch size must be even")
    if cfg.mode not in ("compact", "full"):
        raise HybridCodecError("mode must be compact or full")
    if not 0 <= cfg.sparse_density <= 1 or cfg.sparse_method not in ("topk", "sample"):
        raise HybridCodecError("sparse density must be in [0, 1] and method topk or sample")
    if cfg.log_every < 1:
        raise HybridCodecError("log_every must be at least 1")
    encoders = _encoders(base, cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ctx = setup(cfg.device)
    try:
        return _train(cfg, ctx, base, encoders, progress)
    finally:
        if ctx.distributed:
            shutdown()


def _encoders(base: BaseCodec, cfg: TrainConfig) -> list[BaseCodec]:
    """The base codec once per JPEG encoder of ``cfg.jpeg_encoders`` (JPEG 2000: itself)."""
    from .basecodecs import JPEG_DECODERS

    if cfg.decoder not in JPEG_DECODERS:
        raise HybridCodecError(f"decoder must be one of {', '.join(JPEG_DECODERS)}")
    if base.id != 1:
        return [base]
    names = [e.strip() for e in cfg.jpeg_encoders.split(",") if e.strip()]
    if not names:
        raise HybridCodecError("give at least one JPEG encoder")
    return [base.with_encoder(e) for e in names]


def _train(cfg: TrainConfig, ctx: DistContext, base: BaseCodec, encoders: list[BaseCodec],
           progress: Callable[[str], None] | None) -> dict:
    dev = ctx.device
    if cfg.batch % ctx.world:
        raise HybridCodecError(f"batch {cfg.batch} is not divisible by {ctx.world} processes")
    share = slice(ctx.rank * cfg.batch // ctx.world, (ctx.rank + 1) * cfg.batch // ctx.world)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    name = cfg.name or f"hyc-{cfg.base}"
    ckpt_path, log_path = out / "checkpoint.pt", out / "log.jsonl"

    decoder = cfg.decoder if base.id == 1 else "turbo"
    sampler, val_t = training_data(cfg.data, cfg.val_images, cfg.patch, cfg.seed)
    val_t = val_t.to(dev)

    netcfg = NetConfig(cfg.com_width, cfg.rec_depth, cfg.rec_width, cfg.batch_norm, base.anchors,
                       scale=2 if cfg.mode == "compact" else 1, s2d=cfg.s2d,
                       hf_width=cfg.hf_width, feature_enh=cfg.feature_enh, deform=cfg.deform)
    torch.manual_seed(cfg.seed)  # the same initial weights in every process and every run
    net = HybridNet(netcfg)
    if cfg.init:
        init_from(net, cfg.init)
    net = net.to(dev)
    has_com = any(True for _ in net.com.parameters())
    hooks: list[SparseState] = []
    rec_d, com_d = _wrap(net.rec, ctx, cfg, hooks), _wrap(net.com, ctx, cfg, hooks)
    opt_rec = torch.optim.Adam(net.rec.parameters(), lr=cfg.lr) if cfg.rec_depth else None
    opt_com = torch.optim.Adam(net.com.parameters(), lr=cfg.com_lr) if has_com else None
    state = {"step": 0, "elapsed": 0.0, "segment": 0, "history": []}
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=dev, weights_only=False)
        if ck["config"] != asdict(cfg):
            raise HybridCodecError(f"{ckpt_path} was made with other settings; use another --out")
        net.load_state_dict(ck["net"])
        if opt_rec:
            opt_rec.load_state_dict(ck["opt_rec"])
        if opt_com:
            opt_com.load_state_dict(ck["opt_com"])
        state = ck["state"]
        sampler.rng = np.random.default_rng(cfg.seed + state["step"])
    rng = random.Random(cfg.seed + state["step"])
    segs = _segments(cfg.rounds if has_com else 0)  # nothing to alternate without a ComCNN
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
        return (validate(net, encoders[0], val_t, cfg.subsampling, decoder)
                if ctx.is_main else {})

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
                "state": state,
            },
        )

    if state["step"] == 0:
        v = validate_main()
        log({"event": "start", "val_psnr": v, "device": str(dev), "processes": ctx.world})
        say(f"step 0 baseline validation PSNR {v}")
    t_last, t_ckpt = time.monotonic(), time.monotonic()
    loss_ema = None
    while (seg := _segment_at(prog(), segs)) < len(segs):
        phase = segs[seg][0]
        if seg != state["segment"]:  # a phase ended: validate, log, checkpoint
            v = validate_main()
            state["history"].append({"segment": state["segment"], "step": state["step"], "val": v})
            log({"event": "phase_end", "segment": state["segment"], "step": state["step"],
                 "elapsed_s": round(state["elapsed"], 1), "val_psnr": v})
            say(f"phase {segs[state['segment']][0]} #{state['segment']} done, val PSNR {v}")
            state["segment"] = seg
            checkpoint()
        lr_scale = max(0.05, 0.5 * (1 + math.cos(math.pi * min(prog(), 1.0))))
        x = sampler.batch(cfg.batch)[share].to(dev)  # every rank draws the global batch
        qs = sample_qualities(base, cfg.batch, rng)
        cods = [encoders[rng.randrange(len(encoders))] for _ in qs] if len(encoders) > 1 else \
            [encoders[0]] * len(qs)  # every rank draws the global batch's encoders too
        qs, cods = qs[share], cods[share]
        # both networks are told the quality that the payload's tables say
        qt = torch.tensor([c.table_quality(q, subsampling=cfg.subsampling)
                           for c, q in zip(cods, qs)], device=dev)
        if phase == "a" and opt_rec:
            net.com.eval()
            net.rec.train()
            with torch.no_grad():
                compact = net.com(x, qt)
            dec = codec_roundtrip_batch(compact, cods, qs, cfg.subsampling, decoder)
            loss = F.mse_loss(rec_d(dec, qt), x)
            opt, lr = opt_rec, cfg.lr
        elif phase == "b" and opt_com:
            net.rec.eval()
            net.com.train()
            compact = com_d(x, qt)
            if cfg.com_grad == "ste":
                dec = codec_roundtrip_batch(compact, cods, qs, cfg.subsampling, decoder)
                compact = compact + (dec - compact).detach()
            for p in net.rec.parameters():
                p.requires_grad_(False)
            loss = F.mse_loss(net.rec(compact, qt), x)
            for p in net.rec.parameters():
                p.requires_grad_(True)
            opt, lr = opt_com, cfg.com_lr
        else:  # nothing to train in this phase (a baseline side): skip it
            state["elapsed"] = max(state["elapsed"], segs[seg][1] * cfg.budget_s)
            state["step"] = max(state["step"], int(segs[seg][1] * cfg.steps))
            continue
        for g in opt.param_groups:
            g["lr"] = lr * lr_scale
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        now = time.monotonic()
        state["elapsed"] = ctx.max_scalar(state["elapsed"] + now - t_last)
        t_last = now
        state["step"] += 1
        lv = loss.item()
        loss_ema = lv if loss_ema is None else 0.98 * loss_ema + 0.02 * lv
        if state["step"] % cfg.log_every == 0:
            psnr = 10 * math.log10(1 / max(loss_ema, 1e-12))
            rec = {"event": "step", "step": state["step"], "phase": phase,
                   "elapsed_s": round(state["elapsed"], 1), "train_psnr": round(psnr, 3),
                   "loss": ctx.mean_scalar(lv)}  # of the global batch
            if hooks:  # bytes this worker sent per step since the last record, dense vs actual
                dense = sent = 0
                for h in hooks:
                    d, s_ = h.take_counts()
                    dense, sent = dense + d, sent + s_
                rec.update(comm_bytes_dense_per_step=dense / cfg.log_every,
                           comm_bytes_sent_per_step=sent / cfg.log_every)
            log(rec)
            say(f"step {state['step']} phase {phase} {100 * min(prog(), 1):.1f}% "
                f"train PSNR {psnr:.2f} dB")
        if now - t_ckpt > cfg.checkpoint_every_s:
            checkpoint()
            t_ckpt = now
    v = validate_main()
    state["history"].append({"segment": state["segment"], "step": state["step"], "val": v})
    state["segment"] = len(segs)
    checkpoint()
    weights = out / f"{name}.pt"
    if not ctx.is_main:
        ctx.barrier()  # rank 0 exports the weights
        return {"weights": str(weights), "steps": state["step"], "val_psnr": v,
                "train_seconds": state["elapsed"], "history": state["history"]}
    save_model(net.cpu(), weights, name=name, base=cfg.base,
               meta={"train_config": asdict(cfg), "steps": state["step"],
                     "input_decoder": decoder,
                     "train_seconds": round(state["elapsed"], 1), "device": str(dev),
                     "val_psnr": v})
    log({"event": "done", "step": state["step"], "val_psnr": v, "weights": str(weights)})
    say(f"done: {state['step']} steps, val PSNR {v}, weights {weights}")
    ctx.barrier()
    return {"weights": str(weights), "steps": state["step"], "val_psnr": v,
            "train_seconds": state["elapsed"], "history": state["history"]}
