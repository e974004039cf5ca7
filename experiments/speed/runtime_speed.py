"""The shipped networks under onnxruntime against torch (issue 14, item 2): seconds and the largest
difference in grey levels, per model, on every image of a folder.

For each default model: RecCNN on the decoded input (the downsampled image for compact models,
the image itself for full-resolution ones; the network's work does not depend on what it
reads) and, for compact models, ComCNN on the image; torch and onnxruntime each with the
model's tiles, and onnxruntime on the whole image in one piece (``tile=4096``).

    python -m experiments.speed.runtime_speed ../shared/data/kodak
    -> experiments/results/runtime_speed.csv
"""
import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
from experiments.common import write_csv  # noqa: E402
from hybridcodec.imageio import list_images, read_image  # noqa: E402
from hybridcodec.inference import runner_for  # noqa: E402
from hybridcodec.models import get_model, manifest  # noqa: E402
from hybridcodec.pipeline import compact_image, reconstruct  # noqa: E402
from hybridcodec.runtime import threads  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--out", default="experiments/results/runtime_speed.csv")
    a = p.parse_args()
    images = [read_image(f, rgb=True) for f in list_images(a.folder)]
    rows = []
    for key, name in sorted(manifest()["defaults"].items()):
        m = get_model(name)
        q = m.config.anchors[len(m.config.anchors) // 2] + 1.5
        run = {b: runner_for(m, backend=b) for b in ("torch", "onnx")}
        acc: dict = {k: [] for k in ("torch_s", "onnx_s", "onnx_whole_s", "com_torch_s",
                                     "com_onnx_s")}
        diff = com_diff = 0
        for im in images:
            h, w = im.shape[:2]
            inp = im[::2, ::2].copy() if m.scale == 2 else im
            out = {}
            for b in ("torch", "onnx"):
                reconstruct(m, inp, q, h, w, runner=run[b])  # warm: this shape's buffers
                out[b], s = timed(lambda b=b: reconstruct(m, inp, q, h, w, runner=run[b]))
                acc[f"{b}_s"].append(s)
            acc["onnx_whole_s"].append(
                timed(lambda: reconstruct(m, inp, q, h, w, runner=run["onnx"], tile=4096))[1])
            diff = max(diff, int(np.abs(out["torch"].astype(int) - out["onnx"]).max()))
            if m.scale == 2:
                com = {}
                for b in ("torch", "onnx"):
                    com[b], s = timed(lambda b=b: compact_image(m, im, q, 3, runner=run[b]))
                    acc[f"com_{b}_s"].append(s)
                com_diff = max(com_diff, int(np.abs(com["torch"].astype(int) - com["onnx"]).max()))
        row = {"default": key, "model": name, "images": len(images), "threads": threads(),
               **{k: round(float(np.mean(v)), 4) if v else "" for k, v in acc.items()},
               "max_diff_grey_levels": diff,
               "com_max_diff_grey_levels": com_diff if m.scale == 2 else ""}
        rows.append(row)
        print(row, flush=True)
    write_csv(a.out, rows)


if __name__ == "__main__":
    main()
