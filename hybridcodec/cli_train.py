"""The training commands of the command line (``train``, ``distill``); ``cli.py`` registers
them. Errors propagate as ``HybridCodecError``: ``cli.main`` prints one line, exit code 2."""

from __future__ import annotations

import json
import os

import dataclasses

import typer

from .training.config import TrainConfig

__all__ = ["train", "distill"]

#: the training options' defaults: TrainConfig's own (one source, issue 24)
_D = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def train(
    data: list[str] = typer.Argument(
        ..., help="Folder(s) of training photos (never the benchmark); the last photos of the "
                  "last folder are held out for validation."),
    base: str = typer.Option(_D["base"], "--base", "-b", help="Base codec: jpeg or jpeg2000."),
    out: str = typer.Option(_D["out"], help="Run folder: checkpoint.pt, log.jsonl, weights."),
    name: str = typer.Option(_D["name"], help="Model name (default hyc-<base>)."),
    budget: float = typer.Option(_D["budget_s"], help="Wall-clock budget in seconds (0: use --steps)."),
    steps: int = typer.Option(_D["steps"], help="Total steps when no --budget is given."),
    rounds: int = typer.Option(_D["rounds"], help="Alternating rounds of (a, b) before the final (a)."),
    mode: str = typer.Option(
        _D["mode"], help="compact (ComCNN + half resolution) or full (artifact removal only)."),
    s2d: int = typer.Option(
        _D["s2d"], help="2: RecCNN runs on the space-to-depth image (half resolution, 12 planes)."),
    hf_width: int = typer.Option(
        _D["hf_width"], help="Width of the high-frequency enhancement branch (Zhang et al. 2025; 0: none)."),
    feature_enh: bool = typer.Option(
        _D["feature_enh"], "--feature-enh", help="Add the feature enhancement module (Zhang et al. 2025)."),
    deform: bool = typer.Option(
        _D["deform"], "--deform", help="Deformable residual module in ComCNN (Fu et al. 2024)."),
    com_width: int = typer.Option(_D["com_width"], help="ComCNN width (0: area downsampling only)."),
    rec_depth: int = typer.Option(_D["rec_depth"], help="RecCNN depth (paper: 20; 0: bicubic only)."),
    rec_width: int = typer.Option(_D["rec_width"], help="RecCNN width (paper: 64)."),
    patch: int = typer.Option(_D["patch"], help="Training patch size in pixels (even)."),
    batch: int = typer.Option(_D["batch"], help="Patches per step."),
    lr: float = typer.Option(_D["lr"], help="RecCNN learning rate (Adam, cosine decay)."),
    com_lr: float = typer.Option(_D["com_lr"], help="ComCNN learning rate."),
    com_grad: str = typer.Option(_D["com_grad"], help="ComCNN phase: aux (paper) or ste."),
    threads: int = typer.Option(_D["threads"], help="CPU threads (0: torch default)."),
    device: str = typer.Option(_D["device"], help="auto, cpu or cuda."),
    sparse_density: float = typer.Option(
        _D["sparse_density"], help="Under torchrun: send only this fraction of each gradient (0: dense)."),
    sparse_method: str = typer.Option(_D["sparse_method"], help="Sparsification: topk or sample."),
    log_every: int = typer.Option(_D["log_every"], help="Steps between two log records."),
    init: str = typer.Option(
        _D["init"], help="Fine-tune from this model (name or file); added modules start as identity."),
    jpeg_encoders: str = typer.Option(
        _D["jpeg_encoders"], help="JPEG: encoders drawn per example (comma-separated)."),
    decoder: str = typer.Option(
        _D["decoder"], help="JPEG: the decoder whose output RecCNN reads (jpegli or turbo)."),
    batch_norm: bool = typer.Option(
        _D["batch_norm"], "--batch-norm/--no-batch-norm", help="Batch normalisation in the hidden layers."),
    rec_arch: str = typer.Option(
        _D["rec_arch"], help="reccnn, or upconv7: waifu2x's 2x network (compact mode; with "
                       "--init waifu2x:3 it starts from the pretrained photo network), or ffdnet: FFDNet's "
                       "denoiser (full mode, --s2d 2; --init ffdnet:15 starts from its colour "
                       "weights at noise level 15)."),
    pipeline: str = typer.Option(
        _D["pipeline"], help="whole: crops coded whole, patches cut from the decoded crop; patch: "
                      "every patch coded on its own."),
    crop_min: int = typer.Option(_D["crop_min"], help="Smallest crop coded whole (pixels)."),
    crop_max: int = typer.Option(_D["crop_max"], help="Largest crop coded whole (pixels)."),
    loss: str = typer.Option(
        _D["loss"], help="mse, l1, db (every quality weighs the same in dB) or l1+db."),
    schedule: str = typer.Option(_D["schedule"], help="Learning rate: cosine, constant or step."),
    lowpass_guard: int = typer.Option(
        _D["lowpass_guard"], help="Full mode: remove the local mean of the residual over blocks of "
                  "this many pixels in training, validation and the model (0: none; 32 for "
                  "JPEG 2000, experiments/results/lowpass_guard_summary.csv)."),
    warmup: int = typer.Option(
        _D["warmup"], help="Linear learning-rate warm-up over the first so many steps (0: none; "
                  "for runs continued from trained weights, --init)."),
    rate_weight: float = typer.Option(
        _D["rate_weight"], help="Phase (b): weight of the codec's differentiable rate proxy (issue 13; "
                  "needs --loss db; 0: distortion only, as the paper)."),
    ema: float = typer.Option(_D["ema"], help="Validate and export a weight average of this decay "
                                        "(e.g. 0.999; 0: none)."),
    val_images: int = typer.Option(_D["val_images"], help="Photos held out for validation."),
    val_every: float = typer.Option(
        _D["val_every_s"], help="Also validate every so many training seconds (0: after each phase)."),
    clock: str = typer.Option(
        _D["clock"], help="What --budget counts: wall (seconds of training steps) or cpu (this "
                     "process's CPU seconds: for runs niced into the background)."),
    precision: str = typer.Option(
        _D["precision"], help="auto: bf16 where the CPU or GPU has bf16 arithmetic (AVX-512 BF16, AMX), "
                     "else fp32; bf16: bfloat16 autocast with fp32 weights, loss and residual "
                     "addition (about 2x faster where native, ~10x slower where emulated); fp32."),
    channels_last: bool = typer.Option(_D["channels_last"], help="NHWC activations (oneDNN's fast layout)."),
    prefetch: int = typer.Option(
        _D["prefetch"], help="Full-resolution networks: 1 codes the training crops ahead in a worker "
                "process; 0 in the training loop."),
    pool_size: int = typer.Option(_D["pool_size"], help="Crops coded whole held in the pool."),
    pool_refresh: int = typer.Option(_D["pool_refresh"], help="Pool entries replaced per step."),
    teacher: str = typer.Option(
        _D["teacher"], help="Full mode: a bigger model of the same base whose output joins the "
        "target (re-distilling a student, e.g. hyc-jpeg-full-v13)."),
    teacher_weight: float = typer.Option(
        _D["teacher_weight"], help="The teacher's share of the target, 0-1."),
    seed: int = typer.Option(_D["seed"], help="Random seed of the crops and qualities."),
) -> None:
    """Train a ComCNN/RecCNN pair by the alternating algorithm; resumes from --out.

    Examples:
      hybridcodec train data/ --base jpeg --budget 3000 --out runs/jpeg
      torchrun --nproc_per_node 2 -m hybridcodec train data/ --sparse-density 0.01

    The second: data-parallel on N processes (gloo / NCCL; --batch is the global batch)."""
    from .training.trainer import train as run_train

    cfg = TrainConfig(
        data=os.pathsep.join(data), base=base, out=out, name=name, budget_s=budget, steps=steps,
        rounds=rounds, mode=mode, s2d=s2d, hf_width=hf_width, feature_enh=feature_enh,
        deform=deform, com_width=com_width, rec_depth=rec_depth, rec_width=rec_width,
        patch=patch, batch=batch, lr=lr, com_lr=com_lr, com_grad=com_grad, threads=threads,
        device=device, seed=seed, sparse_density=sparse_density, sparse_method=sparse_method,
        log_every=log_every, init=init, jpeg_encoders=jpeg_encoders, decoder=decoder,
        batch_norm=batch_norm, rec_arch=rec_arch, pipeline=pipeline, crop_min=crop_min,
        crop_max=crop_max, loss=loss, schedule=schedule, warmup=warmup, lowpass_guard=lowpass_guard, ema=ema, rate_weight=rate_weight,
        clock=clock, val_images=val_images, val_every_s=val_every, precision=precision,
        channels_last=channels_last, prefetch=prefetch, pool_size=pool_size,
        pool_refresh=pool_refresh, teacher=teacher, teacher_weight=teacher_weight)
    res = run_train(cfg, progress=lambda s: typer.echo(s, err=True)).as_dict()
    if os.environ.get("RANK", "0") != "0":
        return
    typer.echo(json.dumps({k: res[k] for k in ("weights", "steps", "val_psnr", "train_seconds")}))


