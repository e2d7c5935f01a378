"""Expected start-up failures as one line for the admin: what failed and which setting to fix, never a secret.

Anything not listed here is a bug and keeps its traceback.
"""

from __future__ import annotations

from moodtunes.core.errors import MoodTunesError
from moodtunes.core.settings import Settings
from moodtunes.db.errors import StoreError


def describe_failure(exc: BaseException, settings: Settings) -> str | None:
    """One line for a failure an admin can fix (None for anything else)."""
    if isinstance(exc, MoodTunesError):
        return _naming(str(exc), exc.setting)
    if isinstance(exc, StoreError):
        return f"the database {_shown_url(settings)} cannot be used ({exc}): check DATABASE_URL"
    if isinstance(exc, OSError) and exc.filename is not None and _under(exc.filename, settings.data_dir):
        return f"{exc.filename}: {exc.strerror}: check DATA_DIR"
    return _telegram(exc, settings) or _discord(exc, settings)


def _naming(message: str, setting: str | None) -> str:
    return message if not setting or setting in message else f"{message} (check {setting})"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _shown_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(settings.database_url.get_secret_value()).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(not a database URL)"


def _under(filename, folder) -> bool:
    from pathlib import Path

    try:
        return Path(filename).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


def _telegram(exc: BaseException, settings: Settings) -> str | None:
    try:
        from telegram import error
    except ImportError:
        return None
    if isinstance(exc, error.InvalidToken):  # its own message quotes the token
        return "Telegram rejected the bot token: check TELEGRAM_TOKEN (@BotFather's /token shows it)"
    if isinstance(exc, error.NetworkError):
        return (f"cannot reach the Telegram Bot API at {settings.telegram_base_url} ({_one_line(exc)}): "
                "check the network or TELEGRAM_BASE_URL")
    return None


def _discord(exc: BaseException, settings: Settings) -> str | None:
    try:
        import aiohttp
        import discord
    except ImportError:
        return None
    if isinstance(exc, discord.LoginFailure):
        return "Discord rejected the bot token: check DISCORD_TOKEN (Developer Portal → your app → Bot → Reset Token)"
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ("Discord refused the Message Content intent: turn it on in the Developer Portal (your app → Bot → "
                "Privileged Gateway Intents) for the application of DISCORD_TOKEN")
    if isinstance(exc, aiohttp.ClientError | discord.GatewayNotFound | discord.ConnectionClosed):
        return (f"cannot reach the Discord API at {settings.discord_api_base_url} ({_one_line(exc)}): "
                "check the network or DISCORD_API_BASE_URL")
    if isinstance(exc, discord.HTTPException):
        return f"the Discord API at {settings.discord_api_base_url} answered {exc.status} ({_one_line(exc)})"
    return None
