"""What a JPEG file says about itself: quantisation tables, the quality factor they correspond to,
chroma subsampling, progressive mode, EXIF orientation and ICC profile.

The quality is estimated against the IJG (libjpeg) scaling of the standard tables of ITU-T T.81
Annex K: ``scale = 5000 / Q`` for Q < 50, else ``200 - 2 Q``. Non-IJG tables get the quality of
the IJG table with the same mean scale, so that the gain units can interpolate for any table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from .errors import HybridCodecError

__all__ = ["JpegInfo", "parse_jpeg", "estimate_quality", "ijg_table", "STD_LUMA", "STD_CHROMA"]

STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]).reshape(8, 8)
STD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99]).reshape(8, 8)
# JPEG stores tables in zig-zag order
ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
    20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
    59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63])
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def ijg_table(quality: int, std: np.ndarray = STD_LUMA) -> np.ndarray:
    """The table libjpeg makes from ``std`` at quality factor 1-100 (baseline, clamped 1-255)."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((std * scale + 50) // 100, 1, 255)


def estimate_quality(table: np.ndarray, std: np.ndarray = STD_LUMA) -> float:
    """Quality factor (1-100, fractional) whose IJG table best matches ``table``."""
    t = np.asarray(table, np.float64).reshape(8, 8)
    errors = [np.abs(ijg_table(q, std) - t).sum() for q in range(1, 101)]
    best = int(np.argmin(errors)) + 1
    if errors[best - 1] == 0:
        return float(best)
    scale = float(np.mean(t / std)) * 100  # same mean scale as an IJG table of quality:
    q = 5000 / scale if scale > 100 else (200 - scale) / 2
    return float(min(max(q, 1.0), 100.0))


