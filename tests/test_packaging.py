"""A non-editable install: the wheel built from this checkout, installed into a fresh virtualenv, answers a photo
from any folder (models and mood table as package data; data in the user's data folder, the catalog from
CATALOG_PATH), and says in one line which setting to set when no catalog is configured."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from moodtunes.core.settings import MOODS_CATALOG, PROJECT_ROOT
from tests.helpers import borrowing_venv, offline_env, package_folders

LIMIT_S = 300  # the whole build, install and first answer, on a busy 2-core machine


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `moodtunes` script of a fresh virtualenv with only the built wheel installed (no editable link)."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy: pip builds in the source tree, which must stay clean here
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source)
    # models/training (resumable state) and models/candidates (ensemble members) are not served
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "training", "candidates")
    for folder in package_folders():
        shutil.copytree(PROJECT_ROOT / folder, source / folder,
                        ignore=ignore if folder == "models" else shutil.ignore_patterns("__pycache__", "*.pyc"))
    python = borrowing_venv(root / "venv")
    subprocess.run([str(python), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root / "dist"), str(source)],
                   check=True, env=offline_env(), timeout=LIMIT_S)
    wheel = next((root / "dist").glob("moodtunes-*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True,
                   env=offline_env(), timeout=LIMIT_S)
    assert time.monotonic() - started < LIMIT_S
    return root / "venv" / "bin" / "moodtunes"


def run_installed(moodtunes: Path, args: list[str], tmp_path: Path, stdin: str = "",
                  **env: str) -> subprocess.CompletedProcess:
    """Run it from an empty folder, with a home of its own and nothing of this checkout's settings."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    clean = {k: v for k, v in offline_env().items() if not k.startswith(("CATALOG_", "DATA_DIR", "DATABASE_", "MODEL"))}
    clean.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"), **env)
    return subprocess.run([str(moodtunes), *args], cwd=cwd, env=clean, input=stdin, capture_output=True, text=True,
                          timeout=LIMIT_S)


def test_the_installed_package_is_not_this_checkout(installed):
    where = subprocess.run([str(installed.parent / "python"), "-c",
                            "import moodtunes.core.settings as s; print(s.__file__); print(s.CHECKOUT)"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.split("\n")
    assert "site-packages" in where[0] and not where[0].startswith(str(PROJECT_ROOT))
    assert where[1] == "None"


def test_installed_copy_recommends_from_any_folder(installed, tmp_path, astronaut_jpeg):
    photo = tmp_path / "selfie.jpg"
    photo.write_bytes(astronaut_jpeg)
    done = run_installed(installed, ["recommend", str(photo)], tmp_path, CATALOG_PATH=str(MOODS_CATALOG))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Emotion: happy") and done.stdout.count("https://open.spotify.com/track/") == 5
    assert done.stderr == ""


def test_installed_copy_keeps_its_data_in_the_user_data_folder(installed, tmp_path):
    done = run_installed(installed, ["chat"], tmp_path, stdin="/mood calm\n/quit\n", CATALOG_PATH=str(MOODS_CATALOG))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("https://open.spotify.com/track/") == 5 and done.stderr == ""
    assert (tmp_path / "xdg" / "moodtunes" / "moodtunes.sqlite3").is_file()
    assert not (tmp_path / "elsewhere" / "data").exists()


def test_installed_copy_without_a_catalog_names_the_settings(installed, tmp_path, astronaut_jpeg):
    photo = tmp_path / "selfie.jpg"
    photo.write_bytes(astronaut_jpeg)
    done = run_installed(installed, ["recommend", str(photo)], tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: no track catalog")
    assert "CATALOG_PATH" in done.stderr and "CATALOG_SOURCE" in done.stderr
