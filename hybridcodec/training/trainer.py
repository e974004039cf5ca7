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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..basecodecs import BaseCodec, get_base
from ..errors import HybridCodecError
from ..nn.modelfile import save_model
from ..nn.networks import HybridNet, NetConfig
from .config import TrainConfig
from .data import (CodedPool, codec_roundtrip_batch, encoder_set, sample_qualities, split_files,
                   training_data)
from .distributed import DistContext, SparseState, setup, shutdown, wrap_ddp
from .prefetch import CodedFeed, RoundTrip
from .rateproxy import rate_proxy
from .recipe import (EMA, QualityWeights, guard_residual, lr_scale, phase_segments,
                     reconstruction_loss, segment_at)
from .validation import Validator, validate
from .precision import resolve_precision
from .teacher import load_teacher, teacher_target
from .warmstart import init_from

__all__ = ["TrainConfig", "Trainer", "RunState", "TrainResult", "train", "validate",
           "sample_qualities", "codec_roundtrip_batch", "training_data"]


# --------------------------------------------------------------------------- the run's state
@dataclass
class RunState:
    """Where a run stands (stored in checkpoints as a plain dict, as it always was)."""

    step: int = 0
    elapsed: float = 0.0  # training seconds on the run's clock (validation excluded)
    segment: int = 0  # index into the phase segments (``recipe.phase_segments``)
    history: list[dict] = field(default_factory=list)  # validation at each phase end
    last_val: float = 0.0  # ``elapsed`` at the last periodic validation

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunState:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass(frozen=True)
class TrainResult:
    """What a finished run returns (``as_dict`` for JSON)."""

    weights: str
    steps: int
    val_psnr: dict
    train_seconds: float
    history: list[dict]

    def __getitem__(self, key: str) -> Any:  # the dict the function once returned
        return getattr(self, key)

    def as_dict(self) -> dict:
        return asdict(self)


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(cfg: TrainConfig, progress: Callable[[str], None] | None = None) -> TrainResult:
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
            return Trainer(cfg, ctx, base, encoders, progress, stack).run()
    finally:
        if ctx.distributed:
            shutdown()


