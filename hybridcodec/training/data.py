"""Training data for the alternating algorithm (``training``) and distillation (``distill``):
random crops of the training photos, qualities drawn per example, and the round trip through the
real codec (Jiang et al. 2017 train RecCNN on real codec outputs). For JPEG the payload of each
example may come from a different encoder (jpegli, mozjpeg, libjpeg-turbo), so that one network
serves files from all of them.

Two pipelines (issue 13): ``patch`` codes every training patch on its own (the original), and
``whole`` (:class:`CodedPool`) codes crops of at least 256 pixels whole and cuts the patches from
the decoded crop, so that the artifacts are those of a coded image (JPEG 2000's wavelet artifacts
depend on the coded image's size; a JPEG patch coded alone always starts on the block grid). The
validation split (:func:`split_files`) is fixed by the file names, whatever the folders' order.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..basecodecs import BaseCodec
from ..errors import HybridCodecError
from ..imageio import list_images, read_image

if TYPE_CHECKING:
    from .prefetch import CodedFeed

__all__ = ["sample_qualities", "codec_roundtrip_batch", "PatchSampler", "CodedPool",
           "split_files", "training_data", "encoder_set"]


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
            crop = np.rot90(crop, int(self.rng.integers(4)))
            out.append(np.ascontiguousarray(crop))
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255


def split_files(data: str, val_images: int) -> tuple[list[str], list[str]]:
    """(training files, validation files) of the photos in ``data`` (folders joined by
    ``os.pathsep``). The validation photos are the ``val_images`` whose SHA-1 of
    ``<folder name>/<file name>`` is smallest: a fixed split that does not depend on the order of
    the folders and keeps its photos when other folders are added (unless theirs hash lower)."""
    files = [str(f) for folder in str(data).split(os.pathsep) if folder
             for f in list_images(folder)]
    if len(files) <= val_images:
        raise HybridCodecError(f"need more than {val_images} images in {data}")

    def key(f: str) -> str:
        return hashlib.sha1(f"{os.path.basename(os.path.dirname(f))}/{os.path.basename(f)}"
                            .encode()).hexdigest()

    val = set(sorted(files, key=key)[:val_images])
    return [f for f in files if f not in val], sorted((f for f in files if f in val), key=key)


def _augment(arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random flip and 90-degree rotation of every array (H, W, C)."""
    flip, rot = rng.random() < 0.5, int(rng.integers(4))
    out = []
    for a in arrays:
        if flip:
            a = a[:, ::-1]
        out.append(np.ascontiguousarray(np.rot90(a, rot)))
    return out


