"""Writes the hand-made cases of the fuzz corpus (``python tests/fuzz_corpus/make_corpus.py``).

Each file is an input that once made hybridcodec fail with something other than a clean
``HybridCodecError`` (issue 12) or a header kind the fuzz test must cover. ``test_fuzz.py`` runs
every file here; a new failing case found by the seeded mutations is added as a file.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from hybridcodec import container, encode
from hybridcodec.basecodecs import get_base

HERE = Path(__file__).parent


def image(h: int = 16, w: int = 16) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 13) % 256, (y * 7) % 256, ((x + y) * 5) % 256], -1).astype(np.uint8)


def sof_at(j: bytes) -> int:
    return next(i for i in range(2, len(j) - 1) if j[i] == 0xFF and 0xC0 <= j[i + 1] <= 0xCF
                and j[i + 1] not in (0xC4, 0xC8, 0xCC))


def main() -> None:
    j = get_base("jpeg", "turbo").encode(image(), 50)
    s = sof_at(j)
    dqt = j.index(b"\xff\xdb")
    cases = {
        "jpeg-short-sof.jpg": j[: s + 2] + b"\x00\x05\x08\x00\x10" + j[s + 19 :],
        "jpeg-sof-components-truncated.jpg": j[: s + 2] + b"\x00\x0b" + j[s + 4 : s + 13]
        + j[s + 19 :],
        "jpeg-dqt-16bit-odd.jpg": j[: dqt + 4] + bytes([0x10]) + j[dqt + 5 :],
        "jpeg-zero-qtable.jpg": j[: dqt + 5] + b"\x00" + j[dqt + 6 :],
        "jpeg-lossless.jpg": j[: s + 1] + b"\xc3" + j[s + 2 :],
        "jpeg-arithmetic.jpg": j[: s + 1] + b"\xc9" + j[s + 2 :],
        "jpeg-12bit.jpg": j[: s + 4] + b"\x0c" + j[s + 5 :],
        "jpeg-bomb-30000x20000.jpg": j[: s + 5] + struct.pack(">HH", 20000, 30000) + j[s + 9 :],
        "jpeg-zero-size.jpg": j[: s + 5] + struct.pack(">HH", 0, 16) + j[s + 9 :],
        "jpeg-exif-short.jpg": j[:2] + b"\xff\xe1\x00\x0cExif\x00\x00MM\x00*" + j[2:],
    }
    buf = io.BytesIO()
    Image.new("CMYK", (16, 16), (10, 20, 30, 40)).save(buf, format="JPEG")
    cases["jpeg-cmyk.jpg"] = buf.getvalue()
    # .hyc files whose payload header disagrees with the container (a 20000x30000 bomb inside)
    hyc = encode(image(), base="jpeg", quality=50, mode="full", model="baseline-full")
    c = container.unpack(hyc)
    p = c.get(container.CHUNK_BASE)
    s = sof_at(p)
    bomb = p[: s + 5] + struct.pack(">HH", 30000, 20000) + p[s + 9 :]
    cases["hyc-jpeg-payload-bomb.hyc"] = container.pack(c.header, [(container.CHUNK_BASE, bomb)])
    hyc = encode(image(), base="jpeg2000", quality=30, mode="full", model="baseline-full")
    c = container.unpack(hyc)
    p = bytearray(c.get(container.CHUNK_BASE))
    big = p.copy()
    big[8:16] = struct.pack(">II", 30000, 20000)
    cases["hyc-j2k-siz-bomb.hyc"] = container.pack(c.header, [(container.CHUNK_BASE, bytes(big))])
    tiles = p.copy()
    tiles[24:32] = struct.pack(">II", 1, 1)  # 1x1 tiles: 256 tiles of one pixel
    cases["hyc-j2k-tiny-tiles.hyc"] = container.pack(c.header,
                                                     [(container.CHUNK_BASE, bytes(tiles))])
    depth = p.copy()
    depth[42] = 15  # 16-bit samples
    cases["hyc-j2k-16bit.hyc"] = container.pack(c.header, [(container.CHUNK_BASE, bytes(depth))])
    for name, data in cases.items():
        (HERE / name).write_bytes(data)
        print(name, len(data))


if __name__ == "__main__":
    main()
