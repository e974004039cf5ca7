"""Quantisation-constraint projection for JPEG enhancement (as in jpeg2png / jpeg-quantsmooth).

A JPEG file says, for every DCT coefficient c of every 8x8 block, that the original coefficient
lay in ``[(c - 1/2) Q, (c + 1/2) Q]`` (Q: its quantisation step). An enhanced image that leaves
that interval contradicts the file; projecting its coefficients back into the intervals can only
move it closer to the set of images consistent with the file.

The image is converted to JFIF YCbCr; each component is brought to its coded resolution (box
average for subsampled chroma), transformed with the orthonormal 8x8 DCT (JPEG's FDCT scaling),
clipped to the intervals and transformed back. For subsampled chroma only the low-resolution
correction is upsampled and added, so the enhanced full-resolution detail is kept. Coefficients
are read with jpeglib (libjpeg).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from .errors import HybridCodecError

__all__ = ["project", "read_coefficients"]

_RGB2YCC = np.array([[0.299, 0.587, 0.114],
                     [-0.168735892, -0.331264108, 0.5],
                     [0.5, -0.418687589, -0.081312411]])
_YCC2RGB = np.linalg.inv(_RGB2YCC)


def read_coefficients(jpeg: bytes):
    """jpeglib's DCT view of a JPEG file (quantised coefficients, tables, sampling factors)."""
    import jpeglib

    fd, path = tempfile.mkstemp(suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(jpeg)
        try:
            d = jpeglib.read_dct(path)
            d.load()
        except Exception as exc:  # noqa: BLE001 - libjpeg errors
            raise HybridCodecError(f"cannot read JPEG coefficients: {exc}") from exc
        return d
    finally:
        os.unlink(path)


def _dct8() -> np.ndarray:
    """The orthonormal 8-point DCT-II matrix (JPEG's transform): ``C @ block @ C.T``. A matrix
    product rather than ``scipy.fft``, whose import alone took 0.4 s of a cold ``enhance``."""
    k, n = np.mgrid[0:8, 0:8]
    c = np.cos((2 * n + 1) * k * np.pi / 16) * np.sqrt(2 / 8)
    c[0] /= np.sqrt(2)
    return c


def _project_plane(plane: np.ndarray, coef: np.ndarray, q: np.ndarray) -> np.ndarray:
    bh, bw = coef.shape[:2]
    h, w = plane.shape
    padded = np.pad(plane, ((0, max(0, 8 * bh - h)), (0, max(0, 8 * bw - w))), mode="edge")
    padded = padded[: 8 * bh, : 8 * bw]
    blocks = padded.reshape(bh, 8, bw, 8).transpose(0, 2, 1, 3) - 128.0
    c = _dct8()
    f = c @ blocks @ c.T
    f = np.clip(f, (coef - 0.5) * q, (coef + 0.5) * q)
    out = c.T @ f @ c + 128.0
    return out.transpose(0, 2, 1, 3).reshape(8 * bh, 8 * bw)[:h, :w]


def _down(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    h, w = plane.shape
    p = np.pad(plane, ((0, -h % fy), (0, -w % fx)), mode="edge")
    return p.reshape(p.shape[0] // fy, fy, p.shape[1] // fx, fx).mean(axis=(1, 3))


def project(image: np.ndarray, jpeg: bytes, *, strip_rows: int = 256) -> np.ndarray:
    """Project ``image`` (uint8 or float, RGB or gray, the JPEG's size) into the quantisation
    intervals of ``jpeg``; returns uint8. Works in strips of whole MCU rows (about
    ``strip_rows`` pixels), so memory stays bounded at any size; blocks are independent, so the
    result does not depend on the strip height."""
    d = read_coefficients(jpeg)
    img = np.asarray(image)
    gray = img.ndim == 2
    if img.shape[:2] != (d.height, d.width):
        raise HybridCodecError(f"image is {img.shape[:2]}, the JPEG is {(d.height, d.width)}")
    coefs = [d.Y] if (gray or not d.has_chrominance) else [d.Y, d.Cb, d.Cr]
    samp = np.asarray(d.samp_factor).reshape(-1, 2)
    vmax, hmax = int(samp[:, 0].max()), int(samp[:, 1].max())
    qts = [np.asarray(d.get_component_qt(c), np.float64) for c in range(len(coefs))]
    mcu = 8 * vmax
    rows = max(mcu, strip_rows // mcu * mcu)
    out = np.empty(img.shape, np.uint8)
    for y0 in range(0, img.shape[0], rows):
        y1 = min(y0 + rows, img.shape[0])
        strip = np.asarray(img[y0:y1], np.float64)
        out[y0:y1] = _project_strip(strip, y0, coefs, qts, samp, vmax, hmax, gray)
    return out


def _project_strip(img: np.ndarray, y0: int, coefs: list, qts: list, samp: np.ndarray,
                   vmax: int, hmax: int, gray: bool) -> np.ndarray:
    ycc = img[:, :, None] if gray else img @ _RGB2YCC.T + np.array([0.0, 128.0, 128.0])
    if not gray and len(coefs) == 1:
        ycc = ycc[:, :, :1]
    out = ycc.copy()
    for c, coef in enumerate(coefs):
        fy, fx = vmax // int(samp[c, 0]), hmax // int(samp[c, 1])
        b0 = y0 // (8 * fy)  # the strip starts on an MCU row, so on a block row of every plane
        b1 = b0 + -(-img.shape[0] // (8 * fy))
        coef = coef[b0:b1]
        plane = ycc[:, :, c]
        if fy == fx == 1:
            out[:, :, c] = _project_plane(plane, coef, qts[c])
            continue
        low = _down(plane, fy, fx)
        corr = _project_plane(low, coef, qts[c]) - low
        up = np.repeat(np.repeat(corr, fy, axis=0), fx, axis=1)
        out[:, :, c] = plane + up[: plane.shape[0], : plane.shape[1]]
    if gray:
        rgb = out[:, :, 0]
    elif out.shape[2] == 1:  # RGB image, grayscale JPEG: project the luma only
        rgb = img + (out[:, :, :1] - ycc[:, :, :1])
    else:
        rgb = (out - np.array([0.0, 128.0, 128.0])) @ _YCC2RGB.T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
