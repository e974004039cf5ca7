"""Starting a network from a trained model (fine-tuning from a shipped model, an ablation at
equal budget, or the published weights of waifu2x and FFDNet)."""

from __future__ import annotations

import math

import torch

from ..errors import HybridCodecError
from ..models import get_model
from ..nn.ffdnet import ffdnet_state_dict, find_ffdnet, read_ffdnet
from ..nn.networks import HybridNet
from ..nn.waifu2x import find_waifu2x, read_ncnn, upconv7_state_dict

__all__ = ["init_from"]


def init_from(net: HybridNet, model: str) -> None:
    """Copy a trained model's weights into ``net`` (fine-tuning, e.g. an ablation at equal budget
    from a shipped model). ``net`` may add modules (they keep their identity initialisation);
    every tensor of the model must find its counterpart of the same shape, or (RecCNN) a wider
    one: a wider network starts as the model's exact function (:func:`_widen`).
    ``waifu2x:<noise>`` (noise 0-3) loads waifu2x's photo network into an ``upconv7`` RecCNN
    (``waifu2x.py``); ComCNN keeps its initialisation. ``ffdnet:<sigma>`` loads FFDNet's colour
    weights into an ``ffdnet`` RecCNN at noise level ``sigma`` (grey levels of 255);
    ``ffdnet:<low>:<high>``: level ``low`` at the lowest anchor quality and ``high`` at the
    highest, geometric in quality between (the noise gain unit's start)."""
    if model.startswith("ffdnet:"):
        _init_ffdnet(net, model)
        return
    if model.startswith("waifu2x:"):
        if net.config.rec_arch != "upconv7":
            raise HybridCodecError("init=waifu2x:N needs the upconv7 RecCNN (rec_arch=upconv7)")
        try:
            noise = int(model.split(":", 1)[1])
        except ValueError:
            raise HybridCodecError(f"init={model}: give waifu2x:0 to waifu2x:3") from None
        res = net.rec.load_state_dict(upconv7_state_dict(read_ncnn(*find_waifu2x(noise))),
                                      strict=False)  # the gain units keep their start (1)
        if res.unexpected_keys or any(not k.startswith("gains.") for k in res.missing_keys):
            raise HybridCodecError("the waifu2x weights do not fit the upconv7 RecCNN")
        return
    src = get_model(model).net.state_dict()
    dst = net.state_dict()
    bad = [k for k, v in src.items() if k not in dst or not _fits(dst[k], v, k)]
    if bad:
        raise HybridCodecError(f"init={model}: its architecture does not fit this network "
                               f"({len(bad)} tensors differ, e.g. {bad[0]})")
    net.load_state_dict({k: _widen(dst[k], v) for k, v in src.items()}, strict=False)


def _fits(new: torch.Tensor, old: torch.Tensor, name: str) -> bool:
    """The same shape, or (RecCNN only) a wider one: every dimension at least the model's."""
    if new.shape == old.shape:
        return True
    return name.startswith("rec.") and new.ndim == old.ndim and \
        all(a >= b for a, b in zip(new.shape, old.shape))


def _widen(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``old`` in the leading block of ``new`` (Net2Net-style widening, Chen et al. 2016): a
    wider RecCNN starts as the narrower model's exact function. The new channels keep their
    random start (so they learn), but every old output channel reads them through zero weights,
    the tail included; their batch norm and gain units keep their identity start."""
    if new.shape == old.shape:
        return old
    out = new.detach().clone()
    if out.ndim == 4:  # a convolution (out, in, k, k): old outputs ignore the new inputs
        out[: old.shape[0], old.shape[1]:] = 0
    out[tuple(slice(0, n) for n in old.shape)] = old
    return out


def _init_ffdnet(net: HybridNet, model: str) -> None:
    if net.config.rec_arch != "ffdnet":
        raise HybridCodecError("init=ffdnet:SIGMA needs the ffdnet RecCNN (rec_arch=ffdnet)")
    try:
        levels = [float(v) for v in model.split(":")[1:]]
    except ValueError:
        levels = []
    if len(levels) not in (1, 2):
        raise HybridCodecError(f"init={model}: give the noise level, e.g. ffdnet:15 or "
                               f"ffdnet:20:2") from None
    if not all(0 < v <= 75 for v in levels):
        raise HybridCodecError(f"init={model}: the noise level must be in (0, 75] grey levels")
    sd = ffdnet_state_dict(read_ffdnet(find_ffdnet()))
    try:
        res = net.rec.load_state_dict(sd, strict=False)  # gain units keep their start (1)
    except RuntimeError:
        res = None
    if res is None or res.unexpected_keys or any(
            not k.startswith(("gains.", "noise.", "sigma0")) for k in res.missing_keys):
        raise HybridCodecError("the FFDNet weights do not fit this ffdnet RecCNN (12 x 96)")
    low, high = levels[0], levels[-1]
    net.rec.sigma0.fill_(low / 255)
    a = net.rec.noise.anchors
    span = float(a[-1] - a[0]) or 1.0
    with torch.no_grad():  # log-linear in quality: exactly what the gain unit interpolates
        net.rec.noise.log_gain[:, 0] = (a - a[0]) / span * math.log(high / low)
