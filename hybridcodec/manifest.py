"""The batch manifest (issue 26): one JSON line per finished file, written beside the outputs, so
that ``--resume`` skips what is done and codes nothing twice, and the end of a batch can say
what it did.

Each line records the input (name, bytes, SHA-256), the output (name, bytes, SHA-256), the
options' fingerprint, and what the coder chose (quality, mode, bpp) and took (seconds); a failed
file is a line with ``error``. An output is *done* when the latest line for its input has the
same input bytes and hash, the same options, and the output on disk has the recorded size and
hash: a file cut short, replaced or coded with other settings is coded again. Only the calling
process writes the manifest (lines are appended and flushed one at a time), so a batch killed at
any point leaves a readable manifest; a torn last line is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "Manifest", "file_sha256", "options_fingerprint", "BatchSummary"]

MANIFEST_NAME = "hybridcodec-manifest.jsonl"
_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def options_fingerprint(kind: str, options: Any) -> str:
    """A stable text of a batch's kind and the options that shape its outputs (``EncodeOptions``
    with its defaults resolved, or a dict; ``max_pixels`` only accepts or refuses a file)."""
    if hasattr(options, "__dataclass_fields__"):
        from dataclasses import asdict

        resolved = asdict(options)
        if getattr(options, "base", None) == "jpeg":  # None is the default encoder
            resolved["jpeg_encoder"] = options.codec.encoder
        options = resolved
    options = {k: v for k, v in dict(options).items() if k != "max_pixels"}
    return f"{kind} " + json.dumps(options, sort_keys=True, default=repr)


@dataclass
class BatchSummary:
    """What one batch run did (the end-of-batch line)."""

    files: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    bits: float = 0.0  # for the mean bpp of compressed outputs
    pixels: int = 0

    def add(self, record: dict) -> None:
        self.files += 1
        if "error" in record:
            self.failed += 1
            return
        self.bytes_in += int(record.get("input_bytes", 0))
        self.bytes_out += int(record.get("bytes", 0))
        if record.get("pixels"):
            self.pixels += int(record["pixels"])
            self.bits += 8.0 * int(record.get("bytes" if record.get("kind") == "compress"
                                              else "input_bytes", 0))

    def line(self) -> str:
        bpp = f", mean {self.bits / self.pixels:.4f} bpp" if self.pixels else ""
        skipped = f" ({self.skipped} already done)" if self.skipped else ""
        return (f"{self.files} files{skipped}: {self.bytes_in} bytes in, {self.bytes_out} bytes "
                f"out{bpp}, {self.failed} failed")


@dataclass
class Manifest:
    """The manifest of an output folder: ``entries`` holds the latest line per input name."""

    folder: Path
    fingerprint: str
    entries: dict[str, dict] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST_NAME

    @classmethod
    def open(cls, folder: str | os.PathLike, fingerprint: str) -> Manifest:
        """Read the folder's manifest (if any)."""
        m = cls(Path(folder), fingerprint)
        if m.path.is_file():
            with open(m.path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except ValueError:  # a line torn by a kill
                        continue
                    if isinstance(rec, dict) and isinstance(rec.get("input"), str):
                        m.entries[rec["input"]] = rec
        return m

    def done(self, source: str, dest: str) -> bool:
        """Whether ``dest`` is a complete output of ``source`` under these options."""
        rec = self.entries.get(source)
        if not rec or "error" in rec or rec.get("options") != self.fingerprint or \
                rec.get("output") != dest:
            return False
        try:
            src, out = os.stat(source), os.stat(dest)
        except OSError:
            return False
        if src.st_size != rec.get("input_bytes") or out.st_size != rec.get("bytes"):
            return False
        return file_sha256(source) == rec.get("input_sha256") and \
            file_sha256(dest) == rec.get("output_sha256")

    def append(self, record: dict) -> None:
        """Add one line (the options' fingerprint is added) and flush it to disk."""
        rec = {**record, "options": self.fingerprint}
        self.entries[rec["input"]] = rec
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
