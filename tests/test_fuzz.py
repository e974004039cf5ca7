"""Fuzzing (issue 12): hostile JPEG and .hyc bytes give an image or a clean one-line
``HybridCodecError``, never another exception, a hang or an image-sized allocation.

Seeded mutations (truncations, bit flips, byte and length overwrites) of small valid files, plus
the corpus in ``tests/fuzz_corpus`` (every case that ever failed, and hand-made headers: short
segments, zero tables, huge sizes, CMYK, 12-bit, arithmetic coding, lossless). An error message
that starts with ``internal error`` is a failure: the guard turned an unhandled exception into
our error class, but the input should have been recognised. A new failing input is written to
the test's temporary folder; add it to the corpus.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec import HybridCodecError, container
from hybridcodec.basecodecs import get_base
from hybridcodec.enhance import enhance_jpeg

from .conftest import make_image

CORPUS = Path(__file__).parent / "fuzz_corpus"
LIMIT = 1 << 20  # pixels: a mutated size beyond this must be refused from the headers


def _jpeg_seeds() -> list[bytes]:
    img = make_image(24, 32)
    seeds = [get_base("jpeg", "turbo").encode(img, 40),
             get_base("jpeg", None).encode(img, 40),  # jpegli: progressive
             get_base("jpeg", "turbo").encode(make_image(17, 9, channels=1), 60),
             get_base("jpeg", "turbo").encode(img, 70, subsampling="444")]
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(img).save(buf, format="JPEG", quality=50, exif=exif.tobytes(),
                              icc_profile=b"\x00" * 200, restart_marker_blocks=1)
    return [*seeds, buf.getvalue()]


def _hyc_seeds() -> list[bytes]:
    img = make_image(20, 26)
    return [hybridcodec.encode(img, base=b, quality=q, mode=m, model=model)
            for b, q in (("jpeg", 40), ("jpeg2000", 30))
            for m, model in (("full", "baseline-full"), ("compact", "baseline"))]


def _mutations(data: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        kind = int(rng.integers(4))
        b = bytearray(data)
        head = min(len(b), 700)  # most parsing happens in the headers
        if kind == 0:
            b = b[: int(rng.integers(0, len(b)))]
        elif kind == 1:
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(head if rng.random() < 0.8 else len(b)))
                b[i] ^= 1 << int(rng.integers(8))
        elif kind == 2:
            i = int(rng.integers(head))
            b[i] = int(rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        else:
            i = int(rng.integers(max(1, head - 1)))
            b[i : i + 2] = bytes(rng.choice([b"\x00\x00", b"\xff\xff", b"\x00\x02", b"\x7f\xff"]))
        out.append(bytes(b))
    return out


def _check(call, data: bytes, tmp_path: Path, name: str) -> None:
    try:
        out = call(data)
    except HybridCodecError as exc:
        msg = str(exc)
        if msg.startswith("internal error") or "\n" in msg:
            (tmp_path / name).write_bytes(data)
            pytest.fail(f"{name}: unhandled case ({msg}); saved in {tmp_path}; add it to "
                        f"tests/fuzz_corpus")
        return
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.size <= 3 * LIMIT


def _enhance(data: bytes):
    return enhance_jpeg(data, model="baseline-full-jpegli", max_pixels=LIMIT)


def _decode(data: bytes):
    return hybridcodec.decode(data, max_pixels=LIMIT)


@pytest.mark.parametrize("path", sorted(p for p in CORPUS.iterdir() if p.suffix in (".jpg", ".hyc")),
                         ids=lambda p: p.name)
def test_corpus(path, tmp_path):
    data = path.read_bytes()
    _check(_enhance if path.suffix == ".jpg" else _decode, data, tmp_path, path.name)
    if path.suffix == ".jpg":  # the full enhancement path too (network, projection)
        _check(lambda d: enhance_jpeg(d, max_pixels=LIMIT), data, tmp_path, path.name)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("hybrid-*")), ids=lambda p: p.name)
def test_damaged_hybrid_files_in_the_corpus_are_never_a_silent_plain_decode(path):
    """Issue 23: an overwritten signature byte gave the plain half-size image silently."""
    import warnings

    from hybridcodec.errors import HybridCodecWarning

    data = path.read_bytes()
    with pytest.raises(HybridCodecError):
        hybridcodec.decode(data, strict=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HybridCodecWarning)
        hybridcodec.decode(data)
    assert caught, "decoded without a word"


def test_mutated_jpegs(tmp_path):
    rng = np.random.default_rng(12)
    for k, seed in enumerate(_jpeg_seeds()):
        for m, data in enumerate(_mutations(seed, rng, 120)):
            _check(_enhance, data, tmp_path, f"jpeg-{k}-{m}.jpg")


def test_mutated_hyc_payloads(tmp_path):
    """Payload mutations with valid CRCs (the container's own checks are not the obstacle)."""
    rng = np.random.default_rng(13)
    for k, seed in enumerate(_hyc_seeds()):
        c = container.unpack(seed)
        payload = c.get(container.CHUNK_BASE)
        for m, bad in enumerate(_mutations(payload, rng, 80)):
            data = container.pack(c.header, [(container.CHUNK_BASE, bad)])
            _check(_decode, data, tmp_path, f"hyc-{k}-{m}.hyc")


def test_mutated_tiled_jpeg2000(tmp_path):
    """The tiled JPEG 2000 of big images (``j2ktiles``), split and decoded tile by tile."""
    import imagecodecs

    from hybridcodec import j2ktiles

    img = make_image(300, 2400)
    cs = j2ktiles.encode_tiled(
        img, lambda im: bytes(imagecodecs.jpeg2k_encode(im, level=30, codecformat="j2k")), 2048)
    hdr = container.Header(2400, 300, 3, 2, "420", 30.0, "baseline-full", b"\x00" * 8, "full")
    rng = np.random.default_rng(14)
    for m, bad in enumerate(_mutations(cs, rng, 40)):
        data = container.pack(hdr, [(container.CHUNK_BASE, bad)])
        _check(_decode, data, tmp_path, f"j2k-tiled-{m}.hyc")
