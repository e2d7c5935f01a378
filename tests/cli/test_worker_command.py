"""`moodtunes worker`: every option explained in --help, and a clear refusal without a broker."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.settings import get_settings

runner = CliRunner()


def test_worker_help_explains_every_option():
    result = runner.invoke(app, ["worker", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    text = re.sub(r"\s+", " ", result.output.replace("│", " "))
    for option, words in (("--concurrency", "worker processes"), ("--queue", "photo job queue"),
                          ("--loglevel", "log level"), ("--hostname", "this worker's name")):
        assert option in text and words in text, option


def test_worker_without_broker_url_says_what_to_set(monkeypatch):
    monkeypatch.setenv("BROKER_URL", "")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "BROKER_URL is not set" in result.stderr
