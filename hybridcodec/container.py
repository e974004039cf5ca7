"""The ``.hyc`` container: a self-describing file (specified in ``docs/FORMAT.md``).

Layout (all integers big-endian)::

    header   magic b"\\x89HYC" | version u8 | channels u8 | width u16 | height u16 | base id u8 |
             flags u8 (bits 0-3 subsampling, bit 4 full resolution, bits 5-6 JPEG encoder) |
             quality u16 (x100) |
             name length u8 | model name | model digest 8B |
             header CRC-32 u32
    chunks   type 4B | length u32 | payload | CRC-32 u32 (over type and payload)
    end      the chunk "END!" with an empty payload; nothing may follow it

A chunk type whose first letter is upper-case is critical (a decoder that does not know it must
fail); lower-case is optional and skipped when unknown. Every length is checked against the bytes
that are actually there before anything is sliced, so a corrupt length never causes a large
allocation, and every byte is covered by a CRC, so every corruption is detected.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from .errors import HybridCodecError

__all__ = ["MAGIC", "VERSION", "Header", "Container", "pack", "unpack", "peek_header",
           "CHUNK_BASE", "CHUNK_UPDATE", "CHUNK_END", "MODES", "RESOLUTIONS"]

MAGIC = b"\x89HYC"
#: 2 added the full-resolution flag, 3 the JPEG encoder (information only) and the rule that the
#: networks' quality comes from the payload; versions 1 and 2 still decode
VERSION = 3
READABLE = (1, 2, 3)
CHUNK_BASE = b"BASE"
CHUNK_UPDATE = b"UPDT"  # encode-time weight-update (critical: it changes the decoded image)
CHUNK_END = b"END!"
MODES = {1: "L", 3: "RGB"}
RESOLUTIONS = ("compact", "full")  # codec modes: half-resolution compact image, or full
_FULL_FLAG = 0x10
_ENCODER_SHIFT = 5  # bits 5-6: JPEG encoder id (basecodecs.ENCODER_IDS), version 3 only
ENCODER_NAMES = {0: "turbo", 1: "jpegli", 2: "mozjpeg"}
SUBSAMPLING_IDS = {"420": 0, "444": 1}
_FIXED = struct.Struct(">4sBBHHBBHB")  # magic .. name length
_CHUNK_HEAD = struct.Struct(">4sI")
MAX_NAME = 64


@dataclass(frozen=True)
class Header:
    """Everything a decoder needs before the chunks."""

    width: int
    height: int
    channels: int  # 1 (L) or 3 (RGB)
    base_id: int
    subsampling: str  # "420" or "444" (JPEG only; "420" is stored for others)
    quality: float  # on the base codec's scale, 1/100 resolution
    model_name: str
    model_digest: bytes  # 8 bytes
    resolution: str = "compact"  # "compact" (ComCNN, half resolution) or "full"
    version: int = VERSION
    encoder: str = "turbo"  # JPEG encoder that wrote the payload: information only

    def pack(self) -> bytes:
        name = self.model_name.encode("ascii")
        if not 1 <= len(name) <= MAX_NAME:
            raise HybridCodecError(f"model name must be 1-{MAX_NAME} ASCII characters")
        if len(self.model_digest) != 8:
            raise HybridCodecError("model digest must be 8 bytes")
        q = round(self.quality * 100)
        if not 0 <= q <= 0xFFFF:
            raise HybridCodecError(f"quality {self.quality} cannot be stored")
        if self.resolution not in RESOLUTIONS:
            raise HybridCodecError(f"resolution must be one of {RESOLUTIONS}")
        enc = {v: k for k, v in ENCODER_NAMES.items()}.get(self.encoder)
        if enc is None:
            raise HybridCodecError(f"unknown JPEG encoder {self.encoder!r}")
        flags = (SUBSAMPLING_IDS[self.subsampling] | (_FULL_FLAG if self.resolution == "full" else 0)
                 | (enc << _ENCODER_SHIFT if self.version >= 3 else 0))
        body = _FIXED.pack(MAGIC, self.version, self.channels, self.width, self.height,
                           self.base_id, flags, q, len(name))
        body += name + self.model_digest
        return body + struct.pack(">I", zlib.crc32(body))


@dataclass
class Container:
    """A parsed file: header and chunks in file order (the end chunk is not listed)."""

    header: Header
    chunks: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_size: int = 0

    def get(self, ctype: bytes) -> bytes | None:
        for t, payload in self.chunks:
            if t == ctype:
                return payload
        return None


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    if len(ctype) != 4:
        raise HybridCodecError("chunk type must be 4 bytes")
    return (_CHUNK_HEAD.pack(ctype, len(payload)) + payload
            + struct.pack(">I", zlib.crc32(ctype + payload)))


def pack(header: Header, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Serialise a header and chunks (the end chunk is appended)."""
    return header.pack() + b"".join(_chunk(t, p) for t, p in chunks) + _chunk(CHUNK_END, b"")


