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
import warnings
from pathlib import Path
from typing import Any, Optional

import typer

from .cli_compare import compare, psnr
from .cli_train import distill, train
from .chatter import captured, summary
from .cli_files import (CLUSTER_HELP, RESUME_HELP, about, batch_only, cli_terms, run_batch,
                        single as one_or_many, status)
from . import standard
from .adaptconfig import MIN_SECONDS, AdaptConfig
from .errors import DEFAULT_MAX_PIXELS, HybridCodecError, HybridCodecWarning, one_line

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
    typer.echo(f"hybridcodec: error: {cli_terms(msg)}", err=True)
    raise typer.Exit(2)


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise HybridCodecError(f"cannot read {path}: {exc.strerror}") from exc


def _decode_one(name: str, verbose: bool, fn):
    """``fn(data, progress)`` on the bytes of ``name`` (``-``: stdin) with a status line on a
    terminal; its warnings and the C decoders' stderr lines printed one line each."""
    data = _read_input(name)
    with captured() as said, warnings.catch_warnings(record=True) as caught, \
            status(verbose, name) as say:
        warnings.simplefilter("always", HybridCodecWarning)
        out = fn(data, say)
    for msg in [*(str(w.message) for w in caught), *([summary(said)] if said else [])]:
        typer.echo(f"hybridcodec: warning: {cli_terms(about(name, msg))}", err=True)
    return out


def _write_output(path: str, data: bytes, inputs: list[str], force: bool) -> None:
    from .imageio import atomic_write

    if path == "-":
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as exc:  # a full disk, a closed pipe: one line, not "internal error"
            raise HybridCodecError(f"cannot write to standard output: "
                                   f"{exc.strerror or one_line(exc)}") from None
        return
    out = Path(path).resolve()
    for i in inputs:
        if i != "-" and Path(i).resolve() == out:
            raise HybridCodecError(f"output {path} is the input; refusing to overwrite it")
    atomic_write(path, data, force=force)


