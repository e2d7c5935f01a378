"""Discord front end (discord.py 2.x): translates slash commands, photo messages and button presses into
ChatService calls and renders the returned Answer as an embed with persistent buttons.

Wiring, top to bottom: rendering helpers → ``CallbackButton`` (the one persistent component) → ``MoodCog``
(commands, the photo listener, button presses, the error reply) → ``MoodTunesClient`` (intents, setup_hook)
→ ``serve`` (what ``moodtunes run`` starts).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from moodtunes.bot import callbacks, layout, metrics
from moodtunes.bot.callbacks import Callback, InvalidCallback
from moodtunes.bot.service import Answer, AnswerKind, ChatService
from moodtunes.core import messages
from moodtunes.core.mood import MOODS
from moodtunes.core.recommender import Track
from moodtunes.core.settings import Settings

PLATFORM = "discord"
log = logging.getLogger("moodtunes.discord")

# MoodTunes never joins a voice channel: discord.py's start-up warnings that the voice libraries are missing
# (PyNaCl, davey) would only be noise on the bot's terminal.
for _flag in ("warn_nacl", "warn_dave"):
    if hasattr(discord.VoiceClient, _flag):
        setattr(discord.VoiceClient, _flag, False)

# Discord limits: 256-character embed titles, 4096-character descriptions, 2000-character message content
# (bot.layout keeps to its 5 rows of 5 buttons).
TITLE_MAX, DESCRIPTION_MAX, CONTENT_MAX = 256, 4096, 2000
EMBED_COLOUR = discord.Colour.from_rgb(30, 215, 96)  # Spotify green

# What the invite asks for is what this module does in a server (docs/setup.md lists them for admins): see the
# messages that mention it and reply to them, in channels and threads (a reply quotes its message: Read Message
# History), answer with an embed of track links, and send the /history chart or an over-long answer as a file.
# Slash commands need no permission: they come with the applications.commands scope.
INVITE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                                         read_message_history=True, embed_links=True, attach_files=True)


def invite_url(application_id: int | str) -> str:
    """The OAuth2 link that adds the bot to a server, with scopes bot + applications.commands."""
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS,
                                   scopes=("bot", "applications.commands"))


# --- rendering -----------------------------------------------------------------------------------------------
def _link_text(text: str) -> str:
    """Markdown-safe text for inside ``[...]``: a bracket in a track name must not end the link."""
    return discord.utils.escape_markdown(text).replace("[", "\\[").replace("]", "\\]")


def track_lines(tracks: tuple[Track, ...]) -> str:
    return "\n".join(f"{n}. [{_link_text(t.artist)} — {_link_text(t.name)}]({t.spotify_url})"
                     for n, t in enumerate(tracks, 1))


def answer_embed(answer: Answer) -> discord.Embed:
    """Title: the answer's headline; description: the lines between it and the tracks, then the links."""
    header = answer.text.split("\n\n", 1)[0].splitlines() or [""]
    title = answer.title or header[0]
    lead = "\n".join(line for line in header if line != title)
    description = f"{lead}\n\n{track_lines(answer.tracks)}" if lead else track_lines(answer.tracks)
    return discord.Embed(title=title[:TITLE_MAX], description=description[:DESCRIPTION_MAX],
                         colour=EMBED_COLOUR)


_STYLES = {layout.Style.NORMAL: discord.ButtonStyle.secondary, layout.Style.PRIMARY: discord.ButtonStyle.primary,
           layout.Style.DANGER: discord.ButtonStyle.danger}


def answer_view(answer: Answer) -> discord.ui.View | None:
    """The answer's buttons (bot.layout), each a CallbackButton, so they keep working after a restart."""
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(layout.buttons(answer)):
        for button in row:
            view.add_item(CallbackButton(button.data, label=button.label, emoji=button.emoji,
                                         style=_STYLES[button.style], row=row_number))
    return view if view.children else None


