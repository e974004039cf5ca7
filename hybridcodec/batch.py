"""Batches on every core (issue 14): many images encoded or decoded by a pool of processes.

Each job runs in its own worker process (``spawn``: nothing of the caller's state is inherited),
with one compute thread, so that ``jobs`` workers keep ``jobs`` cores busy without
oversubscribing them. ``jobs=1`` runs in the calling process; ``cluster=`` runs the same work on a
Dask cluster instead (:mod:`hybridcodec.cluster`, issue 26). A failing item never stops the
others: the library functions return or raise per item, the file functions report one line per
file and write nothing for a file that failed (outputs go through a temporary file and a rename).
The file functions keep a manifest beside the outputs (:mod:`hybridcodec.manifest`), and with
``resume=True`` skip the outputs it shows complete.

    >>> from hybridcodec.batch import encode_many
    >>> files = encode_many([img1, img2], base="jpeg", quality=40, jobs=2)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HybridCodecError, HybridCodecWarning, one_line
from .tasks import call_item, default_jobs, one_thread

if TYPE_CHECKING:
    from .options import EncodeOptions

__all__ = ["default_jobs", "map_jobs", "encode_many", "decode_many", "enhance_many",
           "enhance_files", "FileJob",
           "FileResult", "compress_files", "decompress_files", "summarize"]


def _init_worker() -> None:
    one_thread()


def map_jobs(fn: Callable, items: Sequence, *, jobs: int | None = None, cluster: Any = None,
             **kwargs: Any) -> Iterator[tuple[int, bool, Any]]:
    """Run ``fn(item, **kwargs)`` for every item on ``jobs`` worker processes (default: every
    core; 1: in this process), or on a Dask ``cluster`` (an address, ``local[:N]`` or a
    ``Client``: :func:`hybridcodec.cluster.map_cluster`). Yields ``(index, ok, value or error
    message)`` as items finish, in completion order. ``fn`` must be a module-level function (it
    is pickled)."""
    if cluster is not None:
        if jobs:
            raise HybridCodecError("jobs= and cluster= are exclusive (a cluster has its workers)")
        from .cluster import map_cluster

        yield from map_cluster(fn, items, cluster=cluster, **kwargs)
        return
    n = default_jobs() if not jobs else int(jobs)
    if n < 1:
        raise HybridCodecError(f"jobs must be at least 1, got {jobs}")
    n = min(n, len(items))
    if n <= 1:
        for i, item in enumerate(items):
            yield (i, *call_item(fn, item, kwargs))
        return
    import multiprocessing

    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker) as pool:
        pending: dict[Future, int] = {pool.submit(call_item, fn, item, kwargs): i
                                      for i, item in enumerate(items)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    ok, value = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker that died (killed, out of memory)
                    ok, value = False, f"worker failed ({type(exc).__name__}): {one_line(exc)}"
                yield i, ok, value


def _collect(results: Iterator[tuple[int, bool, Any]], n: int, errors: str) -> list:
    if errors not in ("raise", "return"):
        raise HybridCodecError(f"errors must be raise or return, got {errors!r}")
    out: list = [None] * n
    for i, ok, value in results:
        out[i] = value if ok else HybridCodecError(f"item {i}: {value}")
    if errors == "raise":
        for v in out:
            if isinstance(v, HybridCodecError):
                raise v
    return out


def _encode(image, *, options):
    from .codec import encode

    return encode(image, options=options)


def _decode(data, **options):
    from .codec import decode

    return decode(data, **options)


def encode_many(images: Sequence, /, *, jobs: int | None = None, cluster: Any = None,
                errors: str = "raise", **options: Any) -> list:
    """:func:`hybridcodec.encode` of every image (uint8 arrays) with the same keyword options,
    on ``jobs`` processes (default: every core). Returns the ``.hyc`` bytes in input order; with
    ``errors="return"`` a failed image gives a :class:`HybridCodecError` in its place instead of
    raising the first failure once all have run. The options are checked once, before any
    worker starts (:class:`~hybridcodec.options.EncodeOptions`; ``options=`` takes one).
    ``cluster``: run on a Dask cluster instead (see :func:`map_jobs`)."""
    from .options import EncodeOptions

    opts = EncodeOptions.of(options.pop("options", None), options)
    return _collect(map_jobs(_encode, images, jobs=jobs, cluster=cluster, options=opts),
                    len(images), errors)


def decode_many(files: Sequence[bytes], /, *, jobs: int | None = None, cluster: Any = None,
                errors: str = "raise", **options: Any) -> list:
    """:func:`hybridcodec.decode` of every ``.hyc`` file's bytes, on ``jobs`` processes (default:
    every core) or a Dask ``cluster``; uint8 arrays in input order (``errors`` as in
    :func:`encode_many`)."""
    return _collect(map_jobs(_decode, files, jobs=jobs, cluster=cluster, **options), len(files),
                    errors)


def _enhance(data, **options):
    from .enhance import enhance_jpeg

    return enhance_jpeg(data, **options)


def enhance_many(files: Sequence[bytes], /, *, jobs: int | None = None, cluster: Any = None,
                 errors: str = "raise", **options: Any) -> list:
    """:func:`hybridcodec.enhance_jpeg` of every JPEG file's bytes, on ``jobs`` processes
    (default: every core) or a Dask ``cluster``; uint8 arrays in input order (``errors`` as in
    :func:`encode_many`)."""
    return _collect(map_jobs(_enhance, files, jobs=jobs, cluster=cluster, **options),
                    len(files), errors)


@dataclass(frozen=True)
class FileJob:
    """One file to convert: ``source`` (a path) to ``dest`` (a path). ``replace``: ``dest`` may
    be replaced (the manifest shows it is this batch's own earlier output)."""

    source: str
    dest: str
    replace: bool = False


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: ``ok``, the one-line report or error, and its manifest line
    (:mod:`hybridcodec.manifest`; ``skipped`` when ``resume`` found it done)."""

    job: FileJob
    ok: bool
    line: str
    record: dict = field(default_factory=dict)
    skipped: bool = False


def plan_outputs(sources: Sequence[str], output: str, suffix: str) -> list[FileJob]:
    """Output paths for several inputs written into the folder ``output`` (created if missing;
    a path or an fsspec URL): ``<output>/<input stem><suffix>``. Two inputs with the same stem
    are an error, raised before anything is written, as is an output that would replace its own
    input."""
    from . import storage

    try:
        storage.make_folder(output)
    except OSError as exc:
        raise HybridCodecError(f"cannot create the output folder {output}: {exc.strerror}") from None
    jobs: list[FileJob] = []
    seen: dict[str, str] = {}
    for s in sources:
        dest = storage.join(output, Path(storage.name_of(str(s))).stem + suffix)
        key = dest if storage.is_url(dest) else str(Path(dest).resolve())
        if key in seen:
            raise HybridCodecError(f"{s} and {seen[key]} would both be written to {dest}")
        if (str(s) == dest) if storage.is_url(dest) else \
                (not storage.is_url(str(s)) and Path(s).resolve() == Path(dest).resolve()):
            raise HybridCodecError(f"output {dest} is the input; refusing to overwrite it")
        seen[key] = s
        jobs.append(FileJob(str(s), dest))
    return jobs


def _record(kind: str, job: FileJob, t0: float, **facts: Any) -> dict:
    """The manifest line of a finished file (:mod:`hybridcodec.manifest`), made where it was
    coded: the input and output sizes and hashes, what was chosen, the seconds."""
    from . import storage

    return {"kind": kind, "input": job.source, "input_bytes": storage.size(job.source),
            "input_sha256": storage.sha256(job.source), "output": job.dest,
            "bytes": storage.size(job.dest), "output_sha256": storage.sha256(job.dest),
            **facts, "seconds": round(time.perf_counter() - t0, 3)}


def _compress_file(job: FileJob, *, force: bool, options: EncodeOptions) -> tuple[str, dict]:
    from . import storage
    from .codec import encode_ex
    from .imageio import read_image_meta

    t0 = time.perf_counter()
    image, meta = read_image_meta(storage.read_bytes(job.source) if storage.is_url(job.source)
                                  else job.source, name=job.source,
                                  max_pixels=options.max_pixels)
    res = encode_ex(image, options=options, metadata=meta)
    storage.write_bytes(job.dest, res.data, force=force or job.replace)
    line = (f"{job.source} -> {job.dest}: {len(res.data)} bytes, {res.bpp:.4f} bpp, "
            f"quality {res.quality:g}, {res.mode} mode ({time.perf_counter() - t0:.2f} s)")
    return line, _record("compress", job, t0, quality=res.quality, mode=res.mode,
                         model=res.model, bpp=round(res.bpp, 6),
                         pixels=int(image.shape[0] * image.shape[1]))


def _decoded(job: FileJob, decode_fn: Callable[[bytes], Any]) -> tuple[Any, str]:
    """``decode_fn`` of the job's bytes, and its warnings as ``; warning: ...`` notes (the C
    decoders' stderr lines among them, captured in worker processes)."""
    from . import storage
    from .chatter import summary

    data = storage.read_bytes(job.source)
    with _worker_chatter() as said, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HybridCodecWarning)
        out = decode_fn(data)
    notes = [str(w.message) for w in caught] + ([summary(said)] if said else [])
    return out, "".join(f"; warning: {n}" for n in notes)


