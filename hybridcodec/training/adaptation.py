"""Encode-time adaptation (Lam & Zare 2019, "Compressing weight-updates for image artifacts
removal neural networks"): fine-tune part of RecCNN on the image being coded, from the shipped
weights, so that the weight-update is sparse and close to a quantisation grid, then send it.

Objective (per step, on random crops of the image)::

    L = MSE_8bit(RecCNN_{w+dw}(decoded compact), original)
        + (l1 * sum|dw| / step + lambda_q * sum (1 - cos(2 pi dw / step)) / 2) / pixels,
    l1 = lambda_l1 + bits_per_step * slope

MSE is in 8-bit units squared; the two penalties count quantisation steps per image pixel, so
one setting of the lambdas means the same at every image size. ``slope`` (squared error per bit,
the base codec's -dD/dR at the file's quality, given by the caller) prices the update's bits
as the base codec's own: at a high rate or on a large image an update bit is cheap. The periodic term is zero on the
grid (multiples of ``step``) and pulls the update onto it; the L1 term makes it sparse.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..adaptconfig import AdaptConfig
from ..errors import HybridCodecError
from ..nn.networks import RecCNN

__all__ = ["AdaptConfig", "select_parameters", "adapt", "with_update", "parameter_shapes",
           "to_tensor"]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) -> float (1, 3, H, W) in [0, 1] (gray replicated)."""
    t = torch.from_numpy(image.astype(np.float32) / 255)
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t


def _conv_layers(rec: RecCNN) -> list[str]:
    return ["head", *(f"body.{i}" for i in range(len(rec.body))), "tail"]


def select_parameters(rec: RecCNN, subset: str) -> list[int]:
    """Indices (in ``rec.named_parameters()`` order) of the parameters a subset adapts."""
    if rec.depth == 0:
        raise HybridCodecError("the baseline model has no parameters to adapt")
    names = [n for n, _ in rec.named_parameters()]
    if subset == "all":
        chosen = names
    elif subset == "bias":
        chosen = [n for n in names if n.endswith(".bias")]
    elif subset == "gains":
        chosen = [n for n in names if n.startswith("gains.")]
    elif subset == "tail" or re.fullmatch(r"last\d+", subset):
        k = 1 if subset == "tail" else int(subset[4:])
        if not 1 <= k <= rec.depth:
            raise HybridCodecError(f"subset {subset}: the model has {rec.depth} conv layers")
        layers = _conv_layers(rec)[-k:]
        chosen = [n for n in names if n.rsplit(".", 1)[0] in layers]
    else:
        raise HybridCodecError(f"unknown parameter subset {subset!r} "
                               "(all, last<k>, tail, bias, gains)")
    return [names.index(n) for n in chosen]


def parameter_shapes(rec: RecCNN) -> dict[int, tuple[int, ...]]:
    """Shapes of all RecCNN parameters by index (what a decoder checks an update against)."""
    return {i: tuple(p.shape) for i, (_, p) in enumerate(rec.named_parameters())}


def with_update(rec: RecCNN, deltas: dict[int, np.ndarray]) -> RecCNN:
    """A copy of ``rec`` with the deltas added to its parameters (by index). ``rec`` itself is
    never touched: models are cached and shared by every thread of the process (swapping
    parameters in place, as ``torch.func.functional_call`` does, corrupts concurrent decodes)."""
    own = copy.deepcopy(rec)
    params = list(own.parameters())
    with torch.no_grad():
        for index, d in deltas.items():
            params[index].add_(torch.from_numpy(np.asarray(d, np.float32)))
    return own


def _crops(compact: torch.Tensor, target: torch.Tensor, size: int, n: int,
           rng: np.random.Generator, scale: int = 2, align: int = 1,
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random crops of side ``size`` of the network input and the matching target crops
    (``scale`` times larger); origins are multiples of ``align`` (a space-to-depth network sees
    the same pixel phases as when it decodes the whole image)."""
    h, w = compact.shape[-2:]
    s = min(size, h, w)
    cs, ts = [], []
    for _ in range(n):
        y = int(rng.integers(0, (h - s) // align + 1)) * align
        x = int(rng.integers(0, (w - s) // align + 1)) * align
        cs.append(compact[:, :, y : y + s, x : x + s])
        ts.append(target[:, :, scale * y : scale * (y + s), scale * x : scale * (x + s)])
    return torch.cat(cs), torch.cat(ts)


def adapt(rec: RecCNN, compact: torch.Tensor, target: torch.Tensor, quality: float,
          cfg: AdaptConfig, progress: Callable[[str], None] | None = None,
          snapshots: dict[int, dict[int, np.ndarray]] | None = None,
          slope: float | None = None) -> dict[int, np.ndarray]:
    """Fine-tune the chosen parameters on one image; returns float deltas by parameter index.

    ``compact``: the *decoded* compact image (1, 3, h, w); ``target``: the original (1, 3, 2h, 2w),
    both in [0, 1] (for a full-resolution model, the decoded image and the original, same size;
    its crops are ``2 * cfg.crop`` pixels, the same output area). Stops after ``cfg.steps``
    steps or ``cfg.budget(pixels)`` seconds, whichever first. ``slope``: the base codec's
    -dD/dR (squared error per bit) that prices the update (``cfg.bits_per_step``).
    ``snapshots``, if given, is filled with the deltas after every 10th step (for experiments).
    """
    indices = select_parameters(rec, cfg.subset)
    rec = copy.deepcopy(rec)  # functional_call swaps parameters in place: never on a shared model
    named = list(rec.named_parameters())
    base = {n: p.detach() for n, p in named}
    deltas = {i: torch.zeros_like(named[i][1], requires_grad=True) for i in indices}
    opt = torch.optim.Adam(deltas.values(), lr=cfg.lr)
    q = torch.tensor([float(quality)])
    pixels = target.shape[-1] * target.shape[-2]
    rng = np.random.default_rng(cfg.seed)
    lambda_l1 = cfg.lambda_l1 + cfg.bits_per_step * (slope if slope and math.isfinite(slope)
                                                      else 0.0)
    seconds = cfg.budget(pixels)
    rec.eval()
    t0 = time.monotonic()
    for step in range(cfg.steps):
        if time.monotonic() - t0 > seconds:
            break
        c, t = _crops(compact, target, cfg.crop * 2 // rec.scale, cfg.crops, rng, rec.scale,
                      rec.s2d)
        params = dict(base)
        for i, d in deltas.items():
            params[named[i][0]] = base[named[i][0]] + d
        out = functional_call(rec, params, (c, q.expand(len(c))))
        mse = F.mse_loss(out, t) * 255.0**2
        l1 = sum(d.abs().sum() for d in deltas.values()) / cfg.step
        grid = sum((1 - torch.cos(2 * math.pi * d / cfg.step)).sum() / 2 for d in deltas.values())
        loss = mse + (lambda_l1 * l1 + cfg.lambda_q * grid) / pixels
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 10 == 0:
            if progress:
                progress(f"adapt step {step + 1}/{cfg.steps}: MSE {mse.item():.2f}")
            if snapshots is not None:
                snapshots[step + 1] = {i: d.detach().numpy().astype(np.float64)
                                       for i, d in deltas.items()}
    return {i: d.detach().numpy().astype(np.float64) for i, d in deltas.items()}
