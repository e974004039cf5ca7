"""Rate-distortion benchmark: hybrids, naive half-resolution baselines and plain base codecs,
all measured in one run with one protocol (a fixed-quality sweep, one setting for all images),
plus the JPEG enhancement table (issue 4).

Series: the classical peers of ``benchpeers`` (``jpeg`` = libjpeg-turbo, jpegli, mozjpeg, jpegli's
decoder, ``jpeg2000`` = OpenJPEG), ``naive-<base>`` (area down, code, bicubic up: the
compact mode's classical baseline), ``hybrid-<base>`` (compact mode, ComCNN/RecCNN),
``auto-<base>`` (``--mode auto`` at the quality: the full-resolution file at that quality sets
the size, the better of the two modes at that size is kept) and ``full-<base>`` (the
full-resolution candidate of the same run, i.e. ``--mode full``, timed at the middle quality) and
``fast-<base>`` (compact mode with the distilled fast decoder, where one is installed). The auto
and full series use the default profile (``fast``: the distilled students, issue 5); where
students are installed, ``auto-best-<base>`` and ``full-best-<base>`` give the same decisions made
with the best profile's networks on the same codestreams (see :func:`_measure_auto`).

PSNR is RGB over the whole image, bpp comes from the real file length (the whole ``.hyc`` file
for hybrids and baselines, the codestream for plain codecs), and every figure is the mean over
images. The hybrids use the default JPEG encoder (jpegli); each JPEG hybrid gets BD-rates against
every JPEG peer. Writes ``<out>/bench_<folder>.csv`` (RD points), ``..._summary.csv`` (BD-rates and costs),
``.md`` (the printed report) and ``.png`` (RD plot).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import codec
from .basecodecs import get_base
from .encoder import Encoder
from .benchpeers import JPEG_PEERS, PLAIN, enhancement_lines, enhancement_table, measure_plain
from .errors import HybridCodecError
from .imageio import list_images, read_image
from .metrics import bd_psnr, bd_rate, psnr, psnr_at_rate
from .models import BASELINE, BASELINE_FULL, default_model_name, get_model
from .netconfig import macs_per_pixel

__all__ = ["run_benchmark", "SWEEPS", "Series"]

#: fixed quality settings per codec family (base codec scale)
SWEEPS = {
    "plain-jpeg": [3, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90],
    "plain-jpeg2000": [22, 24, 26, 28, 30, 32, 34, 36, 38, 40],
    "auto-jpeg": [3, 5, 10, 20, 40, 60, 80, 90],
    "auto-jpeg2000": [22, 25, 28, 31, 34, 37],
    "half-jpeg": [5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "half-jpeg2000": [20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44],
}
QUICK = {k: v[:: max(1, len(v) // 4)] for k, v in SWEEPS.items()}
#: bpp windows of the issue's targets (points outside are dropped before the BD fit)
WINDOWS = {"jpeg": (0.1, 1.0), "jpeg2000": (0.05, 0.4)}
WINDOWS_AUTO = {"jpeg": (0.1, 1.5), "jpeg2000": (0.05, 1.0)}


@dataclass
class Series:
    """One codec's RD curve: per quality setting, mean bpp / PSNR / seconds over images."""

    name: str
    base: str
    qualities: Sequence[float]
    bpp: dict[float, list[float]] = field(default_factory=dict)
    psnr: dict[float, list[float]] = field(default_factory=dict)
    enc_s: dict[float, list[float]] = field(default_factory=dict)
    dec_s: dict[float, list[float]] = field(default_factory=dict)
    extra: dict[float, list] = field(default_factory=dict)

    def add(self, q: float, bpp: float, p: float, enc: float, dec: float) -> None:
        for d, v in ((self.bpp, bpp), (self.psnr, p), (self.enc_s, enc), (self.dec_s, dec)):
            d.setdefault(q, []).append(v)

    def curve(self) -> tuple[list[float], list[float]]:
        qs = sorted(self.bpp)
        return [float(np.mean(self.bpp[q])) for q in qs], [float(np.mean(self.psnr[q])) for q in qs]

    def mean_seconds(self) -> tuple[float, float]:
        enc = [v for vs in self.enc_s.values() for v in vs]
        dec = [v for vs in self.dec_s.values() for v in vs]
        with np.errstate(all="ignore"):
            if np.all(np.isnan(enc)):
                return math.nan, math.nan
            return float(np.nanmean(enc)), float(np.nanmean(dec))  # over the timed points


