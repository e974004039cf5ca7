"""Training data for the alternating algorithm (``training``) and distillation (``distill``):
random crops of the training photos, qualities drawn per example, and the round trip through the
real codec (Jiang et al. 2017 train RecCNN on real codec outputs). For JPEG the payload of each
example may come from a different encoder (jpegli, mozjpeg, libjpeg-turbo), so that one network
serves files from all of them.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .basecodecs import BaseCodec
from .errors import HybridCodecError
from .imageio import list_images, read_image

__all__ = ["sample_qualities", "codec_roundtrip_batch", "PatchSampler", "training_data"]


def sample_qualities(base: BaseCodec, n: int, rng: random.Random) -> list[float]:
    """Qualities on the base codec's scale, uniform over the anchor intervals (each interval
    between two neighbouring anchors gets the same share)."""
    a = base.anchors
    out = []
    for _ in range(n):
        t = rng.uniform(0, len(a) - 1)
        i = min(int(t), len(a) - 2)
        q = a[i] + (t - i) * (a[i + 1] - a[i])
        out.append(float(round(q)) if base.integer_quality else round(q, 2))
    return out


def codec_roundtrip_batch(
    compact: torch.Tensor, base: BaseCodec | list[BaseCodec], qualities: list[float],
    subsampling: str = "420", decoder: str = "turbo",
) -> torch.Tensor:
    """Round each compact image (N,3,h,w in [0,1]) to 8 bits and pass it through the real codec
    (one codec for all, or one per example, e.g. different JPEG encoders) and ``decoder``."""
    arr = (compact.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    codecs = base if isinstance(base, list) else [base] * len(qualities)
    out = []
    for img, q, c in zip(arr.numpy(), qualities, codecs):
        out.append(c.decode(c.encode(img, q, subsampling=subsampling), decoder=decoder))
    dec = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255
    return dec.to(compact.device)


class PatchSampler:
    """Random even-sized crops with flips and 90-degree rotations from images held in memory."""

    def __init__(self, images: list[np.ndarray], patch: int, seed: int) -> None:
        self.images = [im for im in images if min(im.shape[:2]) >= patch]
        if not self.images:
            raise HybridCodecError(f"no training image is at least {patch}x{patch}")
        self.patch = patch
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        p, out = self.patch, []
        for _ in range(n):
            im = self.images[self.rng.integers(len(self.images))]
            y = self.rng.integers(0, im.shape[0] - p + 1)
            x = self.rng.integers(0, im.shape[1] - p + 1)
            crop = im[y : y + p, x : x + p]
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            crop = np.rot90(crop, self.rng.integers(4))
            out.append(np.ascontiguousarray(crop))
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255


def training_data(data: str, val_images: int, patch: int, seed: int,
                  ) -> tuple[PatchSampler, torch.Tensor]:
    """The patch sampler over the training photos and the validation crops (the central 256 x
    256 of the last ``val_images`` photos, held out), as (N, 3, 256, 256) floats in [0, 1].
    ``data`` may name several folders joined by ``os.pathsep``; the validation photos are the
    last ones of the last folder."""
    files = [f for folder in str(data).split(os.pathsep) if folder for f in list_images(folder)]
    if len(files) <= val_images:
        raise HybridCodecError(f"need more than {val_images} images in {data}")
    sampler = PatchSampler([read_image(f, rgb=True) for f in files[:-val_images]], patch, seed)
    val = []
    for f in files[-val_images:]:
        im = read_image(f, rgb=True)
        h, w = (im.shape[0] // 2) * 2, (im.shape[1] // 2) * 2
        cy, cx = max(h // 2 - 128, 0), max(w // 2 - 128, 0)
        val.append(im[cy : cy + 256, cx : cx + 256])
    return sampler, torch.from_numpy(np.stack(val)).permute(0, 3, 1, 2).float().div(255)


