"""scripts/run.sh, the README's run command, in a set-up checkout with no network: the console chat's prompt in
at most 6 s, and nothing on the screen but the chat's own words (no TensorFlow, absl, oneDNN, XNNPACK, alembic or
setuptools lines)."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

import pytest

from moodtunes.core.catalog_build import served_catalog
from moodtunes.core.settings import Settings
from tests.helpers import offline_env

BANNER = "MoodTunes console — send a selfie by typing its path. /help for more."
PROMPT_LIMIT_S = 6.0
TRIES = 3  # the best of three starts: the machine running the suite is shared


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data folder with the default catalog already built (a first start builds it: about 10 s, once)."""
    folder = tmp_path_factory.mktemp("run-data")
    served_catalog(Settings(_env_file=None, data_dir=folder))
    return folder


def start_chat(checkout, data_dir, timeout: float = 60) -> tuple[float, str, str]:
    """Start `bash scripts/run.sh`, wait for the chat's first line, quit; (seconds to the prompt, stdout, stderr)."""
    started = time.perf_counter()
    process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=checkout.root, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=offline_env(DATA_DIR=str(data_dir), DATABASE_URL="", LOG_LEVEL=""))
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()  # the only reader of stdout: the prompt is timed as it arrives
    try:
        first = lines.get(timeout=timeout)
        seconds = time.perf_counter() - started
        process.stdin.write("/quit\n")
        process.stdin.close()
        process.wait(timeout=timeout)
        reader.join(timeout=timeout)
        stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    return seconds, first + "".join(rest), stderr


def test_run_sh_reaches_the_chat_prompt_quickly_and_quietly(checkout, data_dir):
    assert checkout.first_setup.returncode == 0, checkout.first_setup.stderr
    start_chat(checkout, data_dir)  # the first start creates the database and the salt
    timings = []
    for _ in range(TRIES):
        seconds, stdout, stderr = start_chat(checkout, data_dir)
        assert stdout == f"{BANNER}\nBye!\n"
        assert stderr == ""
        timings.append(seconds)
        if seconds <= PROMPT_LIMIT_S:
            break
    print(f"seconds to the chat prompt: {', '.join(f'{s:.2f}' for s in timings)}")
    assert min(timings) <= PROMPT_LIMIT_S, timings
