"""The README and docs/ describe the product as it is: settings that exist, commands that exist, the sample photo
and what the bot answers to it, the Discord invite the bot itself builds."""

from __future__ import annotations

import re
from pathlib import Path

import discord
import pytest
import typer.core
import typer.main

from moodtunes.bot.discord_bot import INVITE_PERMISSIONS, invite_url
from moodtunes.cli.main import app
from moodtunes.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETUP = ROOT / "docs" / "setup.md"
DEPLOY = ROOT / "docs" / "deploy.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SETTING_NAME = re.compile(r"(?<![<\w])[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+(?![>\w])")  # <APP_ID> is a placeholder
COMMAND = re.compile(r"\bmoodtunes ([a-z][\w-]*)(?: ([a-z][\w-]*))?")


def test_the_two_commands_stay_at_the_top():
    head = README.read_text()[:2000]
    assert "bash scripts/run.sh" in head and "bash scripts/test.sh" in head


@pytest.mark.parametrize("doc", [README, SETUP, DEPLOY], ids=lambda p: p.name)
def test_every_setting_named_is_a_settings_field(doc):
    named = set(SETTING_NAME.findall(doc.read_text()))
    assert named, "the guide names no setting at all?"
    fields = {name.upper() for name in Settings.model_fields}
    assert named <= fields, sorted(named - fields)


def test_one_spelling_of_the_command_and_every_command_exists():
    root = typer.main.get_command(app)
    for doc in DOCS:
        text = doc.read_text()
        assert ".venv/bin/moodtunes" not in text, doc.name  # `. .venv/bin/activate`, then `moodtunes ...`
        for first, second in COMMAND.findall(text):
            if first == "moodtunes":  # "createdb --owner moodtunes moodtunes": the database's name
                continue
            assert first in root.commands, f"{doc.name}: moodtunes {first}"
            command = root.commands[first]
            if second and isinstance(command, typer.core.TyperGroup):
                assert second in command.commands, f"{doc.name}: moodtunes {first} {second}"
    assert ". .venv/bin/activate" in README.read_text() and ". .venv/bin/activate" in SETUP.read_text()


def test_the_sample_photo_gets_the_answer_the_readme_shows(pipeline):
    readme = README.read_text()
    sample = re.search(r"> (docs/sample/\S+\.jpg)\n(\S+) You look (\w+) \((\d+)% sure\)", readme)
    assert sample, "the README's chat example starts with the sample photo"
    path, _, emotion, percent = sample.groups()
    assert path in SETUP.read_text()
    result = pipeline.recommend_photo((ROOT / path).read_bytes())
    assert len(result.faces) == 1 and len(result.tracks) == 5
    assert result.emotion == emotion
    assert abs(result.primary.prediction.confidence * 100 - int(percent)) <= 3
    assert (ROOT / path).stat().st_size < 100_000  # a small JPEG in the repository


def test_the_discord_invite_is_the_one_the_bot_builds():
    setup = SETUP.read_text()
    assert invite_url("<APP_ID>") in setup
    assert "https://discord.com/oauth2/authorize?client_id=<APP_ID>&scope=bot+applications.commands&permissions=" \
        in setup
    table = re.findall(r"^   \| ([A-Z][\w ]+?) \| (\d+) \|", setup, re.MULTILINE)  # "Embed Links | 16384"
    for name, value in table:  # each row's number is that permission's bit in discord.py
        flag = name.lower().replace(" ", "_").replace("view_channels", "view_channel")
        assert discord.Permissions(**{flag: True}).value == int(value), name
    assert sum(int(value) for _, value in table) == INVITE_PERMISSIONS.value
    assert f"**{INVITE_PERMISSIONS.value}**" in setup


def test_the_message_content_intent_the_guide_asks_for_is_the_one_the_client_requests(service):
    from moodtunes.bot.discord_bot import MoodTunesClient

    client = MoodTunesClient(service)
    assert client.intents.message_content  # privileged: docs/setup.md step 4 turns it on in the portal
    assert not client.intents.members and not client.intents.presences
    assert "Message Content Intent" in SETUP.read_text()