def _parse_header(data: bytes) -> tuple[Header, int]:
    if len(data) < 4 or data[:4] != MAGIC:
        raise HybridCodecError("not a .hyc file (bad magic bytes)")
    if len(data) < _FIXED.size:
        raise HybridCodecError("truncated .hyc header")
    magic, version, channels, width, height, base_id, flags, q, nlen = _FIXED.unpack_from(data)
    end = _FIXED.size + nlen + 8
    if len(data) < end + 4:
        raise HybridCodecError("truncated .hyc header")
    (crc,) = struct.unpack_from(">I", data, end)
    if zlib.crc32(data[:end]) != crc:
        raise HybridCodecError("corrupt .hyc header (CRC mismatch)")
    if version not in READABLE:
        raise HybridCodecError(f"unsupported .hyc version {version} (this reader: {VERSION})")
    sub_id, full = flags & 0x0F, bool(flags & _FULL_FLAG)
    enc_id = (flags >> _ENCODER_SHIFT) & 3
    allowed = 0x0F | _FULL_FLAG | (3 << _ENCODER_SHIFT if version >= 3 else 0)
    if flags & ~allowed or (full and version < 2) or enc_id not in ENCODER_NAMES:
        raise HybridCodecError("invalid flags in .hyc header")
    if channels not in MODES:
        raise HybridCodecError(f"invalid channel count {channels} in .hyc header")
    if width == 0 or height == 0:
        raise HybridCodecError("invalid image size 0 in .hyc header")
    subs = {v: k for k, v in SUBSAMPLING_IDS.items()}
    if sub_id not in subs or nlen == 0:
        raise HybridCodecError("invalid .hyc header fields")
    try:
        name = data[_FIXED.size : _FIXED.size + nlen].decode("ascii")
    except UnicodeDecodeError:
        raise HybridCodecError("invalid model name in .hyc header") from None
    digest = bytes(data[_FIXED.size + nlen : end])
    return Header(width, height, channels, base_id, subs[sub_id], q / 100, name, digest,
                  RESOLUTIONS[full], version, ENCODER_NAMES[enc_id]), end + 4


def peek_header(data: bytes) -> Header:
    """Parse and check only the header (cheap; used by the Pillow plugin)."""
    return _parse_header(bytes(data[:512]) if len(data) > 512 else bytes(data))[0]


def unpack(data: bytes, *,
           known: frozenset[bytes] = frozenset({CHUNK_BASE, CHUNK_UPDATE})) -> Container:
    """Parse a whole file, checking every CRC and length; unknown optional chunks are dropped."""
    data = bytes(data)
    header, pos = _parse_header(data)
    out = Container(header, [], pos)
    while True:
        if len(data) - pos < _CHUNK_HEAD.size:
            raise HybridCodecError("truncated .hyc file (missing chunk or end marker)")
        ctype, length = _CHUNK_HEAD.unpack_from(data, pos)
        start = pos + _CHUNK_HEAD.size
        if length > len(data) - start - 4:
            raise HybridCodecError(f"truncated or corrupt .hyc chunk {ctype!r} "
                                   f"(length {length} exceeds the file)")
        payload = data[start : start + length]
        (crc,) = struct.unpack_from(">I", data, start + length)
        if zlib.crc32(ctype + payload) != crc:
            raise HybridCodecError(f"corrupt .hyc chunk {ctype!r} (CRC mismatch)")
        pos = start + length + 4
        if ctype == CHUNK_END:
            if length != 0 or pos != len(data):
                raise HybridCodecError("unexpected data after the .hyc end marker")
            break
        if ctype in known:
            if out.get(ctype) is not None:
                raise HybridCodecError(f"duplicate .hyc chunk {ctype!r}")
            out.chunks.append((ctype, payload))
        elif 97 <= ctype[0] <= 122:  # optional chunk (lower-case first letter): skip
            continue
        else:
            raise HybridCodecError(f"unknown critical chunk {ctype!r}: file needs a newer "
                                   f"hybridcodec")
    if out.get(CHUNK_BASE) is None:
        raise HybridCodecError("no base codec payload in .hyc file")
    return out
