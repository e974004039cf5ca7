"""Encode-side optimisation that sends no bits (issue 25, item 4; the auxiliary variable of Jiang
et al. 2017 used at encode time): refine the full-resolution image handed to the JPEG encoder by
gradient steps through RecCNN, the real codec in the forward pass and the identity in the
backward pass, plus the rate proxy weighted by the codec's own slope. Does it pay in BD-rate?

For each held-out photo of the training split (a centre crop) and each JPEG quality: the plain
hybrid (jpegli, the shipped full-resolution network) against the refined input at the same
quality, for rate weights ``k`` (0: distortion alone, the earlier probe); BD-rate of each ``k``
curve against the plain one, and the seconds the refinement takes.

    python -m experiments.adapt.encode_side ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80
    -> experiments/results/encode_side.csv, encode_side_summary.csv
"""
import os
import time

import numpy as np
import torch

from experiments.common import RESULTS, bd_rates_by_image, heldout_crops, heldout_parser, write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.metrics import psnr
from hybridcodec.models import default_model_name, get_model
from hybridcodec.training.rateproxy import rate_proxy

QUALITIES = (30, 50, 70, 85)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]


def _u8(t: torch.Tensor) -> np.ndarray:
    return (t[0].permute(1, 2, 0).clamp(0, 1).detach().numpy() * 255).round().astype(np.uint8)


def _coded(base, rec, decoder: str, x8: np.ndarray, q: float):
    """(bytes, PSNR against ``ref`` later, decoded tensor, RecCNN output) of ``x8`` at ``q``."""
    data = base.encode(x8, q)
    y = base.decode(data, decoder=decoder)
    cond = base.condition_quality(data, q)
    with torch.no_grad():
        out = rec(_t(y), torch.tensor([float(cond)]))
    return data, y, cond, out


def refine(base, rec, decoder: str, x: np.ndarray, q: float, k: float, slope: float,
           steps: int, lr: float) -> np.ndarray:
    """The refined uint8 input: ``steps`` Adam steps on ``MSE(RecCNN(codec(x')), x) + k * slope
    * proxy_bpp(x') / 1`` (MSE in 8-bit units squared, per pixel; slope in squared error per bit)."""
    target = _t(x)
    delta = torch.zeros_like(target, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=lr)
    qt = torch.tensor([float(q)])
    for _ in range(steps):
        xq = (target + delta).clamp(0, 1)
        data = base.encode(_u8(xq), q)
        y = _t(base.decode(data, decoder=decoder))
        cond = torch.tensor([float(base.condition_quality(data, q))])
        y_ste = xq + (y - xq).detach()  # the codec forward, the identity backward
        out = rec(y_ste, cond)
        loss = torch.mean((out - target) ** 2) * 255.0**2
        if k:
            loss = loss + k * slope * rate_proxy("jpeg", xq, qt).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return _u8((target + delta).clamp(0, 1))


def main() -> None:
    p = heldout_parser(__doc__, images=4)
    p.add_argument("--crop", type=int, default=384)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--lr", type=float, default=3e-4)  # 2e-3 adds noise: +27% rate at QF 70
    p.add_argument("--k", type=float, nargs="+", default=[10.0, 30.0, 100.0])
    p.add_argument("--out", default=str(RESULTS / "encode_side.csv"))
    a = p.parse_args()
    torch.manual_seed(0)
    base = get_base("jpeg", "jpegli")
    model = get_model(default_model_name("jpeg", "full", "fast"))
    rec, decoder = model.net.rec.eval(), model.decoder
    for prm in rec.parameters():
        prm.requires_grad_(False)
    rows = []
    for f, x in heldout_crops(a, a.crop):
        pixels = x.shape[0] * x.shape[1]
        for q in QUALITIES:
            data, _, _, out = _coded(base, rec, decoder, x, q)
            d_hi, _, _, out_hi = _coded(base, rec, decoder, x, min(100, q + 5))
            p0, p_hi = psnr(x, _u8(out)), psnr(x, _u8(out_hi))
            mse = lambda db: 255.0**2 / 10 ** (db / 10)  # noqa: E731
            slope = max(1e-3, (mse(p0) - mse(p_hi)) * pixels / max(1, 8 * (len(d_hi) - len(data))))
            rows.append({"image": os.path.basename(f), "quality": q, "k": "plain",
                         "bpp": 8 * len(data) / pixels, "psnr": round(p0, 4), "seconds": 0.0})
            for k in a.k:
                t0 = time.perf_counter()
                xr = refine(base, rec, decoder, x, q, k, slope, a.steps, a.lr)
                secs = time.perf_counter() - t0
                data_r, _, _, out_r = _coded(base, rec, decoder, xr, q)
                rows.append({"image": os.path.basename(f), "quality": q, "k": k,
                             "bpp": 8 * len(data_r) / pixels, "psnr": round(psnr(x, _u8(out_r)), 4),
                             "seconds": round(secs, 2), "slope_sse_per_bit": round(slope, 2)})
                print(rows[-2:] if k == a.k[0] else rows[-1], flush=True)
    write_csv(a.out, rows)
    summary = []
    for k in a.k:
        bds = bd_rates_by_image(rows, "k", "plain", k)
        secs = [r["seconds"] for r in rows if r["k"] == k]
        summary.append({"k": k, "images": len(bds), "bd_rate_percent_mean": round(float(
            np.mean(bds)), 2), "bd_rate_percent_each": " ".join(f"{b:.2f}" for b in bds),
            "seconds_per_mp": round(float(np.mean(secs)) / (a.crop**2 / 1e6), 1),
            "steps": a.steps})
        print(summary[-1])
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)


if __name__ == "__main__":
    main()
