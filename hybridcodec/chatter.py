"""What the C decoders print (libjpeg-turbo's "Premature end of JPEG file", jpegli's
"Incomplete scan detected") folded into one warning (issue 23): their lines went straight to the
terminal beside hybridcodec's own one-line messages, and said nothing about which file.

:func:`captured` redirects file descriptor 2 to a temporary file for the duration of a block
while Python's own ``sys.stderr`` keeps writing to the terminal, and hands back the lines. The
descriptor is the process's, so this is for the command line and the batch worker processes
(one file at a time), never for library calls that other threads may make at the same moment.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["captured", "summary"]


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """``with captured() as lines:`` the C libraries' stderr lines of the block (filled on exit;
    nothing is captured where descriptor 2 cannot be duplicated)."""
    lines: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield lines
        return
    tmp = tempfile.TemporaryFile()
    py_err = sys.stderr
    try:
        os.dup2(tmp.fileno(), 2)
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)  # Python's writes: the terminal
        yield lines
    finally:
        try:
            sys.stderr.flush()
            sys.stderr.close()
        finally:
            sys.stderr = py_err
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read(1 << 16).decode("utf-8", "replace")
        tmp.close()
        seen: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.append(line)
        lines.extend(seen)


def summary(lines: list[str]) -> str:
    """One line of what the decoder said (the source locations of jpegli's messages cut)."""
    parts = [ln.split(": ", 1)[1] if ln.startswith("./lib/") and ": " in ln else ln
             for ln in lines]
    return "the JPEG decoder reported: " + "; ".join(dict.fromkeys(parts))
