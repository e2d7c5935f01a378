"""Two (or more) real replicas — ``moodtunes run --webhook`` subprocesses on their own ports — sharing one PostgreSQL
schema and one Redis prefix, fed by the fake Telegram (tests/fakes/telegram_server.py) pushing webhook updates to
them like a load balancer that sometimes sends an update twice or to two replicas. Used by tests/bot/test_replicas.py
(a bounded size) and benchmarks/bench_replicas.py (any size).

How the load is shaped: each user sends photos one after another (the next once the previous answer came); each
answer's presses go out at once, racing the next photo: 👍/👎 on its tracks (re-votes of one track wait for that
track's previous toast, so the final vote is known) and "More". Update ``n`` goes to replica ``n % R``; every 5th
also to the next replica, every 7th twice to the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from PIL import Image, ImageOps
from sqlalchemy import create_engine, text

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import More, Vote
from tests.bot.telegram_replies import Replies, vote_buttons
from tests.fakes.telegram_server import ApiCall, FakeTelegram
from tests.helpers import REDIS_URL, free_port

SECRET = "replica-webhook-secret-0123"
PUBLIC_URL = "https://bot.example/public/hook"  # what setWebhook registers (the balancer maps it to PATH)
PATH = "tg-hook"
START_TIMEOUT = 180  # seconds for a replica to load the model and catalog on a loaded machine
WAIT = 120  # seconds any single reply may take under load


def photo_variants(astronaut: Image.Image) -> list[bytes]:
    """Real, not byte-identical selfies: the astronaut as is, mirrored, greyscale, slightly rotated."""
    variants = [astronaut, ImageOps.mirror(astronaut), ImageOps.grayscale(astronaut),
                astronaut.rotate(6, resample=Image.Resampling.BILINEAR),
                astronaut.rotate(-6, resample=Image.Resampling.BILINEAR)]
    out = []
    for image in variants:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


@dataclass
class Replica:
    name: str
    process: subprocess.Popen
    webhook_port: int
    metrics_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webhook_port}/{PATH}"

    @property
    def ops(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def replica_env(fake: FakeTelegram, database_url: str, redis_prefix: str, data_dir: Path, webhook_port: int,
                metrics_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "BROKER_"))}
    env.update({
        "TELEGRAM_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_BASE_FILE_URL": fake.base_file_url, "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1", "TELEGRAM_WEBHOOK_PORT": str(webhook_port),
        "TELEGRAM_WEBHOOK_PATH": PATH, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix, "DATA_DIR": str(data_dir), "USER_ID_SALT": "test-salt",
        "PHOTOS_PER_MINUTE": "100000", "METRICS_PORT": str(metrics_port), "METRICS_LISTEN": "127.0.0.1",
        "TF_CPP_MIN_LOG_LEVEL": "3", "LOG_LEVEL": "INFO",
    })
    env.update(extra)
    return env


@asynccontextmanager
async def replicas(fake: FakeTelegram, database_url: str, redis_prefix: str, data_dir: Path, log_dir: Path,
                   count: int = 2, extra_env: list[dict[str, str]] | None = None) -> AsyncIterator[list[Replica]]:
    """Start ``count`` replicas at once (they migrate the empty schema together), wait until each answers /healthz
    and has registered the webhook; SIGTERM them on the way out (``returncode`` tells a clean stop)."""
    moodtunes = Path(sys.executable).with_name("moodtunes")
    started: list[Replica] = []
    for n in range(count):
        webhook_port, metrics_port = free_port(), free_port()
        env = replica_env(fake, database_url, redis_prefix, data_dir, webhook_port, metrics_port,
                          **((extra_env or [{}] * count)[n]))
        log_path = log_dir / f"replica-{n}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen([str(moodtunes), "run", "--webhook", PUBLIC_URL], env=env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started.append(Replica(f"replica-{n}", process, webhook_port, metrics_port, log_path))
    try:
        await _wait_ready(fake, started)
        yield started
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            try:
                await asyncio.to_thread(replica.process.wait, 60)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(10)


async def _wait_ready(fake: FakeTelegram, started: list[Replica]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        pending = list(started)
        while pending:
            for replica in list(pending):
                if replica.process.poll() is not None:
                    raise AssertionError(f"{replica.name} exited with {replica.process.returncode} while starting:\n"
                                         f"{replica.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{replica.ops}/healthz") as response:
                        if response.status == 200:
                            pending.remove(replica)
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready in {START_TIMEOUT}s: {[r.name for r in pending]}\n"
                                     + "\n".join(r.log_tail(10) for r in pending))
            await asyncio.sleep(0.25)
    while len(fake.calls_of("setWebhook")) < len(started):
        if time.monotonic() > deadline:
            raise AssertionError("the replicas did not all call setWebhook")
        await asyncio.sleep(0.1)


def balancer(urls: list[str]):
    """Update ``n`` to replica ``n % R``; every 5th also to the next one, every 7th twice to the same one."""

    def route(update: dict) -> list[str]:
        n = update["update_id"]
        first = urls[n % len(urls)]
        targets = [first]
        if n % 5 == 0:
            targets.append(urls[(n + 1) % len(urls)])
        if n % 7 == 0:
            targets.append(first)
        return targets

    return route


# --- the load ------------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    photos: int = 0
    presses: int = 0
    more_pages: int = 0  # "More" answers received (each pages its photo's answer: no new event)
    expected_votes: dict[tuple[int, str], int] = field(default_factory=dict)  # (event, track) -> final value
    photo_latency: list[float] = field(default_factory=list)
    press_latency: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def drive(fake: FakeTelegram, replies: Replies, photos: list[bytes], *, users: int, photos_total: int,
                presses_total: int, seed: int = 15) -> Outcome:
    """Send ``photos_total`` photos from ``users`` users and ``presses_total`` presses; wait for every answer."""
    rng = random.Random(seed)
    outcome = Outcome()
    per_user = [photos_total // users + (i < photos_total % users) for i in range(users)]
    per_answer = [presses_total // photos_total + (k < presses_total % photos_total) for k in range(photos_total)]
    answer_index = iter(range(photos_total))
    press_tasks: list[asyncio.Task] = []

    async def press(user: int, payload, reply: ApiCall) -> str:
        started = time.monotonic()
        query = fake.press(user, callbacks.encode(payload), reply)
        outcome.presses += 1
        toast = await replies.toast(query)
        outcome.press_latency.append(time.monotonic() - started)
        return toast.params.get("text") or ""

    async def vote_chain(user: int, reply: ApiCall, vote: Vote, values: list[int]) -> None:
        for value in values:  # one track's presses in order: the last one is the vote that stays
            text_ = await press(user, Vote(vote.event_id, vote.track_id, value), reply)
            if not text_.startswith("👍" if value > 0 else "👎"):
                outcome.problems.append(f"vote toast {text_!r}")
        outcome.expected_votes[(vote.event_id, vote.track_id)] = values[-1]

    async def more_press(user: int, reply: ApiCall, event_id: int) -> None:
        await press(user, More(event_id), reply)
        page = await replies.more(user, event_id)
        outcome.more_pages += 1
        if len(vote_buttons(page)) != 10:
            outcome.problems.append(f"More answer without its vote buttons: {page.text[:60]!r}")

    async def presses_on(user: int, reply: ApiCall, n: int) -> None:
        votes = vote_buttons(reply)
        likes = votes[:5]
        if not likes:
            outcome.problems.append(f"photo answer without buttons: {reply.text[:80]!r}")
            return
        chains: dict[int, list[int]] = defaultdict(list)
        more = n >= 4 and rng.random() < 0.5
        for _ in range(n - more):
            chains[rng.randrange(5)].append(rng.choice((1, -1)))
        jobs = [vote_chain(user, reply, likes[slot], values) for slot, values in chains.items()]
        if more:
            jobs.append(more_press(user, reply, likes[0].event_id))
        await asyncio.gather(*jobs)

    async def user_session(user: int, count: int) -> None:
        for _ in range(count):
            started = time.monotonic()
            fake.send_photo(user, rng.choice(photos), 512, 512)
            outcome.photos += 1
            reply = await replies.photo_answer(user)
            outcome.photo_latency.append(time.monotonic() - started)
            if "Mood:" not in reply.text:
                outcome.problems.append(f"not a tracks answer: {reply.text[:80]!r}")
                continue
            press_tasks.append(asyncio.create_task(presses_on(user, reply, per_answer[next(answer_index)])))

    started = time.monotonic()
    await asyncio.gather(*(user_session(9000 + u, per_user[u]) for u in range(users)))
    await asyncio.gather(*press_tasks)
    await fake.deliveries_done()
    outcome.seconds = time.monotonic() - started
    return outcome


def stored_votes(database_url: str) -> dict[tuple[int, str], int]:
    """The feedback table as (event, track) -> value; each user votes only on their own answers here."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT event_id, track_id, value, user_id FROM feedback")).all()
            owners = dict(connection.execute(text("SELECT id, user_id FROM recommendation_events")).all())
    finally:
        engine.dispose()
    votes: dict[tuple[int, str], int] = {}
    for event_id, track_id, value, user_id in rows:
        assert owners[event_id] == user_id, "a vote stored for the wrong user"
        assert (event_id, track_id) not in votes, "two rows for one vote"
        votes[(event_id, track_id)] = value
    return votes


def count_rows(database_url: str, table: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


def delivery_counts(fake: FakeTelegram) -> tuple[int, int, Counter]:
    """(distinct updates delivered, posts made, HTTP statuses)."""
    return (len({u for u, _, _ in fake.deliveries}), len(fake.deliveries),
            Counter(status for _, _, status in fake.deliveries))