def _decompress_file(job: FileJob, *, force: bool, options: dict) -> tuple[str, dict]:
    from . import storage
    from .codec import decode
    from .imageio import image_file_bytes

    t0 = time.perf_counter()
    image, notes = _decoded(job, lambda data: decode(data, **options))
    storage.write_bytes(job.dest, image_file_bytes(job.dest, image), force=force or job.replace)
    line = (f"{job.source} -> {job.dest}: {image.shape[1]}x{image.shape[0]} "
            f"({time.perf_counter() - t0:.2f} s){notes}")
    return line, _record("decompress", job, t0, pixels=int(image.shape[0] * image.shape[1]))


def _worker_chatter():
    """The C decoders' stderr, captured in a batch worker process (one file at a time there);
    nothing in the calling process, whose other threads may be decoding too."""
    import contextlib
    import multiprocessing

    from .chatter import captured

    return captured() if multiprocessing.parent_process() is not None else \
        contextlib.nullcontext([])


def _enhance_file(job: FileJob, *, force: bool, options: dict) -> tuple[str, dict]:
    from . import storage
    from .enhance import enhance_jpeg_ex
    from .imageio import image_file_bytes

    t0 = time.perf_counter()
    res, notes = _decoded(job, lambda data: enhance_jpeg_ex(data, **options))
    storage.write_bytes(job.dest, image_file_bytes(job.dest, res.image,
                                                   icc_profile=res.icc_profile),
                        force=force or job.replace)
    line = (f"{job.source} -> {job.dest}: quality {res.quality:g}, model {res.model} "
            f"({time.perf_counter() - t0:.2f} s){notes}")
    return line, _record("enhance", job, t0, quality=res.quality, model=res.model,
                         pixels=int(res.image.shape[0] * res.image.shape[1]))


