"""What the encoder decided for one image and why, as typed records (issue 24): the codec mode
(``modes.choose_mode``), the full-resolution decoder (``modes.choose_decoder``), the refined
compact image's keep-or-drop (``refinement.refine_and_decide``, Jiang et al. 2017) and the
weight-update's (``ratecontrol.adapt_and_decide``, Lam & Zare 2019).

:class:`EncodeDecision` gathers them; ``as_dict()`` gives the JSON the CLI prints with ``-v`` and
``EncodeResult.decision`` (the adaptation figures at the top level, ``mode`` and ``decoder``
nested), unchanged from when these were free-form dicts. Sizes in bytes, PSNR in dB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Figures", "AdaptDecision", "RefineDecision", "ModeDecision", "DecoderDecision",
           "EncodeDecision"]


@dataclass(frozen=True)
class Figures:
    """One candidate encoding: its quality (the base codec's scale), file bytes and PSNR."""

    quality: float | None
    bytes: int
    psnr: float

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.quality is None else {"quality": self.quality}
        out.update(bytes=self.bytes, psnr=self.psnr)
        return out


@dataclass(frozen=True)
class AdaptDecision:
    """The weight-update: kept or not, by which ``rule`` (``D + lambda*R`` at a quality,
    ``equal size, better PSNR`` under a size target), the file without and with it."""

    kept: bool
    rule: str | None
    without: Figures | None = None
    with_update: Figures | None = None
    lambda_sse_per_bit: float | None = None  # the base codec's local -dD/dR at the quality
    update: dict | None = None  # weightcoding's statistics of the coded update
    reason: str | None = None  # why there is no update to weigh

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kept": self.kept}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.rule is not None:
            out["rule"] = self.rule
        if self.lambda_sse_per_bit is not None:
            out["lambda_sse_per_bit"] = self.lambda_sse_per_bit
        if self.without is not None:
            out["without"] = self.without.as_dict()
        if self.update is not None:
            out["update"] = self.update
        if self.with_update is not None:
            out["with"] = self.with_update.as_dict()
        return out

    def summary(self) -> str:
        """One line for the progress callback."""
        w, a = self.without, self.with_update
        if w is None or a is None:
            return f"update dropped: {self.reason}"
        return (f"update {'kept' if self.kept else 'dropped'} ({self.rule}): without "
                f"q{w.quality:g} {w.bytes} B {w.psnr:.3f} dB; with q{a.quality:g} {a.bytes} B "
                f"{a.psnr:.3f} dB")


@dataclass(frozen=True)
class RefineDecision:
    """The compact image refined for this image at encode time: kept or not, by which ``rule``
    (as :class:`AdaptDecision`'s), the file with ComCNN's compact image and with the refined
    one, the Adam ``steps`` and the ``seconds`` they took."""

    kept: bool
    rule: str
    without: Figures
    refined: Figures
    steps: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "rule": self.rule, "without": self.without.as_dict(),
                "refined": self.refined.as_dict(), "steps": self.steps,
                "seconds": round(self.seconds, 2)}

    def summary(self) -> str:
        """One line for the progress callback."""
        w, r = self.without, self.refined
        return (f"refined compact image {'kept' if self.kept else 'dropped'} ({self.rule}): "
                f"{w.bytes} B {w.psnr:.3f} dB -> {r.bytes} B {r.psnr:.3f} dB, {self.steps} steps "
                f"in {self.seconds:.1f} s")


@dataclass(frozen=True)
class ModeDecision:
    """Auto mode: each candidate (``compact``, ``full``, ``full-plain``, ...) at the same
    ``target_bytes``, the ``chosen`` one, and the cheap estimate that may have left one out."""

    target_bytes: int
    candidates: dict[str, Figures]
    chosen: str
    estimate: dict | None = None  # naive_compact_psnr, plain_full_lead_db, skipped
    rule: str = "equal size, better PSNR"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "target_bytes": self.target_bytes}
        if self.estimate is not None:
            out["estimate"] = self.estimate
        out.update({m: f.as_dict() for m, f in self.candidates.items()})
        out["chosen"] = self.chosen
        return out


@dataclass(frozen=True)
class DecoderDecision:
    """Full mode: the network and the plain decoders on the same codestream, by model name."""

    candidates: dict[str, Figures]
    chosen: str

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {m: f.as_dict() for m, f in self.candidates.items()}
        out["chosen"] = self.chosen
        return out


@dataclass(frozen=True)
class EncodeDecision:
    """Everything decided for one encode (each part None where it was not decided)."""

    mode: ModeDecision | None = None
    decoder: DecoderDecision | None = None
    adapt: AdaptDecision | None = None
    refine: RefineDecision | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.mode is not None:
            out["mode"] = self.mode.as_dict()
        if self.decoder is not None:
            out["decoder"] = self.decoder.as_dict()
        if self.refine is not None:
            out["refine"] = self.refine.as_dict()
        if self.adapt is not None:
            out.update(self.adapt.as_dict())
        return out