#: the standard file of each base for ``--container standard`` (``standard.py``)
STANDARD = {"jpeg": "jpeg", "jpeg2000": "j2k"}


def _measure_hybrid(series: Series, image: np.ndarray, model: str, container: str = "hyc",
                    ) -> None:
    pixels = image.shape[0] * image.shape[1]
    for q in series.qualities:
        t0 = time.perf_counter()
        data = codec.encode(image, base=series.base, quality=q, model=model, container=container)
        t1 = time.perf_counter()
        out = codec.decode(data)
        t2 = time.perf_counter()
        series.add(q, 8 * len(data) / pixels, psnr(image, out), t1 - t0, t2 - t1)


def _measure_auto(auto: Series, full: Series, image: np.ndarray,
                  best: tuple[Series, Series] | None = None, container: str = "hyc") -> None:
    """``--mode auto`` with the default (fast) profile, its full-resolution candidate, and, with
    ``best``, the same decision made with the best profile's networks: the students keep their
    teachers' ComCNN, so both profiles code the very same codestreams at the same qualities and
    only the decoder (and the choice it leads to) differs."""
    pixels = image.shape[0] * image.shape[1]
    b = auto.base
    mid = auto.qualities[len(auto.qualities) // 2]  # --mode full is timed at one quality
    base = get_base(b, None)  # the default encoder, as encode() uses
    enc_ff = Encoder(image, base, get_model(default_model_name(b, "full", "fast")), "420")
    if best:
        enc_c = Encoder(image, base, get_model(default_model_name(b)), "420")
        enc_f = Encoder(image, base, get_model(default_model_name(b, "full")), "420")
    for q in auto.qualities:
        t0 = time.perf_counter()
        res = codec.encode_ex(image, base=b, quality=q, mode="auto", container=container)
        t1 = time.perf_counter()
        out = codec.decode(res.data)
        t2 = time.perf_counter()
        auto.add(q, 8 * len(res.data) / pixels, psnr(image, out), t1 - t0, t2 - t1)
        d = res.decision["mode"]
        auto.extra.setdefault(q, []).append(d["chosen"])
        f = d.get("full") or {  # the full-resolution candidate (measured here if auto's
            "quality": q, "bytes": len(enc_ff.file_at(q)),  # estimate left it out)
            "psnr": enc_ff.psnr(q)}
        full.add(q, 8 * f["bytes"] / pixels, f["psnr"],
                 *(_time_full(image, b, q, "fast") if q == mid else (math.nan, math.nan)))
        if not best:
            continue
        auto_best, full_best = best
        cands = {"full": (len(enc_f.file_at(f["quality"])),
                          enc_f.psnr(f["quality"]))}
        if "compact" in d:
            qc = d["compact"]["quality"]
            cands["compact"] = (len(enc_c.file_at(qc)), enc_c.psnr(qc))
        for plain in ("full-plain", "full-plain-jpegli"):
            if plain in d:
                cands[plain] = (d[plain]["bytes"], d[plain]["psnr"])
        choice = max(cands, key=lambda m: cands[m][1])
        auto_best.add(q, 8 * cands[choice][0] / pixels, cands[choice][1], math.nan, math.nan)
        auto_best.extra.setdefault(q, []).append(choice)
        full_best.add(q, 8 * cands["full"][0] / pixels, cands["full"][1],
                      *(_time_full(image, b, q, "best") if q == mid else (math.nan, math.nan)))


def _time_full(image: np.ndarray, base: str, q: float, profile: str) -> tuple[float, float]:
    """Encode and decode seconds of ``--mode full`` with the profile's network."""
    t0 = time.perf_counter()
    data = codec.encode(image, base=base, quality=q, mode="full",
                        model=default_model_name(base, "full", profile))
    t1 = time.perf_counter()
    codec.decode(data)
    return t1 - t0, time.perf_counter() - t1


def _fmt(v: float, spec: str = "+.1f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def run_benchmark(folder: str, *, out_dir: str = "experiments/results", limit: int = 0,
                  quick: bool = False, progress: Callable[[str], None] | None = None,
                  container: str = "hyc", efforts: Sequence[int] = (), effort_images: int = 6,
                  effort_bpp: Sequence[float] | None = None, rd: bool = True) -> str:
    """Run the benchmark on the images in ``folder``; returns the report (Markdown). The auto
    and full series and the enhancement table need the shipped full-resolution models.
    ``efforts``: add the effort section (``bencheffort``) on the first ``effort_images``
    images at the bpp targets ``effort_bpp`` (default ``bencheffort.EFFORT_BPP``), written to
    ``bench_<folder>_effort.{csv,md}``; ``rd=False``: that section only.
    ``container``: ``hyc`` (default) or ``standard``: the hybrid series are written as standard
    files (``.jpg`` for JPEG, ``.j2k`` for JPEG 2000; their bpp counts the whole file)."""
    if container not in ("hyc", "standard"):
        raise HybridCodecError(f"container must be hyc or standard, got {container!r}")

    def cont(base: str) -> str:
        return STANDARD[base] if container == "standard" else "hyc"

    say = progress or (lambda s: None)
    files = list_images(folder)[: limit or None]
    out = Path(out_dir)
    stem = f"bench_{Path(folder).resolve().name}"
    effort_md: list[str] = []
    if efforts:
        from .bencheffort import EFFORT_BPP, effort_lines, effort_table, write_effort

        bpps = tuple(effort_bpp or EFFORT_BPP)
        rows = effort_table(files[:effort_images], efforts, bpps=bpps, progress=say)
        out.mkdir(parents=True, exist_ok=True)
        write_effort(rows, out / f"{stem}_effort.csv")
        effort_md = effort_lines(rows, bpps)
        (out / f"{stem}_effort.md").write_text(
            f"# Encode effort on {Path(folder).name} ({min(effort_images, len(files))} images)\n"
            + "\n".join(effort_md) + "\n")
    if not rd:
        if not efforts:
            raise HybridCodecError("nothing to measure: no RD series and no efforts")
        return "\n".join(effort_md) + "\n"
    sweeps = QUICK if quick else SWEEPS
    series: list[tuple[Series, str | None]] = []
    models: dict[str, str] = {}
    for b in ("jpeg", "jpeg2000"):
        for peer in (JPEG_PEERS if b == "jpeg" else (b,)):
            series.append((Series(peer, b, sweeps[f"plain-{b}"]), None))
        series.append((Series(f"naive-{b}", b, sweeps[f"half-{b}"]), BASELINE))
        name = default_model_name(b)
        if name != BASELINE:
            models[b] = name
            series.append((Series(f"hybrid-{b}", b, sweeps[f"half-{b}"]), name))
        fast = default_model_name(b, "compact", "fast")
        if fast != name:
            models[f"{b}-fast"] = fast
            series.append((Series(f"fast-{b}", b, sweeps[f"half-{b}"]), fast))
        full_name = default_model_name(b, "full")
        full_fast = default_model_name(b, "full", "fast")
        if full_name != BASELINE_FULL:
            models[f"{b}-full"] = full_name
            series.append((Series(f"auto-{b}", b, sweeps[f"auto-{b}"]), "auto"))
            series.append((Series(f"full-{b}", b, sweeps[f"auto-{b}"]), "full"))
            if fast != name or full_fast != full_name:  # the best profile beside the default
                models[f"{b}-full-fast"] = full_fast
                series.append((Series(f"auto-best-{b}", b, sweeps[f"auto-{b}"]), "derived"))
                series.append((Series(f"full-best-{b}", b, sweeps[f"auto-{b}"]), "derived"))
    t_start = time.perf_counter()
    by = {s.name: s for s, _ in series}
    for i, f in enumerate(files):
        image = read_image(f, rgb=True)
        for s, model in series:
            if model is None:
                measure_plain(s, image)
            elif model == "auto":
                best = (by[f"auto-best-{s.base}"], by[f"full-best-{s.base}"]) \
                    if f"auto-best-{s.base}" in by else None
                _measure_auto(s, by[f"full-{s.base}"], image, best, cont(s.base))
            elif model not in ("full", "derived"):
                _measure_hybrid(s, image, model, cont(s.base))
        say(f"[{i + 1}/{len(files)}] {f.name} ({time.perf_counter() - t_start:.0f} s)")
    enhance = enhancement_table(files, say) if "jpeg-full" in models else []
    say(f"done in {time.perf_counter() - t_start:.0f} s")

    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{stem}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["codec", "model", "quality", "bpp", "psnr", "enc_s", "dec_s", "images"])
        for s, model in series:
            for q in sorted(s.bpp):
                w.writerow([s.name, model or "", q, f"{np.mean(s.bpp[q]):.5f}",
                            f"{np.mean(s.psnr[q]):.4f}", f"{np.mean(s.enc_s[q]):.4f}",
                            f"{np.mean(s.dec_s[q]):.4f}", len(s.bpp[q])])

    lines = [f"# RD benchmark on {Path(folder).name} ({len(files)} images, fixed-quality sweeps, "
             "RGB PSNR, bpp of whole files, mean over images)", "",
             "| codec | points | bpp range | PSNR range (dB) | enc s/img | dec s/img |",
             "|---|---|---|---|---|---|"]
    for s, _ in series:
        r, p = s.curve()
        enc, dec = s.mean_seconds()
        lines.append(f"| {s.name} | {len(r)} | {min(r):.3f}-{max(r):.3f} | "
                     f"{min(p):.2f}-{max(p):.2f} | {_fmt(enc, '.3f')} | {_fmt(dec, '.3f')} |")
    lines += ["", "BD-rate (%, negative = fewer bits at equal PSNR; pchip, overlapping PSNR "
              "range; window = points inside the bpp window only):", "",
              "| test | reference | BD-rate (overlap) | BD-rate (window) | window (bpp) | "
              "BD-PSNR (dB) |", "|---|---|---|---|---|---|"]
    summary = []
    for b in ("jpeg", "jpeg2000"):
        peers = JPEG_PEERS if b == "jpeg" else (b,)
        pairs = [(p, b) for p in peers if p != b]
        for test in (f"auto-{b}", f"auto-best-{b}", f"full-{b}", f"full-best-{b}",
                     f"hybrid-{b}", f"fast-{b}", f"naive-{b}"):
            pairs += [(test, p) for p in peers]
        pairs += [(f"hybrid-{b}", f"naive-{b}"), (f"auto-{b}", f"hybrid-{b}"),
                  (f"fast-{b}", f"hybrid-{b}"), (f"full-{b}", f"full-best-{b}"),
                  (f"auto-{b}", f"auto-best-{b}")]
        for test, ref in pairs:
            if test not in by or ref not in by:
                continue
            window = (WINDOWS_AUTO[b] if test[:4] in ("auto", "full") or test in PLAIN
                      else WINDOWS[b])
            rr, pr = by[ref].curve()
            rt, pt = by[test].curve()
            full = bd_rate(rr, pr, rt, pt)
            win = bd_rate(rr, pr, rt, pt, rate_range=window)
            dp = bd_psnr(rr, pr, rt, pt)
            summary.append({"test": test, "reference": ref, "bd_rate_overlap": full,
                            "bd_rate_window": win, "window_bpp": "-".join(map(str, window)),
                            "bd_psnr_db": dp})
            lines.append(f"| {test} | {ref} | {_fmt(full)} | {_fmt(win)} | "
                         f"{window[0]}-{window[1]} | {_fmt(dp, '+.2f')} |")
    best_peer: dict[str, str] = {b: max((p for p in (JPEG_PEERS if b == "jpeg" else (b,)) if p in by),
                   key=lambda p: 0.0 if p == b else bd_psnr(*by[b].curve(), *by[p].curve()))
            for b in ("jpeg", "jpeg2000") if b in by}
    lines += ["", "Where each network wins or loses (PSNR difference at the same bpp, dB; best "
              f"classical = the peer with the highest BD-PSNR in this run: {best_peer.get('jpeg')} "
              "for JPEG):", "",
              "| codec | bpp | PSNR | vs plain base | vs best classical | vs naive |",
              "|---|---|---|---|---|---|"]
    for b in ("jpeg", "jpeg2000"):
        for kind in ("hybrid", "auto", "auto-best"):
            if f"{kind}-{b}" not in by:
                continue
            hy, na, pl, bc = by[f"{kind}-{b}"], by[f"naive-{b}"], by[b], by[best_peer[b]]
            for q, rate, db in zip(sorted(hy.bpp), *hy.curve()):
                dpl = db - psnr_at_rate(*pl.curve(), rate)
                dbc = db - psnr_at_rate(*bc.curve(), rate)
                dna = db - psnr_at_rate(*na.curve(), rate)
                share = ""
                if hy.extra:
                    c = hy.extra[q]
                    share = (f" (full+net {100 * c.count('full') / len(c):.0f}%, full plain "
                             f"{100 * c.count('full-plain') / len(c):.0f}%, full jpegli-dec "
                             f"{100 * c.count('full-plain-jpegli') / len(c):.0f}%)")
                lines.append(f"| {kind}-{b}{share} | {rate:.3f} | {db:.2f} | {_fmt(dpl, '+.2f')} | "
                             f"{_fmt(dbc, '+.2f')} | {_fmt(dna, '+.2f')} |")
    if enhance:
        lines += enhancement_lines(enhance, models["jpeg-full"])
        with open(out / f"{stem}_enhance.csv", "w", newline="") as fh:
            ew = csv.DictWriter(fh, fieldnames=list(enhance[0]))
            ew.writeheader()
            ew.writerows(enhance)
    lines += ["", "Networks (multiply-accumulates per full-resolution pixel; decode = base "
              "decode + network, seconds per image in this run, beside the plain decoders):", "",
              "| model | role | parameters | ComCNN MAC/px | RecCNN MAC/px | decode s/img |",
              "|---|---|---|---|---|---|"]
    for name in PLAIN:
        if name in by:
            lines.append(f"| {name} (plain) | base codec | - | - | - | "
                         f"{_fmt(by[name].mean_seconds()[1], '.4f')} |")
    full_best = "full-best" if any(k.endswith("-full-fast") for k in models) else "full"
    series_of = {"": "hybrid", "-fast": "fast", "-full": full_best, "-full-fast": "full"}
    for key, name in models.items():
        b, _, kind = key.partition("-")
        m = get_model(name)
        macs = macs_per_pixel(m.net.config)
        params = sum(p.numel() for p in m.net.parameters())
        srs = by.get(f"{series_of[('-' + kind) if kind else '']}-{b}")
        dec = srs.mean_seconds()[1] if srs else math.nan
        lines.append(f"| {name} | {b} {kind or 'compact'} | {params} | {macs['comcnn']:.0f} | "
                     f"{macs['reccnn']:.0f} | {_fmt(dec, '.3f')} |")
    report = "\n".join(lines + effort_md) + "\n"
    with open(out / f"{stem}_summary.csv", "w", newline="") as fh:
        if summary:
            sw = csv.DictWriter(fh, fieldnames=list(summary[0]))
            sw.writeheader()
            sw.writerows(summary)
    (out / f"{stem}.md").write_text(report)
    _plot(series, out / f"{stem}.png", Path(folder).name)
    return report


def _plot(series: list[tuple[Series, str | None]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, b in zip(axes, ("jpeg", "jpeg2000")):
        for s, _ in series:
            if s.base != b:
                continue
            r, p = s.curve()
            style = {"hybrid": "-o", "auto": "-D", "full": "-.v", "naive": "--s"}.get(
                s.name.split("-")[0], ":^" if s.name in PLAIN else ":x")
            ax.plot(r, p, style, ms=4, label=s.name)
        ax.set_xscale("log")
        ax.set_xlabel("bpp (whole file)")
        ax.set_ylabel("RGB PSNR (dB)")
        ax.set_title(f"{title}: base {b}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check_models_installed() -> None:
    """Raise if a shipped default model is listed but cannot be loaded."""
    for b in ("jpeg", "jpeg2000"):
        name = default_model_name(b)
        if name != BASELINE:
            try:
                get_model(name)
            except HybridCodecError as exc:
                raise HybridCodecError(f"default model for {b}: {exc}") from exc
