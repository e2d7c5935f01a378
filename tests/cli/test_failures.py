"""Every expected start-up failure of the real `moodtunes` command is one line on stderr that names the setting to
fix, with exit code 2, and never shows a secret: a rejected or unreachable Telegram or Discord (after the bot's own
"ready" line: model, catalog and database are fine), an unreachable database or a missing one, a missing catalog,
bad settings."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from moodtunes.core.settings import MOODS_CATALOG
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import free_port

EXE = shutil.which("moodtunes") or os.path.join(os.path.dirname(sys.executable), "moodtunes")
TELEGRAM_TOKEN = "777000:AAWrongTokenSecretValue"
DISCORD_TOKEN = "discord-wrong-token-secret-value"
PASSWORD = "db-password-secret-value"
POSTGRES_URL = os.environ.get("MOODTUNES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LIMIT_S = 180


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """No setting from this machine's environment or a .env (cwd is tmp_path): a small catalog, a private data
    folder, and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_URL", "_PATH", "_DIR", "LOG_LEVEL"))}
    return {**env, "DATA_DIR": str(tmp_path / "data"), "CATALOG_PATH": str(MOODS_CATALOG), **settings}


READY = re.compile(r"^\S+ \S+ INFO moodtunes: ready: model ")  # a bot's INFO line: the local part works


def assert_one_line(returncode: int, stdout: str, stderr: str, *names: str, secrets: tuple[str, ...] = (),
                    after_ready: bool = False) -> str:
    """Exit 2 and one error line; ``after_ready``: a bot's own "ready" line (model, catalog, database) may come
    first, since the failure is in reaching the chat service."""
    assert returncode == 2, stderr
    if after_ready:
        lines = stderr.splitlines(keepends=True)
        assert all(READY.match(line) for line in lines[:-1]), stderr
        stderr = lines[-1]
    assert stdout == "" and stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    for name in names:
        assert name in stderr
    for secret in secrets:
        assert secret not in stderr
    return stderr


def moodtunes(tmp_path: Path, *args: str, stdin: str = "", **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], cwd=tmp_path, env=environment(tmp_path, **settings), input=stdin,
                          capture_output=True, text=True, timeout=LIMIT_S)


async def moodtunes_async(tmp_path: Path, *args: str, **settings: str) -> tuple[int, str, str]:
    """The same, without blocking the event loop that serves a fake API to it."""
    process = await asyncio.create_subprocess_exec(EXE, *args, cwd=tmp_path, env=environment(tmp_path, **settings),
                                                   stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), LIMIT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, stdout.decode(), stderr.decode()


async def test_a_rejected_telegram_token(tmp_path):
    fake = await FakeTelegram().start()  # knows another token: answers 401
    try:
        result = await moodtunes_async(tmp_path, "run", TELEGRAM_TOKEN=TELEGRAM_TOKEN, TELEGRAM_BASE_URL=fake.base_url,
                                       TELEGRAM_BASE_FILE_URL=fake.base_file_url)
    finally:
        await fake.stop()
    assert_one_line(*result, "TELEGRAM_TOKEN", "rejected", secrets=(TELEGRAM_TOKEN, "AAWrongToken"), after_ready=True)


async def test_telegram_unreachable(tmp_path):
    base = f"http://127.0.0.1:{free_port()}/bot"
    result = await moodtunes_async(tmp_path, "run", TELEGRAM_TOKEN=TELEGRAM_TOKEN, TELEGRAM_BASE_URL=base)
    line = assert_one_line(*result, "TELEGRAM_BASE_URL", secrets=(TELEGRAM_TOKEN, "AAWrongToken"), after_ready=True)
    assert f"cannot reach the Telegram Bot API at {base}" in line


async def test_a_rejected_discord_token(tmp_path):
    fake = FakeDiscord()  # knows another token: answers 401
    await fake.start()
    try:
        result = await moodtunes_async(tmp_path, "run", DISCORD_TOKEN=DISCORD_TOKEN, DISCORD_API_BASE_URL=fake.api_base)
    finally:
        await fake.close()
    assert_one_line(*result, "DISCORD_TOKEN", "rejected", secrets=(DISCORD_TOKEN,), after_ready=True)


async def test_discord_unreachable(tmp_path):
    base = f"http://127.0.0.1:{free_port()}/api/v10"
    result = await moodtunes_async(tmp_path, "run", DISCORD_TOKEN=DISCORD_TOKEN, DISCORD_API_BASE_URL=base)
    line = assert_one_line(*result, "DISCORD_API_BASE_URL", secrets=(DISCORD_TOKEN,), after_ready=True)
    assert f"cannot reach the Discord API at {base}" in line


@pytest.mark.parametrize("where", ["closed port", "no such database"])
def test_database_unusable(tmp_path, where):
    url = make_url(POSTGRES_URL).set(password=PASSWORD)
    url = url.set(port=free_port()) if where == "closed port" else url.set(database=f"mt_none_{uuid.uuid4().hex[:8]}")
    done = moodtunes(tmp_path, "chat", DATABASE_URL=url.render_as_string(hide_password=False))
    line = assert_one_line(done.returncode, done.stdout, done.stderr, "DATABASE_URL", secrets=(PASSWORD,))
    assert url.render_as_string(hide_password=True) in line  # where it tried, with the password masked
    assert ("Connection refused" if where == "closed port" else "does not exist") in line


def test_database_url_that_is_no_url(tmp_path):
    done = moodtunes(tmp_path, "chat", DATABASE_URL=f"not a url {PASSWORD}")
    assert_one_line(done.returncode, done.stdout, done.stderr, "DATABASE_URL", secrets=(PASSWORD,))


@pytest.mark.parametrize("setting", ["CATALOG_PATH", "CATALOG_SOURCE"])
def test_missing_catalog(tmp_path, astronaut_jpeg, setting):
    photo = tmp_path / "selfie.jpg"
    photo.write_bytes(astronaut_jpeg)
    missing = tmp_path / "no-such-tracks.csv"
    settings = {"CATALOG_PATH": str(missing)} if setting == "CATALOG_PATH" else {
        "CATALOG_PATH": "", "CATALOG_SOURCE": str(missing)}
    done = moodtunes(tmp_path, "recommend", str(photo), **settings)
    assert_one_line(done.returncode, done.stdout, done.stderr, setting, str(missing))


def test_an_invalid_log_level_is_a_validation_error_not_a_crash(tmp_path):
    done = moodtunes(tmp_path, "chat", LOG_LEVEL="LOUD")
    line = assert_one_line(done.returncode, done.stdout, done.stderr, "LOG_LEVEL", "'LOUD'")
    assert "DEBUG" in line and "Traceback" not in line


def test_one_line_per_bad_setting(tmp_path):
    done = moodtunes(tmp_path, "chat", LOG_LEVEL="LOUD", TRACKS_PER_ANSWER="many", PHOTOS_PER_MINUTE="0")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["TRACKS_PER_ANSWER", "PHOTOS_PER_MINUTE", "LOG_LEVEL"]


def test_a_missing_env_file(tmp_path):
    done = moodtunes(tmp_path, "--env-file", str(tmp_path / "missing.env"), "chat")
    assert_one_line(done.returncode, done.stdout, done.stderr, "--env-file", "missing.env")


def test_a_non_image_answers_before_any_model_loads(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    done = moodtunes(tmp_path, "recommend", str(notes))
    line = assert_one_line(done.returncode, done.stdout, done.stderr, "notes.txt")
    assert "not a JPEG" in line  # and no TensorFlow/absl/XNNPACK line before it (one line in all)
