"""The functional API (imagecodecs style): ``encode``, ``decode``, ``check``, ``info``, ``version``.

Pipeline (Jiang et al. 2017): ComCNN maps the image to a compact image at half resolution; the
base codec (JPEG or JPEG 2000) codes it; RecCNN reconstructs the full image from the decoded
compact image, optionally with an encode-time weight-update (Lam & Zare 2019) applied. The file is
a ``.hyc`` container (``container.py``); bits per pixel always count the whole file.

Codec modes: ``compact`` (the above), ``full`` (no ComCNN, no resampling: the base codec codes
the image itself and a full-resolution RecCNN removes its artifacts) and ``auto`` (the default:
both are tried per image and the better PSNR at the same size is kept; see ``ratecontrol``).
The mode is a header flag of the container.

Grayscale images are run through the RGB networks with the gray plane replicated; the compact
image is coded as one plane (the mean of ComCNN's three outputs). Odd sizes are padded by edge
replication to even sizes and cropped after reconstruction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F

from . import container
from .adaptation import AdaptConfig, apply_update, parameter_shapes
from .basecodecs import BaseCodec, base_by_id, get_base
from .errors import HybridCodecError
from .imageio import as_image
from .models import Model, default_model_name, find_model, get_model
from .tiling import DEFAULT_TILE, run_tiled

#: context (input pixels) a tile needs: ComCNN sees 3 px at full resolution plus 1 compact px;
#: RecCNN needs 2 compact px for bicubic plus one full-resolution px per layer.
COM_MARGIN = 6

__all__ = ["encode", "decode", "check", "info", "version", "EncodeResult", "encode_ex",
           "reconstruct", "MODES"]

#: codec modes accepted by :func:`encode` (``auto`` picks one of the other two per image)
MODES = ("auto", "compact", "full")


def version() -> str:
    """Version of hybridcodec and of its base codec libraries."""
    from . import __version__
    from .basecodecs import BASE_CODECS

    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    libs = []
    for b in BASE_CODECS.values():
        libs.append(f"{b.name}: {b.version() if b.available() else 'unavailable'}")
    for enc, pkg in (("jpegli", "ajpegli"), ("mozjpeg", "pyvips-binary")):
        try:
            libs.append(f"{enc}: {pkg} {pkg_version(pkg)}")
        except PackageNotFoundError:
            libs.append(f"{enc}: not installed")
    return f"hybridcodec {__version__} ({'; '.join(libs)}; torch {torch.__version__})"


def check(data: bytes, /) -> bool:
    """Whether ``data`` starts like a ``.hyc`` file (magic bytes)."""
    return bytes(data[:4]) == container.MAGIC


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) -> float (1, 3, H, W) in [0, 1] (gray replicated)."""
    t = torch.from_numpy(image.astype(np.float32) / 255)
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t


def to_uint8(t: torch.Tensor, channels: int) -> np.ndarray:
    """float (1, 3, H, W) -> uint8 image with ``channels`` planes (gray = mean of the three)."""
    t = t[0].clamp(0, 1)
    if channels == 1:
        t = t.mean(0, keepdim=True)
    arr = t.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(arr[:, :, 0] if channels == 1 else arr)


