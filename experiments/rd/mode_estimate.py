"""How far a network can make up for its mode's plain codec (issue 14, item 1): the margins behind
``modes.SKIP_MARGIN_DB``.

``--mode auto`` first compares two cheap figures at the same file size: the plain
full-resolution decode and the naive compact encoding (area down, base codec, bicubic up). Here
every candidate is measured as well (``choose_mode(estimate=False)``, the default fast profile),
on photos that are *not* the benchmark, at the bench's qualities. For each case:

* ``compact_catch_up`` = (compact network - naive) - (best full-resolution - plain): how much
  the compact side gains over its proxy beyond what the full side gains; skipping the compact
  candidate is safe where the plain lead exceeds it;
* ``full_catch_up`` = (full network - plain) - (compact network - naive): likewise for skipping
  the full-resolution network where the naive compact encoding leads.

    python -m experiments.rd.mode_estimate ../shared/data/train --images 13
    -> experiments/results/mode_estimate.csv (and the largest catch-ups, printed)
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import each_image, image_args, write_csv  # noqa: E402
from hybridcodec.basecodecs import get_base  # noqa: E402
from hybridcodec.benchmark import SWEEPS  # noqa: E402
from hybridcodec.encoder import Encoder  # noqa: E402
from hybridcodec.models import default_model_name, get_model  # noqa: E402
from hybridcodec.modes import SKIP_MARGIN_DB, choose_mode  # noqa: E402
from hybridcodec.ratecontrol import guess_quality, naive_proxy  # noqa: E402


def main() -> None:
    a = image_args(__doc__, "experiments/results/mode_estimate.csv", 13)
    rows = []
    for f, im, pixels in each_image(a.folder, a.images):
        for b in ("jpeg", "jpeg2000"):
            base = get_base(b, None)
            for q in SWEEPS[f"auto-{b}"]:
                comp = Encoder(im, base, get_model(default_model_name(b, "compact", "fast")), "420")
                full = Encoder(im, base, get_model(default_model_name(b, "full", "fast")), "420")
                _, _, d = choose_mode(comp, full, q, None, estimate=False)
                d = d.as_dict()
                target = d["target_bytes"]
                proxy, qn, _ = naive_proxy(comp, target,
                                           guess=guess_quality(base, 32 * target / pixels))
                if qn is None or "compact" not in d:
                    continue
                naive = proxy.psnr(qn)
                plain = max(d[k]["psnr"] for k in d if k.startswith("full-plain"))
                best_full = max(plain, d["full"]["psnr"])
                rows.append({
                    "image": f.name, "base": b, "quality": q,
                    "bpp": round(8 * target / pixels, 4),
                    "naive": round(naive, 4), "plain": plain, "compact": d["compact"]["psnr"],
                    "full": d["full"]["psnr"], "chosen": d["chosen"],
                    "plain_lead": round(plain - naive, 4),
                    "compact_catch_up": round(d["compact"]["psnr"] - naive
                                              - (best_full - plain), 4),
                    "full_catch_up": round(d["full"]["psnr"] - plain
                                           - (d["compact"]["psnr"] - naive), 4),
                })
                print(rows[-1], flush=True)
    write_csv(a.out, rows)
    for b in ("jpeg", "jpeg2000"):
        sel = [r for r in rows if r["base"] == b]
        print(f"{b}: largest compact catch-up {max(r['compact_catch_up'] for r in sel):.3f} dB, "
              f"full catch-up {max(r['full_catch_up'] for r in sel):.3f} dB; "
              f"margins in use {SKIP_MARGIN_DB}")


if __name__ == "__main__":
    main()
