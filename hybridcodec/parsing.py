"""Taking files apart: a ``.hyc`` container or a standard JPEG/JP2/J2K file with a hybrid
record (``standard``), as a header plus chunks, and :func:`info`, what a file holds."""

from __future__ import annotations

from . import container as hyc
from . import standard
from .basecodecs import BaseCodec, base_by_id, get_base
from .errors import HybridCodecError, guarded
from .inference import update_shapes
from .models import find_model

__all__ = ["as_bytes", "parse_hyc", "parse_standard", "info"]


def as_bytes(data: object) -> bytes:
    """``data`` (bytes-like) as bytes; anything else is an error naming its type."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise HybridCodecError(f"expected bytes, got {type(data).__name__}")
    return bytes(data)


def parse_hyc(data: bytes) -> tuple[hyc.Container, BaseCodec]:
    c = hyc.unpack(as_bytes(data))
    return c, base_by_id(c.header.base_id)


def parse_standard(data: bytes, split: standard.Split) -> tuple[hyc.Container, BaseCodec]:
    """The record of a standard file as a container (its codestream as the base chunk)."""
    if split.problem:
        raise HybridCodecError(split.problem)
    if split.record is None:
        raise HybridCodecError(f"this {split.kind} file has no hybrid record")
    header, chunks = standard.parse_record(split.record)
    base = base_by_id(header.base_id)
    if base.name != standard.BASE_OF[split.kind]:
        raise HybridCodecError(f"the hybrid record names base {base.name} in a {split.kind} file")
    problem = standard.check_payload(chunks, split.payload)
    if problem:
        raise HybridCodecError(problem)
    return hyc.Container(header, [(hyc.CHUNK_BASE, split.payload), *chunks]), base


@guarded
def info(data: bytes, /) -> dict:
    """Header fields and chunk sizes of a ``.hyc`` file or a hybrid JPEG/JP2/J2K file (bytes; bpp
    of the whole file); for a standard file without (usable) hybrid data, what it is."""
    from .weightcoding import describe_update

    data = as_bytes(data)
    kind = standard.sniff(data)
    if kind in (None, "hyc"):
        c, base = parse_hyc(data)
        fmt = f".hyc version {c.header.version}"
    else:
        split = standard.split(data)
        if split.record is None or split.problem:
            shape = get_base(standard.BASE_OF[kind]).peek_shape(split.payload)
            return {"format": f"plain {kind} file" + (
                        f" (hybrid data unusable: {split.problem})" if split.problem else
                        " (no hybrid data: decompress runs " +
                        ("enhance)" if kind == "jpeg" else "the plain decoder)")),
                    "size": f"{shape[1]}x{shape[0]}", "bytes": len(data)}
        c, base = parse_standard(data, split)
        fmt = (f"standard {kind} file with a hybrid record (.hyc version {c.header.version}, "
               f"{len(split.record)} bytes)")
    h = c.header
    out = {
        "format": fmt,
        "size": f"{h.width}x{h.height}",
        "mode": h.resolution,
        "channels": hyc.MODES[h.channels],
        "base": base.name,
        "quality": h.quality,
        **base.file_facts(h.version, h.encoder, h.subsampling),
        "model": h.model_name,
        "model_digest": h.model_digest.hex(),
        "bytes": len(data),
        "header_bytes": c.header_size if kind in (None, "hyc") else len(data)
        - len(c.get(hyc.CHUNK_BASE) or b""),
        "base_bytes": len(c.get(hyc.CHUNK_BASE) or b""),
        "bpp": round(8 * len(data) / (h.width * h.height), 5),
    }
    update = c.get(hyc.CHUNK_UPDATE)
    if update is None:
        out["update"] = "none"
    else:
        try:
            shapes = update_shapes(find_model(h.model_name, h.model_digest))
            out["update"] = describe_update(update, shapes)
        except HybridCodecError as exc:
            out["update"] = f"{len(update)} bytes ({exc})"
    return out