def _run_files(kind: str, fn: Callable, jobs_: Sequence[FileJob], jobs: int | None,
               force: bool, options: Any, on_result: Callable[[FileResult], None] | None,
               cluster: Any, resume: bool) -> list[FileResult]:
    """Every job through ``fn`` (locally or on a cluster), its manifest line appended in the
    output's folder as it finishes; with ``resume``, jobs the manifest shows done are skipped
    and this batch's own earlier outputs may be replaced."""
    from . import storage
    from .manifest import Manifest, options_fingerprint

    fingerprint = options_fingerprint(kind, options)
    manifests: dict[str, Manifest] = {}

    def manifest(job: FileJob) -> Manifest:
        folder = job.dest.rsplit("/", 1)[0] if storage.is_url(job.dest) else \
            str(Path(job.dest).parent)
        if folder not in manifests:
            manifests[folder] = Manifest.open(folder, fingerprint)
        return manifests[folder]

    results: list[FileResult | None] = [None] * len(jobs_)
    todo: list[int] = []
    for i, job in enumerate(jobs_):
        m = manifest(job)
        if resume and m.done(job.source, job.dest):
            results[i] = r = FileResult(job, True, f"{job.source} -> {job.dest}: done already "
                                        "(manifest)", m.entries[job.source], skipped=True)
            if on_result:
                on_result(r)
            continue
        if resume and m.entries.get(job.source, {}).get("output") == job.dest:
            job = replace(job, replace=True)  # this batch's own output, not a user's file
        elif not force and storage.is_file(job.dest):
            results[i] = r = FileResult(job, False, f"{job.dest} exists; use force=True to "
                                                    "overwrite")
            if on_result:
                on_result(r)
            continue
        elif not storage.exists(job.dest):
            # checked here, before any worker runs: a task run again (its worker died after
            # writing) replaces what its first run wrote
            job = replace(job, replace=True)
        todo.append(i)
        results[i] = FileResult(job, False, "not run")
    run = [results[i].job for i in todo]  # type: ignore[union-attr]
    try:
        for k, ok, value in map_jobs(fn, run, jobs=jobs, cluster=cluster, force=force,
                                     options=options):
            job = run[k]
            if ok:
                line, record = value
            else:
                line, record = value, {"kind": kind, "input": job.source, "output": job.dest,
                                       "error": value}
            manifest(job).append(record)
            results[todo[k]] = r = FileResult(job, ok, line, record)
            if on_result:
                on_result(r)
    finally:
        for m in manifests.values():
            m.flush()  # a remote manifest is written in batches
    if cluster is not None:  # a worker killed mid-write leaves its hidden temporary file
        from .imageio import remove_stale_temps

        for done in results:
            if done is not None and done.ok and not done.skipped \
                    and not storage.is_url(done.job.dest):
                remove_stale_temps(done.job.dest)
    return [r for r in results if r is not None]  # every job answers (map_jobs)