@app.command()
def compress(
    inputs: list[str] = typer.Argument(
        ..., help="Image file (PNG, JPEG, ...) and output .hyc file (- for stdin/stdout); or, "
                  "with -o, image files, folders and globs."),
    output: Optional[str] = typer.Option(
        None, "--output", "-o", help="Output file (one input) or folder (several inputs)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Files at once (default: every core)."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help=CLUSTER_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    base: Optional[str] = typer.Option(
        None, "--base", "-b",
        help="Base codec: jpeg or jpeg2000 (default: jpeg for a .jpg output, else jpeg2000)."),
    container: Optional[str] = typer.Option(
        None, "--container",
        help="hyc, jpeg (a standard .jpg), jp2 or j2k (standard JPEG 2000 files); default: "
             "from the output's extension (.jpg/.jpeg, .jp2, .j2k/.j2c), else hyc."),
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
    effort: Optional[int] = typer.Option(
        None, "--effort", "-e", min=1, max=9,
        help="Encode effort 1-9 (as cjxl -e): 1 the fast default, 2 exact rate control, 3-9 "
             "add encode-time adaptation with more steps, 7-9 also refine the compact image "
             "(not with --adapt)."),
    adapt: bool = typer.Option(
        False, "--adapt", help="Fine-tune the decoder on this image; send the update if it pays."),
    adapt_steps: Optional[int] = typer.Option(
        None, help=f"Adaptation steps (default {AdaptConfig.steps})."),
    adapt_seconds: Optional[float] = typer.Option(
        None, help="Time budget of the whole adaptation in seconds, loading and decision included "
             f"(default: {AdaptConfig.seconds_per_mp:g} s per megapixel, at least "
             f"{MIN_SECONDS:g} s)."),
    adapt_subset: Optional[str] = typer.Option(
        None, help="Parameters to adapt: tail, last<k>, all, bias or gains "
                   f"(default {AdaptConfig.subset})."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help=MAX_PIXELS_HELP),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing output."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Report the chosen settings."),
) -> None:
    """Compress images (to .hyc, or a standard .jpg / .jp2 / .j2k any viewer opens).

    Examples:
      hybridcodec compress photo.png photo.hyc --base jpeg2000 --bpp 0.25
      hybridcodec compress photo.png photo.jpg --bpp 0.5
      hybridcodec compress photos/ -o out/ --base jpeg --quality 40 --jobs 2
      hybridcodec compress photo.png photo.hyc --bpp 0.4 --effort 9
      cat photo.png | hybridcodec compress - - --bpp 0.5 > photo.hyc

    With no --quality, --bpp or --size: quality 75 for JPEG, 34 dB for JPEG 2000. Higher
    efforts encode more slowly for a smaller file (9 adapts the decoder to the image)."""
    from . import codec
    from .imageio import read_image_meta
    from .options import EncodeOptions

    try:
        given: dict[str, Any] = {"subset": adapt_subset, "steps": adapt_steps,
                                 "seconds": adapt_seconds}
        if not adapt and any(v is not None for v in given.values()):
            raise HybridCodecError("--adapt-subset, --adapt-steps and --adapt-seconds need --adapt")
        cfg = AdaptConfig(**{k: v for k, v in given.items() if v is not None}) if adapt else None
        one = one_or_many(inputs, output)
        batch_only(one, cluster, resume)
        if container is not None and container not in standard.CONTAINERS:
            raise HybridCodecError(f"--container must be one of {', '.join(standard.CONTAINERS)}")
        kind = standard.check_output_name(one[1], container) if one else (container or "hyc")
        base = base or standard.BASE_OF.get(kind, "jpeg2000")
        options = EncodeOptions(base=base, quality=quality, bpp=bpp, size=size, mode=mode,
                                profile=profile, model=model, subsampling=subsampling, adapt=cfg,
                                jpeg_encoder=jpeg_encoder, max_pixels=max_pixels or None,
                                container=kind, effort=effort)
        if one is None:
            suffix = {"hyc": ".hyc", "jpeg": ".jpg", "jp2": ".jp2", "j2k": ".j2k"}[kind]
            run_batch("compress", inputs, output, suffix, jobs, force, options, cluster, resume)
            return
        input, output = one
        image, meta = read_image_meta(_read_input(input), name="stdin" if input == "-" else input,
                                      max_pixels=max_pixels or None)
        with status(verbose, input) as say:
            res = codec.encode_ex(image, options=options, progress=say, metadata=meta)
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
    inputs: list[str] = typer.Argument(
        ..., help=".hyc (or hybrid .jpg/.jp2/.j2k) file and output image (format from the "
                  "extension; PNG for -), - for stdin/stdout; or, with -o, files, folders and "
                  "globs."),
    output: Optional[str] = typer.Option(
        None, "--output", "-o", help="Output file (one input) or folder (several inputs)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Files at once (default: every core)."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help=CLUSTER_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    fmt: str = typer.Option("png", "--format", help="Extension for outputs in a folder."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Model file to use instead of the installed one."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help=MAX_PIXELS_HELP),
    strict: bool = typer.Option(
        False, "--strict", help="Fail on a standard file whose hybrid data are damaged or name "
                                "a model that is not installed (default: decode the plain image "
                                "with a warning)."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing output."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show progress."),
) -> None:
    """Decompress .hyc files and hybrid JPEG / JPEG 2000 files (a plain JPEG: as enhance).

    Examples:
      hybridcodec decompress photo.hyc out.png
      hybridcodec decompress photo.jpg out.png --strict
      hybridcodec decompress compressed/ -o decoded/ --jobs 2

    The output's format follows its extension (PNG, TIFF, ...; - writes PNG to stdout)."""
    from . import codec
    from .imageio import encode_image_file, write_image

    try:
        one = one_or_many(inputs, output)
        batch_only(one, cluster, resume)
        if one is None:
            run_batch("decompress", inputs, output, "." + fmt.lstrip("."), jobs, force,
                      dict(model=model, max_pixels=max_pixels or None, strict=strict), cluster,
                      resume)
            return
        input, output = one
        image = _decode_one(input, verbose, lambda data, say: codec.decode(
            data, model=model, max_pixels=max_pixels or None, progress=say, strict=strict))
        if output == "-":
            _write_output(output, encode_image_file(image, "PNG"), [input], force)
        else:
            if input != "-" and Path(input).resolve() == Path(output).resolve():
                raise HybridCodecError(f"output {output} is the input; refusing to overwrite it")
            write_image(output, image, force=force)
    except HybridCodecError as exc:
        _fail(str(exc))


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
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Files at once (default: every core)."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help=CLUSTER_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help=MAX_PIXELS_HELP),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite existing outputs."),
) -> None:
    """Remove JPEG artifacts with no re-encode; the quality is read from each file.

    Examples:
      hybridcodec enhance photo.jpg -o photo.png
      hybridcodec enhance photos/*.jpg -o enhanced/ --jobs 2

    Outputs in a folder are PNG unless --format names another extension."""
    from .enhance import enhance_jpeg_ex
    from .imageio import encode_image_file, write_image

    options: dict[str, Any] = dict(model=model, project=project, profile=profile,
                                   max_pixels=max_pixels or None)
    try:
        one = one_or_many(inputs, output)
        batch_only(one, cluster, resume)
        if one is None:
            if output == "-":
                raise HybridCodecError("several inputs need an output folder, not -")
            run_batch("enhance", inputs, output, "." + fmt.lstrip("."), jobs, force, options,
                      cluster, resume)
            return
        src, dest = one
        res = _decode_one(src, False, lambda data, say: enhance_jpeg_ex(data, progress=say,
                                                                        **options))
        if dest == "-":
            _write_output("-", encode_image_file(res.image, "PNG", icc_profile=res.icc_profile),
                          [src], force)
            return
        if src != "-" and Path(src).resolve() == Path(dest).resolve():
            raise HybridCodecError(f"output {dest} is the input; refusing to overwrite it")
        write_image(dest, res.image, force=force, icc_profile=res.icc_profile)
    except HybridCodecError as exc:
        _fail(about(inputs[0], str(exc)) if len(inputs) == 1 else str(exc))


