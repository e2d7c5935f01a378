"""A loopback imitation of Discord for tests: the REST API discord.py calls, a CDN for attachments and the
gateway websocket — enough for a real discord.py client to log in, connect, sync commands, receive events and
answer interactions.

Everything the client sends is recorded (``requests``); tests push gateway events (``dispatch``) and wait
for the client's reaction (``wait_request``). Payload shapes follow the Discord API v10 documentation and
what discord.py 2.7 reads (discord/state.py, interactions.py, message.py, appinfo.py, gateway.py).

Rate limits can be injected with :meth:`FakeDiscord.fail_next`: the next matching request is answered with a 429
shaped like Discord's (``retry_after`` in the JSON body, ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers) and
not carried out; it is still recorded, with its ``status``.

Gateway frames are uncompressed JSON text: discord.py asks for ``compress=zlib-stream`` in the URL but hands
TEXT frames straight to the JSON decoder (DiscordWebSocket.received_message only inflates ``bytes``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import math
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API = "/api/v10"
HEARTBEAT_INTERVAL_MS = 10_000
EPHEMERAL = 1 << 6
DM_CHANNEL = 1


@dataclass
class Recorded:
    """One HTTP request the client made."""

    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    files: list[str] = field(default_factory=list)
    authorized: bool = False
    response: Any = None  # the JSON the fake answered with
    status: int = 200
    at: float = field(default_factory=time.monotonic)


@dataclass
class RateLimit:
    """A 429 to answer to the next request matching ``method`` and ``path`` (an fnmatch pattern)."""

    method: str
    path: str
    retry_after: float
    is_global: bool = False
    scope: str = "user"

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and fnmatch.fnmatchcase(path, self.path)

    def response(self) -> web.Response:
        body = {"message": "You are being rate limited.", "retry_after": self.retry_after, "global": self.is_global,
                "code": 0}
        headers = {"Content-Type": "application/json", "Via": "1.1 google",
                   "Retry-After": str(math.ceil(self.retry_after)), "X-RateLimit-Scope": self.scope}
        if self.is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            reset = time.time() + self.retry_after
            headers.update({"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": f"{reset:.3f}", "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                            "X-RateLimit-Bucket": f"{zlib.crc32(self.path.encode()):08x}"})
        return web.Response(body=json.dumps(body).encode(), status=429, headers=headers)


def _json(data: Any, status: int = 200) -> web.Response:
    """JSON with the exact header Discord sends: discord.py decodes only ``application/json`` without charset."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