def auto_tile(rec: torch.nn.Module) -> int:
    """Input pixels per tile side for RecCNN: the largest multiple of 64 whose hidden
    activations stay near 4 M values (16 MB, under glibc's mmap threshold; see ``tiling``)."""
    if rec.depth == 0:
        return DEFAULT_TILE
    width = rec.head.out_channels
    side = math.sqrt(4 * 2**20 / width) * rec.s2d / rec.scale  # feature side -> input side
    return max(64, int(side) // 64 * 64)


@torch.no_grad()
def reconstruct(model: Model, compact: np.ndarray, quality: float, height: int, width: int,
                deltas: dict[int, np.ndarray] | None = None, *, tile: int | None = None,
                progress: Callable[[str], None] | None = None) -> np.ndarray:
    """RecCNN on a decoded compact image (uint8), with an optional weight-update applied; runs
    in tiles of ``tile`` compact pixels (default :func:`auto_tile`) so that memory stays
    bounded at any image size."""
    q = torch.tensor([float(quality)])
    rec = model.net.rec
    params = apply_update(rec, deltas) if deltas else None
    gray = compact.ndim == 2
    x = torch.from_numpy(np.ascontiguousarray(compact))  # uint8: converted tile by tile
    x = x[None, None] if gray else x.permute(2, 0, 1)[None]

    def run(t: torch.Tensor) -> torch.Tensor:  # uint8 tile in, uint8 tile out
        f = t.float().div(255)
        f = f.expand(-1, 3, -1, -1) if gray else f
        y = torch.func.functional_call(rec, params, (f, q)) if params else rec(f, q)
        y = y.clamp(0, 1)
        y = y.mean(1, keepdim=True) if gray else y
        return y.mul(255).round().to(torch.uint8)

    # receptive field of the network (output pixels), plus bicubic's 2-pixel support on the
    # compact side
    margin = (-(-rec.radius // 2) + 3) if rec.scale == 2 else rec.radius + 1
    out = run_tiled(run, x, scale=Fraction(rec.scale), margin=margin,
                    tile=tile or auto_tile(rec), align=rec.s2d,
                    progress=_tile_progress("RecCNN", progress))
    arr = out[0].permute(1, 2, 0).numpy()
    return np.ascontiguousarray(arr[:height, :width, 0] if gray else arr[:height, :width])


@torch.no_grad()
def compact_image(model: Model, x: torch.Tensor, quality: float, channels: int, *,
                  tile: int = 2 * DEFAULT_TILE,
                  progress: Callable[[str], None] | None = None) -> np.ndarray:
    """ComCNN on an even-sized image tensor, in tiles; returns the uint8 compact image."""
    q = torch.tensor([float(quality)])
    margin = COM_MARGIN + model.net.com.extra_margin
    out = run_tiled(lambda t: model.net.com(t, q), x, scale=Fraction(1, 2), margin=margin,
                    tile=tile, progress=_tile_progress("ComCNN", progress))
    return to_uint8(out, channels)


def _tile_progress(what: str, say: Callable[[str], None] | None):
    if say is None:
        return None
    return lambda done, total: say(f"{what}: tile {done}/{total}") if total > 1 else None


class Encoder:
    """Holds the padded input and the model; codes the compact image at any quality (cached)."""

    def __init__(self, image: np.ndarray, base: BaseCodec, model: Model, subsampling: str,
                 progress: Callable[[str], None] | None = None):
        self.image, self.base, self.model, self.subsampling = image, base, model, subsampling
        self.progress = progress
        self.resolution = "full" if model.net.config.scale == 1 else "compact"
        self.channels = 1 if image.ndim == 2 else 3
        h, w = image.shape[:2]
        x = to_tensor(image)
        odd = model.net.config.scale == 2 and (h % 2 or w % 2)
        self.x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if odd else x
        self._payload: dict[float, bytes] = {}
        self._recon: dict[float, np.ndarray] = {}

    def twin(self, model: Model) -> Encoder:
        """An encoder for the same image with another model. Full-resolution encoders share
        their coded payloads (the base codec codes the image itself, only the decoder
        differs); compact ones do not (each ComCNN makes its own compact image)."""
        other = Encoder(self.image, self.base, model, self.subsampling, self.progress)
        if self.resolution == other.resolution == "full":
            other._payload = self._payload
        return other

    def payload(self, quality: float) -> bytes:
        q = self.base.check_quality(quality)
        if q not in self._payload:
            if self.model.net.config.scale == 1:
                compact = self.image
            else:  # ComCNN is told the quality the payload's tables will say
                qc = self.base.table_quality(q, gray=self.channels == 1,
                                             subsampling=self.subsampling)
                compact = compact_image(self.model, self.x, qc, self.channels,
                                        progress=self.progress)
            self._payload[q] = self.base.encode(compact, q, subsampling=self.subsampling)
        return self._payload[q]

    def condition(self, quality: float) -> float:
        """The quality RecCNN is conditioned on: what the payload at ``quality`` says."""
        return self.base.condition_quality(self.payload(quality), quality)

    def file_at(self, quality: float, update: bytes | None = None) -> bytes:
        q = self.base.check_quality(quality)
        h, w = self.image.shape[:2]
        hdr = container.Header(w, h, self.channels, self.base.id, self.subsampling, q,
                               self.model.name, self.model.digest, self.resolution,
                               encoder=self.base.encoder or "turbo")
        chunks = [(container.CHUNK_BASE, self.payload(q))]
        if update is not None:
            chunks.append((container.CHUNK_UPDATE, update))
        return container.pack(hdr, chunks)

    def decoded_compact(self, quality: float) -> np.ndarray:
        return self.base.decode(self.payload(quality), decoder=self.model.decoder)

    def reconstruct(self, quality: float, deltas: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """The decoder's output at ``quality`` (cached without an update: the mode, decoder
        and update decisions all compare against it)."""
        h, w = self.image.shape[:2]
        if deltas:
            return reconstruct(self.model, self.decoded_compact(quality), self.condition(quality),
                               h, w, deltas)
        q = self.base.check_quality(quality)
        if q not in self._recon:
            self._recon[q] = reconstruct(self.model, self.decoded_compact(q), self.condition(q),
                                         h, w)
        return self._recon[q]


@dataclass(frozen=True)
class EncodeResult:
    """An encoded file plus the settings chosen for it and the adaptation decision."""

    data: bytes
    quality: float
    model: str
    bpp: float
    decision: dict = field(default_factory=dict)
    mode: str = "compact"  # the container's mode flag: compact or full


def _mode_model(base: str, mode: str, model: str | None,
                profile: str = "fast") -> tuple[str, list[Model]]:
    """The codec mode and the model(s) to try: both defaults for ``auto``, else one."""
    if mode not in MODES:
        raise HybridCodecError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if model is not None:
        m = get_model(model)
        own = "full" if m.net.config.scale == 1 else "compact"
        if mode not in ("auto", own):
            raise HybridCodecError(f"model {m.name!r} is a {own}-mode model, not {mode}")
        mode, models = own, [m]
    elif mode == "auto":
        models = [get_model(default_model_name(base, r, profile)) for r in ("compact", "full")]
    else:
        models = [get_model(default_model_name(base, mode, profile))]
    for m in models:
        if m.base not in (None, base):
            raise HybridCodecError(f"model {m.name!r} is for base {m.base}, not {base}")
    return mode, models


def encode_ex(
    image: np.ndarray, /, *, base: str = "jpeg2000", quality: float | None = None,
    bpp: float | None = None, size: int | None = None, mode: str = "auto",
    profile: str = "fast", model: str | None = None, subsampling: str = "420",
    adapt: AdaptConfig | None = None, jpeg_encoder: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> EncodeResult:
    """Like :func:`encode`, returning the chosen quality, mode and bpp and, with ``adapt``, the
    figures of the keep-or-drop decision for the weight-update (and, in ``auto`` mode, of the
    mode choice under ``decision["mode"]``)."""
    from .ratecontrol import (adapt_and_decide, choose_decoder, choose_mode, search_quality,
                              target_bytes)

    img = as_image(image)
    codec = get_base(base, jpeg_encoder)
    if not codec.available():
        raise HybridCodecError(f"base codec {base} is not available in this installation")
    if subsampling not in container.SUBSAMPLING_IDS:
        raise HybridCodecError(f"subsampling must be 420 or 444, got {subsampling!r}")
    if sum(v is not None for v in (quality, bpp, size)) > 1:
        raise HybridCodecError("give only one of quality, bpp and size")
    mode, models = _mode_model(base, mode, model, profile)
    encs = [Encoder(img, codec, m, subsampling if codec.id == 1 else "420", progress)
            for m in models]
    pixels = img.shape[0] * img.shape[1]
    target = target_bytes(pixels, bpp, size)
    decision: dict = {}
    if len(encs) == 2:
        enc, q, decision["mode"] = choose_mode(encs[0], encs[1], quality, target, progress)
    else:
        enc = encs[0]
        if target is not None:
            q = search_quality(enc, target, progress=progress)
        else:
            q = codec.check_quality(codec.default_quality if quality is None else quality)
        if mode == "full" and model is None and enc.model.net.rec.depth > 0:
            enc, decision["decoder"] = choose_decoder(enc, q, progress)
    data = enc.file_at(q)
    chosen_plain = len(encs) == 2 or "decoder" in decision  # the encoder picked the decoder
    if adapt is not None and chosen_plain and enc.model.net.rec.depth == 0:
        decision.update(kept=False, reason=f"the encoder chose {enc.model.name}, which has no "
                                           f"parameters to adapt")
    elif adapt is not None:
        data, q, more = adapt_and_decide(enc, q, target, adapt, progress)
        decision.update(more)
    elif progress:
        progress(f"{enc.resolution} mode, quality {q:g}, {len(data)} bytes")
    return EncodeResult(data, q, enc.model.name, 8 * len(data) / pixels, decision,
                        enc.resolution)


def encode(
    image: np.ndarray, /, *, base: str = "jpeg2000", quality: float | None = None,
    bpp: float | None = None, size: int | None = None, mode: str = "auto",
    profile: str = "fast", model: str | None = None, subsampling: str = "420",
    adapt: AdaptConfig | None = None, jpeg_encoder: str | None = None,
) -> bytes:
    """Compress a uint8 image (H, W) or (H, W, 3) to ``.hyc`` bytes.

    Give at most one of ``quality`` (the base codec's own scale: JPEG quality factor 1-100,
    JPEG 2000 PSNR target in dB), ``bpp`` (target bits per pixel of the whole file) or ``size``
    (target bytes); targets are met by bisection over the base codec's quality and never
    exceeded. ``mode``: ``compact`` (half-resolution ComCNN/RecCNN), ``full`` (full-resolution
    artifact removal) or ``auto`` (both, keeping the better PSNR at the same size; with a quality,
    the size is that of the full-resolution file at that quality; in ``full`` and ``auto`` the
    plain decoder is kept where the default network does not help). ``model`` is a registry name
    or model file (its mode is used); default: the shipped model of ``base`` for the mode and
    ``profile`` (``fast``: the distilled decoder where one is installed; ``best``: the teacher).
    The decoder used is part of the file's model identity, so decoding needs no profile.
    ``adapt`` fine-tunes the decoder on this image and appends the weight-update when it pays.
    ``jpeg_encoder`` (JPEG only): ``jpegli`` (default), ``mozjpeg`` or ``turbo`` (libjpeg-turbo);
    every payload is a standard JPEG, the file records the encoder for information only.
    """
    return encode_ex(image, base=base, quality=quality, bpp=bpp, size=size, mode=mode,
                     profile=profile, model=model, subsampling=subsampling, adapt=adapt,
                     jpeg_encoder=jpeg_encoder).data


def _parse(data: bytes) -> tuple[container.Container, BaseCodec]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise HybridCodecError(f"expected bytes, got {type(data).__name__}")
    c = container.unpack(bytes(data))
    return c, base_by_id(c.header.base_id)


def decode(data: bytes, /, *, model: str | None = None,
           progress: Callable[[str], None] | None = None) -> np.ndarray:
    """Decompress ``.hyc`` bytes to a uint8 array (H, W) or (H, W, 3). ``model`` may name a
    model file to use instead of the installed registry (its name and hash must match);
    ``progress`` receives a line per network tile of large images."""
    from .weightcoding import decode_update

    c, base = _parse(data)
    h = c.header
    net = find_model(h.model_name, h.model_digest, model)
    if (net.net.config.scale == 1) != (h.resolution == "full"):
        raise HybridCodecError(f"file is in {h.resolution} mode but model {h.model_name!r} is not")
    update = c.get(container.CHUNK_UPDATE)
    deltas = None
    if update is not None:
        if net.net.rec.depth == 0:
            raise HybridCodecError("weight-update chunk for a model without parameters")
        deltas = decode_update(update, parameter_shapes(net.net.rec))
    payload = c.get(container.CHUNK_BASE)
    compact = base.decode(payload, decoder=net.decoder)
    scale = net.net.config.scale
    ch, cw = (h.height + scale - 1) // scale, (h.width + scale - 1) // scale
    expected = (ch, cw) if h.channels == 1 else (ch, cw, 3)
    if compact.shape != expected:
        raise HybridCodecError(f"base payload has shape {compact.shape}, expected {expected}")
    cond = base.condition_quality(payload, h.quality)  # what the payload says, not the header
    return reconstruct(net, compact, cond, h.height, h.width, deltas, progress=progress)


def info(data: bytes, /) -> dict:
    """Header fields and chunk sizes of a ``.hyc`` file (bytes; bpp of the whole file)."""
    from .weightcoding import describe_update

    c, base = _parse(data)
    h = c.header
    out = {
        "format": f".hyc version {h.version}",
        "size": f"{h.width}x{h.height}",
        "mode": h.resolution,
        "channels": container.MODES[h.channels],
        "base": base.name,
        "quality": h.quality,
        "encoder": (h.encoder if h.version >= 3 else "turbo") if base.id == 1 else "openjpeg",
        "subsampling": h.subsampling if base.id == 1 else "n/a",
        "model": h.model_name,
        "model_digest": h.model_digest.hex(),
        "bytes": len(data),
        "header_bytes": c.header_size,
        "base_bytes": len(c.get(container.CHUNK_BASE)),
        "bpp": round(8 * len(data) / (h.width * h.height), 5),
    }
    update = c.get(container.CHUNK_UPDATE)
    if update is None:
        out["update"] = "none"
    else:
        try:
            rec = find_model(h.model_name, h.model_digest).net.rec
            out["update"] = describe_update(update, parameter_shapes(rec))
        except HybridCodecError as exc:
            out["update"] = f"{len(update)} bytes ({exc})"
    return out
