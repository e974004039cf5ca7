"""Hybrid files in standard containers (``docs/FORMAT.md``, "Standard files"): a hybrid JPEG is a
``.jpg`` that every JPEG decoder opens, a hybrid JPEG 2000 image a ``.jp2`` or ``.j2k`` that
OpenJPEG and Pillow open; hybridcodec finds its record inside and decodes with the networks.

The *record* is what a ``.hyc`` file holds besides the base payload: the ``.hyc`` header (magic,
version, fields, model identity, CRC-32) followed by chunks (``UPDT``, and ``bcrc``: the length and
CRC-32 of the codestream, so that damage anywhere is noticed), each with its CRC-32, with no end
chunk. It travels as

* JPEG: APP11 segments right after SOI, each ``FF EB | length u16 | "HYCJ" | index u8 |
  count u8 | piece`` (pieces of at most 65527 bytes, in order);
* JPEG 2000 codestream (``.j2k``): COM segments right after SIZ, each ``FF 64 | length u16 |
  Rcom 0 (binary) u16 | "HYCJ" | index u8 | count u8 | piece``;
* JP2 (``.jp2``): a ``uuid`` box (:data:`UUID`) before the codestream box, holding the record
  whole; the file is signature, ``ftyp``, ``jp2h`` (``ihdr``, ``colr``), ``uuid``, ``jp2c``.

Every segment and box is parsed with its length checked against the bytes present.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from . import container
from .errors import HybridCodecError

__all__ = ["CONTAINERS", "EXTENSIONS", "SIGNATURE", "UUID", "Split", "sniff", "check_output_name",
           "pack_record",
           "parse_record", "wrap", "split", "container_for_path", "payload_check",
           "check_payload", "CHUNK_CHECK", "BASE_OF"]

CONTAINERS = ("hyc", "jpeg", "jp2", "j2k")
EXTENSIONS = {".hyc": "hyc", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jp2": "jp2",
              ".j2k": "j2k", ".j2c": "j2k", ".jpc": "j2k"}
#: the base codec each standard container holds (``.hyc`` holds either)
BASE_OF = {"jpeg": "jpeg", "jp2": "jpeg2000", "j2k": "jpeg2000"}
SIGNATURE = b"HYCJ"
UUID = bytes.fromhex("8f1b5a3e2c7d4e0b9a6f3d21c4b8e7a5")
_APP11, _COM = 0xEB, 0x64
_JPEG_PIECE = 0xFFFF - 2 - len(SIGNATURE) - 2
_J2K_PIECE = 0xFFFF - 2 - 2 - len(SIGNATURE) - 2
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def container_for_path(path: str) -> str:
    """The container a file name asks for (by extension; ``hyc`` for anything else)."""
    import os

    return EXTENSIONS.get(os.path.splitext(path)[1].lower(), "hyc")


def check_output_name(path: str, kind: str | None = None) -> str:
    """The container of a compressed file named ``path`` (``-``: stdout, ``kind`` or ``hyc``):
    its extension must be one hybridcodec writes, and agree with ``kind`` when one is given
    (issue 23: ``compress x.png y.webp`` wrote .hyc bytes into y.webp)."""
    import os

    import stat

    try:
        stream = stat.S_ISFIFO(os.stat(path).st_mode) or stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        stream = False
    if path == "-" or stream:  # stdout, /dev/stdout, a named pipe: no name to check
        return kind or "hyc"
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        names = ", ".join(EXTENSIONS)
        raise HybridCodecError(f"compressed files are {names}; cannot write "
                               f"{ext or 'a name without an extension'} ({path})")
    if kind is not None and kind != EXTENSIONS[ext]:
        raise HybridCodecError(f"a {kind} container cannot be written as {ext} ({path})")
    return EXTENSIONS[ext]


def sniff(data: bytes) -> str | None:
    """``hyc``, ``jpeg``, ``jp2`` or ``j2k`` from the first bytes; None for anything else."""
    head = bytes(data[:12])
    if head[:4] == container.MAGIC:
        return "hyc"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head == _JP2_SIGNATURE:
        return "jp2"
    if head[:4] == b"\xff\x4f\xff\x51":
        return "j2k"
    return None


def pack_record(header: container.Header, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """The record: the ``.hyc`` header and the chunks other than the base payload."""
    return header.pack() + b"".join(container._chunk(t, p) for t, p in chunks)


#: optional record chunk: length u32 and CRC-32 of the plain codestream, so that damage or
#: truncation anywhere in the file is noticed (a JPEG decoder may decode a damaged scan)
CHUNK_CHECK = b"bcrc"


def payload_check(payload: bytes) -> tuple[bytes, bytes]:
    """The ``bcrc`` chunk of a codestream."""
    return CHUNK_CHECK, struct.pack(">II", len(payload), zlib.crc32(payload))


def check_payload(chunks: list[tuple[bytes, bytes]], payload: bytes) -> str | None:
    """Why ``payload`` is not the codestream the record was written with (None: it is)."""
    for t, body in chunks:
        if t == CHUNK_CHECK:
            if len(body) != 8 or struct.unpack(">II", body) != (len(payload), zlib.crc32(payload)):
                return "the image data does not match its hybrid record (damaged or truncated)"
    return None


def parse_record(record: bytes) -> tuple[container.Header, list[tuple[bytes, bytes]]]:
    """Header and chunks of a record; every CRC and length checked."""
    header, pos = container._parse_header(record)
    chunks: list[tuple[bytes, bytes]] = []
    while pos < len(record):
        if len(record) - pos < 12:
            raise HybridCodecError("truncated hybrid record")
        ctype, length = struct.unpack_from(">4sI", record, pos)
        if length > len(record) - pos - 12:
            raise HybridCodecError(f"corrupt hybrid record chunk {ctype!r} (length)")
        payload = record[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", record, pos + 8 + length)
        if zlib.crc32(ctype + payload) != crc:
            raise HybridCodecError(f"corrupt hybrid record chunk {ctype!r} (CRC mismatch)")
        pos += 12 + length
        if ctype in (container.CHUNK_UPDATE, CHUNK_CHECK) and \
                not any(t == ctype for t, _ in chunks):
            chunks.append((ctype, payload))
        elif not 97 <= ctype[0] <= 122:  # an unknown or repeated critical chunk
            raise HybridCodecError(f"unexpected chunk {ctype!r} in the hybrid record")
    return header, chunks


def _pieces(record: bytes, size: int) -> list[bytes]:
    pieces = [record[i : i + size] for i in range(0, len(record), size)] or [b""]
    if len(pieces) > 255:
        raise HybridCodecError("hybrid record too large for a standard file")
    return [SIGNATURE + bytes([i, len(pieces)]) + p for i, p in enumerate(pieces)]


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def wrap(kind: str, payload: bytes, record: bytes, *, width: int = 0, height: int = 0,
         channels: int = 3, meta=None) -> bytes:
    """A standard file of ``kind`` holding ``payload`` (a JPEG, or a J2K codestream whose size
    is ``width`` x ``height`` with ``channels`` components) and the record; for JP2, ``meta``
    (a ``metadata.ImageMeta``) adds the ICC profile (``colr`` method 2) and an EXIF box."""
    if kind == "jpeg":
        if payload[:2] != b"\xff\xd8":
            raise HybridCodecError("the JPEG payload does not start with SOI")
        segs = b"".join(struct.pack(">BBH", 0xFF, _APP11, 2 + len(p)) + p
                        for p in _pieces(record, _JPEG_PIECE))
        return payload[:2] + segs + payload[2:]
    if kind == "j2k":
        if payload[:4] != b"\xff\x4f\xff\x51" or len(payload) < 6:
            raise HybridCodecError("the JPEG 2000 payload does not start with SOC, SIZ")
        end = 4 + struct.unpack_from(">H", payload, 4)[0]  # SIZ ends here
        segs = b"".join(struct.pack(">BBHH", 0xFF, _COM, 4 + len(p), 0) + p
                        for p in _pieces(record, _J2K_PIECE))
        return payload[:end] + segs + payload[end:]
    if kind == "jp2":
        ihdr = _box(b"ihdr", struct.pack(">IIHBBBB", height, width, channels, 7, 7, 0, 0))
        colr = _box(b"colr", struct.pack(">BBBI", 1, 0, 0, 16 if channels == 3 else 17))
        if meta is not None and meta.icc:
            colr = _box(b"colr", bytes([2, 0, 0]) + meta.icc)
        exif = b""
        if meta is not None and meta.exif:
            from .metadata import EXIF_UUID

            exif = _box(b"uuid", EXIF_UUID + meta.exif[6:])  # the TIFF structure itself
        return (_JP2_SIGNATURE + _box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 ")
                + _box(b"jp2h", ihdr + colr) + _box(b"uuid", UUID + record) + exif
                + _box(b"jp2c", payload))
    raise HybridCodecError(f"container must be one of {', '.join(CONTAINERS)}, got {kind!r}")


@dataclass(frozen=True)
class Split:
    """A standard file taken apart: ``payload`` is the plain codestream (a JPEG without the
    hybrid segments, a J2K codestream), ``record`` the hybrid record (None when the file has
    none), ``problem`` why a record that is there cannot be used (damaged, incomplete)."""

    kind: str
    payload: bytes
    record: bytes | None
    problem: str | None = None


def _bits(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b)) + 8 * abs(len(a) - len(b))


def _bytes_off(a: bytes, b: bytes) -> int:
    """How many bytes of ``a`` differ from ``b`` (a missing byte counts)."""
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def _near_signature(body: bytes) -> bool:
    """A damaged hybrid segment, not someone else's: the signature with one byte overwritten
    (any number of its bits), or the record's own magic where the first piece starts (after the
    signature, index and count), whatever the signature became (issue 23: an overwritten byte
    of ``HYCJ`` once gave the plain half-size image silently)."""
    n = len(SIGNATURE)
    return _bytes_off(body[:n], SIGNATURE) <= 1 or body[n + 2 : n + 6] == container.MAGIC


def _assemble(pieces: list[bytes], damaged: bool) -> tuple[bytes | None, str | None]:
    if not pieces and not damaged:
        return None, None
    if damaged:
        return b"", "a hybrid segment is damaged"
    try:
        count = pieces[0][len(SIGNATURE) + 1]
        by_index = {p[len(SIGNATURE)]: p for p in pieces}
        if any(p[len(SIGNATURE) + 1] != count for p in pieces) or \
                sorted(by_index) != list(range(count)) or len(pieces) != count:
            return b"", "the hybrid segments are incomplete or out of order"
    except IndexError:
        return b"", "a hybrid segment is truncated"
    return b"".join(by_index[i][len(SIGNATURE) + 2 :] for i in range(count)), None


def _walk(data: bytes, kind: str, stop, body_of, is_piece) -> Split:
    """Marker segments from after SOI/SOC up to ``stop(marker)``: the hybrid ones are taken
    out (``is_piece``), any other whose body is near the signature marks damage, and a broken
    structure with the signature still in it too (a flipped length or marker byte)."""
    pos, pieces, damaged, keep = 2, [], False, [data[:2]]
    broken = False
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            broken = pos + 4 <= len(data)
            break
        marker = data[pos + 1]
        if stop(marker):
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            broken = True
            break
        seg = data[pos : pos + 2 + length]
        if is_piece(seg):
            pieces.append(body_of(seg))
        elif _near_signature(seg[4:]) or _near_signature(seg[6:]):  # a damaged APP11 or COM
            damaged = True
        else:
            keep.append(seg)
        pos += 2 + length
    if broken and not pieces:  # one flipped length or marker byte leaves the signature intact
        damaged = damaged or SIGNATURE in data[2 : pos + 0x20000]
    record, problem = _assemble(pieces, damaged)
    return Split(kind, b"".join(keep) + data[pos:], record, problem)


def _split_jpeg(data: bytes) -> Split:
    return _walk(
        data, "jpeg",
        lambda m: m in (0xDA, 0xD9, 0x01) or 0xD0 <= m <= 0xD7,  # scan, end, no-length
        lambda seg: seg[4:],
        lambda seg: seg[1] == _APP11 and seg[4 : 4 + len(SIGNATURE)] == SIGNATURE)


def _split_j2k(data: bytes) -> Split:
    return _walk(
        data, "j2k", lambda m: m in (0x90, 0xD9),  # first tile-part, end of codestream
        lambda seg: seg[6:] if seg[1] == _COM else seg[4:],
        lambda seg: seg[1] == _COM and seg[4:6] == b"\x00\x00"
        and seg[6 : 6 + len(SIGNATURE)] == SIGNATURE)


def _split_jp2(data: bytes) -> Split:
    pos, record, codestream, problem = 0, None, None, None
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1 and pos + 16 <= len(data):  # 64-bit length
            size, head = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:  # to the end of the file
            size = len(data) - pos
        if size < head or pos + size > len(data):
            problem = "a JP2 box length is damaged"
            break
        body = data[pos + head : pos + size]
        if kind == b"uuid" and body[:16] == UUID and record is None:
            record = body[16:]
        elif kind == b"jp2c" and codestream is None:
            codestream = body
            pos += size
            continue
        elif (_bytes_off(body[:16], UUID) <= 2 or body[16:20] == container.MAGIC
              or (_bytes_off(kind, b"uuid") == 1 and _bytes_off(body[:16], UUID) <= 2)):
            problem = "the hybrid box is damaged"
        elif kind == b"jp2c":
            codestream = body
        pos += size
    if codestream is None:
        raise HybridCodecError("the JP2 file has no codestream box (damaged or truncated)")
    if problem:
        record = b""
    return Split("jp2", codestream, record, problem)


def split(data: bytes) -> Split:
    """Take a standard file (JPEG, JP2 or J2K) apart; see :class:`Split`."""
    kind = sniff(data)
    if kind == "jpeg":
        return _split_jpeg(bytes(data))
    if kind == "j2k":
        return _split_j2k(bytes(data))
    if kind == "jp2":
        return _split_jp2(bytes(data))
    raise HybridCodecError("not a .hyc, JPEG, JP2 or J2K file")