def reply_kwargs(answer: Answer) -> dict[str, Any]:
    """Keyword arguments for ``send``/``reply``/``followup.send``: an embed for tracks, plain text otherwise.
    Called once per answer sent, so it counts the answer too."""
    metrics.count_answer(PLATFORM, answer.kind)
    kwargs: dict[str, Any] = {}
    if answer.kind is AnswerKind.TRACKS:
        kwargs["embed"] = answer_embed(answer)
    elif (file := layout.as_file_if_too_long(answer.text, CONTENT_MAX, caption_limit=CONTENT_MAX)) is None:
        kwargs["content"] = answer.text
    else:
        kwargs["content"] = file.caption
        kwargs["file"] = discord.File(io.BytesIO(file.data), filename=file.filename)
    if answer.image is not None:  # e.g. the /history chart, attached to its text
        files = [kwargs.pop("file")] if "file" in kwargs else []
        kwargs["files"] = [*files, discord.File(io.BytesIO(answer.image), filename="moodtunes.png")]
    view = answer_view(answer)
    if view is not None:
        kwargs["view"] = view
    return kwargs


# --- the one persistent component ----------------------------------------------------------------------------
ANY_CUSTOM_ID = re.compile(r"(?P<payload>.{1,100})", re.DOTALL)  # Discord allows custom_ids of 1-100 characters