class FakeDiscord:
    """Start with ``await fake.start()``; ``fake.api_base`` is the value for ``discord_api_base_url``."""

    def __init__(self, token: str = "fake-bot-token") -> None:
        self.token = token
        self._ids = itertools.count(1_300_000_000_000_000_000 + secrets.randbelow(10**9) * 1000)
        self.app_id = str(self.snowflake())
        self.bot_user = {"id": self.app_id, "username": "MoodTunes", "discriminator": "0", "global_name": None,
                         "avatar": None, "bot": True, "verified": True, "mfa_enabled": False, "flags": 0}
        self.requests: list[Recorded] = []
        self.downloads: list[str] = []
        self.identifies: list[dict] = []  # IDENTIFY payloads, token removed
        self.gateway_queries: list[dict[str, str]] = []
        self.messages: dict[str, dict] = {}  # every message the client created, by id
        self.commands: list[dict] = []
        self._attachments: dict[str, tuple[bytes, str]] = {}
        self._interaction_tokens: dict[str, str] = {}
        self._rate_limits: list[RateLimit] = []
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()  # notified whenever a request or an IDENTIFY is recorded
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{id}/{filename}", self._cdn)
        app.router.add_route("*", API + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.url + API

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> int:
        return next(self._ids)

    # -- test-side helpers --------------------------------------------------------------------------------
    def user(self, name: str = "alice") -> dict:
        return {"id": str(self.snowflake()), "username": name, "discriminator": "0", "global_name": name.title(),
                "avatar": None}

    def dm_channel(self, user: dict) -> dict:
        return {"id": str(self.snowflake()), "type": DM_CHANNEL, "recipients": [user]}

    def add_attachment(self, channel_id: str, filename: str, data: bytes, content_type: str | None,
                       size: int | None = None) -> dict:
        """Store bytes on the CDN and return the attachment object; ``size`` may claim another length."""
        attachment_id = str(self.snowflake())
        url = f"{self.url}/attachments/{channel_id}/{attachment_id}/{filename}"
        self._attachments[f"/attachments/{channel_id}/{attachment_id}/{filename}"] = (data, content_type or "")
        payload = {"id": attachment_id, "filename": filename, "size": len(data) if size is None else size,
                   "url": url, "proxy_url": url}
        if content_type:
            payload["content_type"] = content_type
        return payload

    def _interaction(self, kind: int, data: dict, user: dict, channel: dict, **extra: Any) -> dict:
        interaction_id = str(self.snowflake())
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(24)
        self._interaction_tokens[interaction_id] = token
        return {"id": interaction_id, "application_id": self.app_id, "type": kind, "token": token, "version": 1,
                "data": data, "channel_id": channel["id"], "channel": channel, "user": user, "locale": "en-US",
                "app_permissions": "0", "entitlements": [], "authorizing_integration_owners": {"0": user["id"]},
                "context": 1, "attachment_size_limit": 10 * 1024 * 1024, **extra}

    def command_interaction(self, user: dict, channel: dict, name: str, *, options: list[dict] | None = None,
                            attachments: list[dict] = ()) -> dict:
        """An APPLICATION_COMMAND interaction (type 2) for a synced global command."""
        command = next((c for c in self.commands if c["name"] == name), None)
        data: dict[str, Any] = {"id": command["id"] if command else str(self.snowflake()), "name": name, "type": 1,
                                "options": options or []}
        if attachments:
            data["resolved"] = {"attachments": {a["id"]: a for a in attachments}}
        return self._interaction(2, data, user, channel)

    def component_interaction(self, user: dict, channel: dict, message: dict, custom_id: str) -> dict:
        """A MESSAGE_COMPONENT interaction (type 3): ``user`` presses the button ``custom_id`` on ``message``."""
        return self._interaction(3, {"custom_id": custom_id, "component_type": 2}, user, channel, message=message)

    def dm_message(self, user: dict, channel: dict, content: str = "", attachments: list[dict] = ()) -> dict:
        """A MESSAGE_CREATE payload for a direct message from ``user``."""
        return {"id": str(self.snowflake()), "channel_id": channel["id"], "author": user, "content": content,
                "timestamp": _now(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
                "mentions": [], "mention_roles": [], "attachments": list(attachments), "embeds": [],
                "pinned": False, "type": 0, "flags": 0, "components": []}

    def guild_message(self, user: dict, guild_id: str, channel_id: str, content: str = "",
                      attachments: list[dict] = (), mention_bot: bool = False) -> dict:
        """A MESSAGE_CREATE payload for a message in a server text channel, optionally mentioning the bot."""
        message = self.dm_message(user, {"id": channel_id}, content, attachments)
        message["guild_id"] = guild_id
        if mention_bot:
            message["mentions"] = [self.bot_user]
            message["content"] = f"<@{self.app_id}> {content}".strip()
        return message

    async def dispatch(self, event: str, data: dict) -> None:
        """Send a gateway DISPATCH (op 0) to the connected client."""
        if self._ws is None or self._ws.closed:
            raise RuntimeError("no client is connected to the gateway")
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    def fail_next(self, method: str, path: str, *, retry_after: float = 1.0, is_global: bool = False) -> None:
        """Answer the next ``method`` request whose API path (after /api/v10) matches the fnmatch pattern
        ``path`` with a 429 asking to retry after ``retry_after`` seconds. Calls queue up."""
        self._rate_limits.append(RateLimit(method, path, retry_after, is_global, "global" if is_global else "user"))

    def mark(self) -> int:
        return len(self.requests)

    async def wait_request(self, predicate: Callable[[Recorded], bool], *, since: int = 0,
                           timeout: float = 30) -> Recorded:
        """The first request from index ``since`` on that matches; TimeoutError after ``timeout`` seconds."""

        def find() -> Recorded | None:
            return next((record for record in self.requests[since:] if predicate(record)), None)

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
        except TimeoutError:
            seen = [f"{r.method} {r.path}" for r in self.requests[since:]]
            raise TimeoutError(f"no matching request within {timeout}s; saw {seen}") from None
        return find()  # type: ignore[return-value]

    async def expect_no_request(self, predicate: Callable[[Recorded], bool], *, since: int, within: float) -> None:
        """Wait up to ``within`` seconds for a request that must not come (a duplicate); AssertionError if it does."""
        try:
            found = await self.wait_request(predicate, since=since, timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {found.method} {found.path} (status {found.status})")

    async def wait_identified(self, count: int = 1, timeout: float = 30) -> None:
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.identifies) >= count), timeout)
        except TimeoutError:
            raise TimeoutError(f"the client did not IDENTIFY within {timeout}s") from None

    def interaction_token(self, interaction_id: str) -> str:
        return self._interaction_tokens[interaction_id]

    # -- CDN ----------------------------------------------------------------------------------------------
    async def _cdn(self, request: web.Request) -> web.Response:
        self.downloads.append(request.path)
        try:
            data, content_type = self._attachments[request.path]
        except KeyError:
            return web.Response(status=404)
        return web.Response(body=data, content_type=content_type or "application/octet-stream")

    # -- REST ---------------------------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> tuple[Any, list[str]]:
        if request.content_type.startswith("multipart/"):
            payload, files = None, []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append(part.filename or part.name or "")
                    await part.read()
            return payload, files
        if request.can_read_body:
            text = await request.text()
            return (json.loads(text) if text else None), []
        return None, []

    def _message(self, channel_id: str, payload: dict | None, **extra: Any) -> dict:
        payload = payload or {}
        message = {"id": str(self.snowflake()), "channel_id": channel_id, "author": self.bot_user,
                   "content": payload.get("content") or "", "timestamp": _now(), "edited_timestamp": None,
                   "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                   "embeds": payload.get("embeds") or [], "pinned": False, "type": 0,
                   "flags": payload.get("flags") or 0, "components": payload.get("components") or [], **extra}
        if payload.get("message_reference"):
            message["message_reference"] = payload["message_reference"]
            message["type"] = 19  # reply
        self.messages[message["id"]] = message
        return message

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API):]
        body, files = await self._body(request)
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        record = Recorded(request.method, path, dict(request.query), body, files, authorized)
        limit = next((r for r in self._rate_limits if r.matches(request.method, path)), None)
        if limit is not None:
            self._rate_limits.remove(limit)
            response = limit.response()
        else:
            response = self._answer(request.method, path, body, authorized)
        record.status = response.status
        if isinstance(response, web.Response) and response.body is not None and response.status != 204:
            record.response = json.loads(response.body)
        async with self._changed:  # after answering: a waiting test sees the request with its response
            self.requests.append(record)
            self._changed.notify_all()
        return response

    def _answer(self, method: str, path: str, body: Any, authorized: bool) -> web.Response:
        parts = path.strip("/").split("/")
        route = (method, *parts)

        # Interaction responses and followups authenticate with the interaction token in the path.
        match route:
            case ("POST", "interactions", interaction_id, token, "callback"):
                if self._interaction_tokens.get(interaction_id) != token:
                    return self._error(404, 10062, "Unknown interaction")
                return _json(self._callback(interaction_id, body or {}))
            case ("POST", "webhooks", app_id, token):
                if app_id != self.app_id or token not in self._interaction_tokens.values():
                    return self._error(404, 10015, "Unknown Webhook")
                return _json(self._message(str(self.snowflake()), body, webhook_id=app_id))
            case ("PATCH" | "GET", "webhooks", app_id, token, "messages", _message_id):
                if app_id != self.app_id or token not in self._interaction_tokens.values():
                    return self._error(404, 10015, "Unknown Webhook")
                message = self._message(str(self.snowflake()), body, webhook_id=app_id)
                return _json(message)

        if not authorized:
            return self._error(401, 0, "401: Unauthorized")
        match route:
            case ("GET", "users", "@me"):
                return _json(self.bot_user)
            case ("GET", "oauth2", "applications", "@me"):
                return _json(self._application())
            case ("GET", "gateway"):
                return _json({"url": self.gateway_url})
            case ("GET", "gateway", "bot"):
                return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}})
            case ("PUT", "applications", app_id, "commands") if app_id == self.app_id:
                self.commands = [{**c, "id": str(self.snowflake()), "application_id": self.app_id, "version": "1",
                                  "default_member_permissions": None, "type": c.get("type", 1)} for c in body or []]
                return _json(self.commands)
            case ("POST", "channels", channel_id, "messages"):
                return _json(self._message(channel_id, body))
            case ("POST", "channels", _channel_id, "typing"):
                return web.Response(status=204)
        return self._error(404, 0, f"404: Not Found ({method} {path})")

    def _callback(self, interaction_id: str, body: dict) -> dict:
        kind = body.get("type")
        flags = (body.get("data") or {}).get("flags") or 0
        response: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": kind, "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(flags & EPHEMERAL)}}
        if kind in (4, 5):  # CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            message = self._message(str(self.snowflake()), body.get("data"), webhook_id=self.app_id)
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"] = {"type": kind, "message": message}
        return response

    def _application(self) -> dict:
        return {"id": self.app_id, "name": "MoodTunes", "description": "", "icon": None, "bot_public": True,
                "bot_require_code_grant": False, "owner": {**self.user("owner")}, "verify_key": "0" * 64,
                "flags": 0, "team": None, "summary": ""}

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return _json({"message": message, "code": code}, status=status)

    # -- gateway ------------------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op, data = message.get("op"), message.get("d")
            if op == 1:  # HEARTBEAT
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:  # IDENTIFY
                if data.get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                async with self._changed:
                    self.identifies.append({k: v for k, v in data.items() if k != "token"})
                    self._changed.notify_all()
                self._ws, self._seq = ws, 1
                ready = {"v": 10, "user": self.bot_user, "guilds": [], "session_id": secrets.token_hex(16),
                         "resume_gateway_url": self.gateway_url, "private_channels": [], "relationships": [],
                         "application": {"id": self.app_id, "flags": 0}}
                if data.get("shard") is not None:  # a sharded IDENTIFY: READY names the shard, as Discord's does
                    ready["shard"] = data["shard"]
                await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
            elif op == 6:  # RESUME: not supported here, ask for a fresh IDENTIFY
                await ws.send_str(json.dumps({"op": 9, "d": False}))
        if self._ws is ws:
            self._ws = None
        return ws
