"""One image being coded (Jiang et al. 2017): :class:`Encoder` codes it at any quality of the base
codec with one model, caching payloads and decoded errors (what rate control and the mode,
decoder and weight-update decisions search over).

ComCNN and the quality. ComCNN is conditioned on the quality the payload's tables will say (its
gain units, Cui et al. 2021), so in principle each quality tried needs its own ComCNN pass. Rate
control instead *pins* the conditioning quality (:meth:`Encoder.pin`): the compact image is made
once and the base codec alone is searched over (a millisecond per JPEG), and the pin is moved
to the quality found when it is far from it (``ratecontrol.fit_compact``). A ComCNN conditioned
a few quality steps away changes the compact image very little; ``experiments/speed/encode_speed.py``
measures the cost in rate-distortion against ComCNN at every step (``rate_control="exact"``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import container, standard
from .basecodecs import BaseCodec
from .errors import HybridCodecError
from .metadata import ImageMeta, insert_into_jpeg
from .metrics import psnr_from_sse, sse
from .models import Model
from .pipeline import compact_image, reconstruct

__all__ = ["Encoder"]


class Encoder:
    """Holds the padded input and the model; codes the compact image at any quality (cached)."""

    def __init__(self, image: np.ndarray, base: BaseCodec, model: Model, subsampling: str,
                 progress: Callable[[str], None] | None = None):
        self.image, self.base, self.model, self.subsampling = image, base, model, subsampling
        self.progress = progress
        self.resolution = model.resolution
        self.channels = 1 if image.ndim == 2 else 3
        self.pinned: float | None = None  # ComCNN's conditioning quality, when pinned
        self.container = "hyc"  # or a standard file: jpeg, jp2, j2k (``standard``)
        #: ICC profile and EXIF carried into standard .jpg / .jp2 files (``metadata``)
        self.metadata: ImageMeta | None = None
        self._compact: dict[float, np.ndarray] = {}
        self._payload: dict[tuple[float, float], bytes] = {}
        self._sse: dict[tuple[float, float], float] = {}

    def padded(self) -> np.ndarray:
        """The image, padded by edge replication to even sides for a compact model (uint8;
        a copy only when a side is odd)."""
        h, w = self.image.shape[:2]
        if self.model.scale == 1 or not (h % 2 or w % 2):
            return self.image
        pad = ((0, h % 2), (0, w % 2)) + (((0, 0),) if self.image.ndim == 3 else ())
        return np.pad(self.image, pad, mode="edge")

    @property
    def x(self):
        """The padded image as a float torch tensor (1, 3, H, W): built on demand (adaptation's
        target), never kept, since at 100 megapixels it takes 1.2 GB."""
        from .training.adaptation import to_tensor

        return to_tensor(self.padded())

    def twin(self, model: Model) -> Encoder:
        """An encoder for the same image with another model. Full-resolution encoders share
        their coded payloads (the base codec codes the image itself, only the decoder
        differs); compact ones do not (each ComCNN makes its own compact image)."""
        other = Encoder(self.image, self.base, model, self.subsampling, self.progress)
        other.container = self.container
        other.metadata = self.metadata
        if self.resolution == other.resolution == "full":
            other._payload = self._payload
        return other

    def pin(self, quality: float | None) -> None:
        """Condition ComCNN on the tables of ``quality`` for every quality coded from now on
        (``None``: on each quality's own, a ComCNN pass per quality). Payloads already made
        stay cached under the conditioning they were made with."""
        self.pinned = None if quality is None else self.base.snap_quality(quality)

    def com_quality(self, quality: float) -> float:
        """The quality ComCNN is conditioned on for a payload at ``quality``."""
        q = self.pinned if self.pinned is not None else quality
        return self.base.table_quality(q, gray=self.channels == 1, subsampling=self.subsampling)

    def compact(self, quality: float) -> np.ndarray:
        """ComCNN's compact image for a payload at ``quality`` (cached by conditioning)."""
        qc = self.com_quality(quality)
        if qc not in self._compact:
            self._compact[qc] = compact_image(self.model, self.padded(), qc, self.channels,
                                              progress=self.progress)
        return self._compact[qc]

    def replace_compact(self, quality: float, image: np.ndarray) -> np.ndarray:
        """Code ``image`` instead of ComCNN's compact image for the payload at ``quality``
        (``training.encodeside``; every quality conditioned alike follows); returns the image it
        replaces, so that a caller can put it back."""
        qc = self.com_quality(quality)
        old = self.compact(quality)
        if image.shape != old.shape or image.dtype != np.uint8:
            raise HybridCodecError(f"a compact image must be uint8 {old.shape}, got "
                                   f"{image.dtype} {image.shape}")
        self._compact[qc] = image
        for cache in (self._payload, self._sse):
            for key in [k for k in cache if k[1] == qc]:
                del cache[key]
        return old

    def _key(self, quality: float) -> tuple[float, float]:
        q = self.base.snap_quality(quality)
        return q, (0.0 if self.model.scale == 1 else self.com_quality(q))

    def payload(self, quality: float) -> bytes:
        key = self._key(quality)
        if key not in self._payload:
            src = self.image if self.model.scale == 1 else self.compact(key[0])
            self._payload[key] = self.base.encode(src, key[0], subsampling=self.subsampling)
        return self._payload[key]

    def condition(self, quality: float) -> float:
        """The quality RecCNN is conditioned on: what the payload at ``quality`` says."""
        return self.base.condition_quality(self.payload(quality), quality)

    def file_at(self, quality: float, update: bytes | None = None) -> bytes:
        """The whole file at ``quality`` (a ``.hyc``, or the standard file of
        :attr:`container`), with ``update`` if given: what a size target counts."""
        q = self.base.snap_quality(quality)
        h, w = self.image.shape[:2]
        hdr = container.Header(w, h, self.channels, self.base.id, self.subsampling, q,
                               self.model.name, self.model.digest, self.resolution,
                               encoder=self.base.encoder or "turbo")
        payload = self.payload(q)
        extra = [] if update is None else [(container.CHUNK_UPDATE, update)]
        if self.container == "hyc":
            return container.pack(hdr, [(container.CHUNK_BASE, payload), *extra])
        if self.container == "jpeg":
            payload = insert_into_jpeg(payload, self.metadata)  # checked by the record's bcrc
        record = standard.pack_record(hdr, [*extra, standard.payload_check(payload)])
        s = self.model.scale
        return standard.wrap(self.container, payload, record, width=-(-w // s),
                             height=-(-h // s), channels=self.channels,
                             meta=self.metadata if self.container == "jp2" else None)

    def decoded_compact(self, quality: float) -> np.ndarray:
        return self.base.decode(self.payload(quality), decoder=self.model.decoder)

    def reconstruct(self, quality: float, deltas: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """The decoder's output at ``quality`` (not kept: see :meth:`sse`)."""
        h, w = self.image.shape[:2]
        return reconstruct(self.model, self.decoded_compact(quality), self.condition(quality),
                           h, w, deltas)

    def sse(self, quality: float) -> float:
        """Squared error of the decoder's output at ``quality`` (8-bit units, summed; cached:
        the mode, decoder and update decisions all compare against it; the images themselves
        are not kept, so that big images stay in bounded memory)."""
        key = self._key(quality)
        if key not in self._sse:
            self._sse[key] = sse(self.image, self.reconstruct(key[0]))
        return self._sse[key]

    def psnr(self, quality: float) -> float:
        """PSNR (dB) of the decoder's output at ``quality`` (from :meth:`sse`)."""
        return psnr_from_sse(self.sse(quality), self.image.size)
