"""Model files (``.pt``, format ``hybridcodec-model/1``): writing them, reading them into a torch
network, and checking their format. The registry that finds
models by name and runs them without torch is ``hybridcodec.models``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from ..errors import HybridCodecError
from ..netconfig import NetConfig
from .networks import HybridNet

__all__ = ["FORMAT", "save_model", "read_model_file"]

FORMAT = "hybridcodec-model/1"


def save_model(net: HybridNet, path: str | os.PathLike, *, name: str, base: str,
               meta: dict | None = None) -> str:
    """Write a model file (atomically: temporary file + rename); returns its SHA-256 (hex)."""
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    obj = {"format": FORMAT, "name": name, "base": base, "config": net.config.to_dict(),
           "state_dict": state, "meta": meta or {}}
    p = Path(path)
    tmp = p.with_suffix(p.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, p)
    return hashlib.sha256(p.read_bytes()).hexdigest()


def read_model_file(path: str, shown: str | None = None
                    ) -> tuple[str, str | None, HybridNet, dict]:
    """(name, base, network in eval mode, meta) of a model file; ``shown``: the path as error
    messages give it. Tensors only (``weights_only``): a model file runs no code."""
    shown = shown or path
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unpickling failure: torch's message is many lines
        raise HybridCodecError(f"{shown} is not a hybridcodec model file") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise HybridCodecError(f"{shown} is not a hybridcodec model file ({FORMAT})")
    net = HybridNet(NetConfig.from_dict(obj["config"]))
    try:
        net.load_state_dict(obj["state_dict"])
    except RuntimeError as exc:
        raise HybridCodecError(f"{shown}: weights do not fit the configuration: {exc}") from exc
    net.eval()
    return obj["name"], obj["base"], net, obj.get("meta", {})
