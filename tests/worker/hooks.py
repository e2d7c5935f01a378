"""Test-only hooks, loaded into worker subprocesses by the wrapper command in conftest.py (never by the
product): a photo that starts with CRASH_MARKER kills the worker process running it, as a photo that crashes
a decoder would; with MOODTUNES_TEST_HOLD_DIR set, the process holds its first job until it is killed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from celery.signals import task_prerun

CRASH_MARKER = b"MOODTUNES-TEST-CRASH"


@task_prerun.connect(weak=False)
def crash_or_hold(task_id=None, args=(), **_) -> None:
    if args and bytes(args[0]).startswith(CRASH_MARKER):
        os._exit(70)
    hold_dir = os.environ.get("MOODTUNES_TEST_HOLD_DIR")
    if hold_dir:
        Path(hold_dir, f"{task_id}.held").write_text(str(os.getpid()))
        threading.Event().wait(300)  # the test SIGKILLs this worker while it holds the job
