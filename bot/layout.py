"""What an answer looks like on any chat platform, decided once: its buttons as rows of (label, payload), and
the file a text too long for one message goes out as. Adapters only render these (Telegram: an inline
keyboard; Discord: a persistent view)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import Callback, ForgetMe, More, PickMood, SetDefaultStrategy, SwitchStrategy, Vote
from moodtunes.bot.service import STRATEGY_LABEL, Answer, AnswerKind
from moodtunes.core.mood import MOODS, STRATEGIES

ROW_MAX = 5  # buttons per row: Discord's limit (Telegram allows more)
VOTED_TRACKS = 10  # 👍 and 👎 rows for up to ten tracks plus the More row: five rows, Discord's limit
FILENAME = "moodtunes.txt"


class Style(StrEnum):
    NORMAL = "normal"
    PRIMARY = "primary"  # the way forward (More)
    DANGER = "danger"  # cannot be undone


@dataclass(frozen=True)
class Button:
    label: str
    payload: Callback
    emoji: str | None = None
    style: Style = Style.NORMAL

    @property
    def data(self) -> str:
        """The payload as the platform carries it (Telegram callback_data, Discord custom_id)."""
        return callbacks.encode(self.payload)


Rows = tuple[tuple[Button, ...], ...]


def _rows_of(buttons: list[Button]) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i:i + ROW_MAX]) for i in range(0, len(buttons), ROW_MAX)]


def buttons(answer: Answer) -> Rows:
    """The buttons an answer asks for: 👍 and 👎 per track, More and the other strategy; moods; default
    strategies; yes/no before deleting everything."""
    rows: list[tuple[Button, ...]] = []
    if answer.kind is AnswerKind.TRACKS and answer.event_id is not None:
        voted = list(enumerate(answer.tracks[:VOTED_TRACKS], 1))
        for value, emoji in ((1, "👍"), (-1, "👎")):
            rows += _rows_of([Button(str(n), Vote(answer.event_id, t.id, value), emoji) for n, t in voted])
        row = [Button("More", More(answer.event_id), style=Style.PRIMARY)]
        if answer.other_strategy:
            row.append(Button(STRATEGY_LABEL[answer.other_strategy],
                              SwitchStrategy(answer.event_id, answer.other_strategy)))
        rows.append(tuple(row))
    if answer.offer_moods:
        rows += _rows_of([Button(m, PickMood(m)) for m in MOODS])
    if answer.offer_strategies:
        rows += _rows_of([Button(STRATEGY_LABEL[s], SetDefaultStrategy(s)) for s in STRATEGIES])
    if answer.kind is AnswerKind.CONFIRM_FORGET:
        rows.append((Button("Yes, delete it all", ForgetMe(True), style=Style.DANGER),
                     Button("No, keep it", ForgetMe(False))))
    return tuple(rows)


@dataclass(frozen=True)
class TextFile:
    """A reply sent as a .txt file, with a one-line caption."""

    caption: str
    data: bytes
    filename: str = FILENAME


def as_file_if_too_long(text: str, limit: int, *, caption_limit: int,
                        length: Callable[[str], int] = len) -> TextFile | None:
    """None if ``text`` fits one message of the platform (``length`` measures it as the platform counts);
    otherwise the file to send instead (e.g. /mydata), its first line as the caption."""
    if length(text) <= limit:
        return None
    return TextFile(text.split("\n", 1)[0][:caption_limit], text.encode("utf-8"))
