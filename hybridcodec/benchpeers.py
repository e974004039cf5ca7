"""The classical peers of the benchmark: what a user would pick instead of the hybrid.

A user who wants smaller JPEGs can switch encoder (jpegli, mozjpeg) or decoder (jpegli's), with no
network at all; the networks must beat *those*. This module measures them in the same run and
with the same protocol as the hybrids (``benchmark``): a fixed-quality sweep, one setting for all
images, RGB PSNR, bpp from the codestream's real length, means over images.

Plain series (encoder -> decoder):

* ``jpeg``: libjpeg-turbo 4:2:0 with optimised Huffman tables -> libjpeg-turbo (the reference
  of every BD-rate, as in ``../shared/anchors``),
* ``jpeg+jpegli-dec``: the same files decoded by jpegli's decoder,
* ``jpegli``: jpegli 4:2:0, progressive, adaptive quantisation off, by distance (the quality scale
  of ``basecodecs.jpegli_distance``) -> libjpeg-turbo, and ``jpegli+jpegli-dec``,
* ``mozjpeg``: cjpeg's defaults (trellis, table 3) -> libjpeg-turbo,
* ``jpeg2000``: OpenJPEG.

The enhancement table codes each image with libjpeg-turbo 4:2:0 at QF 10-90 and compares the
network (``enhance``) with jpegli's decoder on the same files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .basecodecs import get_base
from .imageio import read_image
from .metrics import psnr

__all__ = ["PLAIN", "measure_plain", "enhancement_table", "enhancement_lines", "ENHANCE_QF",
           "JPEG_PEERS"]

#: plain series: name -> (base, JPEG encoder, JPEG decoder)
PLAIN = {
    "jpeg": ("jpeg", "turbo", "turbo"),
    "jpeg+jpegli-dec": ("jpeg", "turbo", "jpegli"),
    "jpegli": ("jpeg", "jpegli", "turbo"),
    "jpegli+jpegli-dec": ("jpeg", "jpegli", "jpegli"),
    "mozjpeg": ("jpeg", "mozjpeg", "turbo"),
    "jpeg2000": ("jpeg2000", "turbo", "turbo"),
}
#: the classical JPEG series every JPEG hybrid is compared against
JPEG_PEERS = tuple(k for k, v in PLAIN.items() if v[0] == "jpeg")
#: JPEG quality factors of the enhancement table
ENHANCE_QF = (10, 20, 30, 40, 50, 70, 90)


def measure_plain(series, image: np.ndarray) -> None:
    """Add one image's points to a plain ``benchmark.Series`` named in :data:`PLAIN`."""
    b, encoder, decoder = PLAIN[series.name]
    base = get_base(b, encoder)
    pixels = image.shape[0] * image.shape[1]
    for q in series.qualities:
        t0 = time.perf_counter()
        data = base.encode(image, q)
        t1 = time.perf_counter()
        out = base.decode(data, decoder=decoder)
        t2 = time.perf_counter()
        series.add(q, 8 * len(data) / pixels, psnr(image, out), t1 - t0, t2 - t1)


def enhancement_table(files: list[Path], say: Callable[[str], None]) -> list[dict]:
    """JPEG QF 10-90 (libjpeg-turbo 4:2:0) on each image: PSNR of libjpeg-turbo's and jpegli's
    decode, of the enhanced image without and with the quantisation-constraint projection,
    and seconds per image."""
    from .enhance import enhance_jpeg_ex
    from .quantconstraint import project

    jpeg = get_base("jpeg", "turbo")
    acc: dict[int, dict[str, list[float]]] = {q: {} for q in ENHANCE_QF}
    for i, f in enumerate(files):
        image = read_image(f, rgb=True)
        for qf in ENHANCE_QF:
            data = jpeg.encode(image, qf, subsampling="420")
            t0 = time.perf_counter()
            res = enhance_jpeg_ex(data, project=False)
            t1 = time.perf_counter()
            projected = project(res.image, data)
            t2 = time.perf_counter()
            jl = jpeg.decode(data, decoder="jpegli")
            t3 = time.perf_counter()
            for k, v in (("bpp", 8 * len(data) / image[..., 0].size),
                         ("jpeg", psnr(image, jpeg.decode(data))), ("jpegli_dec", psnr(image, jl)),
                         ("net", psnr(image, res.image)), ("net_qc", psnr(image, projected)),
                         ("net_s", t1 - t0), ("qc_s", t2 - t1), ("jpegli_dec_s", t3 - t2),
                         ("qf_read", res.quality)):
                acc[qf].setdefault(k, []).append(v)
        say(f"enhancement [{i + 1}/{len(files)}] {f.name}")
    return [{"qf": qf, **{k: float(np.mean(v)) for k, v in d.items()}, "images": len(files)}
            for qf, d in acc.items()]


def enhancement_lines(enhance: list[dict], model: str) -> list[str]:
    """The report's enhancement table (Markdown lines)."""
    lines = ["", f"JPEG enhancement (`hybridcodec enhance`, model {model}): libjpeg-turbo 4:2:0 "
             "at each quality factor, the quality read back from the file; PSNR of "
             "libjpeg-turbo's and jpegli's decode (no network), of the network's output, and of "
             "the output projected onto the quantisation constraint (the default):", "",
             "| QF | QF read | bpp | libjpeg-turbo dB | jpegli decoder dB | enhanced dB | "
             "+ projection dB | gain vs turbo | gain vs jpegli dec | net s/img | "
             "projection s/img | jpegli dec s/img |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in enhance:
        lines.append(f"| {e['qf']} | {e['qf_read']:.1f} | {e['bpp']:.3f} | {e['jpeg']:.2f} | "
                     f"{e['jpegli_dec']:.2f} | {e['net']:.2f} | {e['net_qc']:.2f} | "
                     f"{e['net_qc'] - e['jpeg']:+.2f} | {e['net_qc'] - e['jpegli_dec']:+.2f} | "
                     f"{e['net_s']:.2f} | {e['qc_s']:.2f} | {e['jpegli_dec_s']:.3f} |")
    return lines
