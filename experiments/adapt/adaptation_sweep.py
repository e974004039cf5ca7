"""Per-image overfitting experiments for encode-time adaptation (Lam & Zare 2019), issue 3.

For Kodak images, both bases, two rates: PSNR gain vs update bytes vs steps vs which parameters
are tuned vs lambda_l1/lambda_q; the checkerboard context model's saving over the context-free
coder on every update; and the equal-size comparison at 0.25 bpp (base alone vs base at a lower
quality + update, the encoder's own decision).

    python -m experiments.adapt.adaptation_sweep ../shared/data/kodak --images 6
    -> experiments/results/adaptation_sweep.csv, adaptation_equal_size.csv, adaptation_*.png
"""
import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
from hybridcodec.training.adaptation import AdaptConfig, adapt, parameter_shapes  # noqa: E402
from hybridcodec.basecodecs import get_base  # noqa: E402
from hybridcodec.training.adaptation import to_tensor  # noqa: E402
from hybridcodec.codec import Encoder, decode, encode_ex  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.metrics import psnr  # noqa: E402
from hybridcodec.models import default_model_name, get_model  # noqa: E402
from hybridcodec.ratecontrol import search_quality  # noqa: E402
from hybridcodec.weightcoding import decode_update, encode_update  # noqa: E402
from experiments.common import record

RESULTS = ROOT / "experiments" / "results"
GRID = [  # (subset, lambda_l1, lambda_q, quantisation step)
    ("tail", 2.0, 2.0, 1e-3), ("last2", 2.0, 2.0, 1e-3), ("bias", 2.0, 2.0, 1e-3),
    ("gains", 2.0, 2.0, 1e-3), ("all", 2.0, 2.0, 1e-3),
    ("tail", 0.0, 0.0, 1e-3), ("tail", 200.0, 200.0, 1e-3),
    ("tail", 2.0, 2.0, 3e-3), ("bias", 2.0, 2.0, 3e-3),
]


def sweep(files, bases, rates, steps, out_rows, say):
    for f in files:
        img = read_image(f, rgb=True)
        pixels = img.shape[0] * img.shape[1]
        for b in bases:
            model = get_model(default_model_name(b))
            for bpp in rates:
                enc = Encoder(img, get_base(b), model, "420")
                q = search_quality(enc, int(bpp * pixels / 8))
                base_bytes = len(enc.file_at(q))
                p0 = psnr(img, enc.reconstruct(q))
                compact = to_tensor(enc.decoded_compact(q))
                for subset, l1, lq, qstep in GRID:
                    cfg = AdaptConfig(subset=subset, steps=steps, seconds=1e9, lambda_l1=l1,
                                      lambda_q=lq, step=qstep)
                    snaps: dict = {}
                    t0 = time.perf_counter()
                    adapt(model.net.rec, compact, enc.x, q, cfg, snapshots=snaps)
                    secs = time.perf_counter() - t0
                    for s, deltas in sorted(snaps.items()):
                        payload, st = encode_update(deltas, cfg.step)
                        if st.tensors == 0:
                            gain, nbytes = 0.0, 0
                        else:
                            dec = decode_update(payload, parameter_shapes(model.net.rec))
                            gain = psnr(img, enc.reconstruct(q, dec)) - p0
                            nbytes = len(enc.file_at(q, payload)) - base_bytes
                        out_rows.append(dict(
                            image=f.name, base=b, target_bpp=bpp, quality=q,
                            base_bytes=base_bytes, psnr_base=round(p0, 4), subset=subset,
                            lambda_l1=l1, lambda_q=lq, qstep=qstep, steps=s,
                            seconds=round(secs * s / steps, 2), update_bytes=nbytes,
                            update_bpp=round(8 * nbytes / pixels, 5),
                            coder_bytes_context_free=st.bytes_context_free,
                            coder_bytes_checkerboard=st.bytes_checkerboard,
                            channels_sent=st.channels_sent, nonzeros=st.nonzeros,
                            psnr_gain=round(gain, 4)))
                    say(f"{f.name} {b} {bpp} {subset} l1={l1} lq={lq} step={qstep}: "
                        f"{out_rows[-1]['update_bytes']} B, {out_rows[-1]['psnr_gain']:+.3f} dB")


