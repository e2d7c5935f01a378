"""Logging for every `moodtunes` command: quiet by default, and no secret in any record.

Third-party libraries (alembic, httpx, PTB, discord.py, TensorFlow's Python side) log only warnings and errors unless
LOG_LEVEL=DEBUG. Every record that reaches the terminal passes :class:`SecretRedactor` first: its message, its
arguments and the text of its exception (libraries' exceptions may quote a URL with the bot token in it).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "***"
OUR_LOGGER = "moodtunes"


class SecretRedactor(logging.Filter):
    """Replaces every known secret, as written and URL-encoded, with ``***`` in a record's text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.replace(secrets)

    def replace(self, secrets: Iterable[str]) -> None:
        forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote(secret))}
        self._secrets = sorted(forms, key=len, reverse=True)  # longest first: a secret may contain another

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it, as without this filter
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)  # formatters print exc_text when it is set
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class OursOrWarnings(logging.Filter):
    """Lets MoodTunes' own records through, and other libraries' only from WARNING up."""

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == OUR_LOGGER or record.name.startswith(OUR_LOGGER + ".")
        return ours or record.levelno >= logging.WARNING


class TerminalHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (test runners swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


redactor = SecretRedactor()


def configure_logging(level: str, secrets: Iterable[str], log_format: str = "text") -> None:
    """Send records at ``level`` and above to the terminal, redacted, as text or (``log_format="json"``) one JSON
    object per line for log collectors; replaces an earlier configuration."""
    redactor.replace(secrets)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, TerminalHandler)]:
        root.removeHandler(handler)
    handler = TerminalHandler()
    handler.setLevel(level)
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    if level != "DEBUG":
        handler.addFilter(OursOrWarnings())
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs request URLs at INFO, and Telegram URLs carry the bot token: redacted here, but other handlers
    # (a test runner's, an admin's) would see it, so those records are only made when asked for.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # discord.py's DEBUG lines carry interaction URLs with short-lived interaction tokens.
    logging.getLogger("discord").setLevel(max(logging.INFO, root.level))
