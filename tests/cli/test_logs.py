"""Logging for the `moodtunes` commands: third-party records stay off the terminal unless LOG_LEVEL=DEBUG, and
no secret (token, database password, webhook secret, salt) survives in any record, its arguments or the text of a
library's exception."""

from __future__ import annotations

import logging

import aiohttp
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from moodtunes.cli.logs import REDACTED, configure_logging
from moodtunes.core.settings import Settings
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "123456:AAHsecretTokenValue-xyz"
PASSWORD = "p@ss/w0rd:secret"  # URL-encoded in a database URL: p%40ss%2Fw0rd%3Asecret
WEBHOOK_SECRET = "webhook-secret-value"
SALT = "salt-secret-value"


@pytest.fixture
def settings(tmp_path) -> Settings:
    url = URL.create("postgresql+psycopg", username="root", password=PASSWORD, host="127.0.0.1", port=5432,
                     database="moodtunes_no_such_database").render_as_string(hide_password=False)
    return Settings(_env_file=None, data_dir=tmp_path, telegram_token=TOKEN, database_url=url,
                    telegram_webhook_secret=WEBHOOK_SECRET, user_id_salt=SALT)


@pytest.fixture
def terminal(capsys):
    """configure_logging() for one test, undone afterwards; returns a function giving what reached stderr."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level, logging.getLogger("discord").level)
    capsys.readouterr()
    yield lambda: capsys.readouterr().err
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("httpx").setLevel(saved[2])
    logging.getLogger("discord").setLevel(saved[3])


def test_the_settings_know_every_secret_and_repr_shows_none(settings):
    assert {TOKEN, WEBHOOK_SECRET, SALT, PASSWORD, "p%40ss%2Fw0rd%3Asecret"} <= settings.secret_values()
    shown = repr(settings) + str(settings)
    assert not any(secret in shown for secret in (TOKEN, PASSWORD, "p%40ss", WEBHOOK_SECRET, SALT))


async def test_library_records_and_exception_texts_are_redacted(settings, terminal):
    configure_logging("DEBUG", settings.secret_values())  # DEBUG: every library's records reach the terminal
    log = logging.getLogger("moodtunes.test")
    fake = await FakeTelegram().start()  # its token is not TOKEN: it answers 401
    try:
        async with httpx.AsyncClient() as client:  # httpx logs the request URL (with the token) at INFO
            response = await client.post(f"{fake.base_url}{TOKEN}/getMe")
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError:  # its text quotes the URL
                log.exception("telegram getMe failed")
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            try:
                await session.post(f"{fake.base_url}{TOKEN}/getMe")
            except aiohttp.ClientResponseError:  # so does aiohttp's
                log.exception("telegram getMe failed again")
    finally:
        await fake.stop()
    engine = sa.create_engine(settings.database_url.get_secret_value())
    try:
        engine.connect()
    except sa.exc.OperationalError as exc:
        log.error("database unreachable: %s (url %s)", exc, settings.database_url.get_secret_value(), exc_info=True)
    finally:
        engine.dispose()
    log.warning("webhook secret %s, salt %s", WEBHOOK_SECRET, SALT)
    shown = terminal()
    assert "HTTP Request: POST" in shown and "401 Unauthorized" in shown  # the records are there ...
    assert "httpx.HTTPStatusError" in shown and "ClientResponseError" in shown and "OperationalError" in shown
    assert f"/bot{REDACTED}/getMe" in shown
    for secret in (TOKEN, "AAHsecretTokenValue", PASSWORD, "p%40ss%2Fw0rd%3Asecret", WEBHOOK_SECRET, SALT):
        assert secret not in shown  # ... without a secret in them


def test_third_party_info_stays_off_the_terminal_unless_debug(settings, terminal):
    configure_logging("INFO", settings.secret_values())
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("moodtunes").info("ready: model x")
    logging.getLogger("telegram.ext.Updater").warning("a library warning")
    shown = terminal()
    assert "Context impl" not in shown
    assert "ready: model x" in shown and "a library warning" in shown
    configure_logging("DEBUG", settings.secret_values())
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    assert "Context impl SQLiteImpl." in terminal()
    configure_logging("WARNING", settings.secret_values())
    logging.getLogger("moodtunes").info("ready: model x")
    assert terminal() == ""
    assert sum(type(h).__name__ == "TerminalHandler" for h in logging.getLogger().handlers) == 1


def test_passwords_in_the_redis_and_broker_urls_are_secrets(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, redis_url="redis://:redis-secret-pw@127.0.0.1:6379/0",
                        broker_url="amqp://guest:broker-secret-pw@127.0.0.1:5672//")
    assert {"redis-secret-pw", "broker-secret-pw"} <= settings.secret_values()