@app.command()
def info(input: str = typer.Argument(..., help=".hyc file or - for stdin."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show a .hyc file's header and chunks.

    Example:
      hybridcodec info photo.hyc

    --json prints the same fields as JSON."""
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
def bench(
    folder: str = typer.Argument(..., help="Folder of test images (e.g. ../shared/data/kodak)."),
    out: str = typer.Option("experiments/results", help="Folder for the CSV and PNG plot."),
    limit: int = typer.Option(0, help="Use only the first N images (0: all)."),
    quick: bool = typer.Option(False, help="Fewer quality points (for a smoke run)."),
    container: str = typer.Option(
        "hyc", "--container", help="hyc, or standard: hybrid series as .jpg / .j2k files."),
    efforts: str = typer.Option(
        "", "--efforts", help="Add the encode-effort section for these efforts, e.g. 1,5,9."),
    effort_images: int = typer.Option(6, "--effort-images", min=1,
                                      help="Images of the effort section (the first N)."),
    rd: bool = typer.Option(True, "--rd/--no-rd", help="The RD series (--no-rd: efforts only)."),
) -> None:
    """RD benchmark of the hybrids against plain JPEG / JPEG 2000, measured in one run.

    Example:
      hybridcodec bench ../shared/data/kodak --efforts 1,5,9

    The CSV and the PNG plot go to --out (default experiments/results)."""
    from .benchmark import run_benchmark

    try:
        levels = tuple(int(e) for e in efforts.split(",") if e.strip())
    except ValueError:
        _fail(f"--efforts must be integers separated by commas, got {efforts!r}")
    try:
        report = run_benchmark(folder, out_dir=out, limit=limit, quick=quick,
                               progress=lambda s: typer.echo(s, err=True), container=container,
                               efforts=levels, effort_images=effort_images, rd=rd)
    except HybridCodecError as exc:
        _fail(str(exc))
    typer.echo(report)


app.command()(train)  # the training commands live in cli_train.py
app.command()(distill)
app.command()(compare)  # cli_compare.py
app.command()(psnr)


def _run_app() -> None:
    """The typer app, with option-parsing errors as one line and exit code 2 (click draws a
    five-line box; issue 23)."""
    try:
        from typer._click import exceptions as cx  # typer >= 0.26 vendors click
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions as cx  # type: ignore[no-redef]

    command = typer.main.get_command(app)
    try:
        rc = command.main(prog_name="hybridcodec", standalone_mode=False)
    except cx.NoArgsIsHelpError as exc:  # bare "hybridcodec": the help text
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except cx.UsageError as exc:
        where = f"hybridcodec {exc.ctx.info_name}" if exc.ctx and exc.ctx.parent else "hybridcodec"
        typer.echo(f"hybridcodec: error: {one_line(exc.format_message())} (see {where} --help)",
                   err=True)
        sys.exit(2)
    except cx.ClickException as exc:
        typer.echo(f"hybridcodec: error: {one_line(exc.format_message())}", err=True)
        sys.exit(2)
    except (typer.Exit, getattr(cx, "Exit", typer.Exit)) as exc:  # typer >= 0.26: typer's own
        sys.exit(exc.exit_code)
    except (typer.Abort, getattr(cx, "Abort", typer.Abort)):
        raise KeyboardInterrupt from None
    if isinstance(rc, int) and rc:
        sys.exit(rc)


def main() -> None:
    """Entry point of the ``hybridcodec`` command: any error is one line and exit code 2
    (set ``HYBRIDCODEC_DEBUG=1`` for the traceback of an unexpected one)."""
    def one_line_warning(message, category, filename, lineno, file=None, line=None):  # noqa
        typer.echo(f"hybridcodec: warning: {cli_terms(one_line(message))}", err=True)

    warnings.showwarning = one_line_warning  # every command's warnings: one line each
    try:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None  # the CLI applies its own --max-pixels before decoding
        _run_app()
    except KeyboardInterrupt:
        typer.echo("hybridcodec: interrupted", err=True)
        sys.exit(130)
    except ModuleNotFoundError as exc:
        if os.environ.get("HYBRIDCODEC_DEBUG") or exc.name != "torch":
            raise
        typer.echo("hybridcodec: error: this needs torch (training, distillation, adaptation, "
                   "models without an ONNX export): pip install 'hybridcodec[train]'", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        if os.environ.get("HYBRIDCODEC_DEBUG"):
            raise
        msg = one_line(exc) if isinstance(exc, HybridCodecError) else \
            f"internal error ({type(exc).__name__}): {one_line(exc)}"
        typer.echo(f"hybridcodec: error: {cli_terms(msg)}", err=True)
        sys.exit(2)
