"""Command-line interface: parses arguments and calls the library. Errors exit with code 2.

Examples::

    hybridcodec compress photo.png photo.hyc --base jpeg2000 --bpp 0.25
    hybridcodec compress photo.png photo.hyc --base jpeg --quality 40
    hybridcodec compress photo.png photo.hyc --base jpeg --bpp 0.5 --jpeg-encoder mozjpeg
    hybridcodec compress photo.png photo.hyc --base jpeg --bpp 1.0 --mode full
    hybridcodec compress photo.png photo.hyc --base jpeg2000 --quality 32 --adapt -v
    hybridcodec decompress photo.hyc out.png
    hybridcodec enhance photos/*.jpg -o enhanced/
    hybridcodec info photo.hyc
    hybridcodec psnr photo.png out.png --bits photo.hyc
    hybridcodec bench ../shared/data/kodak
    hybridcodec train ../shared/data/train --base jpeg --budget 3000 --out runs/jpeg
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import DEFAULT_MAX_PIXELS, HybridCodecError, one_line

MAX_PIXELS_HELP = ("Refuse images over this many pixels, checked from the headers before "
                   "decoding (0: no limit).")

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="hybridcodec: JPEG and JPEG 2000 wrapped in ComCNN/RecCNN (Jiang et al. 2017).",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(msg: str) -> None:
    typer.echo(f"hybridcodec: error: {msg}", err=True)
    raise typer.Exit(2)


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise HybridCodecError(f"cannot read {path}: {exc.strerror}") from exc


def _write_output(path: str, data: bytes, inputs: list[str], force: bool) -> None:
    from .imageio import atomic_write

    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    out = Path(path).resolve()
    for i in inputs:
        if i != "-" and Path(i).resolve() == out:
            raise HybridCodecError(f"output {path} is the input; refusing to overwrite it")
    atomic_write(path, data, force=force)


@app.command()
def compress(
    input: str = typer.Argument(..., help="Image file (PNG, JPEG, ...) or - for stdin."),
    output: str = typer.Argument(..., help="Output .hyc file or - for stdout."),
    base: str = typer.Option("jpeg2000", "--base", "-b", help="Base codec: jpeg or jpeg2000."),
    quality: Optional[float] = typer.Option(
        None, "--quality", "-q",
        help="Base codec quality: JPEG 1-100 (default 75, as cjpeg), JPEG 2000 PSNR target in "
             "dB, 10-70 (default 34, the PSNR of JPEG's 75). Whole numbers for --jpeg-encoder "
             "turbo and mozjpeg."),
    bpp: Optional[float] = typer.Option(None, "--bpp", help="Target bits per pixel (whole file)."),
    size: Optional[int] = typer.Option(None, "--size", help="Target file size in bytes."),
    mode: str = typer.Option(
        "auto", "--mode",
        help="compact (half resolution + ComCNN), full (full-resolution artifact removal) or "
             "auto (tries both, keeps the better PSNR at the same size)."),
    profile: str = typer.Option(
        "fast", help="Decoder: fast (distilled student, where shipped) or best (teacher)."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m",
        help="Model name or file (default: the shipped one for --base, --mode, --profile)."),
    subsampling: str = typer.Option("420", help="JPEG chroma subsampling: 420 or 444."),
    jpeg_encoder: str = typer.Option(
        "jpegli", "--jpeg-encoder",
        help="JPEG encoder: jpegli, mozjpeg or turbo (libjpeg-turbo); every payload is a "
             "standard JPEG, decoded the same whichever wrote it."),
    adapt: bool = typer.Option(
        False, "--adapt", help="Fine-tune the decoder on this image; send the update if it pays."),
    adapt_steps: Optional[int] = typer.Option(None, help="Adaptation steps (default 40)."),
    adapt_seconds: Optional[float] = typer.Option(
        None, help="Adaptation time budget in seconds (default 40)."),
    adapt_subset: Optional[str] = typer.Option(
        None, help="Parameters to adapt: tail, last<k>, all, bias or gains (default bias)."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help=MAX_PIXELS_HELP),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing output."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Report the chosen settings."),
) -> None:
    """Compress an image. Example: hybridcodec compress photo.png photo.hyc --base jpeg2000 --bpp 0.25

    With no --quality, --bpp or --size: quality 75 for JPEG, 34 dB for JPEG 2000."""
    from . import codec
    from .adaptation import AdaptConfig
    from .imageio import read_image

    try:
        given = {"subset": adapt_subset, "steps": adapt_steps, "seconds": adapt_seconds}
        if not adapt and any(v is not None for v in given.values()):
            raise HybridCodecError("--adapt-subset, --adapt-steps and --adapt-seconds need --adapt")
        cfg = AdaptConfig(**{k: v for k, v in given.items() if v is not None}) if adapt else None
        image = read_image(_read_input(input), name="stdin" if input == "-" else input,
                           max_pixels=max_pixels or None)
        say = (lambda s: typer.echo(s, err=True)) if (verbose or adapt) else None
        res = codec.encode_ex(image, base=base, quality=quality, bpp=bpp, size=size, mode=mode,
                              profile=profile, model=model, subsampling=subsampling,
                              adapt=cfg, jpeg_encoder=jpeg_encoder, max_pixels=max_pixels or None,
                              progress=say)
        _write_output(output, res.data, [input], force)
        if verbose and res.decision:
            typer.echo(json.dumps(res.decision), err=True)
        if verbose or output != "-":
            typer.echo(f"{output}: {len(res.data)} bytes, {res.bpp:.4f} bpp, base {base} "
                       f"quality {res.quality:g}, {res.mode} mode, model {res.model}", err=True)
    except HybridCodecError as exc:
        _fail(str(exc))


@app.command()
def decompress(
    input: str = typer.Argument(..., help=".hyc file or - for stdin."),
    output: str = typer.Argument(..., help="Image file (format from the extension; PNG for -)."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Model file to use instead of the installed one."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help=MAX_PIXELS_HELP),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing output."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show progress."),
) -> None:
    """Decompress a .hyc file. Example: hybridcodec decompress photo.hyc out.png"""
    from . import codec
    from .imageio import encode_image_file, write_image

    try:
        say = (lambda s: typer.echo(s, err=True)) if verbose else None
        image = codec.decode(_read_input(input), model=model, max_pixels=max_pixels or None,
                             progress=say)
        if output == "-":
            _write_output(output, encode_image_file(image, "PNG"), [input], force)
        else:
            if input != "-" and Path(input).resolve() == Path(output).resolve():
                raise HybridCodecError(f"output {output} is the input; refusing to overwrite it")
            write_image(output, image, force=force)
    except HybridCodecError as exc:
        _fail(str(exc))


def _expand_inputs(inputs: list[str]) -> list[str]:
    import glob

    from .imageio import IMAGE_EXTS

    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if item == "-" or p.is_file():
            out.append(item)
        elif p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS)
        elif glob.has_magic(item):
            out += sorted(glob.glob(item))
        else:
            out.append(item)  # reported as unreadable below
    return out


@app.command()
def enhance(
    inputs: list[str] = typer.Argument(..., help="JPEG files, folders or globs; - for stdin."),
    output: str = typer.Option(..., "--output", "-o",
                               help="Output file (one input), folder (several), or -."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Enhancement model."),
    profile: str = typer.Option(
        "best", help="best (the full network) or fast (its distilled student, where installed)."),
    project: bool = typer.Option(True, help="Project into the file's quantisation intervals."),
    fmt: str = typer.Option("png", "--format", help="Extension for outputs in a folder."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help=MAX_PIXELS_HELP),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite existing outputs."),
) -> None:
    """Remove JPEG artifacts with no re-encode; the quality is read from each file.
    Example: hybridcodec enhance photos/*.jpg -o enhanced/"""
    from tqdm import tqdm

    from .enhance import enhance_jpeg_ex
    from .imageio import encode_image_file, write_image

    files = _expand_inputs(inputs)
    if not files:
        _fail("no input files")
    many = len(files) > 1 or Path(output).is_dir()
    if many and output == "-":
        _fail("several inputs need an output folder, not -")
    if many:
        try:
            Path(output).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _fail(f"cannot create the output folder {output}: {exc.strerror}")
    failed = 0
    for f in tqdm(files, disable=len(files) < 2, unit="img", file=sys.stderr):
        try:
            res = enhance_jpeg_ex(_read_input(f), model=model, project=project, profile=profile,
                                  max_pixels=max_pixels or None)
            if output == "-":
                _write_output("-", encode_image_file(res.image, "PNG",
                                                     icc_profile=res.icc_profile), [f], force)
                continue
            dest = Path(output) / f"{Path(f).stem}.{fmt.lstrip('.')}" if many else Path(output)
            if f != "-" and Path(f).resolve() == dest.resolve():
                raise HybridCodecError(f"output {dest} is the input; refusing to overwrite it")
            write_image(dest, res.image, force=force, icc_profile=res.icc_profile)
        except HybridCodecError as exc:
            failed += 1
            typer.echo(f"hybridcodec: error: {f}: {exc}", err=True)
    if failed:
        raise typer.Exit(2)


@app.command()
def info(input: str = typer.Argument(..., help=".hyc file or - for stdin."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show a .hyc file's header and chunks. Example: hybridcodec info photo.hyc"""
    from . import codec

    try:
        hdr = codec.info(_read_input(input))
    except HybridCodecError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(hdr, indent=2))
        return
    for k, v in hdr.items():
        typer.echo(f"{k:>14}: {v}")


@app.command()
def psnr(
    reference: str = typer.Argument(..., help="Original image."),
    test: str = typer.Argument(..., help="Decoded image."),
    bits: Optional[str] = typer.Option(None, help="Compressed file whose size gives the bpp."),
) -> None:
    """Print the RGB PSNR (dB) of TEST against REFERENCE, and the bpp of --bits.
    Example: hybridcodec psnr photo.png out.png --bits photo.hyc"""
    from .imageio import read_image
    from .metrics import psnr as psnr_db

    try:
        a, b = read_image(reference), read_image(test)
        if a.shape != b.shape:
            raise HybridCodecError(f"image sizes differ: {a.shape} vs {b.shape}")
        line = f"PSNR {psnr_db(a, b):.3f} dB"
        if bits is not None:
            line = f"{8 * len(_read_input(bits)) / (a.shape[0] * a.shape[1]):.4f} bpp, " + line
    except HybridCodecError as exc:
        _fail(str(exc))
    typer.echo(line)


@app.command()
def bench(
    folder: str = typer.Argument(..., help="Folder of test images (e.g. ../shared/data/kodak)."),
    out: str = typer.Option("experiments/results", help="Folder for the CSV and PNG plot."),
    limit: int = typer.Option(0, help="Use only the first N images (0: all)."),
    quick: bool = typer.Option(False, help="Fewer quality points (for a smoke run)."),
) -> None:
    """RD benchmark of the hybrids against plain JPEG / JPEG 2000, measured in one run.
    Example: hybridcodec bench ../shared/data/kodak"""
    from .benchmark import run_benchmark

    try:
        report = run_benchmark(folder, out_dir=out, limit=limit, quick=quick,
                               progress=lambda s: typer.echo(s, err=True))
    except HybridCodecError as exc:
        _fail(str(exc))
    typer.echo(report)


@app.command()
def train(
    data: list[str] = typer.Argument(
        ..., help="Folder(s) of training photos (never the benchmark); the last photos of the "
                  "last folder are held out for validation."),
    base: str = typer.Option("jpeg", "--base", "-b", help="Base codec: jpeg or jpeg2000."),
    out: str = typer.Option("runs/train", help="Run folder: checkpoint.pt, log.jsonl, weights."),
    name: str = typer.Option("", help="Model name (default hyc-<base>)."),
    budget: float = typer.Option(0.0, help="Wall-clock budget in seconds (0: use --steps)."),
    steps: int = typer.Option(2000, help="Total steps when no --budget is given."),
    rounds: int = typer.Option(2, help="Alternating rounds of (a, b) before the final (a)."),
    mode: str = typer.Option(
        "compact", help="compact (ComCNN + half resolution) or full (artifact removal only)."),
    s2d: int = typer.Option(
        1, help="2: RecCNN runs on the space-to-depth image (half resolution, 12 planes)."),
    hf_width: int = typer.Option(
        0, help="Width of the high-frequency enhancement branch (Zhang et al. 2025; 0: none)."),
    feature_enh: bool = typer.Option(
        False, "--feature-enh", help="Add the feature enhancement module (Zhang et al. 2025)."),
    deform: bool = typer.Option(
        False, "--deform", help="Deformable residual module in ComCNN (Fu et al. 2024)."),
    com_width: int = typer.Option(64, help="ComCNN width (0: area downsampling only)."),
    rec_depth: int = typer.Option(20, help="RecCNN depth (paper: 20; 0: bicubic only)."),
    rec_width: int = typer.Option(64, help="RecCNN width (paper: 64)."),
    patch: int = typer.Option(96, help="Training patch size in pixels (even)."),
    batch: int = typer.Option(16, help="Patches per step."),
    lr: float = typer.Option(5e-4, help="RecCNN learning rate (Adam, cosine decay)."),
    com_lr: float = typer.Option(1e-4, help="ComCNN learning rate."),
    com_grad: str = typer.Option("aux", help="ComCNN phase: aux (paper) or ste."),
    threads: int = typer.Option(0, help="CPU threads (0: torch default)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    sparse_density: float = typer.Option(
        0.0, help="Under torchrun: send only this fraction of each gradient (0: dense)."),
    sparse_method: str = typer.Option("topk", help="Sparsification: topk or sample."),
    log_every: int = typer.Option(50, help="Steps between two log records."),
    init: str = typer.Option(
        "", help="Fine-tune from this model (name or file); added modules start as identity."),
    jpeg_encoders: str = typer.Option(
        "jpegli,mozjpeg,turbo", help="JPEG: encoders drawn per example (comma-separated)."),
    decoder: str = typer.Option(
        "jpegli", help="JPEG: the decoder whose output RecCNN reads (jpegli or turbo)."),
    seed: int = typer.Option(0),
) -> None:
    """Train a ComCNN/RecCNN pair by the alternating algorithm; resumes from --out.
    Example: hybridcodec train ../shared/data/train --base jpeg --budget 3000 --out runs/jpeg

    Data-parallel on N processes (gloo on CPU, NCCL on GPU; --batch is the global batch):
    torchrun --nproc_per_node 2 -m hybridcodec train ../shared/data/train --sparse-density 0.01"""
    from .training import TrainConfig
    from .training import train as run_train

    cfg = TrainConfig(data=os.pathsep.join(data), base=base, out=out, name=name, budget_s=budget, steps=steps,
                      rounds=rounds, mode=mode, s2d=s2d, hf_width=hf_width,
                      feature_enh=feature_enh, deform=deform, com_width=com_width, rec_depth=rec_depth,
                      rec_width=rec_width, patch=patch, batch=batch, lr=lr, com_lr=com_lr,
                      com_grad=com_grad, threads=threads, device=device, seed=seed,
                      sparse_density=sparse_density, sparse_method=sparse_method,
                      log_every=log_every, init=init, jpeg_encoders=jpeg_encoders,
                      decoder=decoder)
    try:
        res = run_train(cfg, progress=lambda s: typer.echo(s, err=True))
    except HybridCodecError as exc:
        _fail(str(exc))
    if os.environ.get("RANK", "0") != "0":
        return
    typer.echo(json.dumps({k: res[k] for k in ("weights", "steps", "val_psnr", "train_seconds")}))


@app.command()
def distill(
    data: str = typer.Argument(..., help="Folder of training photos (never the benchmark)."),
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
    Example: hybridcodec distill ../shared/data/train -t hyc-jpeg-v1 --budget 1800 --out runs/fast"""
    from .distill import DistillConfig
    from .distill import distill as run_distill

    cfg = DistillConfig(data=data, teacher=teacher, out=out, name=name, rec_depth=rec_depth,
                        rec_width=rec_width, s2d=s2d, beta=beta, budget_s=budget, steps=steps,
                        patch=patch, batch=batch, lr=lr, threads=threads, seed=seed)
    try:
        res = run_distill(cfg, progress=lambda s: typer.echo(s, err=True))
    except HybridCodecError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({k: res[k] for k in ("weights", "steps", "val_psnr")}))


def main() -> None:
    """Entry point of the ``hybridcodec`` command: any error is one line and exit code 2
    (set ``HYBRIDCODEC_DEBUG=1`` for the traceback of an unexpected one)."""
    try:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None  # the CLI applies its own --max-pixels before decoding
        app()
    except KeyboardInterrupt:
        typer.echo("hybridcodec: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        if os.environ.get("HYBRIDCODEC_DEBUG"):
            raise
        msg = one_line(exc) if isinstance(exc, HybridCodecError) else \
            f"internal error ({type(exc).__name__}): {one_line(exc)}"
        typer.echo(f"hybridcodec: error: {msg}", err=True)
        sys.exit(2)
