"""Training data prepared ahead (issue 22): a worker process codes crops while the loop trains.

The ``whole`` pipeline (:class:`~hybridcodec.trainingdata.CodedPool`) re-codes a few pool entries
every step; done in the training process, the base codec (jpegli, mozjpeg, OpenJPEG) stalls the
step. :class:`CodedFeed` runs the same coding in a forked worker process that fills a bounded
queue, and the pool takes whatever is ready without waiting (``CodedPool.feed``). Only the
full-resolution networks use it: their payloads do not depend on the network being trained (the
compact ones code ComCNN's output, which changes every step of phase ``b``).

The worker is spawned, not forked (libvips, behind mozjpeg, and OpenMP do not survive a fork of a
process that used them), reads the training photos itself and rebuilds the codecs from their
names (:class:`RoundTrip`). It is a daemon and :meth:`CodedFeed.close` (or the context manager)
stops it; a dead worker is an error, never a silent stall.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
from dataclasses import dataclass

import numpy as np

from ..errors import HybridCodecError

__all__ = ["CodedFeed", "RoundTrip"]


@dataclass(frozen=True)
class RoundTrip:
    """One training example's trip through the base codec, by names (picklable): a quality
    drawn on the base's scale, a random encoder of ``encoders`` (JPEG: comma-separated), the
    ``decoder``'s output and the quality its tables say (what the network is told)."""

    base: str
    encoders: str
    decoder: str
    subsampling: str = "420"

    def __call__(self, crop: np.ndarray, rng: random.Random) -> tuple[np.ndarray, float]:
        from ..basecodecs import get_base
        from .data import encoder_set, sample_qualities

        base = get_base(self.base)
        codecs = encoder_set(base, self.encoders, base.decoder_for(self.decoder))
        q = sample_qualities(base, 1, rng)[0]
        c = codecs[rng.randrange(len(codecs))]
        dec = c.decode(c.encode(crop, q, subsampling=self.subsampling),
                       decoder=base.decoder_for(self.decoder))
        return dec, c.table_quality(q, subsampling=self.subsampling)


def _work(files: list[str], min_side: int, crop: tuple[int, int], coder: RoundTrip, seed: int,
          out: "mp.Queue", nice: int) -> None:  # pragma: no cover - runs in the child
    from ..imageio import read_image
    from .data import CodedPool

    if nice:
        os.nice(nice)
    rng = random.Random(seed)
    images = [im for im in (read_image(f, rgb=True) for f in files)
              if min(im.shape[:2]) >= min_side]
    pool = CodedPool(images, crop=crop, size=1, refresh=0,
                     scale=1, seed=seed)
    while True:
        out.put(pool._new(lambda c: coder(c, rng)))


class CodedFeed:
    """Coded crops ``(crop, decoded, quality)`` made ahead by one worker process.

    ``files``: the training photos (those with a side under ``min_side`` pixels left out);
    ``crop``: the smallest and largest crop side
    in pixels; ``coder``: the round trip through the base codec (called in the worker with its
    own ``random.Random``); ``depth``: how many entries wait in the queue at most (the worker
    blocks beyond, so it spends CPU only on entries the loop will use); ``nice``: added to the
    worker's niceness so that the training threads come first.
    """

    def __init__(self, files: list[str], *, min_side: int = 0, crop: tuple[int, int],
                 coder: RoundTrip,
                 seed: int, depth: int = 64, nice: int = 0) -> None:
        if depth < 1:
            raise HybridCodecError("the prefetch depth must be at least 1")
        ctx = mp.get_context("spawn")
        self._queue = ctx.Queue(maxsize=depth)
        self._proc = ctx.Process(target=_work, args=(list(files), min_side, crop, coder, seed,
                                                     self._queue,
                                                     nice), daemon=True)
        self._proc.start()
        self.received = 0

    def _check(self) -> None:
        if not self._proc.is_alive():
            raise HybridCodecError(f"the training data worker died (exit code "
                                   f"{self._proc.exitcode})")

    def get(self, timeout_s: float = 2.0) -> tuple:
        """The next entry, waiting for it (the pool's first fill)."""
        while True:
            try:
                item = self._queue.get(timeout=timeout_s)
                self.received += 1
                return item
            except queue.Empty:
                self._check()

    def ready(self, n: int) -> list[tuple]:
        """Up to ``n`` entries that are ready now, without waiting."""
        items = []
        for _ in range(n):
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                self._check()
                break
        self.received += len(items)
        return items

    def close(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=10)
        self._queue.cancel_join_thread()
        self._queue.close()

    def __enter__(self) -> "CodedFeed":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
