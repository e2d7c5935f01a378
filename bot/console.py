"""Console chat: the bot in a terminal, through the same ChatService as Telegram and Discord."""

from __future__ import annotations

import functools
import getpass
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from moodtunes.bot.service import STRATEGY_LABEL, Answer, AnswerKind, ChatService
from moodtunes.core import messages
from moodtunes.core.intake import PHOTO_FORMATS
from moodtunes.core.mood import MOODS, Strategy
from moodtunes.core.settings import Settings

log = logging.getLogger("moodtunes.console")

PLATFORM = "console"
SWITCH_WORD = {Strategy.MATCH: "match", Strategy.UPLIFT: "lift"}  # what to type for each strategy
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif", ".bmp", ".gif")
CONSOLE_HELP = (
    f"Type the path of a photo ({PHOTO_FORMATS}) to send it. Then:\n"
    "  more              five more tracks for the last answer\n"
    "  +N / -N           👍 or 👎 track N of the last answer (e.g. +2): I'll remember, and never play you a\n"
    "                    song you disliked again\n"
    f"  {' / '.join(SWITCH_WORD[s] for s in reversed(Strategy))}      switch the last answer's strategy\n"
    "  /mood [name]      pick a mood by hand\n"
    f"  /settings [{'|'.join(Strategy)}], /history, /mydata, /forgetme, /help, /quit"
)
NOT_UNDERSTOOD = "I didn't get that. Type the path of a photo, or /help."


def existing_file(line: str) -> Path | None:
    """The file a typed line names, if it names one (a very long line or one with a NUL byte names none)."""
    try:
        path = Path(line.strip("'\"")).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):  # e.g. "File name too long", "embedded null byte"
        return None


def looks_like_path(line: str) -> bool:
    return "/" in line or "\\" in line or line.lower().rstrip("'\"").endswith(IMAGE_SUFFIXES)


class ConsoleChat:
    """Turns typed lines into ChatService calls and answers into printed text."""

    def __init__(self, service: ChatService, user: str, write: Callable[[str], None]) -> None:
        self.service = service
        self.user = user
        self.write = write
        self.last: Answer | None = None
        self.confirming_forget = False

    def show(self, answer: Answer) -> None:
        self.write(answer.text)
        if answer.image is not None:  # a terminal shows no pictures: the chart goes to a file beside the data
            chart = self.service.pipeline.settings.data_dir / "history.png"
            chart.parent.mkdir(parents=True, exist_ok=True)
            chart.write_bytes(answer.image)
            self.write(f"(chart: {chart})")
        if answer.kind is AnswerKind.TRACKS:
            self.last = answer
            if answer.event_id is not None:
                hint = "more · +N/-N to vote"
                if answer.other_strategy:
                    other = answer.other_strategy
                    hint += f" · {SWITCH_WORD[other]} to {STRATEGY_LABEL[other].lower()}"
                self.write(f"({hint})")
        if answer.offer_moods:
            self.write("Moods: " + ", ".join(MOODS) + " — e.g. /mood calm")

    def handle(self, line: str) -> bool:
        """Handle one typed line; False means quit. An unexpected error is logged and answered, never fatal."""
        try:
            return self._handle(line)
        except Exception:
            log.exception("console chat: unexpected error")
            self.write(messages.SOMETHING_WENT_WRONG)
            return True

    def _handle(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return True
        if self.confirming_forget:
            self.confirming_forget = False
            answer = line.lower()
            if answer in ("y", "yes", "n", "no"):
                self.show(self.service.forget_me(PLATFORM, self.user, answer in ("y", "yes")))
                return True
            self.show(self.service.forget_me(PLATFORM, self.user, False))  # anything else: not a yes
        if (path := existing_file(line)) is not None:  # an absolute path also starts with "/": a photo
            self.send_photo(path)
            return True
        command, _, argument = line.partition(" ")
        lowered = command.lower()
        switch = {word: strategy for strategy, word in SWITCH_WORD.items()}
        if lowered in ("/quit", "/exit", "quit", "exit"):
            return False
        if lowered in ("/help", "/start", "help"):
            self.write(self.service.help(buttons=False).text + "\n\n" + CONSOLE_HELP)
        elif lowered == "/mood":
            self.show(self.service.handle_mood(PLATFORM, self.user, argument or None))
        elif lowered == "/settings":
            if argument:
                self.show(self.service.set_strategy(PLATFORM, self.user, argument.strip().lower()))
            else:
                prompt = self.service.settings_prompt(PLATFORM, self.user)
                choices = " | ".join(f"/settings {s}" for s in Strategy) if prompt.offer_strategies else ""
                self.write(f"{prompt.text} {choices}".rstrip())
        elif lowered == "/history":
            self.show(self.service.history(PLATFORM, self.user))
        elif lowered == "/mydata":
            self.show(self.service.my_data(PLATFORM, self.user))
        elif lowered == "/forgetme":
            self.write(self.service.forget_prompt().text + " Type yes to confirm.")
            self.confirming_forget = True
        elif lowered == "more" or lowered in switch:
            if self.last is None or self.last.event_id is None:
                self.write("Send a photo or pick a /mood first.")
            else:
                self.show(self.service.handle_more(PLATFORM, self.user, self.last.event_id, switch.get(lowered)))
        elif line[0] in "+-" and line[1:].isdigit():
            self.vote(int(line[1:]), 1 if line[0] == "+" else -1)
        elif lowered.startswith("/") and "/" not in command[1:]:
            self.write(f"Unknown command {command[:40]}. /help lists what I understand.")
        elif looks_like_path(line):
            shown = line if len(line) <= 80 else line[:77] + "..."
            self.write(f"I can't open {shown}. Type the path of a photo, or /help.")
        else:
            self.write(NOT_UNDERSTOOD)
        return True

    def vote(self, number: int, value: int) -> None:
        if self.last is None or self.last.event_id is None or not 1 <= number <= len(self.last.tracks):
            self.write("No such track in the last answer.")
            return
        track = self.last.tracks[number - 1]
        self.write(self.service.handle_vote(PLATFORM, self.user, self.last.event_id, track.id, value).text)

    def send_photo(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            self.write(f"I can't open {path}. Type the path of a photo, or /help.")
            return
        self.show(self.service.handle_photo(PLATFORM, self.user, data))


def chat_loop(service: ChatService, stdin: TextIO = sys.stdin, write: Callable[[str], None] = print,
              user: str | None = None) -> None:
    chat = ConsoleChat(service, user or getpass.getuser(), write)
    write("MoodTunes console — send a selfie by typing its path. /help for more.")
    interactive = stdin.isatty()
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = stdin.readline()
        if not line or not chat.handle(line):
            break
    write("Bye!")


def run_console(settings: Settings | None = None) -> None:
    """Build the service and chat on this terminal. A bad model, catalog or database raises (the CLI reports it)."""
    from moodtunes.bot.app import build_service
    from moodtunes.core.settings import get_settings

    # Flushed line by line: whoever reads a piped chat sees each answer as it is made.
    chat_loop(build_service(settings or get_settings()), write=functools.partial(print, flush=True))