def equal_size(files, bases, bpp, cfg, out_rows, say, mode="auto"):
    for f in files:
        img = read_image(f, rgb=True)
        for b in bases:
            plain = encode_ex(img, base=b, bpp=bpp, mode=mode)
            t0 = time.perf_counter()
            res = encode_ex(img, base=b, bpp=bpp, mode=mode, adapt=cfg)
            enc_s = time.perf_counter() - t0
            d = res.decision
            if "without" not in d:  # no adaptation possible (e.g. a baseline model was chosen)
                d["without"] = {"psnr": round(psnr(img, decode(plain.data)), 4)}
            with_ = d.get("with", {})
            dec_plain = _decode_seconds(plain.data)
            dec_final = _decode_seconds(res.data)
            out_rows.append(dict(
                image=f.name, base=b, mode=res.mode, steps=cfg.steps, target_bpp=bpp,
                bytes_plain=len(plain.data),
                psnr_plain=d["without"]["psnr"], kept=d["kept"], bytes_final=len(res.data),
                quality_plain=plain.quality, quality_with_update=with_.get("quality", ""),
                psnr_with_update=with_.get("psnr", ""),
                psnr_final=with_["psnr"] if d["kept"] else d["without"]["psnr"],
                encode_s=round(enc_s, 2), decode_s_plain=round(dec_plain, 4),
                decode_s_final=round(dec_final, 4)))
            say(f"{f.name} {b}: kept={d['kept']} {out_rows[-1]['psnr_plain']} -> "
                f"{out_rows[-1]['psnr_final']} dB ({enc_s:.1f} s)")


def _decode_seconds(data: bytes, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        decode(data)
        best = min(best, time.perf_counter() - t0)
    return best


def write(rows, path):
    if rows:
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


def plots(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, b in zip(axes, sorted({r["base"] for r in rows})):
        for subset, l1, lq, qstep in GRID:
            sel = [r for r in rows if r["base"] == b and r["subset"] == subset
                   and r["lambda_l1"] == l1 and r["lambda_q"] == lq and r["qstep"] == qstep]
            steps = sorted({r["steps"] for r in sel})
            x = [np.mean([r["update_bpp"] for r in sel if r["steps"] == s]) for s in steps]
            y = [np.mean([r["psnr_gain"] for r in sel if r["steps"] == s]) for s in steps]
            ax.plot(x, y, "-o", ms=3, label=f"{subset} l1={l1:g} lq={lq:g} step={qstep:g}")
        ax.set_xlabel("update bpp (mean)")
        ax.set_ylabel("PSNR gain at equal base quality (dB)")
        ax.set_title(f"adaptation, base {b} (points = 10, 20, ... steps)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    record(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kodak")
    ap.add_argument("--images", type=int, default=6, help="images, evenly spaced (0: all)")
    ap.add_argument("--bases", default="jpeg,jpeg2000")
    ap.add_argument("--rates", default="0.15,0.35", help="bpp targets of the sweep")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--equal-size-images", type=int, default=0, help="0: all")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--mode", default="auto", help="codec mode of the equal-size comparison")
    ap.add_argument("--adapt-steps", type=int, default=0, help="0: the default setting")
    ap.add_argument("--adapt-seconds", type=float, default=0, help="0: the default setting")
    ap.add_argument("--out", default=str(RESULTS), help="folder for the CSVs and plot")
    a = ap.parse_args()
    out = Path(a.out)
    files = list_images(a.kodak)
    pick = files if a.images == 0 else files[:: max(1, len(files) // a.images)][: a.images]
    bases = a.bases.split(",")
    say = lambda s: print(s, flush=True)  # noqa: E731
    out.mkdir(parents=True, exist_ok=True)
    if not a.skip_sweep:
        rows: list = []
        sweep(pick, bases, [float(r) for r in a.rates.split(",")], a.steps, rows, say)
        write(rows, out / "adaptation_sweep.csv")
        plots(rows, out / "adaptation_sweep.png")
        cf = sum(r["coder_bytes_context_free"] for r in rows)
        cb = sum(r["coder_bytes_checkerboard"] for r in rows)
        say(f"checkerboard vs context-free on {len(rows)} updates: {100 * (cb - cf) / cf:+.2f}%")
    eq: list = []
    files_eq = files if a.equal_size_images == 0 else files[: a.equal_size_images]
    cfg = AdaptConfig()
    if a.adapt_steps:
        cfg = replace(cfg, steps=a.adapt_steps)
    if a.adapt_seconds:
        cfg = replace(cfg, seconds=a.adapt_seconds)
    equal_size(files_eq, bases, 0.25, cfg, eq, say, a.mode)
    write(eq, out / "adaptation_equal_size.csv")
    for b in bases:
        sel = [r for r in eq if r["base"] == b]
        gain = np.mean([r["psnr_final"] - r["psnr_plain"] for r in sel])
        kept = [r for r in sel if r["kept"]]
        slow = (np.mean([r["decode_s_final"] / r["decode_s_plain"] for r in kept]) - 1) * 100 \
            if kept else float("nan")
        say(f"{b}: equal size 0.25 bpp, mean gain {gain:+.3f} dB, kept {len(kept)}/{len(sel)}, "
            f"encode {np.mean([r['encode_s'] for r in sel]):.1f} s/image, decode with update "
            f"{slow:+.1f}% vs without (kept files)")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