# --------------------------------------------------------------------------- the trainer
class Trainer:
    """One training run: the networks, optimisers, data and state (built, or resumed from the
    run folder's checkpoint, by the constructor), and the alternating phases as methods
    (:meth:`run`)."""

    def __init__(self, cfg: TrainConfig, ctx: DistContext, base: BaseCodec,
                 encoders: list[BaseCodec], progress: Callable[[str], None] | None,
                 stack: contextlib.ExitStack) -> None:
        self.cfg, self.ctx, self.base, self.encoders = cfg, ctx, base, encoders
        dev = self.dev = ctx.device
        if cfg.batch % ctx.world:
            raise HybridCodecError(f"batch {cfg.batch} is not divisible by {ctx.world} processes")
        self.share = slice(ctx.rank * cfg.batch // ctx.world,
                           (ctx.rank + 1) * cfg.batch // ctx.world)
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.name = cfg.name or f"hyc-{cfg.base}"
        self.ckpt_path, self.log_path = self.out / "checkpoint.pt", self.out / "log.jsonl"

        self.decoder = base.decoder_for(cfg.decoder)
        self.sampler, val_t, val_files = training_data(cfg.data, cfg.val_images, cfg.patch,
                                                       cfg.seed)
        self.scale = scale = 2 if cfg.mode == "compact" else 1
        self.pool = CodedPool(self.sampler.images, crop=(cfg.crop_min, cfg.crop_max),
                              size=cfg.pool_size, refresh=cfg.pool_refresh, scale=scale,
                              seed=cfg.seed)
        self.validator = Validator(encoders[0], val_t.to(dev), subsampling=cfg.subsampling,
                                   guard=cfg.lowpass_guard,
                                   decoder=self.decoder)
        netcfg = NetConfig(cfg.com_width, cfg.rec_depth, cfg.rec_width, cfg.batch_norm,
                           base.anchors, scale=scale, s2d=cfg.s2d, hf_width=cfg.hf_width,
                           feature_enh=cfg.feature_enh, deform=cfg.deform, rec_arch=cfg.rec_arch)
        torch.manual_seed(cfg.seed)  # the same initial weights in every process and every run
        net = HybridNet(netcfg)
        if cfg.init:
            init_from(net, cfg.init)
        self.fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.net = net = net.to(dev, memory_format=self.fmt)
        self.ema = EMA(net, cfg.ema) if cfg.ema else None
        self.teacher = load_teacher(cfg, dev, self.fmt) if cfg.teacher else None
        self.precision = resolve_precision(cfg.precision, dev)
        self.amp = dict(device_type=dev.type, dtype=torch.bfloat16,
                        enabled=self.precision == "bf16")
        self.qweights = QualityWeights(base.anchors[0], base.anchors[-1])
        has_com = any(True for _ in net.com.parameters())
        self.hooks: list[SparseState] = []
        self.rec_d = wrap_ddp(net.rec, ctx, cfg.sparse_density, cfg.sparse_method, cfg.seed,
                              self.hooks)
        self.com_d = wrap_ddp(net.com, ctx, cfg.sparse_density, cfg.sparse_method, cfg.seed,
                              self.hooks)
        self.opt_rec = torch.optim.Adam(net.rec.parameters(), lr=cfg.lr) if net.rec.depth \
            else None
        self.opt_com = torch.optim.Adam(net.com.parameters(), lr=cfg.com_lr) if has_com else None
        self.state = RunState()
        if self.ckpt_path.exists():
            self._resume()
        self.rng = random.Random(cfg.seed + self.state.step)
        # nothing to alternate without a ComCNN
        self.segs = phase_segments(cfg.rounds if has_com else 0)
        self.say = (progress if ctx.is_main else None) or (lambda s: None)
        # one process only: data-parallel ranks draw the same global batch from identical pools
        if cfg.prefetch and scale == 1 and cfg.pipeline == "whole" and ctx.world == 1:
            self.pool.feed = feed = CodedFeed(
                split_files(cfg.data, cfg.val_images)[0], min_side=cfg.patch,
                crop=(cfg.crop_min, cfg.crop_max),
                coder=RoundTrip(cfg.base, cfg.jpeg_encoders, self.decoder, cfg.subsampling),
                seed=cfg.seed + self.state.step + 7919 * ctx.rank)
            stack.callback(feed.close)
        self.data_info = {"folders": cfg.data.split(os.pathsep),
                          "train_images": len(self.sampler.images), "validation_files": val_files}
        self.clock = time.process_time if cfg.clock == "cpu" else time.monotonic
        self.loss_ema: float | None = None

    # --- state, logs, checkpoints ----------------------------------------------------------

    def _resume(self) -> None:
        ck = torch.load(self.ckpt_path, map_location=self.dev, weights_only=False)
        # a checkpoint written before a field existed ran with that field's default
        if {**asdict(TrainConfig(data=self.cfg.data)), **ck["config"]} != asdict(self.cfg):
            raise HybridCodecError(f"{self.ckpt_path} was made with other settings; give "
                                   f"another out=FOLDER")
        self.net.load_state_dict(ck["net"])
        if self.opt_rec:
            self.opt_rec.load_state_dict(ck["opt_rec"])
        if self.opt_com:
            self.opt_com.load_state_dict(ck["opt_com"])
        if self.ema:
            self.ema.module.load_state_dict(ck["ema"])
        self.qweights.load_state_dict(ck["qweights"])
        self.state = RunState.from_dict(ck["state"])
        self.sampler.rng = np.random.default_rng(self.cfg.seed + self.state.step)
        self.pool.rng = np.random.default_rng(self.cfg.seed + self.state.step)

    def progress(self) -> float:
        """How far the run is, 0-1: elapsed / budget, or step / steps."""
        if self.cfg.budget_s > 0:
            return self.state.elapsed / self.cfg.budget_s
        return self.state.step / max(self.cfg.steps, 1)

    def log(self, rec: dict) -> None:
        if self.ctx.is_main:
            with open(self.log_path, "a") as fh:
                fh.write(json.dumps(rec) + "\n")

    def validate(self) -> dict:
        """Validation PSNR of the weight average (or the network) on the held-out crops."""
        return self.validator(self.ema.module if self.ema else self.net) if self.ctx.is_main \
            else {}

    def checkpoint(self) -> None:
        if not self.ctx.is_main:
            return
        _save_checkpoint(self.ckpt_path, {
            "config": asdict(self.cfg),
            "net": self.net.state_dict(),
            "opt_rec": self.opt_rec.state_dict() if self.opt_rec else None,
            "opt_com": self.opt_com.state_dict() if self.opt_com else None,
            "ema": self.ema.module.state_dict() if self.ema else None,
            "qweights": self.qweights.state_dict(),
            "state": self.state.to_dict(),
        })

    # --- data ------------------------------------------------------------------------------

    def code(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """One pool entry: a crop coded whole (after ComCNN in compact mode), random quality
        and encoder."""
        cfg, dev = self.cfg, self.dev
        q = sample_qualities(self.base, 1, self.rng)[0]
        c = self.encoders[self.rng.randrange(len(self.encoders))]
        qt = c.table_quality(q, subsampling=cfg.subsampling)
        if self.scale == 1:
            img = crop
        else:
            with torch.no_grad():
                x1 = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div(255).to(dev)
                img = (self.net.com(x1, torch.tensor([qt], device=dev))[0].clamp(0, 1) * 255
                       ).round().byte().permute(1, 2, 0).cpu().numpy()
        return c.decode(c.encode(img, q, subsampling=cfg.subsampling), decoder=self.decoder), qt

    def _batch(self, phase: str) -> tuple[Any, Any, Any, list, list]:
        """(targets, decoded inputs or None, table qualities, encoders, qualities) of this
        process's share of the global batch."""
        cfg, dev, share = self.cfg, self.dev, self.share
        if phase == "a" and self.opt_rec and cfg.pipeline == "whole":
            x, dec, qs_t = self.pool.batch(cfg.batch, cfg.patch, self.code)  # the global batch
            x, dec = x[share].to(dev), dec[share].to(dev, memory_format=self.fmt)
            return x, dec, torch.tensor(qs_t[share], device=dev), [], []
        x = self.sampler.batch(cfg.batch)[share].to(dev)  # every rank draws the global batch
        qs = sample_qualities(self.base, cfg.batch, self.rng)
        encs = self.encoders
        cods = [encs[self.rng.randrange(len(encs))] for _ in qs] if len(encs) > 1 \
            else [encs[0]] * len(qs)  # every rank draws the global batch's encoders too
        qs, cods = qs[share], cods[share]
        # both networks are told the quality that the payload's tables say
        qt = torch.tensor([c.table_quality(q, subsampling=cfg.subsampling)
                           for c, q in zip(cods, qs)], device=dev)
        dec = None
        if phase == "a" and self.opt_rec:
            self.net.com.eval()
            with torch.no_grad():
                compact = self.net.com(x, qt)
            dec = codec_roundtrip_batch(compact, cods, qs, cfg.subsampling, self.decoder)
        return x, dec, qt, cods, qs

    # --- the two phases --------------------------------------------------------------------

    def _loss_a(self, x, dec, qt) -> Any:
        """Phase (a): RecCNN on the real codec's output, ComCNN fixed."""
        net = self.net
        net.com.eval()
        net.rec.train()
        self.qweights.frozen = False
        with torch.autocast(**self.amp):  # bf16 arithmetic, fp32 weights; the loss in fp32
            y = self.rec_d(dec.contiguous(memory_format=self.fmt), qt)
        y = guard_residual(y.float(), dec, self.cfg.lowpass_guard)  # the decode that ships
        if self.teacher is not None:
            x = teacher_target(self.teacher, x, dec.contiguous(memory_format=self.fmt), qt,
                               self.cfg, self.amp)
        return reconstruction_loss(self.cfg.loss, y, x, self.progress(), qt.tolist(),
                                   self.qweights)

    def _loss_b(self, x, qt, cods: list, qs: list) -> Any:
        """Phase (b): ComCNN through the auxiliary variable (or the real codec with an identity
        gradient), RecCNN fixed; plus the rate proxy when weighted."""
        cfg, net = self.cfg, self.net
        net.rec.eval()
        net.com.train()
        with torch.autocast(**self.amp):
            compact = self.com_d(x.contiguous(memory_format=self.fmt), qt).float()
        if cfg.com_grad == "ste":
            dec = codec_roundtrip_batch(compact, cods, qs, cfg.subsampling, self.decoder)
            compact = compact + (dec - compact).detach()
        for p in net.rec.parameters():
            p.requires_grad_(False)
        self.qweights.frozen = True  # phase (b) is measured by phase (a)'s yardstick
        with torch.autocast(**self.amp):
            y = net.rec(compact, qt)
        loss = reconstruction_loss(cfg.loss, y.float(), x, self.progress(), qt.tolist(),
                                   self.qweights)
        if cfg.rate_weight:  # distortion in units of each quality's mean, rate in ~bits/px
            loss = loss + cfg.rate_weight * rate_proxy(self.base.name, compact, qt).mean()
        for p in net.rec.parameters():
            p.requires_grad_(True)
        return loss

    def _end_phase(self, seg: int) -> None:
        """A phase ended: validate, log, checkpoint; move to segment ``seg``."""
        st, segs = self.state, self.segs
        v = self.validate()
        st.history.append({"segment": st.segment, "step": st.step, "val": v})
        self.log({"event": "phase_end", "segment": st.segment, "step": st.step,
                  "elapsed_s": round(st.elapsed, 1), "val_psnr": v})
        self.say(f"phase {segs[st.segment][0]} #{st.segment} done, val PSNR {v}")
        if segs[st.segment][0] == "b":
            self.pool.clear()  # ComCNN changed: its compact images are coded again
        st.segment = seg
        self.checkpoint()

    def _log_step(self, phase: str, lv: float) -> None:
        cfg, st = self.cfg, self.state
        assert self.loss_ema is not None
        rec: dict[str, Any] = {"event": "step", "step": st.step, "phase": phase,
                               "elapsed_s": round(st.elapsed, 1),
                               "loss_avg": round(self.loss_ema, 7),
                               "loss": self.ctx.mean_scalar(lv)}  # of the global batch
        if cfg.loss == "mse":
            rec["train_psnr"] = round(10 * math.log10(1 / max(self.loss_ema, 1e-12)), 3)
        if self.hooks:  # bytes this worker sent per step since the last record, dense vs actual
            dense = sent = 0
            for h in self.hooks:
                d, s_ = h.take_counts()
                dense, sent = dense + d, sent + s_
            rec.update(comm_bytes_dense_per_step=dense / cfg.log_every,
                       comm_bytes_sent_per_step=sent / cfg.log_every)
        self.log(rec)
        self.say(f"step {st.step} phase {phase} {100 * min(self.progress(), 1):.1f}% "
                 f"loss {self.loss_ema:.4g}")

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> TrainResult:
        """The alternating phases until the budget (or the steps) is spent, then the weights."""
        cfg, st, segs = self.cfg, self.state, self.segs
        if st.step == 0:
            v = self.validate()
            self.log({"event": "start", "val_psnr": v, "device": str(self.dev),
                      "precision": self.precision, "processes": self.ctx.world,
                      "data": self.data_info})
            self.say(f"step 0 baseline validation PSNR {v}")
        t_last, t_ckpt = self.clock(), time.monotonic()
        while (seg := segment_at(self.progress(), segs)) < len(segs):
            phase = segs[seg][0]
            if seg != st.segment:
                self._end_phase(seg)
                t_last = self.clock()  # validation is not training time
            elif cfg.val_every_s and st.elapsed - st.last_val >= cfg.val_every_s:
                v = self.validate()
                self.log({"event": "val", "step": st.step, "elapsed_s": round(st.elapsed, 1),
                          "val_psnr": v})
                st.last_val = st.elapsed
                t_last = self.clock()
            scale_lr = lr_scale(cfg.schedule, self.progress(), st.step, cfg.warmup)
            x, dec, qt, cods, qs = self._batch(phase)
            if phase == "a" and self.opt_rec:
                loss, opt, lr = self._loss_a(x, dec, qt), self.opt_rec, cfg.lr
            elif phase == "b" and self.opt_com:
                loss, opt, lr = self._loss_b(x, qt, cods, qs), self.opt_com, cfg.com_lr
            else:  # nothing to train in this phase (a baseline side): skip it
                st.elapsed = max(st.elapsed, segs[seg][1] * cfg.budget_s)
                st.step = max(st.step, int(segs[seg][1] * cfg.steps))
                continue
            for g in opt.param_groups:
                g["lr"] = lr * scale_lr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if self.ema:
                self.ema.update(self.net, st.step)
            now = self.clock()
            st.elapsed = self.ctx.max_scalar(st.elapsed + now - t_last)
            t_last = now
            st.step += 1
            lv = loss.item()
            self.loss_ema = lv if self.loss_ema is None else 0.98 * self.loss_ema + 0.02 * lv
            if st.step % cfg.log_every == 0:
                self._log_step(phase, lv)
            if time.monotonic() - t_ckpt > cfg.checkpoint_every_s:
                self.checkpoint()
                t_ckpt = time.monotonic()
        return self._finish()

    def _finish(self) -> TrainResult:
        """Final validation and checkpoint; rank 0 writes the model file."""
        cfg, st = self.cfg, self.state
        v = self.validate()
        st.history.append({"segment": st.segment, "step": st.step, "val": v})
        st.segment = len(self.segs)
        self.checkpoint()
        weights = self.out / f"{self.name}.pt"
        result = TrainResult(str(weights), st.step, v, st.elapsed, st.history)
        if not self.ctx.is_main:
            self.ctx.barrier()  # rank 0 exports the weights
            return result
        final = (self.ema.module if self.ema else self.net).cpu()
        save_model(final, weights, name=self.name, base=cfg.base,
                   meta={"train_config": asdict(cfg), "steps": st.step,
                         "input_decoder": self.decoder, "data": self.data_info,
                         "train_seconds": round(st.elapsed, 1), "device": str(self.dev),
                         "precision": self.precision, "val_psnr": v,
                         **({"lowpass_guard": cfg.lowpass_guard} if cfg.lowpass_guard else {})})
        self.log({"event": "done", "step": st.step, "val_psnr": v, "weights": str(weights)})
        self.say(f"done: {st.step} steps, val PSNR {v}, weights {weights}")
        self.ctx.barrier()
        return result