class CodedPool:
    """Crops coded whole, and patches cut from them (the ``whole`` pipeline of issue 13).

    The pool holds ``size`` entries ``(crop, decoded, quality)``: a random crop (even sides, from
    ``crop[0]`` to ``crop[1]`` pixels, or the whole photo when it is smaller) of a training photo,
    and what ``code(crop)`` made of it: the decoded payload (full size, or half size in compact
    mode, where ``code`` runs ComCNN first) and the quality the networks are told. Every
    :meth:`batch` re-codes ``refresh`` entries, so that the codec's time stays a small part of a
    step while the pool keeps changing; :meth:`clear` empties it (ComCNN changed).
    """

    def __init__(self, images: list[np.ndarray], *, crop: tuple[int, int] = (256, 384),
                 size: int = 128, refresh: int = 2, scale: int = 1, seed: int = 0) -> None:
        if not images:
            raise HybridCodecError("no training images")
        if crop[0] < 2 or crop[0] > crop[1]:
            raise HybridCodecError("crop sizes must satisfy 2 <= min <= max")
        self.images, self.crop, self.size, self.refresh = images, crop, size, refresh
        self.scale = scale
        self.rng = np.random.default_rng(seed)
        self.entries: list[tuple[np.ndarray, np.ndarray, float]] = []
        #: a :class:`~hybridcodec.prefetch.CodedFeed` that codes entries ahead in a worker
        #: process (issue 22): then ``code`` is not called and a step never waits for the codec
        self.feed: CodedFeed | None = None

    def clear(self) -> None:
        self.entries = []

    def _new(self, code: Callable[[np.ndarray], tuple[np.ndarray, float]]) -> tuple:
        im = self.images[self.rng.integers(len(self.images))]
        h, w = im.shape[0] // 2 * 2, im.shape[1] // 2 * 2
        side = int(self.rng.integers(self.crop[0] // 2, self.crop[1] // 2 + 1)) * 2
        ch, cw = min(side, h), min(side, w)
        y = int(self.rng.integers(0, (h - ch) // 2 + 1)) * 2
        x = int(self.rng.integers(0, (w - cw) // 2 + 1)) * 2
        crop = np.ascontiguousarray(im[y : y + ch, x : x + cw])
        dec, q = code(crop)
        if dec.shape[:2] != (ch // self.scale, cw // self.scale):
            raise HybridCodecError("the codec returned an image of another size")
        return crop, dec, q

    def batch(self, n: int, patch: int,
              code: Callable[[np.ndarray], tuple[np.ndarray, float]],
              ) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
        """``n`` patches: originals (n, 3, patch, patch) and decoded inputs (n, 3, patch/scale,
        patch/scale) as floats in [0, 1], and their qualities."""
        if patch % (2 * self.scale):
            raise HybridCodecError("patch size must be even")
        while len(self.entries) < self.size:
            self.entries.append(self.feed.get() if self.feed else self._new(code))
        fresh = (self.feed.ready(self.refresh) if self.feed
                 else [self._new(code) for _ in range(self.refresh)])
        for entry in fresh:
            self.entries[int(self.rng.integers(self.size))] = entry
        s, xs, ds, qs = self.scale, [], [], []
        for _ in range(n):
            crop, dec, q = self.entries[int(self.rng.integers(self.size))]
            p = min(patch, crop.shape[0] // (2 * s) * 2 * s, crop.shape[1] // (2 * s) * 2 * s)
            if p < patch:
                raise HybridCodecError(f"no training image is at least {patch}x{patch}")
            y = int(self.rng.integers(0, (crop.shape[0] - p) // (2 * s) + 1)) * 2 * s
            x = int(self.rng.integers(0, (crop.shape[1] - p) // (2 * s) + 1)) * 2 * s
            a, b = _augment([crop[y : y + p, x : x + p],
                             dec[y // s : (y + p) // s, x // s : (x + p) // s]], self.rng)
            xs.append(a)
            ds.append(b)
            qs.append(q)

        def t(arrs: list[np.ndarray]) -> torch.Tensor:
            return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float().div(255)

        return t(xs), t(ds), qs


def training_data(data: str, val_images: int, patch: int, seed: int,
                  ) -> tuple[PatchSampler, torch.Tensor, list[str]]:
    """The patch sampler over the training photos, the validation crops (the central 256 x 256
    of the ``val_images`` held-out photos of :func:`split_files`) as (N, 3, 256, 256) floats in
    [0, 1], and the held-out files."""
    train_files, val_files = split_files(data, val_images)
    sampler = PatchSampler([read_image(f, rgb=True) for f in train_files], patch, seed)
    val = []
    for f in val_files:
        im = read_image(f, rgb=True)
        h, w = (im.shape[0] // 2) * 2, (im.shape[1] // 2) * 2
        cy, cx = max(h // 2 - 128, 0), max(w // 2 - 128, 0)
        val.append(im[cy : cy + 256, cx : cx + 256])
    return sampler, torch.from_numpy(np.stack(val)).permute(0, 3, 1, 2).float().div(255), val_files


def encoder_set(base: BaseCodec, jpeg_encoders: str, decoder: str) -> list[BaseCodec]:
    """The base codec once per JPEG encoder of ``jpeg_encoders`` (comma-separated; JPEG 2000:
    itself); ``decoder`` is checked to be a JPEG decoder."""
    from ..basecodecs import JPEG_DECODERS

    if decoder not in JPEG_DECODERS:
        raise HybridCodecError(f"decoder must be one of {', '.join(JPEG_DECODERS)}")
    return base.encoders_for(jpeg_encoders)
