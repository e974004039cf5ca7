"""One slice of GPU training of every shipped network at GPU sizes (issue 13, item 7).

``make train-gpu`` runs this on a lent GPU machine (the ``device`` tool), one call of at most
10 minutes per slice, four slices in all. Each slice trains every model of ``GPU_MODELS`` at once
(one process each, all on the one GPU; the codec work runs on the machine's CPU cores), starting
from the model the previous slice exported (``train --init``; the first slice starts from the
plain decoder, or from waifu2x for the upconv7 model), and writes each model in float16 to
``--out`` ($OUT on the device), from where it is carried into the next call as ``.gpu/models``.
Models rather than optimiser checkpoints travel because a call carries at most 64 MiB: the
wheels the device lacks (imagecodecs, ajpegli, constriction: about 29 MB), the repository and a
shard of training crops (``experiments/train/gpu_pack.py``) leave about 12 MB; every slice restarts
Adam and the cosine schedule (warm restarts).

The fast students are distilled from the GPU teachers on the CPU afterwards (``make distill``
with ``--teacher``), and a model replaces a shipped one only if it wins in ``make bench``.

    # here, before each call (K = 1..4):
    python -m experiments.train.gpu_pack ../shared/data/train ../shared/data/train-extra/bsd100 \\
        ../shared/data/train-extra/sunhays80 --shard K
    # on the device (run: carry .gpu/whl .gpu/w2x .gpu/data .gpu/models):
    make train-gpu            # -> $OUT/<model>.pt; copy them into .gpu/models here
    # tested on the CPU: python -m experiments.train.train_gpu --tiny --slice 5 ...
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]

COMMON = ["--patch", "96", "--batch", "32", "--loss", "db", "--ema", "0.999", "--lr", "5e-4",
          "--jpeg-encoders", "jpegli,turbo", "--val-images", "8", "--threads", "2",
          "--log-every", "100"]
#: name: (flags, init for the first slice)
GPU_MODELS = {
    "hyc-jpeg-gpu": (["--base", "jpeg", "--mode", "compact", "--com-width", "64",
                      "--rec-depth", "20", "--rec-width", "64", "--rounds", "1"], ""),
    "hyc-jpeg2000-gpu": (["--base", "jpeg2000", "--mode", "compact", "--com-width", "64",
                          "--rec-depth", "20", "--rec-width", "64", "--rounds", "1"], ""),
    "hyc-jpeg-full-gpu": (["--base", "jpeg", "--mode", "full", "--com-width", "0", "--s2d", "2",
                           "--rec-depth", "20", "--rec-width", "96", "--rounds", "0"], ""),
    "hyc-jpeg2000-full-gpu": (["--base", "jpeg2000", "--mode", "full", "--com-width", "0",
                               "--s2d", "2", "--rec-depth", "20", "--rec-width", "96",
                               "--rounds", "0"], ""),
    "hyc-jpeg-w2x-gpu": (["--base", "jpeg", "--mode", "compact", "--com-width", "64",
                          "--rec-arch", "upconv7", "--rounds", "1"], "waifu2x:3"),
}
#: the same models at toy sizes, for the CPU test
TINY = {"--patch": "16", "--batch": "2", "--rec-depth": "3", "--rec-width": "4",
        "--com-width": "4", "--val-images": "1", "--threads": "1"}


def _flags(name: str, tiny: bool) -> list[str]:
    flags = [*COMMON, *GPU_MODELS[name][0]]
    if tiny:
        for i in range(len(flags) - 1):
            keep = flags[i] == "--com-width" and flags[i + 1] == "0"  # full mode stays full
            if flags[i] in TINY and not keep:
                flags[i + 1] = TINY[flags[i]]
        flags += ["--crop-min", "32", "--crop-max", "48"]
    return flags


def half_copy(src: Path, dst: Path) -> None:
    """The model file with its floating-point weights in float16 (loading converts back)."""
    obj = torch.load(src, map_location="cpu", weights_only=True)
    obj["state_dict"] = {k: v.half() if v.is_floating_point() else v
                         for k, v in obj["state_dict"].items()}
    tmp = dst.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(dst)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", default=[".gpu/data"], help="training folder(s)")
    p.add_argument("--prev", default=".gpu/models", help="models of the previous slice")
    p.add_argument("--slice", type=float, default=480.0, help="training seconds of this slice")
    p.add_argument("--runs", default="runs/gpu", help="run folders of this slice")
    p.add_argument("--out", default="runs/gpu-out", help="where the float16 models go")
    p.add_argument("--models", default=",".join(GPU_MODELS))
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="toy sizes (the CPU test)")
    a = p.parse_args(argv)
    names = [n for n in a.models.split(",") if n]
    for n in names:
        if n not in GPU_MODELS:
            p.error(f"unknown model {n}")
    sub = sorted({str(f.parent) for d in a.data if Path(d).is_dir()
                  for f in Path(d).rglob("*.png")})
    if not sub:
        p.error(f"no training photos under {a.data}")
    out, runs, prev = Path(a.out), Path(a.runs), Path(a.prev)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    procs, t0 = {}, time.monotonic()
    for n in names:
        init = prev / f"{n}.pt"
        init_arg = str(init) if init.exists() else GPU_MODELS[n][1]
        run = runs / f"{n}-{stamp}"
        run.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "hybridcodec", "train", *sub, "--name", n, "--out", str(run),
               "--budget", str(a.slice), "--device", a.device, *_flags(n, a.tiny),
               *(["--init", init_arg] if init_arg else [])]
        procs[n] = (subprocess.Popen(cmd, cwd=ROOT, stdout=open(run / "stdout.log", "w"),
                                     stderr=subprocess.STDOUT), run, init_arg)
        print(f"started {n} (init: {init_arg or 'plain decoder'})", flush=True)
    summary = {}
    for n, (proc, run, init_arg) in procs.items():
        rc = proc.wait()
        weights = run / f"{n}.pt"
        ok = rc == 0 and weights.exists()
        if ok:
            half_copy(weights, out / f"{n}.pt")
        prev_secs = 0.0
        if init_arg and Path(init_arg).exists():
            prev_secs = torch.load(init_arg, map_location="cpu", weights_only=True)["meta"].get(
                "train_seconds_cumulative", 0.0)
        res = json.loads((run / "stdout.log").read_text().splitlines()[-1]) if ok else {}
        summary[n] = {"exit": rc, "init": init_arg, "val_psnr": res.get("val_psnr"),
                      "steps": res.get("steps"), "slice_seconds": res.get("train_seconds"),
                      "train_seconds_cumulative": round(prev_secs + (res.get("train_seconds")
                                                                     or 0.0), 1)}
        if ok:  # the cumulative figure travels inside the model file
            obj = torch.load(out / f"{n}.pt", map_location="cpu", weights_only=True)
            obj["meta"]["train_seconds_cumulative"] = summary[n]["train_seconds_cumulative"]
            torch.save(obj, out / f"{n}.pt")
        print(f"{n}: exit {rc}, {summary[n]}", flush=True)
    summary["wall_seconds"] = round(time.monotonic() - t0, 1)
    summary["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    (out / "train_gpu_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if all(v["exit"] == 0 for k, v in summary.items() if k in procs) else 1


if __name__ == "__main__":
    sys.exit(main())
