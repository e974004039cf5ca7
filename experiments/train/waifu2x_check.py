"""The converted waifu2x network against the figures of ../shared/anchors/ANCHORS.md (issue 13):
Kodak area-downsampled by 2, JPEG 4:2:0 (libjpeg-turbo) at QF 10 and 50, then bicubic or
waifu2x's photo denoise-3 2x network (``--init waifu2x:3``, gain units at 1). Evaluation only.

    python experiments/train/waifu2x_check.py ../shared/data/kodak --images 1 2 3 4
"""
import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
from hybridcodec.basecodecs import get_base  # noqa: E402
from hybridcodec.imageio import read_image  # noqa: E402
from hybridcodec.metrics import psnr  # noqa: E402
from hybridcodec.training.warmstart import init_from  # noqa: E402
from hybridcodec.nn.networks import HybridNet, NetConfig  # noqa: E402


def to_u8(t: torch.Tensor) -> np.ndarray:
    return (t[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kodak")
    p.add_argument("--images", type=int, nargs="+", default=list(range(1, 25)))
    a = p.parse_args()
    torch.set_num_threads(1)
    base = get_base("jpeg").with_encoder("turbo")
    net = HybridNet(NetConfig(com_width=0, anchors=base.anchors, rec_arch="upconv7"))
    init_from(net, "waifu2x:3")
    net.eval()
    res: dict[int, list] = {}
    for i in a.images:
        im = read_image(Path(a.kodak) / f"kodim{i:02d}.png", rgb=True)
        x = torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255
        small = to_u8(F.avg_pool2d(x, 2))
        for q in (10, 50):
            data = base.encode(small, q)
            d = torch.from_numpy(base.decode(data, decoder="turbo")).permute(2, 0, 1)[None]
            d = d.float() / 255
            with torch.no_grad():
                y = net.rec(d, torch.tensor([float(q)]))
            bic = F.interpolate(d, scale_factor=2, mode="bicubic", align_corners=False)
            res.setdefault(q, []).append((8 * len(data) / (im.shape[0] * im.shape[1]),
                                          psnr(im, to_u8(bic)), psnr(im, to_u8(y))))
    for q, v in res.items():
        bpp, b, w = np.mean(v, 0)
        print(f"QF {q}: {bpp:.3f} bpp, bicubic {b:.2f} dB, waifu2x {w:.2f} dB ({w - b:+.2f})")


if __name__ == "__main__":
    main()
