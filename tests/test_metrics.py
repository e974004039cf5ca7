import math

import numpy as np

from hybridcodec.metrics import bd_psnr, bd_rate, psnr, psnr_at_rate

# libjpeg-turbo 4:2:0 and OpenJPEG on Kodak, from shared/anchors/kodak_classical_measured.csv
JPEG = [(0.2212, 23.852), (0.3266, 26.672), (0.4231, 28.145), (0.5083, 29.145), (0.6598, 30.491),
        (0.7856, 31.422), (0.9055, 32.174), (1.0366, 32.908), (1.2388, 33.917)]
J2K = [(0.0808, 23.826), (0.1512, 25.821), (0.2560, 27.822), (0.4006, 29.841), (0.5860, 31.850),
       (0.8206, 33.857), (1.0879, 35.859), (1.4078, 37.824)]


def test_psnr():
    a = np.zeros((4, 4, 3), np.uint8)
    assert psnr(a, a) == math.inf
    b = a.copy()
    b[0, 0, 0] = 255
    assert math.isclose(psnr(a, b), 10 * math.log10(255**2 / (255**2 / 48)))


def test_bd_rate_reproduces_published_anchor():
    r1, p1 = zip(*JPEG)
    r2, p2 = zip(*J2K)
    # ANCHORS.md: OpenJPEG -34.9% vs libjpeg-turbo 4:2:0 over 0.1-1.0 bpp
    assert abs(bd_rate(r1, p1, r2, p2, rate_range=(0.1, 1.0)) - (-34.9)) < 0.2


def test_bd_rate_of_scaled_curve():
    r, p = zip(*JPEG)
    assert abs(bd_rate(r, p, r, p)) < 1e-9
    half = [x * 0.5 for x in r]
    assert abs(bd_rate(r, p, half, p) - (-50.0)) < 1e-6
    assert bd_psnr(r, p, half, p) > 0
    assert math.isnan(bd_rate(r, p, [5, 6], [50, 51]))  # no overlap


def test_psnr_at_rate():
    r, p = zip(*J2K)
    assert math.isclose(psnr_at_rate(r, p, 0.256), 27.822, abs_tol=1e-3)
    assert math.isnan(psnr_at_rate(r, p, 5.0))
