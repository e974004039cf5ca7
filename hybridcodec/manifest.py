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

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import HybridCodecError

__all__ = ["MANIFEST_NAME", "Manifest", "options_fingerprint", "BatchSummary"]

MANIFEST_NAME = "hybridcodec-manifest.jsonl"
#: how often a remote manifest is rewritten while a batch runs (seconds)
REMOTE_EVERY_S = 5.0


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
    """The manifest of an output folder (a path or an fsspec URL): ``entries`` holds the latest
    line per input name. A local manifest is appended to line by line; a remote one (object
    stores cannot append) is rewritten whole at most every :data:`REMOTE_EVERY_S` seconds and
    by :meth:`flush` at the end, so a killed batch re-codes at most those last files."""

    folder: str
    fingerprint: str
    entries: dict[str, dict] = field(default_factory=dict)
    _text: list[str] = field(default_factory=list)
    _written: float = 0.0
    _pending: bool = False

    @property
    def path(self) -> str:
        from . import storage

        return storage.join(str(self.folder), MANIFEST_NAME)

    @classmethod
    def open(cls, folder: str | os.PathLike, fingerprint: str) -> Manifest:
        """Read the folder's manifest (if any)."""
        from . import storage

        m = cls(str(folder), fingerprint)
        if storage.is_file(m.path):
            text = storage.read_bytes(m.path).decode("utf-8", errors="replace")
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:  # a line torn by a kill
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("input"), str):
                    m.entries[rec["input"]] = rec
                    m._text.append(line)
        return m

    def done(self, source: str, dest: str) -> bool:
        """Whether ``dest`` is a complete output of ``source`` under these options."""
        from . import storage

        rec = self.entries.get(source)
        if not rec or "error" in rec or rec.get("options") != self.fingerprint or \
                rec.get("output") != dest:
            return False
        try:
            if storage.size(source) != rec.get("input_bytes") or \
                    storage.size(dest) != rec.get("bytes"):
                return False
            return storage.sha256(source) == rec.get("input_sha256") and \
                storage.sha256(dest) == rec.get("output_sha256")
        except (OSError, HybridCodecError):
            return False

    def append(self, record: dict) -> None:
        """Add one line (the options' fingerprint is added): flushed to disk at once locally."""
        from . import storage

        rec = {**record, "options": self.fingerprint}
        self.entries[rec["input"]] = rec
        line = json.dumps(rec, sort_keys=True)
        self._text.append(line)
        if storage.is_url(self.path):
            self._pending = True
            if time.monotonic() - self._written >= REMOTE_EVERY_S:
                self.flush()
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def flush(self) -> None:
        """Write a remote manifest's pending lines (the whole object); nothing for a local one."""
        from . import storage

        if self._pending:
            storage.write_bytes(self.path, ("\n".join(self._text) + "\n").encode(), force=True)
            self._pending, self._written = False, time.monotonic()
