"""JPEG 2000 in tiles, so that big images are coded and decoded in bounded memory.

OpenJPEG (through imagecodecs) holds a whole image as 32-bit planes, twice while encoding: 24
bytes per RGB pixel, 2.4 GB at 100 megapixels. A JPEG 2000 codestream may be split into tiles
(ITU-T T.800 B.3), each transformed, coded and rate-allocated on its own, so an image above
:data:`TILED_ABOVE` pixels is coded here as tiles of ``T`` x ``T`` pixels, each one by OpenJPEG
as a small image, and the tile-parts are joined under one main header into one standard
codestream (any JPEG 2000 decoder reads it whole; hybridcodec decodes it tile by tile).

Why a tile coded alone is the same bits as that tile inside the big image: the tiles start at
multiples of ``T`` = 2048, so at each of the 5 decomposition levels the tile's origin is even
(the wavelet's phase) and a multiple of 64 (the code-block grid), and with the default precinct
size (2^15) no tile crosses a precinct border. Every tile, the last ones included, is at least
256 pixels on each side, so OpenJPEG gives all of them the same 5 levels and the same
coding-style and quantisation markers (checked; otherwise the image is coded whole).
Fixed-quality rate allocation (the PSNR target) then applies per tile.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from .errors import HybridCodecError

__all__ = ["encode_tiled", "decode_tiled", "tile_side", "TILED_ABOVE", "is_split"]

#: images with more pixels than this are coded in tiles
TILED_ABOVE = 16_000_000
_UNIT = 2048  # tile sides are multiples of this (see the module docstring)
_MIN_EDGE = 256

Encode = Callable[[np.ndarray], bytes]
Decode = Callable[[bytes], np.ndarray]


def tile_side(height: int, width: int) -> int | None:
    """The tile side for an image, or None when none fits (the image is then coded whole)."""
    for t in (_UNIT, 2 * _UNIT, 3 * _UNIT):
        if all(n % t == 0 or n % t >= _MIN_EDGE for n in (height, width)):
            return t
    return None


def _split(cs: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """(SIZ segment, other main-header segments, tile-parts) of a codestream."""
    if cs[:4] != b"\xff\x4f\xff\x51":
        raise HybridCodecError("JPEG 2000 codestream without SOC/SIZ")
    pos, segs = 2, []
    while True:
        if pos + 4 > len(cs) or cs[pos] != 0xFF:
            raise HybridCodecError("corrupt JPEG 2000 main header")
        if cs[pos + 1] == 0x90:  # SOT: the first tile-part
            break
        (length,) = struct.unpack_from(">H", cs, pos + 2)
        if length < 2:
            raise HybridCodecError("corrupt JPEG 2000 marker length")
        segs.append(cs[pos : pos + 2 + length])
        pos += 2 + length
    parts = []
    while pos + 12 <= len(cs) and cs[pos : pos + 2] == b"\xff\x90":
        (psot,) = struct.unpack_from(">I", cs, pos + 6)
        end = len(cs) - 2 if psot == 0 else pos + psot
        if psot and (psot < 14 or end > len(cs)):
            raise HybridCodecError("corrupt JPEG 2000 tile-part length")
        parts.append(cs[pos:end])
        pos = end
    return segs[0], b"".join(segs[1:]), parts


def _siz(siz: bytes, width: int, height: int, tile_w: int, tile_h: int) -> bytes:
    return siz[:6] + struct.pack(">IIIIIIII", width, height, 0, 0, tile_w, tile_h, 0, 0) + siz[38:]


def _part(part: bytes, index: int) -> bytes:
    """A tile-part renumbered as tile ``index``, the only part of its tile."""
    return part[:4] + struct.pack(">HIBB", index, len(part), 0, 1) + part[12:]


def encode_tiled(image: np.ndarray, encode_one: Encode, tile: int) -> bytes | None:
    """Code ``image`` as tiles of ``tile`` pixels, each with ``encode_one`` (an OpenJPEG J2K
    encoder at a fixed setting); None where the tiles' headers disagree (code it whole)."""
    h, w = image.shape[:2]
    siz = head = b""  # from the first tile
    parts = []
    rows, cols = -(-h // tile), -(-w // tile)
    for ty in range(rows):
        for tx in range(cols):
            cs = encode_one(np.ascontiguousarray(image[ty * tile : (ty + 1) * tile,
                                                       tx * tile : (tx + 1) * tile]))
            s, rest, tps = _split(cs)
            if len(tps) != 1:
                return None
            if not siz:
                siz, head = s, rest
            elif rest != head or s[38:] != siz[38:]:
                return None
            parts.append(_part(tps[0], ty * cols + tx))
    return b"\xff\x4f" + _siz(siz, w, h, tile, tile) + head + b"".join(parts) + b"\xff\xd9"


def is_split(cs: bytes) -> bool:
    """Whether a codestream has the tiling :func:`encode_tiled` writes (several tiles of a
    multiple of 2048 from the origin), so that :func:`decode_tiled` may decode it tile by tile."""
    if len(cs) < 42 or cs[:4] != b"\xff\x4f\xff\x51":
        return False
    xs, ys, xo, yo, xt, yt, xto, yto = struct.unpack_from(">IIIIIIII", cs, 8)
    return (xo == yo == xto == yto == 0 and xt == yt and xt % _UNIT == 0
            and (xs > xt or ys > yt))


def decode_tiled(cs: bytes, decode_one: Decode, channels: int) -> np.ndarray:
    """Decode a codestream of :func:`is_split` tiling tile by tile into one uint8 array."""
    siz, head, parts = _split(cs)
    w, h, _, _, t, _, _, _ = struct.unpack_from(">IIIIIIII", siz, 6)
    rows, cols = -(-h // t), -(-w // t)
    if len(parts) != rows * cols:
        raise HybridCodecError(f"JPEG 2000 codestream has {len(parts)} tile-parts for "
                               f"{rows * cols} tiles")
    out = np.empty((h, w) if channels == 1 else (h, w, channels), np.uint8)
    for part in parts:
        index, _, tpsot, tnsot = struct.unpack_from(">HIBB", part, 4)
        if index >= rows * cols or tpsot != 0 or tnsot not in (0, 1):
            raise HybridCodecError("JPEG 2000 tile-part out of order")
        ty, tx = divmod(index, cols)
        th, tw = min(t, h - ty * t), min(t, w - tx * t)
        one = b"\xff\x4f" + _siz(siz, tw, th, tw, th) + head + _part(part, 0) + b"\xff\xd9"
        img = decode_one(one)
        if img.shape[:2] != (th, tw) or img.dtype != np.uint8 or img.ndim != out.ndim:
            raise HybridCodecError("JPEG 2000 tile decodes to an unexpected shape")
        out[ty * t : ty * t + th, tx * t : tx * t + tw] = img
    return out