def distill(
    data: list[str] = typer.Argument(
        ..., help="Folder(s) of training photos (never the benchmark)."),
    teacher: str = typer.Option(..., "--teacher", "-t", help="Teacher model (name or file)."),
    out: str = typer.Option("runs/distill", help="Run folder: checkpoint.pt, log.jsonl, weights."),
    name: str = typer.Option("", help="Student model name (default <teacher>-fast)."),
    rec_depth: int = typer.Option(6, help="Student depth."),
    rec_width: int = typer.Option(32, help="Student width."),
    s2d: int = typer.Option(2, help="2: the student reconstructs at compact resolution."),
    beta: float = typer.Option(1.0, help="Weight of the feature loss (pass 2)."),
    budget: float = typer.Option(0.0, help="Wall-clock budget in seconds (0: use --steps)."),
    steps: int = typer.Option(2000, help="Total steps when no --budget is given."),
    patch: int = typer.Option(64, help="Training patch size in pixels (even)."),
    batch: int = typer.Option(16, help="Patches per step."),
    lr: float = typer.Option(1e-3, help="Learning rate (Adam, cosine decay)."),
    threads: int = typer.Option(0, help="CPU threads (0: torch default)."),
    seed: int = typer.Option(0),
) -> None:
    """Distil a fast decoder from a shipped model in three passes (Fu et al. 2024); resumes.

    Example:
      hybridcodec distill data/ -t hyc-jpeg-v1 --budget 1800 --out runs/fast

    The same command again resumes from the checkpoint in --out."""
    from .training.distill import DistillConfig
    from .training.distill import distill as run_distill

    cfg = DistillConfig(data=os.pathsep.join(data), teacher=teacher, out=out, name=name,
                        rec_depth=rec_depth, rec_width=rec_width, s2d=s2d, beta=beta,
                        budget_s=budget, steps=steps, patch=patch, batch=batch, lr=lr,
                        threads=threads, seed=seed)
    res = run_distill(cfg, progress=lambda s: typer.echo(s, err=True))
    typer.echo(json.dumps({k: res[k] for k in ("weights", "steps", "val_psnr")}))
