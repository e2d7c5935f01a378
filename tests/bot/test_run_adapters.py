"""`moodtunes run` as a real process: both bots in one process against loopback fakes, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import FakeTelegram

TELEGRAM_TOKEN = "424242:RUN-PROCESS-SECRET"
DISCORD_TOKEN = "discord-run-process-secret"
SPOTIFY = "https://open.spotify.com/track/"


async def test_run_starts_both_bots_answers_and_stops_on_sigterm(tmp_path, astronaut_jpeg):
    telegram = FakeTelegram(TELEGRAM_TOKEN)
    discord_fake = FakeDiscord(DISCORD_TOKEN)
    await telegram.start()
    await discord_fake.start()
    exe = shutil.which("moodtunes") or os.path.join(os.path.dirname(sys.executable), "moodtunes")
    env = {**os.environ, "TELEGRAM_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_BASE_URL": telegram.base_url,
           "TELEGRAM_BASE_FILE_URL": telegram.base_file_url, "DISCORD_TOKEN": DISCORD_TOKEN,
           "DISCORD_API_BASE_URL": discord_fake.api_base, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": "",
           "LOG_LEVEL": "DEBUG"}
    process = await asyncio.create_subprocess_exec(exe, "run", env=env, cwd=tmp_path,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await discord_fake.wait_identified(timeout=120)
        await telegram.wait_for("getUpdates", timeout=120)

        telegram.send_photo(7001, astronaut_jpeg, 512, 512)
        reply = await telegram.next_reply(7001, timeout=60)
        assert reply.text.count(SPOTIFY) == 5

        user = discord_fake.user("runner")
        channel = discord_fake.dm_channel(user)
        since = discord_fake.mark()
        attachment = discord_fake.add_attachment(channel["id"], "me.jpg", astronaut_jpeg, "image/jpeg")
        await discord_fake.dispatch("MESSAGE_CREATE", discord_fake.dm_message(user, channel, attachments=[attachment]))
        sent = await discord_fake.wait_request(
            lambda r: r.method == "POST" and r.path == f"/channels/{channel['id']}/messages", since=since, timeout=60)
        assert str(sent.response).count(SPOTIFY) == 5

        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await telegram.stop()
        await discord_fake.close()
    logs = (stdout + stderr).decode()
    assert process.returncode == 0, logs[-3000:]
    assert "stopped" in logs
    # Secrets never reach the logs, even at DEBUG: not the tokens, not a Telegram file URL.
    assert TELEGRAM_TOKEN not in logs and DISCORD_TOKEN not in logs
    assert "/file/bot" + TELEGRAM_TOKEN not in logs
    # Both photos were recorded as events in the SQLite file under DATA_DIR; no photo was written anywhere there.
    files = {p.name for p in (tmp_path / "data").iterdir()}
    assert "moodtunes.sqlite3" in files
    assert not [p for p in tmp_path.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
