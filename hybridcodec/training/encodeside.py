"""Encode-side optimisation that sends no bits (issue 25, item 4): the auxiliary variable of
Jiang et al. 2017 ("An end-to-end compression framework based on convolutional neural
networks"), used at encode time for one image. ComCNN's compact image is a starting point; a few
Adam steps move it towards the compact image whose coded version RecCNN reconstructs best, with
the real base codec in the forward pass and the identity in the backward pass (the paper's own
approximation of the codec's gradient) and the compact image's rate proxy
(:mod:`rateproxy`) priced at the codec's own slope. The decoder is unchanged: the file holds a
standard codestream of a different compact image. Whether it pays is decided by the caller
(``refinement.refine_and_decide``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..adaptconfig import AdaptConfig
from ..encoder import Encoder
from .adaptation import to_tensor
from .rateproxy import rate_proxy

__all__ = ["refine_compact"]


def _planes(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) -> float (1, C, H, W) in [0, 1], C the image's own planes (a
    gray image is optimised as one plane, seen by the network as three equal ones)."""
    t = torch.from_numpy(image.astype(np.float32) / 255)
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]


def _uint8(t: torch.Tensor) -> np.ndarray:
    out = (t[0].clamp(0, 1).detach().permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return out[..., 0] if out.shape[2] == 1 else out


def refine_compact(enc: Encoder, quality: float, slope: float, cfg: AdaptConfig) -> np.ndarray:
    """The refined uint8 compact image for the payload at ``quality``: ``cfg.refine_steps`` Adam
    steps (learning rate ``cfg.refine_lr``, on [0, 1] pixel values) on

        MSE(RecCNN(codec(c)), x) + refine_rate_weight * slope * proxy_bpp(c) / 4

    (MSE in 8-bit units squared per pixel of the image; ``slope``: the codec's -dD/dR in squared
    error per bit, ``ratecontrol.codec_slope``; the proxy's bits are per compact pixel, a quarter
    of an image pixel each). ``enc`` is not changed."""
    net = enc.model.net
    rec = net.rec
    was_training = rec.training
    rec.eval()
    grads = [p.requires_grad for p in rec.parameters()]
    for p in rec.parameters():
        p.requires_grad_(False)
    try:
        target = to_tensor(enc.padded())
        start = _planes(enc.compact(quality))
        delta = torch.zeros_like(start, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=cfg.refine_lr)
        qt = torch.tensor([float(quality)])
        weight = cfg.refine_rate_weight * slope / 4
        h, w = target.shape[2:]
        for _ in range(cfg.refine_steps):
            c = (start + delta).clamp(0, 1)
            data = enc.base.encode(_uint8(c), quality, subsampling=enc.subsampling)
            y = to_tensor(enc.base.decode(data, decoder=enc.model.decoder))
            c3 = c.expand(-1, 3, -1, -1)
            cond = torch.tensor([float(enc.base.condition_quality(data, quality))])
            y_ste = c3 + (y - c3).detach()  # the codec forward, the identity backward
            out = rec(y_ste, cond)[..., :h, :w]
            loss = torch.mean((out - target) ** 2) * 255.0**2
            if weight:
                loss = loss + weight * rate_proxy(enc.base.name, c3, qt).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return _uint8(start + delta.detach())
    finally:
        for p, g in zip(rec.parameters(), grads):
            p.requires_grad_(g)
        rec.train(was_training)
