"""Three-pass knowledge distillation of a fast decoder (Fu et al. 2024).

A shipped model (the teacher: its ComCNN and RecCNN) teaches a small RecCNN (the student), which is
then shipped with the teacher's ComCNN unchanged, so the encoder side, and with it the rate, stays
the teacher's:

* pass 1: the student learns the teacher's outputs, ``MSE(S(y), T(y))``;
* pass 2: it also matches the teacher's hidden features at the middle layer through a 1x1 adapter
  (student width -> teacher width; teacher features average-pooled to the student's resolution),
  ``MSE(S(y), T(y)) + beta * MSE(adapter(f_S), pool(f_T))``; the adapter is dropped afterwards;
* pass 3: it is fine-tuned on the ground truth, ``MSE(S(y), x)``.

``y`` is the teacher's compact image coded by the *real* base codec at a random quality per
example, as in training. The default student works at compact resolution (``s2d = 2``: its
residual branch runs on the space-to-depth rearranged image and returns the full-resolution
residual through ``pixel_shuffle``), which quarters its cost per pixel. Budget, checkpoint/resume,
log and progress follow ``training.py``; validation PSNR through the real codec after every pass.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..basecodecs import get_base
from ..errors import HybridCodecError
from ..models import get_model
from ..nn.modelfile import save_model
from ..nn.networks import HybridNet, NetConfig
from .validation import validate
from .data import codec_roundtrip_batch, sample_qualities, training_data

__all__ = ["DistillConfig", "distill", "PASSES"]

#: the three passes and their share of the run
PASSES = (("outputs", 0.35), ("features", 0.35), ("ground_truth", 0.3))


@dataclass
class DistillConfig:
    """Everything a distillation run depends on (stored in its checkpoint and model file)."""

    data: str
    teacher: str  # registry name or model file
    out: str = "runs/distill"
    name: str = ""
    rec_depth: int = 6
    rec_width: int = 32
    s2d: int = 2  # 2: the student reconstructs at compact resolution
    batch_norm: bool = True
    beta: float = 1.0  # weight of the feature loss in pass 2
    patch: int = 64
    batch: int = 16
    lr: float = 1e-3
    budget_s: float = 0.0
    steps: int = 2000
    val_images: int = 3
    seed: int = 0
    threads: int = 0
    checkpoint_every_s: float = 120.0
    log_every: int = 50


class _Tap:
    """Keeps the output of a module (a forward hook)."""

    def __init__(self, module: nn.Module) -> None:
        self.value: torch.Tensor | None = None
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, _m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        self.value = out


def _match(ft: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Teacher features at the student's feature size: average-pooled when they are a multiple
    of it (RecCNN at full resolution), centre-cropped first when an unpadded network (upconv7)
    left a margin around them."""
    h, w = ft.shape[-2:]
    mh, mw = (h - size[0]) % size[0], (w - size[1]) % size[1]
    if h < size[0] or w < size[1] or mh % 2 or mw % 2:
        return F.adaptive_avg_pool2d(ft, size)
    ft = ft[..., mh // 2 : h - mh // 2, mw // 2 : w - mw // 2]
    return F.adaptive_avg_pool2d(ft, size)


def _middle(rec: nn.Module) -> nn.Module:
    return rec.gains[len(rec.gains) // 2]


def _pass_at(progress: float) -> int:
    acc = 0.0
    for i, (_, share) in enumerate(PASSES):
        acc += share
        if progress < acc - 1e-12:
            return i
    return len(PASSES)


@dataclass
class DistillState:
    """Where a distillation stands (stored in checkpoints as a plain dict, key ``pass``)."""

    step: int = 0
    elapsed: float = 0.0
    pass_index: int = 0  # index into PASSES
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"step": self.step, "elapsed": self.elapsed, "pass": self.pass_index,
                "history": self.history}

    @classmethod
    def from_dict(cls, d: dict) -> DistillState:
        return cls(d["step"], d["elapsed"], d["pass"], list(d["history"]))


def distill(cfg: DistillConfig, progress: Callable[[str], None] | None = None) -> dict:
    """Run (or resume) a distillation; returns the exported student's path and figures."""
    say = progress or (lambda s: None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    teacher = get_model(cfg.teacher)
    if teacher.net.rec.depth == 0 or teacher.base is None:
        raise HybridCodecError(f"teacher {teacher.name!r} has no reconstruction network")
    if cfg.rec_depth < 3:
        raise HybridCodecError("the student needs at least 3 layers (features are matched)")
    base = get_base(teacher.base)
    # the student reads what its teacher reads, from every JPEG encoder (as in training)
    decoder = teacher.decoder
    encoders = (base.encoders_for("jpegli,mozjpeg,turbo") if decoder == "jpegli" else [base])
    tcfg = teacher.net.config
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    name = cfg.name or f"{teacher.name}-fast"
    ckpt_path, log_path = out / "checkpoint.pt", out / "log.jsonl"

    sampler, val_t, _ = training_data(cfg.data, cfg.val_images, cfg.patch, cfg.seed)

    torch.manual_seed(cfg.seed)
    scfg = NetConfig(tcfg.com_width, cfg.rec_depth, cfg.rec_width, cfg.batch_norm, tcfg.anchors,
                     scale=tcfg.scale, s2d=cfg.s2d)
    student = HybridNet(scfg)
    student.com.load_state_dict(teacher.net.com.state_dict())  # the encoder side is kept
    for p in student.com.parameters():
        p.requires_grad_(False)
    tnet = teacher.net.eval()
    # the teacher's feature width at its tapped layer (waifu2x's upconv7 widens layer by layer)
    adapter = nn.Conv2d(cfg.rec_width, _middle(tnet.rec).log_gain.shape[1], 1)
    opt = torch.optim.Adam([*student.rec.parameters(), *adapter.parameters()], lr=cfg.lr)
    state = DistillState()
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ck["config"] != asdict(cfg) or ck["teacher_digest"] != teacher.digest.hex():
            raise HybridCodecError(f"{ckpt_path} was made with other settings; give another out=FOLDER")
        student.load_state_dict(ck["student"])
        adapter.load_state_dict(ck["adapter"])
        opt.load_state_dict(ck["opt"])
        state = DistillState.from_dict(ck["state"])
        sampler.rng = np.random.default_rng(cfg.seed + state.step)
    rng = random.Random(cfg.seed + state.step)
    t_tap, s_tap = _Tap(_middle(tnet.rec)), _Tap(_middle(student.rec))

    def prog() -> float:
        if cfg.budget_s > 0:
            return state.elapsed / cfg.budget_s
        return state.step / max(cfg.steps, 1)

    def log(rec: dict) -> None:
        with open(log_path, "a") as fh:
            fh.write(json.dumps(rec) + "\n")

    def checkpoint() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"config": asdict(cfg), "teacher_digest": teacher.digest.hex(),
                    "student": student.state_dict(), "adapter": adapter.state_dict(),
                    "opt": opt.state_dict(), "state": state.to_dict()}, tmp)
        tmp.replace(ckpt_path)

    if state.step == 0:
        v = {"teacher": validate(tnet, encoders[0], val_t, "420", decoder),
             "student": validate(student, encoders[0], val_t, "420", decoder)}
        log({"event": "start", "val_psnr": v, "teacher": teacher.name})
        say(f"validation PSNR at step 0: {v}")
    t_last = t_ckpt = time.monotonic()
    while (k := _pass_at(prog())) < len(PASSES):
        if k != state.pass_index:
            v = validate(student, encoders[0], val_t, "420", decoder)
            state.history.append({"pass": PASSES[state.pass_index][0], "step": state.step,
                                     "val": v})
            log({"event": "pass_end", "pass": PASSES[state.pass_index][0], "step": state.step,
                 "val_psnr": v})
            say(f"pass {PASSES[state.pass_index][0]} done, validation PSNR {v}")
            state.pass_index = k
            checkpoint()
        x = sampler.batch(cfg.batch)
        qs = sample_qualities(base, cfg.batch, rng)
        cods = [encoders[rng.randrange(len(encoders))] for _ in qs] if len(encoders) > 1 else \
            [encoders[0]] * len(qs)
        qt = torch.tensor([c.table_quality(q) for c, q in zip(cods, qs)])
        with torch.no_grad():
            dec = codec_roundtrip_batch(tnet.com(x, qt), cods, qs, "420", decoder)
            target = tnet.rec(dec, qt) if k < 2 else x
        student.rec.train()
        out_s = student.rec(dec, qt)
        loss = F.mse_loss(out_s, target)
        if k == 1:
            ft, fs = t_tap.value, s_tap.value
            assert ft is not None and fs is not None  # both forward passes ran
            fs = adapter(fs)
            if ft.shape[-1] != fs.shape[-1]:
                ft = _match(ft, fs.shape[-2:])
            loss = loss + cfg.beta * F.mse_loss(fs, ft.detach())
        lr_scale = max(0.05, 0.5 * (1 + math.cos(math.pi * min(prog(), 1.0))))
        for g in opt.param_groups:
            g["lr"] = cfg.lr * lr_scale
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        now = time.monotonic()
        state.elapsed += now - t_last
        t_last = now
        state.step += 1
        if state.step % cfg.log_every == 0:
            log({"event": "step", "step": state.step, "pass": PASSES[k][0],
                 "elapsed_s": round(state.elapsed, 1), "loss": loss.item()})
            say(f"step {state.step} pass {PASSES[k][0]} {100 * min(prog(), 1):.1f}% "
                f"loss {loss.item():.3g}")
        if now - t_ckpt > cfg.checkpoint_every_s:
            checkpoint()
            t_ckpt = now
    t_tap.handle.remove()
    s_tap.handle.remove()
    v = validate(student, encoders[0], val_t, "420", decoder)
    if state.pass_index < len(PASSES):
        state.history.append({"pass": PASSES[state.pass_index][0], "step": state.step,
                                 "val": v})
        state.pass_index = len(PASSES)
    checkpoint()
    weights = out / f"{name}.pt"
    save_model(student.eval(), weights, name=name, base=teacher.base,
               meta={"distill_config": asdict(cfg), "teacher": teacher.name,
                     "teacher_digest": teacher.digest.hex(), "steps": state.step,
                     "input_decoder": decoder,
                     "train_seconds": round(state.elapsed, 1), "val_psnr": v})
    log({"event": "done", "step": state.step, "val_psnr": v, "weights": str(weights)})
    say(f"done: {state.step} steps, validation PSNR {v}, weights {weights}")
    return {"weights": str(weights), "steps": state.step, "val_psnr": v,
            "history": state.history}