class CallbackButton(discord.ui.DynamicItem[discord.ui.Button], template=ANY_CUSTOM_ID):
    """A button whose custom_id is a ``bot.callbacks`` payload.

    Registered with ``add_dynamic_items`` in setup_hook, so a press is routed here from the custom_id alone —
    also for messages sent before a restart. Every component this bot sends is one of these, so the template
    takes any custom_id: a forged or outdated one decodes to InvalidCallback and gets the stale-button answer.
    """

    def __init__(self, custom_id: str, *, label: str | None = None, emoji: str | discord.PartialEmoji | None = None,
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary, row: int | None = None) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id, label=label, emoji=emoji, style=style), row=row)
        self.payload: Callback = callbacks.decode(custom_id)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> CallbackButton:
        return cls(match["payload"], label=item.label, emoji=item.emoji, style=item.style)

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the press to the cog; any failure goes to the one error reply."""
        cog: MoodCog = interaction.client.moodtunes  # type: ignore[attr-defined]
        try:
            await cog.press(interaction, self.payload)
        except Exception as exc:  # noqa: BLE001 — the error reply for buttons (views have no tree.on_error)
            await cog.report_error(interaction, exc, f"button {type(self.payload).__name__}")


# --- features ------------------------------------------------------------------------------------------------
class MoodCog(commands.Cog, name="MoodTunes"):
    """Selfie → music. Keeps nothing itself: ChatService stores hashed user ids, answers and votes
    (/mydata shows them, /forgetme deletes them); photos are read in memory and never saved."""

    def __init__(self, bot: MoodTunesClient, service: ChatService) -> None:
        self.bot = bot
        self.service = service

    async def call(self, method, *args):
        """Run a (synchronous) ChatService method in a worker thread: inference and DB writes never block."""
        return await asyncio.to_thread(method, PLATFORM, *args)

    async def answer_photo(self, user: discord.abc.User, attachment: discord.Attachment) -> Answer:
        """Refuse too-big and non-image files before downloading; read the rest in memory."""
        refusal = await asyncio.to_thread(self.service.admit_photo, PLATFORM, str(user.id), size=attachment.size,
                                          content_type=attachment.content_type)  # may ask Redis
        if refusal is not None:
            return refusal
        data = await attachment.read()
        return await self.service.handle_photo_async(PLATFORM, str(user.id), data, admitted=True)

    # -- slash commands --
    @app_commands.command(name="mood", description="Music for your mood: send a selfie, or pick a mood")
    @app_commands.describe(photo="A selfie: I'll guess how you feel", mood="Or pick a mood yourself")
    @app_commands.choices(mood=[app_commands.Choice(name=m, value=m) for m in MOODS])
    async def mood(self, interaction: discord.Interaction, photo: discord.Attachment | None = None,
                   mood: str | None = None) -> None:
        """/mood [photo] [mood]: tracks for a selfie, or for a chosen mood; neither offers the mood buttons."""
        await interaction.response.defer(thinking=True)
        if photo is not None:
            answer = await self.answer_photo(interaction.user, photo)
        else:
            answer = await self.call(self.service.handle_mood, str(interaction.user.id), mood)
        await interaction.followup.send(**reply_kwargs(answer))

    @app_commands.command(name="settings", description="Music that matches your mood, or music that lifts it")
    async def settings_command(self, interaction: discord.Interaction) -> None:
        """/settings: the current strategy and buttons to change it."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        answer = await self.call(self.service.settings_prompt, str(interaction.user.id))
        await interaction.followup.send(**reply_kwargs(answer), ephemeral=True)

    @app_commands.command(name="history", description="Your last moods")
    async def history(self, interaction: discord.Interaction) -> None:
        """/history: the user's last moods, visible only to them."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        answer = await self.call(self.service.history, str(interaction.user.id))
        await interaction.followup.send(**reply_kwargs(answer), ephemeral=True)

    @app_commands.command(name="mydata", description="Everything I store about you")
    async def mydata(self, interaction: discord.Interaction) -> None:
        """/mydata: the user's stored data, visible only to them."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        answer = await self.call(self.service.my_data, str(interaction.user.id))
        await interaction.followup.send(**reply_kwargs(answer), ephemeral=True)

    @app_commands.command(name="forgetme", description="Delete everything I store about you")
    async def forgetme(self, interaction: discord.Interaction) -> None:
        """/forgetme: asks for confirmation with two buttons."""
        await interaction.response.send_message(**reply_kwargs(self.service.forget_prompt()), ephemeral=True)

    @app_commands.command(name="help", description="What I do and how to use me")
    async def help_command(self, interaction: discord.Interaction) -> None:
        """/help: the help text."""
        await interaction.response.send_message(**reply_kwargs(self.service.help()), ephemeral=True)

    # -- photos in DMs and mentions --
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A photo sent in a DM, or in a message that mentions the bot, gets tracks as a reply."""
        me = self.bot.user
        if message.author.bot or me is None:
            return
        # DMs by channel type: a message from a server the client has not cached yet also has no .guild
        if not isinstance(message.channel, discord.DMChannel) and not any(u.id == me.id for u in message.mentions):
            return
        if not message.attachments:
            await message.reply(**reply_kwargs(self.service.help()), mention_author=False)
            return
        images = [a for a in message.attachments if not a.content_type or a.content_type.startswith("image/")]
        attachment = images[0] if images else message.attachments[0]
        async with message.channel.typing():
            answer = await self.answer_photo(message.author, attachment)
        await message.reply(**reply_kwargs(answer), mention_author=False)

    # -- buttons --
    async def press(self, interaction: discord.Interaction, payload: Callback) -> None:
        """A button press (ChatService.press): private replies for votes, settings and forget-me, a new
        message for everything else."""
        user = str(interaction.user.id)
        if isinstance(payload, InvalidCallback):  # nothing to look up: answer at once
            answer = self.service.press(PLATFORM, user, payload)
            await interaction.response.send_message(answer.text, ephemeral=True)
            return
        private = callbacks.is_private(payload)
        await interaction.response.defer(thinking=True, ephemeral=private)
        answer = await self.call(self.service.press, user, payload)
        await interaction.followup.send(**reply_kwargs(answer), ephemeral=private)

    # -- the one error reply --
    async def report_error(self, interaction: discord.Interaction, error: BaseException, where: str) -> None:
        """Log the failure (type and traceback, never tokens or photo bytes) and apologise to the user."""
        error = getattr(error, "original", error)  # CommandInvokeError wraps the real exception
        log.error("%s failed: %s", where, type(error).__name__, exc_info=error)
        metrics.ERRORS.labels(where="discord_handler").inc()
        try:
            if interaction.response.is_done():
                await interaction.followup.send(messages.SOMETHING_WENT_WRONG, ephemeral=True)
            else:
                await interaction.response.send_message(messages.SOMETHING_WENT_WRONG, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not send the error reply: %s", type(exc).__name__)

    async def on_app_command_error(self, interaction: discord.Interaction,
                                   error: app_commands.AppCommandError) -> None:
        """``tree.on_error``: every slash command failure ends here."""
        name = interaction.command.name if interaction.command else "unknown"
        await self.report_error(interaction, error, f"/{name}")


# --- the client ----------------------------------------------------------------------------------------------
class MoodTunesClient(commands.Bot):
    """discord.py client: intents for DMs and message content, no prefix commands, the cog, persistent buttons."""

    def __init__(self, service: ChatService, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: enable "Message Content Intent" in the developer portal
        intents.dm_messages = True
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())  # track names must never ping
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None, **options)
        self.moodtunes = MoodCog(self, service)

    async def setup_hook(self) -> None:
        """After login, before the gateway: the cog, the persistent buttons, the gateway URL, the command sync."""
        await self.add_cog(self.moodtunes)
        self.add_dynamic_items(CallbackButton)
        self.tree.on_error = self.moodtunes.on_app_command_error
        await self._use_gateway_from_api()
        synced = await self.tree.sync()
        log.info("discord: %d application commands synced", len(synced))

    async def _use_gateway_from_api(self) -> None:
        """Connect to the gateway that ``GET /gateway/bot`` names, as Discord asks bots to do.

        discord.py's plain Client never asks (only AutoShardedClient does): it opens
        ``DiscordWebSocket.DEFAULT_GATEWAY``, a class attribute. Against discord.com the answer is that very URL;
        against another API base (a test server, a proxy) it is that server's own gateway.
        """
        try:
            _, url, _ = await self.http.get_bot_gateway()
        except discord.GatewayNotFound:
            log.warning("discord: GET /gateway/bot failed; using %s", DiscordWebSocket.DEFAULT_GATEWAY)
            return
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: photos are answered by the cog's listener (the default would parse commands)."""

    async def on_ready(self) -> None:
        log.info("discord: connected as %s (id %s); add it to a server with %s", self.user,
                 self.user.id if self.user else "?", invite_url(self.application_id) if self.application_id else "?")

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Event listeners (on_message) end here on failure: log it and apologise in the channel."""
        log.exception("discord: %s failed", event_method)
        metrics.ERRORS.labels(where="discord_handler").inc()
        message = args[0] if args and isinstance(args[0], discord.Message) else None
        if message is not None and not message.author.bot:
            try:
                await message.reply(messages.SOMETHING_WENT_WRONG, mention_author=False)
            except discord.HTTPException as exc:
                log.warning("could not send the error reply: %s", type(exc).__name__)


class ShardedMoodTunesClient(MoodTunesClient, commands.AutoShardedBot):
    """The same client running several shards (``shard_ids`` of ``shard_count``) in one process: a large bot splits
    its guilds across processes, each started with its own DISCORD_SHARD_IDS."""


def make_client(settings: Settings, service: ChatService) -> MoodTunesClient:
    """One connection, or the shards DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS name (every shard when no ids)."""
    if not settings.discord_shard_count:
        return MoodTunesClient(service)
    shards = {"shard_count": settings.discord_shard_count}
    if settings.discord_shard_ids:
        shards["shard_ids"] = list(settings.discord_shard_ids)
    log.info("discord: shards %s of %d", settings.discord_shard_ids or "all", settings.discord_shard_count)
    return ShardedMoodTunesClient(service, **shards)


def use_api(base_url: str) -> tuple[str, yarl.URL]:
    """Point discord.py at ``base_url`` and return the previous (REST base, gateway) to restore later.

    discord.py builds every REST URL — the bot's own calls and interaction responses/followups, which go
    through the same ``Route`` — from the class attribute ``discord.http.Route.BASE``; it has no constructor
    option for it. So it must be set before the client makes its first request (login), and it is process-wide:
    one Discord bot per process.
    """
    previous = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = base_url.rstrip("/")
    return previous


async def serve(settings: Settings, service: ChatService, stop: asyncio.Event) -> None:
    """Log in, connect and answer until ``stop`` is set; then close cleanly. Login errors propagate."""
    token = settings.discord_token.get_secret_value().strip()
    if not token:
        raise ValueError("DISCORD_TOKEN is not set")
    previous = use_api(settings.discord_api_base_url)
    try:
        async with make_client(settings, service) as client:
            runner = asyncio.create_task(client.start(token), name="discord-client")
            stopper = asyncio.create_task(stop.wait(), name="discord-stop")
            try:
                await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                if not runner.done():
                    await client.close()
                await runner  # re-raises a login or connection failure
            log.info("discord: stopped")
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = previous