_LOSSLESS = {0xC3, 0xC7, 0xCB, 0xCF}
_ARITHMETIC = {0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass
class JpegInfo:
    """Header facts of a JPEG file."""

    width: int = 0
    height: int = 0
    components: int = 0
    precision: int = 8  # bits per sample (8, or 12 / 16 for extended and lossless files)
    sof: int = 0  # the frame marker (0xC0 baseline, 0xC2 progressive, 0xC3 lossless, ...)
    sampling: list[tuple[int, int]] = field(default_factory=list)  # (h, v) per component
    progressive: bool = False
    tables: dict[int, np.ndarray] = field(default_factory=dict)  # natural order, 8x8
    component_tables: list[int] = field(default_factory=list)
    orientation: int = 1
    icc_profile: bytes | None = None
    restart_interval: int = 0

    @property
    def lossless(self) -> bool:
        """Whether the file is a lossless JPEG (no quantisation at all)."""
        return self.sof in _LOSSLESS

    @property
    def arithmetic(self) -> bool:
        """Whether the entropy coder is arithmetic rather than Huffman."""
        return self.sof in _ARITHMETIC

    @property
    def subsampling(self) -> str:
        """``444``, ``422``, ``420``, ``440``, ``411`` or ``gray``."""
        if self.components == 1:
            return "gray"
        (h0, v0), rest = self.sampling[0], self.sampling[1:]
        if any(s != (1, 1) for s in rest):
            return "other"
        return {(1, 1): "444", (2, 1): "422", (2, 2): "420", (1, 2): "440",
                (4, 1): "411"}.get((h0, v0), "other")

    @property
    def quality(self) -> float:
        """Estimated IJG quality of the luminance table."""
        if self.lossless:
            raise HybridCodecError("lossless JPEG has no quantisation, hence no quality")
        return estimate_quality(self.tables[self.component_tables[0]])


def _orientation(exif: bytes) -> int:
    if len(exif) < 14 or exif[:6] != b"Exif\x00\x00":
        return 1
    t = exif[6:]
    end = {b"II": "<", b"MM": ">"}.get(t[:2])
    if end is None:
        return 1
    if len(t) < 8:
        return 1
    (ifd,) = struct.unpack_from(end + "I", t, 4)
    if ifd + 2 > len(t):
        return 1
    (n,) = struct.unpack_from(end + "H", t, ifd)
    for k in range(n):
        off = ifd + 2 + 12 * k
        if off + 12 > len(t):
            break
        tag, _typ, _cnt, value = struct.unpack_from(end + "HHIH", t, off)
        if tag == 0x0112:
            return value if 1 <= value <= 8 else 1
    return 1


def _dqt(seg: bytes, info: JpegInfo) -> None:
    i = 0
    while i < len(seg):
        pq, tq = seg[i] >> 4, seg[i] & 15
        if pq > 1 or tq > 3:
            raise HybridCodecError(f"corrupt JPEG quantisation table header (precision {pq}, "
                                   f"slot {tq})")
        n = 128 if pq else 64
        raw = seg[i + 1 : i + 1 + n]
        if len(raw) != n:
            raise HybridCodecError("truncated JPEG quantisation table")
        vals = np.frombuffer(raw, ">u2" if pq else "u1")
        if not vals.all():
            raise HybridCodecError("corrupt JPEG: quantisation table with a zero step")
        table = np.empty(64, np.int64)
        table[ZIGZAG] = vals
        info.tables[tq] = table.reshape(8, 8)
        i += 1 + n


def _sof(marker: int, seg: bytes, info: JpegInfo) -> None:
    if info.sof:
        raise HybridCodecError("corrupt JPEG: more than one frame header (SOF)")
    if len(seg) < 6:
        raise HybridCodecError("truncated JPEG frame header (SOF)")
    info.precision, info.height, info.width, info.components = struct.unpack_from(">BHHB", seg)
    info.sof = marker
    info.progressive = marker in (0xC2, 0xC6, 0xCA, 0xCE)
    if info.width == 0 or info.height == 0:
        raise HybridCodecError(f"JPEG frame header says {info.width}x{info.height} pixels "
                               "(a zero size is not supported)")
    if info.components == 0 or len(seg) < 6 + 3 * info.components:
        raise HybridCodecError("truncated JPEG frame header (SOF)")
    for c in range(info.components):
        _cid, hv, tq = struct.unpack_from(">BBB", seg, 6 + 3 * c)
        h, v = hv >> 4, hv & 15
        if not (1 <= h <= 4 and 1 <= v <= 4) or tq > 3:
            raise HybridCodecError("corrupt JPEG frame header (sampling factor or table slot)")
        info.sampling.append((h, v))
        info.component_tables.append(tq)


def parse_jpeg(data: bytes) -> JpegInfo:
    """Parse the markers of a JPEG file up to the first scan (no pixel decoding). Every length
    is checked against the bytes present; anything malformed is a :class:`HybridCodecError`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise HybridCodecError(f"expected JPEG bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        raise HybridCodecError("not a JPEG file (no SOI marker)")
    info, pos, icc, scan = JpegInfo(), 2, [], False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HybridCodecError(f"corrupt JPEG: expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers (TEM, RSTn)
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        seg = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(seg) != length - 2:
            raise HybridCodecError("truncated JPEG segment")
        if marker == 0xDB:
            _dqt(seg, info)
        elif marker in SOF_MARKERS:
            _sof(marker, seg, info)
        elif marker == 0xDD and len(seg) >= 2:
            (info.restart_interval,) = struct.unpack_from(">H", seg)
        elif marker == 0xE1:
            info.orientation = _orientation(seg) if seg.startswith(b"Exif") else info.orientation
        elif marker == 0xE2 and seg.startswith(b"ICC_PROFILE\x00") and len(seg) > 14:
            icc.append((seg[12], seg[14:]))
        elif marker == 0xDA:
            scan = True
            break
        elif marker == 0xD9:
            break
        pos += 2 + length
    if not info.sof:
        raise HybridCodecError("JPEG has no frame header (SOF)" if scan or pos + 4 > len(data)
                               else "corrupt JPEG headers")
    if not scan:
        raise HybridCodecError("truncated JPEG: no image data (SOS) after the headers")
    if not info.lossless and any(t not in info.tables for t in info.component_tables):
        raise HybridCodecError("JPEG frame refers to a missing quantisation table")
    if icc:
        info.icc_profile = b"".join(chunk for _, chunk in sorted(icc))
    return info
