"""`moodtunes run` start-up: refuses to start on a bad model or catalog, with one line naming the file and the
setting (exit code 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from moodtunes.core.settings import DEFAULT_MODEL_DIR


def moodtunes(args: list[str], env_extra: dict[str, str], tmp_path: Path,
              stdin: str = "") -> subprocess.CompletedProcess:
    exe = shutil.which("moodtunes") or os.path.join(os.path.dirname(sys.executable), "moodtunes")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": "", **env_extra})
    return subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, timeout=180, env=env,
                          cwd=tmp_path)


def test_missing_model_is_named(tmp_path):
    done = moodtunes(["run"], {"MODEL_DIR": str(tmp_path / "no-model")}, tmp_path)
    assert done.returncode == 2
    assert f"{tmp_path / 'no-model' / 'model.tflite'}: file not found" in done.stderr
    assert "MODEL_DIR" in done.stderr and done.stderr.count("\n") == 1


def test_corrupt_model_is_named(tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    shutil.copy(DEFAULT_MODEL_DIR / "metadata.json", broken)
    (broken / "model.tflite").write_bytes(b"\x00" * 100)
    done = moodtunes(["run"], {"MODEL_DIR": str(broken)}, tmp_path)
    assert done.returncode == 2
    assert "model.tflite: not a loadable TFLite model" in done.stderr


@pytest.mark.parametrize("content, expected", [
    (None, "catalog file not found"),
    ("name,album\nx,y\n", "missing column(s)"),
])
def test_bad_catalog_is_named(tmp_path, content, expected):
    catalog = tmp_path / "tracks.csv"
    if content is not None:
        catalog.write_text(content)
    done = moodtunes(["run"], {"CATALOG_PATH": str(catalog)}, tmp_path)
    assert done.returncode == 2
    assert str(catalog) in done.stderr and expected in done.stderr and "CATALOG_PATH" in done.stderr


def test_no_token_runs_the_console_chat(tmp_path):
    done = moodtunes(["run"], {}, tmp_path, stdin="/mood happy\n/quit\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("https://open.spotify.com/track/") == 5
    assert (tmp_path / "data" / "moodtunes.sqlite3").is_file()


def test_webhook_needs_a_secret(tmp_path):
    done = moodtunes(["run", "--webhook", "https://example.invalid/hook"], {"TELEGRAM_TOKEN": "123:ABC"}, tmp_path)
    assert done.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in done.stderr
    assert "123:ABC" not in done.stderr + done.stdout
