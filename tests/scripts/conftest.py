"""A checkout of this project in a temporary folder (the package folders linked, scripts and pyproject.toml
copied) whose .venv borrows this one's dependencies, set up once by scripts/setup.sh with no package index."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from moodtunes.core.settings import PROJECT_ROOT
from tests.helpers import borrowing_venv, offline_env, package_folders

SETUP_LIMIT_S = 300


@dataclass(frozen=True)
class Checkout:
    root: Path
    first_setup: subprocess.CompletedProcess
    first_setup_s: float

    def setup(self, *extras: str) -> tuple[subprocess.CompletedProcess, float]:
        started = time.perf_counter()
        done = subprocess.run(["bash", "scripts/setup.sh", *extras], cwd=self.root, env=offline_env(),
                              capture_output=True, text=True, timeout=SETUP_LIMIT_S)
        return done, time.perf_counter() - started


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Checkout:
    root = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, root)
    shutil.copytree(PROJECT_ROOT / "scripts", root / "scripts")
    for folder in package_folders():
        (root / folder).symlink_to(PROJECT_ROOT / folder)
    borrowing_venv(root / ".venv")  # what setup.sh would create, minus the downloads
    started = time.perf_counter()
    first = subprocess.run(["bash", "scripts/setup.sh"], cwd=root, env=offline_env(), capture_output=True, text=True,
                           timeout=SETUP_LIMIT_S)
    return Checkout(root, first, time.perf_counter() - started)
