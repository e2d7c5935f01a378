"""What a bot under load sent, sorted as the fake Telegram records it (tests/bot/test_load_telegram.py and the
replica load in tests/bot/replica_load.py)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import More, Vote
from tests.fakes.telegram_server import ApiCall, FakeTelegram


def vote_buttons(call: ApiCall) -> list[Vote]:
    found = (callbacks.decode(b["callback_data"]) for b in call.buttons)
    return [v for v in found if isinstance(v, Vote)]


def answer_event(call: ApiCall) -> int | None:
    """The answer (event) a reply's buttons belong to: its votes' or its More button's."""
    for payload in (callbacks.decode(b["callback_data"]) for b in call.buttons):
        if isinstance(payload, Vote | More):
            return payload.event_id
    return None


class Replies:
    """Sorts every call as it is recorded: photo answers per chat in order, More answers by (chat, event), toasts by
    callback query id; a second answer to anything goes to ``duplicates``, a call Telegram refused to ``refused``.
    ``wait``: the longest any single reply may take."""

    def __init__(self, fake: FakeTelegram, wait: float) -> None:
        self.wait = wait
        self.photo_answers: dict[int, asyncio.Queue[ApiCall]] = defaultdict(asyncio.Queue)
        self.duplicates: list[ApiCall] = []
        self.refused: list[ApiCall] = []
        self._slots: dict[tuple, asyncio.Future[ApiCall]] = {}
        fake.listen(self._on_call)

    def _slot(self, key: tuple) -> asyncio.Future[ApiCall]:
        if key not in self._slots:
            self._slots[key] = asyncio.get_running_loop().create_future()
        return self._slots[key]

    def _fill(self, key: tuple, call: ApiCall) -> None:
        slot = self._slot(key)
        if slot.done():
            self.duplicates.append(call)
        else:
            slot.set_result(call)

    def _on_call(self, call: ApiCall) -> None:
        if call.error:
            self.refused.append(call)
        elif call.method == "answerCallbackQuery":
            self._fill(("toast", call.params["callback_query_id"]), call)
        elif call.method in ("sendMessage", "sendDocument"):
            if call.text.startswith("More "):
                self._fill(("more", call.chat_id, answer_event(call)), call)
            else:  # a photo answer (or whatever else the bot said to a photo: that fails the test later)
                self.photo_answers[call.chat_id].put_nowait(call)

    async def toast(self, query_id: str) -> ApiCall:
        return await asyncio.wait_for(asyncio.shield(self._slot(("toast", query_id))), self.wait)

    async def more(self, chat_id: int, event_id: int) -> ApiCall:
        return await asyncio.wait_for(asyncio.shield(self._slot(("more", chat_id, event_id))), self.wait)

    async def photo_answer(self, chat_id: int) -> ApiCall:
        return await asyncio.wait_for(self.photo_answers[chat_id].get(), self.wait)
