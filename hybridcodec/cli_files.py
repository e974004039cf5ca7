"""File handling of the command line: one input or many (files, folders, globs), and the batch
runs with their progress bar and one line per file."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import typer

from .errors import HybridCodecError

__all__ = ["expand_inputs", "single", "run_batch", "about", "status", "batch_only",
           "CLUSTER_HELP", "RESUME_HELP"]

CLUSTER_HELP = ("Run the batch on a Dask cluster: a scheduler address (tcp://host:8786), or "
                "local / local:N for N worker processes on this machine (needs "
                "'hybridcodec[cluster]').")
RESUME_HELP = ("Skip outputs that the folder's manifest (hybridcodec-manifest.jsonl) shows "
               "complete; re-code the rest.")


class status:
    """A one-line live status on a terminal for a single long file (tile progress of the
    networks, the rate search), with the elapsed time; nothing when stderr is not a terminal or
    when ``verbose`` lines are printed instead. Use as ``with status(verbose) as say:`` and pass
    ``say`` as the library's ``progress``."""

    def __init__(self, verbose: bool, label: str = "") -> None:
        self.verbose, self.label, self.bar = verbose, label, None

    def __enter__(self):
        if self.verbose:
            return lambda s: typer.echo(s, err=True)
        if not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        self.bar = tqdm(total=None, file=sys.stderr, bar_format="{desc} [{elapsed}]",
                        desc=self.label, leave=False)
        return lambda s: (self.bar.set_description_str(f"{self.label} {s}".strip()),
                          self.bar.refresh())

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def about(name: str, message: str) -> str:
    """``name: message``, unless the message names it already (no "x: cannot read x")."""
    return message if name in message else f"{name}: {message}"


#: API arguments that library messages name (``name=value``), and the options the command line
#: has for them (issue 24: the library names its arguments, the CLI its own options)
_FLAGS = {"base": "--base", "container": "--container", "quality": "--quality", "bpp": "--bpp",
          "size": "--size", "mode": "--mode", "profile": "--profile", "model": "--model",
          "subsampling": "--subsampling", "jpeg_encoder": "--jpeg-encoder",
          "max_pixels": "--max-pixels", "force": "--force", "strict": "--strict",
          "out": "--out", "init": "--init", "rec_arch": "--rec-arch", "device": "--device"}
_ARG = re.compile(r"\b(" + "|".join(_FLAGS) + r")=('[^']*'|[\w.:/-]+)")


def cli_terms(message: str) -> str:
    """A library message in the command line's terms: ``max_pixels=None`` becomes
    ``--max-pixels 0``, ``force=True`` ``--force``, ``base='jpeg'`` ``--base jpeg``."""
    def flag(m: re.Match) -> str:
        name, value = m.group(1), m.group(2).strip("'")
        if value == "True":
            return _FLAGS[name]
        if value == "None" and name == "max_pixels":
            value = "0"
        return f"{_FLAGS[name]} {value}"

    return _ARG.sub(flag, message)


def expand_inputs(inputs: list[str], exts: tuple[str, ...] | None = None) -> list[str]:
    import glob

    from .imageio import IMAGE_EXTS

    from . import storage

    exts = exts or IMAGE_EXTS
    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if storage.is_url(item):  # s3://bucket/photos/, gs://b/*.jpg, ...
            out += storage.expand(item, exts)
        elif item == "-" or p.is_file():
            out.append(item)
        elif p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in exts)
        elif glob.has_magic(item):
            out += sorted(glob.glob(item))
        else:
            out.append(item)  # reported as unreadable below
    return out


def single(inputs: list[str], output: str | None) -> tuple[str, str] | None:
    """(input, output) of a one-file command, or None for a batch (several inputs, a folder or
    a glob, with -o naming the output folder)."""
    import glob

    if output is None:
        if len(inputs) == 2:
            return inputs[0], inputs[1]
        raise HybridCodecError("give the output as a second argument (one input) or with -o "
                               "(a folder for several inputs)")
    from .storage import is_url

    one = inputs[0]
    if is_url(output) or any(is_url(i) for i in inputs):
        return None  # remote files are batches: -o names the output folder
    if len(inputs) == 1 and not Path(one).is_dir() and not glob.has_magic(one) and \
            not Path(output).is_dir():
        return one, output
    return None


def batch_only(one: tuple[str, str] | None, cluster: str | None, resume: bool) -> None:
    """``--cluster`` and ``--resume`` are options of batches (``one`` is None)."""
    if one is not None and (cluster or resume):
        raise HybridCodecError("--cluster and --resume are for batches: several inputs, a "
                               "folder or a glob, with -o naming the output folder")


def run_batch(kind: str, inputs: list[str], output: str | None, suffix: str, jobs: int,
              force: bool, options: Any, cluster: str | None = None,
              resume: bool = False) -> None:
    """Several files into the folder ``output``: one line per file, a progress bar, the rest
    still written when one fails (exit code 2 then), a summary line at the end; on a Dask
    ``cluster`` if given, skipping what the manifest shows done with ``resume``."""
    if cluster and jobs:
        raise HybridCodecError("--jobs and --cluster are exclusive (a cluster has its workers)")
    if not output:
        raise HybridCodecError("several inputs need an output folder (-o)")
    from tqdm import tqdm

    from . import batch

    from .standard import EXTENSIONS

    exts = {"decompress": tuple(EXTENSIONS), "enhance": (".jpg", ".jpeg", ".jpe", ".jfif")}
    files = expand_inputs(inputs, exts.get(kind))
    if not files:
        raise HybridCodecError("no input files")
    if "-" in files:
        raise HybridCodecError("- (stdin) cannot be one of several inputs")
    plan = batch.plan_outputs(files, output, suffix)
    run = {"compress": batch.compress_files, "decompress": batch.decompress_files,
           "enhance": batch.enhance_files}[kind]
    with tqdm(total=len(plan), unit="img", file=sys.stderr,
              disable=len(plan) < 2 or not sys.stderr.isatty()) as bar:
        def report(r: batch.FileResult) -> None:
            bar.write(r.line if r.ok else
                      f"hybridcodec: error: {cli_terms(about(r.job.source, r.line))}",
                      file=sys.stderr)
            bar.update(1)

        kw = options if isinstance(options, dict) else {"options": options}  # EncodeOptions
        results = run(plan, jobs=jobs or None, force=force, on_result=report, cluster=cluster,
                      resume=resume, **kw)
    typer.echo(f"hybridcodec: {batch.summarize(results)}", err=True)
    failed = sum(not r.ok for r in results)
    if failed:
        typer.echo(f"hybridcodec: {failed} of {len(results)} files failed", err=True)
        raise typer.Exit(2)
