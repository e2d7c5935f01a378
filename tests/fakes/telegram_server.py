"""A small fake of the Telegram Bot API on loopback, real enough for python-telegram-bot to talk HTTP to.

``POST /bot<token>/<method>`` answers the methods the bot uses (getMe, deleteWebhook, setWebhook, getUpdates with
long polling and offsets, setMyCommands, sendMessage, sendDocument, sendPhoto, sendChatAction, answerCallbackQuery,
editMessageText, editMessageReplyMarkup, getFile) and ``GET /file/bot<token>/<path>`` serves stored file bytes.
Parameters are accepted as JSON, url-encoded or multipart forms (PTB sends forms with JSON-encoded values).
A few of Telegram's own rules are enforced (text length, callback_data size, one answer per callback query,
20 MB download limit) so that breaking them fails the test like it would fail in production.

Every call is recorded as an :class:`ApiCall`; tests push updates with :meth:`push_update` (or the
``send_*``/``press`` helpers, which build correctly shaped updates) and wait for replies with timeouts.

Webhook mode: once the bot has called setWebhook, :meth:`route_webhooks` makes every pushed update go out as an
HTTP POST (with the secret token the bot registered) to the URLs a routing function picks — the replicas behind a
load balancer; the same URL twice is a redelivery, two URLs the same update reaching two replicas. Each delivery
is retried while nothing listens yet and recorded in ``deliveries``.

Transient faults can be injected with :meth:`fail_next` (a 429 with ``parameters.retry_after``, a 5xx): the
faulted request is answered with the error before the method runs, so nothing is delivered; it is recorded in
``injected``, not in ``calls``. :meth:`listen` registers a callback for every recorded call (cheaper than many
concurrent ``wait_for`` waiters when a test pushes thousands of updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

BOT_ID = 4242
DOWNLOAD_LIMIT = 20 * 1024 * 1024
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_TOAST = 200

# Form values that are plain strings even when they look like JSON (e.g. a text "42").
_STRING_PARAMS = {"text", "caption", "callback_query_id", "file_id", "url", "secret_token", "inline_message_id",
                  "description", "short_description", "name", "language_code", "action"}


def utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class ApiCall:
    """One request the bot made: the method name and its decoded parameters."""

    method: str
    params: dict[str, Any]
    result: Any = None
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def keyboard(self) -> list[list[dict]]:
        markup = self.params.get("reply_markup") or {}
        return markup.get("inline_keyboard", []) if isinstance(markup, dict) else []

    @property
    def buttons(self) -> list[dict]:
        return [button for row in self.keyboard for button in row]


class TelegramAPIError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Fault:
    """One injected failure: the HTTP status, and for a 429 the ``retry_after`` Telegram asks for."""

    status: int
    retry_after: int | None = None
    description: str | None = None

    def response(self) -> web.Response:
        if self.status == 502:  # Telegram's front proxy answers a 502 with an HTML page, not JSON
            return web.Response(status=502, content_type="text/html",
                                text="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
        if self.status == 429:
            retry_after = self.retry_after or 1
            body = {"ok": False, "error_code": 429,
                    "description": self.description or f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after}}
            return web.json_response(body, status=429)
        return _error(self.status, self.description or "Internal Server Error")


class FakeTelegram:
    """Start with ``await fake.start()`` (or ``async with FakeTelegram() as fake``); stop with ``await fake.stop()``."""

    def __init__(self, token: str = "123:TEST", *, poll_wait: float = 0.5, bot_username: str = "moodtunes_test_bot"):
        self.token = token
        self.poll_wait = poll_wait
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "MoodTunes", "username": bot_username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.calls: list[ApiCall] = []
        self.injected: list[ApiCall] = []  # requests answered with a fault from fail_next (not in calls)
        self.commands: list[dict] = []
        self.webhook: dict[str, Any] | None = None
        self.port: int | None = None
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._files: dict[str, dict[str, Any]] = {}  # file_id -> {"data", "file_size", "file_path", ...}
        self._paths: dict[str, str] = {}  # file_path -> file_id
        self._messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> Message
        self._open_queries: set[str] = set()
        self._answered_queries: set[str] = set()
        self._cursor: dict[int, int] = {}  # chat_id -> index into calls of the last reply handed to a test
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._listeners: list[Callable[[ApiCall], None]] = []
        self._route: Callable[[dict], list[str]] | None = None
        self._http: Any = None  # aiohttp.ClientSession while routing webhooks
        self._posting: set[asyncio.Task] = set()
        self.deliveries: list[tuple[int, str, int]] = []  # (update_id, url, HTTP status) of webhook posts
        self._changed = asyncio.Condition()
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{bot}/{method}", self._api)
        app.router.add_get("/file/{bot}/{path:.+}", self._download)
        # access_log=None: the access log would print request paths, and those carry the token.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._new_update.set()
        for task in list(self._posting):
            task.cancel()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what tests feed in --------------------------------------------------------------------------------
    def push_update(self, update: dict) -> dict:
        """Queue an update for getUpdates, or post it to the webhook URLs :meth:`route_webhooks` picks; an
        update_id is assigned when missing."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        if "callback_query" in update:
            self._open_queries.add(update["callback_query"]["id"])
        if self._route is not None:
            for url in self._route(update):
                task = asyncio.get_running_loop().create_task(self._post_update(url, update))
                self._posting.add(task)
                task.add_done_callback(self._posting.discard)
            return update
        self._updates.append(update)
        self._new_update.set()
        return update

    def route_webhooks(self, route: Callable[[dict], list[str]]) -> None:
        """From now on, post each pushed update to every URL ``route(update)`` returns (a URL twice: two posts)."""
        import aiohttp

        if self.webhook is None:
            raise RuntimeError("the bot has not called setWebhook")
        self._http = aiohttp.ClientSession()
        self._route = route

    async def deliveries_done(self, timeout: float = 30) -> None:
        """Wait until every webhook post made so far has been answered."""
        if self._posting:
            await asyncio.wait_for(asyncio.gather(*list(self._posting)), timeout)

    async def _post_update(self, url: str, update: dict, *, patience: float = 30) -> None:
        import aiohttp

        headers = {"X-Telegram-Bot-Api-Secret-Token": str(self.webhook.get("secret_token", ""))}
        deadline = time.monotonic() + patience
        while True:
            try:
                async with self._http.post(url, json=update, headers=headers) as response:
                    self.deliveries.append((update["update_id"], url, response.status))
                    return
            except aiohttp.ClientConnectionError:  # not listening yet: Telegram retries too
                if time.monotonic() > deadline:
                    self.deliveries.append((update["update_id"], url, 0))
                    return
                await asyncio.sleep(0.2)

    def add_file(self, data: bytes | None, *, file_size: int | None = None, folder: str = "photos",
                 suffix: str = ".jpg") -> str:
        """Store bytes to be served by getFile + download; ``file_size`` may claim more than is stored."""
        n = next(self._file_ids)
        file_id = f"FILE{n:04d}-{'x' * 20}"
        path = f"{folder}/file_{n}{suffix}"
        size = file_size if file_size is not None else len(data or b"")
        self._files[file_id] = {"data": data, "file_size": size, "file_path": path, "file_unique_id": f"U{n:04d}"}
        self._paths[path] = file_id
        return file_id

    def fail_next(self, method: str, status: int, retry_after: int | None = None, *, times: int = 1,
                  description: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (429: with ``retry_after`` seconds)
        instead of running them. Faults queue up: ``fail_next(m, 429, 1); fail_next(m, 502)`` fails twice."""
        for _ in range(times):
            self._faults[method].append(Fault(status, retry_after, description))

    def listen(self, callback: Callable[[ApiCall], None]) -> None:
        """Call ``callback`` (synchronously, in the server's loop) with every call as it is recorded."""
        self._listeners.append(callback)

    @staticmethod
    def user(user_id: int) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "en"}

    def _message(self, user_id: int, **content) -> dict:
        return {"message_id": next(self._message_ids), "date": int(time.time()), "from": self.user(user_id),
                "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"}, **content}

    def send_text(self, user_id: int, text: str) -> dict:
        """A private message from ``user_id``; a leading /command gets its bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self.push_update({"message": self._message(user_id, **content)})

    def send_photo(self, user_id: int, data: bytes, width: int, height: int, *, caption: str | None = None) -> dict:
        """A compressed photo: a thumbnail size (bytes that are not the photo) and the full size."""
        thumb_id = self.add_file(b"thumbnail, not the photo")
        full_id = self.add_file(data)
        sizes = [
            {"file_id": thumb_id, "file_unique_id": self._files[thumb_id]["file_unique_id"], "width": 90,
             "height": max(1, round(90 * height / width)), "file_size": self._files[thumb_id]["file_size"]},
            {"file_id": full_id, "file_unique_id": self._files[full_id]["file_unique_id"], "width": width,
             "height": height, "file_size": len(data)},
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self.push_update({"message": self._message(user_id, **content)})

    def send_document(self, user_id: int, data: bytes | None, *, mime_type: str, file_name: str,
                      file_size: int | None = None) -> dict:
        """A file sent "as document"; ``file_size`` may claim a size without storing that many bytes."""
        file_id = self.add_file(data, file_size=file_size, folder="documents", suffix="")
        document = {"file_id": file_id, "file_unique_id": self._files[file_id]["file_unique_id"],
                    "file_name": file_name, "mime_type": mime_type, "file_size": self._files[file_id]["file_size"]}
        return self.push_update({"message": self._message(user_id, document=document)})

    def press(self, user_id: int, callback_data: str, message: ApiCall | dict | None = None) -> str:
        """Press an inline button (on ``message``, a reply the bot sent); returns the callback query id."""
        query_id = f"Q{next(self._query_ids)}"
        query: dict[str, Any] = {"id": query_id, "from": self.user(user_id), "chat_instance": f"ci{user_id}",
                                 "data": callback_data}
        if isinstance(message, ApiCall):
            message = message.result
        if message is not None:
            query["message"] = message
        self.push_update({"callback_query": query})
        return query_id

    # --- what tests look at --------------------------------------------------------------------------------
    def calls_of(self, method: str, predicate: Callable[[ApiCall], bool] | None = None) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (predicate is None or predicate(c))]

    async def wait_for(self, method: str, predicate: Callable[[ApiCall], bool] | None = None, *, since: int = 0,
                       timeout: float = 30) -> ApiCall:
        """The first call of ``method`` at index >= ``since`` matching ``predicate``; TimeoutError otherwise."""

        def find() -> ApiCall | None:
            for call in self.calls[since:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            return None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(find), timeout)
        return find()  # type: ignore[return-value]

    async def expect_no_call(self, method: str, predicate: Callable[[ApiCall], bool] | None = None, *, since: int,
                             within: float) -> None:
        """Wait up to ``within`` seconds for a call that must not come (a duplicate); AssertionError if it does."""
        try:
            found = await self.wait_for(method, predicate, since=since, timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {found.method} to {found.chat_id}: {found.params}")

    async def next_reply(self, chat_id: int, *, timeout: float = 30) -> ApiCall:
        """The next message (sendMessage or sendDocument) to ``chat_id`` not yet handed out by this method.

        A message the fake refused (too long, bad keyboard...) raises AssertionError with Telegram's reason."""

        def find() -> int | None:
            for index in range(self._cursor.get(chat_id, -1) + 1, len(self.calls)):
                call = self.calls[index]
                if call.method in ("sendMessage", "sendDocument") and call.chat_id == chat_id:
                    return index
            return None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
        index = find()
        self._cursor[chat_id] = index  # type: ignore[assignment]
        call = self.calls[index]  # type: ignore[index]
        if call.error:
            raise AssertionError(f"Telegram refused the bot's {call.method}: {call.error}")
        return call

    async def answer_of(self, query_id: str, *, timeout: float = 30) -> ApiCall:
        """The answerCallbackQuery call for one pressed button."""
        return await self.wait_for("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id,
                                   timeout=timeout)

    def file_requested(self, file_id: str) -> bool:
        return bool(self.calls_of("getFile", lambda c: c.params.get("file_id") == file_id))

    # --- HTTP ----------------------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{self.token}":
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _read_params(request)
        call = ApiCall(method, params)
        if self._faults.get(method):
            fault = self._faults[method].popleft()
            call.error = f"injected {fault.status}"
            self.injected.append(call)
            return fault.response()
        try:
            handler = getattr(self, f"_m_{method[:1].lower()}{method[1:]}", None)
            if handler is None:
                raise TelegramAPIError(404, "Not Found: method not found")
            result = await handler(params)
        except TelegramAPIError as exc:
            call.error = exc.description
            await self._record(call)
            return _error(exc.code, exc.description)
        call.result = result
        await self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _record(self, call: ApiCall) -> None:
        async with self._changed:
            self.calls.append(call)
            for listener in self._listeners:
                listener(call)
            self._changed.notify_all()

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{self.token}":
            return _error(401, "Unauthorized")
        file_id = self._paths.get(request.match_info["path"])
        if file_id is None or self._files[file_id]["data"] is None:
            return _error(404, "Not Found")
        await self._record(ApiCall("download", {"file_id": file_id, "file_path": request.match_info["path"]}))
        return web.Response(body=self._files[file_id]["data"], content_type="application/octet-stream")

    # --- methods -------------------------------------------------------------------------------------------
    async def _m_getMe(self, params: dict) -> dict:
        return self.bot_user

    async def _m_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates") in (True, "true"):
            self._updates.clear()
        return True

    async def _m_setWebhook(self, params: dict) -> bool:
        self.webhook = params
        return True

    async def _m_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if self.webhook is not None:
            raise TelegramAPIError(409, "Conflict: can't use getUpdates method while webhook is active")
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones go
        if not self._updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):  # long polling: an empty answer after the wait
                await asyncio.wait_for(self._new_update.wait(), min(timeout, self.poll_wait))
        return self._updates[:limit]

    async def _m_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all({"command", "description"} <= set(c) for c in commands):
            raise TelegramAPIError(400, "Bad Request: commands must be a list of BotCommand")
        self.commands = commands
        return True

    async def _m_getMyCommands(self, params: dict) -> list[dict]:
        return self.commands

    async def _m_sendChatAction(self, params: dict) -> bool:
        _require(params, "chat_id", "action")
        return True

    async def _m_sendMessage(self, params: dict) -> dict:
        _require(params, "chat_id", "text")
        _check_text(params["text"], MAX_TEXT, "message")
        _check_markup(params.get("reply_markup"))
        return self._store_message(params, text=params["text"])

    async def _m_sendDocument(self, params: dict) -> dict:
        _require(params, "chat_id", "document")
        if params.get("caption") is not None:
            _check_text(params["caption"], MAX_CAPTION, "caption")
        _check_markup(params.get("reply_markup"))
        upload = params["document"]
        if not isinstance(upload, dict) or not upload.get("data"):
            raise TelegramAPIError(400, "Bad Request: file must be non-empty")
        n = next(self._file_ids)
        document = {"file_id": f"SENT{n:04d}", "file_unique_id": f"S{n:04d}", "file_name": upload.get("filename"),
                    "mime_type": upload.get("content_type"), "file_size": len(upload["data"])}
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return self._store_message(params, document=document, **extra)

    async def _m_sendPhoto(self, params: dict) -> dict:
        _require(params, "chat_id", "photo")
        upload = params["photo"]
        if not isinstance(upload, dict) or not upload.get("data"):
            raise TelegramAPIError(400, "Bad Request: file must be non-empty")
        n = next(self._file_ids)
        photo = [{"file_id": f"SENT{n:04d}", "file_unique_id": f"S{n:04d}", "width": 0, "height": 0,
                  "file_size": len(upload["data"])}]
        return self._store_message(params, photo=photo)

    async def _m_answerCallbackQuery(self, params: dict) -> bool:
        _require(params, "callback_query_id")
        query_id = params["callback_query_id"]
        if query_id not in self._open_queries or query_id in self._answered_queries:
            raise TelegramAPIError(400, "Bad Request: query is too old and response timeout expired or query ID "
                                        "is invalid")
        if len(params.get("text") or "") > MAX_TOAST:
            raise TelegramAPIError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answered_queries.add(query_id)
        return True

    async def _m_editMessageText(self, params: dict) -> dict:
        _require(params, "text")
        _check_text(params["text"], MAX_TEXT, "message")
        _check_markup(params.get("reply_markup"))
        message = self._find_message(params)
        message = {**message, "text": params["text"], "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    async def _m_editMessageReplyMarkup(self, params: dict) -> dict:
        _check_markup(params.get("reply_markup"))
        message = {**self._find_message(params), "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    async def _m_getFile(self, params: dict) -> dict:
        _require(params, "file_id")
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise TelegramAPIError(400, "Bad Request: invalid file_id")
        if stored["file_size"] > DOWNLOAD_LIMIT:
            raise TelegramAPIError(400, "Bad Request: file is too big")
        return {"file_id": params["file_id"], "file_unique_id": stored["file_unique_id"],
                "file_size": stored["file_size"], "file_path": stored["file_path"]}

    # --- helpers -------------------------------------------------------------------------------------------
    def _store_message(self, params: dict, **content) -> dict:
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int):
            raise TelegramAPIError(400, "Bad Request: chat not found")
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "from": self.bot_user,
                   "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}, **content}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _find_message(self, params: dict) -> dict:
        key = (params.get("chat_id"), params.get("message_id"))
        if key not in self._messages:
            raise TelegramAPIError(400, "Bad Request: message to edit not found")
        return self._messages[key]


def _error(code: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)


def _require(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise TelegramAPIError(400, f"Bad Request: {name} is empty")


def _check_text(text: Any, limit: int, what: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise TelegramAPIError(400, f"Bad Request: {what} text is empty")
    if utf16_len(text) > limit:
        raise TelegramAPIError(400, f"Bad Request: {what} is too long")


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise TelegramAPIError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise TelegramAPIError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise TelegramAPIError(400, "Bad Request: BUTTON_DATA_INVALID")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """JSON body, or a form whose values are JSON-encoded (except plain strings); uploads become dicts."""
    if request.content_type == "application/json":
        body = await request.read()
        return json.loads(body) if body else {}
    form = await request.post()
    files: dict[str, dict] = {}
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = {"filename": value.filename, "content_type": value.content_type,
                          "data": value.file.read()}
        elif key in _STRING_PARAMS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = files.pop(value.removeprefix("attach://"), value)
    params.update(files)
    return params
