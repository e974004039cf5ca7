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
from .recipe import guard_residual

__all__ = ["AdaptConfig", "select_parameters", "adapt", "choose_steps", "with_update",
           "parameter_shapes", "to_tensor"]


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


def _forward(rec: RecCNN, params: dict, c: torch.Tensor, q: torch.Tensor,
             guard: int) -> torch.Tensor:
    """RecCNN with ``params`` on the decoded crops ``c``, through the low-frequency guard of the
    model (``guard`` pixels; full-resolution models only): the output the decoder makes."""
    out = functional_call(rec, params, (c, q))
    return guard_residual(out, c, guard) if guard else out


def adapt(rec: RecCNN, compact: torch.Tensor, target: torch.Tensor, quality: float,
          cfg: AdaptConfig, progress: Callable[[str], None] | None = None,
          snapshots: dict[int, dict[int, np.ndarray]] | None = None,
          slope: float | None = None,
          sensitivity: dict[int, float] | None = None,
          guard: int = 0) -> dict[int, np.ndarray]:
    """Fine-tune the chosen parameters on one image; returns float deltas by parameter index.

    ``compact``: the *decoded* compact image (1, 3, h, w); ``target``: the original (1, 3, 2h, 2w),
    both in [0, 1] (for a full-resolution model, the decoded image and the original, same size;
    its crops are ``2 * cfg.crop`` pixels, the same output area). Stops after ``cfg.steps``
    steps or ``cfg.budget(pixels)`` seconds, whichever first. ``slope``: the base codec's
    -dD/dR (squared error per bit) that prices the update (``cfg.bits_per_step``).
    ``snapshots``, if given, is filled with the deltas after every 10th step (for experiments).
    ``sensitivity``, if given, is filled with each tensor's mean squared gradient of the MSE,
    summed over the last steps (only the ratios between tensors matter: what
    :func:`choose_steps` allocates the quantisation steps by). ``guard``: the model's
    low-frequency guard (``lowpass_guard``, pixels), so that the update is fitted to the decode
    that ships.
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
        out = _forward(rec, params, c, q.expand(len(c)), guard)
        mse = F.mse_loss(out, t) * 255.0**2
        l1 = sum(d.abs().sum() for d in deltas.values()) / cfg.step
        grid = sum((1 - torch.cos(2 * math.pi * d / cfg.step)).sum() / 2 for d in deltas.values())
        loss = mse + (lambda_l1 * l1 + cfg.lambda_q * grid) / pixels
        opt.zero_grad(set_to_none=True)
        if sensitivity is not None and step >= cfg.steps - SENSITIVITY_STEPS:
            grads = torch.autograd.grad(mse, list(deltas.values()), retain_graph=True)
            for i, g in zip(deltas, grads):
                sensitivity[i] = sensitivity.get(i, 0.0) + float((g.double() ** 2).mean())
        loss.backward()
        opt.step()
        if (step + 1) % 10 == 0:
            if progress:
                progress(f"adapt step {step + 1}/{cfg.steps}: MSE {mse.item():.2f}")
            if snapshots is not None:
                snapshots[step + 1] = {i: d.detach().numpy().astype(np.float64)
                                       for i, d in deltas.items()}
    if sensitivity is not None and not sensitivity:  # the budget ended early: one measurement
        params = {n: base[n] + deltas[i].detach() if i in deltas else base[n]
                  for i, (n, _) in enumerate(named)}
        c, t = _crops(compact, target, cfg.crop * 2 // rec.scale, cfg.crops, rng, rec.scale,
                      rec.s2d)
        leaf = {i: d.detach().clone().requires_grad_(True) for i, d in deltas.items()}
        params.update({named[i][0]: base[named[i][0]] + leaf[i] for i in leaf})
        mse = F.mse_loss(_forward(rec, params, c, q.expand(len(c)), guard), t) * 255.0**2
        for i, g in zip(leaf, torch.autograd.grad(mse, list(leaf.values()))):
            sensitivity[i] = float((g.double() ** 2).mean())
    return {i: d.detach().numpy().astype(np.float64) for i, d in deltas.items()}


#: the fine-tuning's last steps over which :func:`adapt` measures the sensitivities
SENSITIVITY_STEPS = 10
#: crops on which :func:`choose_steps` measures each candidate (forward passes only)
EVAL_CROPS = 32
#: the candidate scales of the quantisation steps (half-octaves around ``AdaptConfig.step``,
#: 1/2 to 16 times: the sensitivities put some tensors' steps far from it)
STEP_SCALES = tuple(2.0 ** (j / 2) for j in range(-2, 9))


def choose_steps(rec: RecCNN, compact: torch.Tensor, target: torch.Tensor, quality: float,
                 deltas: dict[int, np.ndarray], sensitivity: dict[int, float],
                 cfg: AdaptConfig, slope: float, until: float | None = None,
                 guard: int = 0) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """Per-tensor quantisation steps by rate-distortion (issue 25, item 2; as DeepCABAC).

    Candidates: one step for every tensor, or steps in inverse proportion to the square root of
    each tensor's sensitivity (equal slope of every tensor's distortion-rate curve at high
    rate), each at the scales :data:`STEP_SCALES` of ``cfg.step``. Each candidate is measured:
    D is the squared error (8-bit units) on fixed crops of the image scaled to its area, R the
    coded bits (``nnccoding.estimate_bits``) priced at ``slope``; the cheapest wins, the empty
    update included. Returns (quantised integer values, step codes) by parameter index; empty
    when no update pays. Stops measuring at the monotonic time ``until``. ``guard``: as
    :func:`adapt`."""
    from .. import nnccoding

    rec = copy.deepcopy(rec)
    named = list(rec.named_parameters())
    base = {n: p.detach() for n, p in named}
    rng = np.random.default_rng(cfg.seed + 1)
    c, t = _crops(compact, target, cfg.crop * 2 // rec.scale, EVAL_CROPS, rng, rec.scale,
                  rec.s2d)
    q = torch.tensor([float(quality)]).expand(len(c))
    scale = target.shape[-1] * target.shape[-2] / t[0, 0].numel() / len(t)
    lam = slope if slope and math.isfinite(slope) else 0.0

    def sse(values: dict[int, np.ndarray], codes: dict[int, int]) -> float:
        params = dict(base)
        for i, v in values.items():
            d = torch.from_numpy(v.astype(np.float32) * np.float32(nnccoding.code_step(codes[i])))
            params[named[i][0]] = base[named[i][0]] + d
        with torch.no_grad():
            out = _forward(rec, params, c, q, guard)
        return float(((out.clamp(0, 1) * 255 - t * 255) ** 2).sum()) * scale

    h = {i: max(sensitivity.get(i, 0.0), 1e-30) for i in deltas}
    mean_log = float(np.mean([math.log(v) for v in h.values()]))
    allocations = {"uniform": {i: 1.0 for i in deltas},
                   "sensitivity": {i: math.exp((mean_log - math.log(v)) / 2) for i, v in h.items()}}
    best: tuple[float, dict[int, np.ndarray], dict[int, int]] = (sse({}, {}), {}, {})
    # cfg.step's own scale first: those two are measured even when the time is up
    candidates = [(s, alloc) for s in sorted(STEP_SCALES, key=lambda s: abs(math.log(s)))
                  for alloc in allocations.values()]
    for n, (s, alloc) in enumerate(candidates):
        if n >= len(allocations) and until is not None and time.monotonic() > until:
            break
        codes = {i: nnccoding.step_code(cfg.step * s * alloc[i]) for i in deltas}
        values = {i: nnccoding.quantize(d, nnccoding.code_step(codes[i]))
                  for i, d in deltas.items()}
        values = {i: v for i, v in values.items() if v.any()}
        if not values:
            continue
        bits = nnccoding.estimate_bits([values[i] for i in sorted(values)])
        cost = sse(values, codes) + lam * bits
        if cost < best[0]:
            best = (cost, values, {i: codes[i] for i in values})
    return best[1], best[2]
