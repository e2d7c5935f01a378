"""Button payloads shared by every adapter: short (<= 64 bytes for Telegram), self-contained, so buttons
keep working after a restart. A forged or stale payload parses to InvalidCallback, never an exception."""

from __future__ import annotations

import re
from dataclasses import dataclass

from moodtunes.core.mood import MOODS, STRATEGIES

MAX_BYTES = 64
_TRACK_ID = re.compile(r"^[0-9A-Za-z]{22}$")


@dataclass(frozen=True)
class Vote:
    event_id: int
    track_id: str
    value: int  # +1 or -1


@dataclass(frozen=True)
class More:
    event_id: int


@dataclass(frozen=True)
class SwitchStrategy:
    event_id: int
    strategy: str


@dataclass(frozen=True)
class PickMood:
    mood: str


@dataclass(frozen=True)
class SetDefaultStrategy:
    strategy: str


@dataclass(frozen=True)
class ForgetMe:
    confirmed: bool


@dataclass(frozen=True)
class InvalidCallback:
    raw: str


Callback = Vote | More | SwitchStrategy | PickMood | SetDefaultStrategy | ForgetMe | InvalidCallback


def encode(callback: Callback) -> str:
    match callback:
        case Vote(event_id, track_id, value):
            text = f"v|{event_id}|{track_id}|{'+' if value > 0 else '-'}"
        case More(event_id):
            text = f"m|{event_id}"
        case SwitchStrategy(event_id, strategy):
            text = f"s|{event_id}|{strategy}"
        case PickMood(mood):
            text = f"d|{mood}"
        case SetDefaultStrategy(strategy):
            text = f"t|{strategy}"
        case ForgetMe(confirmed):
            text = f"f|{'yes' if confirmed else 'no'}"
        case _:
            raise ValueError(f"cannot encode {callback!r}")
    assert len(text.encode()) <= MAX_BYTES, text
    return text


def _event_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 12 else None


def decode(raw: str | None) -> Callback:
    """Parse a payload; anything malformed becomes InvalidCallback."""
    if not raw or len(raw.encode("utf-8", "ignore")) > MAX_BYTES:
        return InvalidCallback(raw or "")
    parts = raw.split("|")
    kind, args = parts[0], parts[1:]
    if kind == "v" and len(args) == 3 and _event_id(args[0]) and _TRACK_ID.match(args[1]) and args[2] in ("+", "-"):
        return Vote(_event_id(args[0]), args[1], 1 if args[2] == "+" else -1)
    if kind == "m" and len(args) == 1 and _event_id(args[0]):
        return More(_event_id(args[0]))
    if kind == "s" and len(args) == 2 and _event_id(args[0]) and args[1] in STRATEGIES:
        return SwitchStrategy(_event_id(args[0]), args[1])
    if kind == "d" and len(args) == 1 and args[0] in MOODS:
        return PickMood(args[0])
    if kind == "t" and len(args) == 1 and args[0] in STRATEGIES:
        return SetDefaultStrategy(args[0])
    if kind == "f" and len(args) == 1 and args[0] in ("yes", "no"):
        return ForgetMe(args[0] == "yes")
    return InvalidCallback(raw)


def is_toast(callback: Callback) -> bool:
    """Answered by a short note alone (a vote's confirmation, the stale-button sentence), not a message."""
    return isinstance(callback, (Vote, InvalidCallback))


def is_private(callback: Callback) -> bool:
    """Its answer concerns only whoever pressed it (a vote, their settings, deleting their data)."""
    return isinstance(callback, (Vote, SetDefaultStrategy, ForgetMe, InvalidCallback))
