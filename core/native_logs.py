"""Keep native libraries' start-up lines off the terminal.

TensorFlow, LiteRT and absl write lines such as "Created TensorFlow Lite XNNPACK delegate" and "oneDNN custom
operations are on" straight to file descriptor 2 from C++, before any Python logging is involved, and
TF_CPP_MIN_LOG_LEVEL no longer stops all of them. The only reliable switch is to point descriptor 2 elsewhere
while they load.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced(*, unless: bool = False) -> Iterator[None]:
    """Discard whatever is written to descriptor 2 inside the block (``unless``: leave it alone, e.g. at DEBUG).

    Python's own ``sys.stderr`` writes share that descriptor, so keep the block to the native loading calls;
    it is meant for start-up, before other threads write to the terminal."""
    if unless:
        yield
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all: nothing would show anyway
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def divert_native_stderr() -> None:
    """For the rest of the process, discard what native code writes to descriptor 2, while Python's
    ``sys.stderr`` (logging, error lines, tracebacks) keeps writing to the terminal through a copy of it.

    Covers the native lines that come later too (TensorFlow loading in the background, a delegate created on
    first use). Only when ``sys.stderr`` is still the process's own: a test runner's capture is left alone."""
    if sys.stderr is not sys.__stderr__ or sys.stderr is None:
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = open(terminal, "w", encoding=sys.__stderr__.encoding, errors="backslashreplace",  # noqa: SIM115
                      buffering=1, closefd=True)
