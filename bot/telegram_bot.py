"""Telegram front end: python-telegram-bot handlers that turn updates into ChatService calls and render each
Answer as text plus an inline keyboard. All conversation logic lives in bot.service; the service is synchronous,
so every call runs in a worker thread and inference or database writes never block the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from moodtunes.bot import callbacks, layout, metrics
from moodtunes.bot.service import Answer, ChatService
from moodtunes.core import messages
from moodtunes.core.errors import NotAnImage
from moodtunes.core.settings import Settings

PLATFORM = "telegram"
COMMANDS = (
    BotCommand("start", "What I do"),
    BotCommand("help", "How to use me"),
    BotCommand("mood", "Music for a mood you pick, e.g. /mood sad"),
    BotCommand("settings", "Match my mood, or lift it"),
    BotCommand("history", "Your last moods"),
    BotCommand("mydata", "Everything I store about you"),
    BotCommand("forgetme", "Delete everything I store about you"),
)
# Edited messages and channel posts are not conversations with the bot: don't even fetch them.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
DOWNLOAD_TIMEOUT = 30  # seconds between two reads of a photo download

log = logging.getLogger("moodtunes.telegram")


class _RedactSecrets(logging.Filter):
    """Blank out the bot token and webhook secret: Telegram URLs carry the token, and PTB logs them at DEBUG."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            # Render now: PTB logs the getFile result dict and then prefixes its file_path with the token URL,
            # so a record formatted later would show the token.
            record.msg, record.args = self._redact(record.getMessage()), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
        return True


_REDACT = _RedactSecrets()
# Logger filters see only records created on that exact logger, so each one that may print a URL is listed.
_LOGGERS_TO_REDACT = ("moodtunes.telegram", "telegram", "telegram.Bot", "telegram.ext", "telegram.ext.ExtBot",
                      "telegram.ext.Application", "telegram.ext.Updater", "telegram.ext.AIORateLimiter",
                      "telegram.BaseRequest", "telegram.HTTPXRequest", "httpx")


class RetryingRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (Telegram's flood limits; waits out a 429's ``retry_after``) that also retries
    server errors: Telegram's 5xx and dropped connections reach us as a bare ``NetworkError``.

    Not retried: ``BadRequest`` (also a NetworkError subclass in PTB — the request itself is wrong) and
    ``TimedOut`` (the request may have been delivered; sending it again could duplicate a message).
    getUpdates never comes through here (PTB's updater retries it on its own)."""

    def __init__(self, *args: Any, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.network_retries = network_retries
        self.backoff = backoff

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        for attempt in range(self.network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, TimedOut):
                raise
            except NetworkError as exc:
                if attempt == self.network_retries:
                    raise
                delay = self.backoff * 2**attempt
                # DEBUG: a retry that works is no news, and one that does not ends in an error of its own.
                log.debug("telegram %s failed (%s); retry %d/%d in %.1fs", endpoint, type(exc).__name__,
                            attempt + 1, self.network_retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop either returns or raises


def _service(context: ContextTypes.DEFAULT_TYPE) -> ChatService:
    return context.bot_data["service"]


def _user(update: Update) -> str:
    return str(update.effective_user.id)


def keyboard(answer: Answer) -> InlineKeyboardMarkup | None:
    """The answer's buttons (bot.layout) as an inline keyboard."""
    rows = [[InlineKeyboardButton(f"{b.emoji} {b.label}" if b.emoji else b.label, callback_data=b.data) for b in row]
            for row in layout.buttons(answer)]
    return InlineKeyboardMarkup(rows) if rows else None


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units


def _as_file(text: str) -> layout.TextFile | None:
    return layout.as_file_if_too_long(text, MessageLimit.MAX_TEXT_LENGTH, caption_limit=MessageLimit.CAPTION_LENGTH,
                                      length=_utf16_length)


async def send_answer(context: ContextTypes.DEFAULT_TYPE, chat_id: int, answer: Answer) -> None:
    """Send an Answer with its buttons; a text too long for one message (e.g. /mydata) goes as a .txt file."""
    metrics.count_answer(PLATFORM, answer.kind)
    markup = keyboard(answer)
    if answer.image is not None:  # e.g. the /history chart, before its text
        await context.bot.send_photo(chat_id, InputFile(answer.image, filename="moodtunes.png"))
    if (file := _as_file(answer.text)) is None:
        await context.bot.send_message(chat_id, answer.text, reply_markup=markup, link_preview_options=NO_PREVIEW)
        return
    document = InputFile(file.data, filename=file.filename)
    await context.bot.send_document(chat_id, document, caption=file.caption, reply_markup=markup)


async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE, answer: Answer) -> None:
    await send_answer(context, update.effective_chat.id, answer)


# --- delivery ------------------------------------------------------------------------------------------------
async def once(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop an update some replica already took on (Telegram redelivers; a balancer may send it to two)."""
    if not await asyncio.to_thread(_service(context).first_delivery, PLATFORM, update.update_id,
                                   bot_id=context.bot.id):
        raise ApplicationHandlerStop


# --- commands ------------------------------------------------------------------------------------------------
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot does (/start, /help, and any message it cannot use)."""
    await _reply(update, context, _service(context).help())


async def mood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mood sad: five tracks at once; /mood alone: the mood keyboard."""
    answer = await asyncio.to_thread(_service(context).handle_mood, PLATFORM, _user(update),
                                     " ".join(context.args or ()) or None)
    await _reply(update, context, answer)


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the current strategy and a keyboard to change it."""
    await _reply(update, context, await asyncio.to_thread(_service(context).settings_prompt, PLATFORM, _user(update)))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the user's last moods."""
    await _reply(update, context, await asyncio.to_thread(_service(context).history, PLATFORM, _user(update)))


async def mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send everything stored about the user."""
    await _reply(update, context, await asyncio.to_thread(_service(context).my_data, PLATFORM, _user(update)))


async def forgetme(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask for confirmation before deleting the user's data."""
    await _reply(update, context, _service(context).forget_prompt())


# --- photos --------------------------------------------------------------------------------------------------
async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a selfie (a photo, or an image sent as a file) with five tracks and their buttons."""
    message = update.effective_message
    media = message.photo[-1] if message.photo else message.document  # the last size is the largest
    service, user = _service(context), _user(update)
    refusal = await asyncio.to_thread(service.admit_photo, PLATFORM, user, size=media.file_size,
                                      content_type=getattr(media, "mime_type", None))  # may ask Redis
    if refusal is not None:  # refused before downloading anything
        await _reply(update, context, refusal)
        return
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    file = await media.get_file()
    if (refusal := service.refuse_file(file.file_size, None)) is not None:  # the size may be known only now
        await _reply(update, context, refusal)
        return
    data = await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT)  # in memory, never on disk
    await _reply(update, context, await service.handle_photo_async(PLATFORM, user, bytes(data), admitted=True))


async def not_an_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain that only photos can be read."""
    mime = update.effective_message.document.mime_type
    await _reply(update, context, ChatService.reject_photo(NotAnImage(f"document of type {mime}")))


# --- buttons -------------------------------------------------------------------------------------------------
async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Act on a pressed inline button (ChatService.press): a toast for votes, a message or an edit otherwise."""
    query = update.callback_query
    service, user = _service(context), str(query.from_user.id)
    payload = callbacks.decode(query.data)
    if callbacks.is_toast(payload):  # the toast is the whole reply
        toast = await asyncio.to_thread(service.press, PLATFORM, user, payload)
        metrics.count_answer(PLATFORM, toast.kind)
        await query.answer(toast.text)
        return
    await query.answer()  # stop the spinner first: the answer may take a moment
    answer = await asyncio.to_thread(service.press, PLATFORM, user, payload)
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    if answer.replaces_prompt:
        await _replace_prompt(query, context, chat_id, answer)
    else:
        await send_answer(context, chat_id, answer)


async def _replace_prompt(query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, chat_id: int,
                          answer: Answer) -> None:
    """Turn a one-shot prompt (settings, forget-me) into its result, so its buttons cannot be pressed twice."""
    if isinstance(query.message, Message) and keyboard(answer) is None and _as_file(answer.text) is None:
        await query.edit_message_text(answer.text)
    else:
        await send_answer(context, chat_id, answer)


# --- errors and wiring ---------------------------------------------------------------------------------------
async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception (secrets redacted) and tell the user something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s: %s", update_id, type(context.error).__name__, exc_info=context.error)
    metrics.ERRORS.labels(where="telegram_handler").inc()
    if not isinstance(update, Update) or isinstance(context.error, Forbidden):
        return
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # stop the button's spinner; it may already have been answered
            await update.callback_query.answer(messages.SOMETHING_WENT_WRONG)
    if update.effective_chat:
        await context.bot.send_message(update.effective_chat.id, messages.SOMETHING_WENT_WRONG)


async def post_init(application: Application) -> None:
    """Publish the command menu."""
    await application.bot.set_my_commands(COMMANDS)


def add_handlers(application: Application) -> None:
    """Register every handler, in the order they are tried."""
    application.add_handler(TypeHandler(Update, once), group=-1)  # before every other handler
    application.add_handler(CommandHandler(["start", "help"], start))
    application.add_handler(CommandHandler("mood", mood))
    application.add_handler(CommandHandler("settings", settings_command))
    application.add_handler(CommandHandler("history", history))
    application.add_handler(CommandHandler("mydata", mydata))
    application.add_handler(CommandHandler("forgetme", forgetme))
    application.add_handler(MessageHandler(filters.PHOTO | filters.Document.IMAGE, photo))
    application.add_handler(MessageHandler(filters.Document.ALL, not_an_image))
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, start))  # text, stickers, unknown commands
    application.add_error_handler(on_error)


def build_application(settings: Settings, service: ChatService) -> Application:
    """The configured PTB Application (not started). The pipeline inside ``service`` is already warmed up."""
    token = settings.telegram_token.get_secret_value()
    if not token:
        raise ValueError("TELEGRAM_TOKEN is not set")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines print URLs, which carry the token
    _REDACT.secrets.update(s for s in (token, settings.telegram_webhook_secret.get_secret_value()) if s)
    for name in _LOGGERS_TO_REDACT:
        logging.getLogger(name).addFilter(_REDACT)  # before build(): the Bot logs its URLs when created
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .rate_limiter(RetryingRateLimiter(max_retries=3))
        .post_init(post_init)
        # Updates are handled concurrently; the pipeline's detector and model serialise their own calls.
        .concurrent_updates(True)
        .build()
    )
    application.bot_data["service"] = service
    add_handlers(application)
    return application


def webhook_path(settings: Settings, webhook_url: str) -> str:
    """The path the webhook server answers on: TELEGRAM_WEBHOOK_PATH, else the public URL's own path."""
    return (settings.telegram_webhook_path or urlsplit(webhook_url).path).strip("/")


async def serve(settings: Settings, service: ChatService, stop: asyncio.Event, *,
                webhook_url: str | None = None) -> None:
    """Run inside the current event loop until ``stop`` is set: long polling, or a webhook at ``webhook_url``
    (the public URL Telegram posts to, e.g. a TLS reverse proxy or load balancer in front of several replicas);
    each replica serves it on TELEGRAM_WEBHOOK_LISTEN:TELEGRAM_WEBHOOK_PORT/TELEGRAM_WEBHOOK_PATH. Needs
    TELEGRAM_WEBHOOK_SECRET."""
    secret = settings.telegram_webhook_secret.get_secret_value()
    if webhook_url and not secret:
        raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET: without it anyone could post fake updates")
    application = build_application(settings, service)
    async with application:  # initialize ... shutdown
        await post_init(application)  # run_polling() would call it; here we start by hand
        await application.start()
        try:
            if webhook_url:
                listen, port = settings.telegram_webhook_listen, settings.telegram_webhook_port
                path = webhook_path(settings, webhook_url)
                await application.updater.start_webhook(
                    listen=listen, port=port, url_path=path, webhook_url=webhook_url, secret_token=secret,
                    allowed_updates=ALLOWED_UPDATES)
                log.info("telegram: webhook on %s:%d/%s", listen, port, path)
            else:
                await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
                log.info("telegram: polling")
            await stop.wait()
        finally:
            if application.updater.running:
                await application.updater.stop()
            await application.stop()
    log.info("telegram: stopped")