def summarize(results: Sequence[FileResult]) -> str:
    """The end-of-batch line: files, bytes in and out, mean bpp, failures."""
    from .manifest import BatchSummary

    total = BatchSummary()
    for r in results:
        total.add(r.record if r.ok else {"error": r.line})
        total.skipped += r.skipped
    return total.line()


def compress_files(jobs_: Sequence[FileJob], /, *, jobs: int | None = None, force: bool = False,
                   on_result: Callable[[FileResult], None] | None = None, cluster: Any = None,
                   resume: bool = False, **options: Any) -> list[FileResult]:
    """Compress each ``FileJob`` (image file to ``.hyc``) with :func:`hybridcodec.codec.encode_ex`
    options (an :class:`~hybridcodec.options.EncodeOptions` as ``options=``, or its fields),
    checked once, on ``jobs`` processes or a Dask ``cluster``; ``on_result`` is called as each
    file finishes; ``resume`` skips the outputs the folder's manifest shows complete."""
    from .options import EncodeOptions

    opts = EncodeOptions.of(options.pop("options", None), options)
    return _run_files("compress", _compress_file, jobs_, jobs, force, opts, on_result, cluster,
                      resume)


def decompress_files(jobs_: Sequence[FileJob], /, *, jobs: int | None = None, force: bool = False,
                     on_result: Callable[[FileResult], None] | None = None, cluster: Any = None,
                     resume: bool = False, **options: Any) -> list[FileResult]:
    """Decompress each ``FileJob`` (``.hyc`` to an image file, format from its extension) with
    :func:`hybridcodec.decode` options, on ``jobs`` processes or a Dask ``cluster``."""
    return _run_files("decompress", _decompress_file, jobs_, jobs, force, options, on_result,
                      cluster, resume)


def enhance_files(jobs_: Sequence[FileJob], /, *, jobs: int | None = None, force: bool = False,
                  on_result: Callable[[FileResult], None] | None = None, cluster: Any = None,
                  resume: bool = False, **options: Any) -> list[FileResult]:
    """Enhance each ``FileJob`` (a JPEG to an image file, format from its extension) with
    :func:`hybridcodec.enhance.enhance_jpeg_ex` options, on ``jobs`` processes or a Dask
    ``cluster``."""
    return _run_files("enhance", _enhance_file, jobs_, jobs, force, options, on_result, cluster,
                      resume)
