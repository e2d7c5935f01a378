"""Discord sharding (DISCORD_SHARD_COUNT, DISCORD_SHARD_IDS): the real discord.py client, started through ``serve``,
identifies to the fake gateway (tests/fakes/discord_server.py) as the shards it was given."""

from __future__ import annotations

import asyncio

import pytest

from moodtunes.bot.discord_bot import ShardedMoodTunesClient, make_client, serve
from moodtunes.core.settings import Settings
from tests.bot.discord_flows import WAIT, race
from tests.fakes.discord_server import FakeDiscord

pytestmark = pytest.mark.timeout(120)


async def identify_as(service, tmp_path, **shards) -> list[list[int] | None]:
    """Start the client with these shard settings, wait for its IDENTIFYs, stop it; their ``shard`` fields."""
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(_env_file=None, data_dir=tmp_path, user_id_salt="test-salt", discord_token=fake.token,
                        discord_api_base_url=fake.api_base, **shards)
    expected = len(shards.get("discord_shard_ids") or range(shards.get("discord_shard_count") or 1))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, service, stop))
    try:
        # Discord asks for 5 s between two IDENTIFYs of one bot; discord.py waits them out.
        await asyncio.wait_for(race(fake.wait_identified(expected, timeout=WAIT), task), WAIT)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await fake.close()
    return [identify.get("shard") for identify in fake.identifies]


async def test_one_shard_of_three(service, tmp_path):
    assert await identify_as(service, tmp_path, discord_shard_count=3, discord_shard_ids=[1]) == [[1, 3]]


async def test_every_shard_when_only_the_count_is_set(service, tmp_path):
    assert sorted(await identify_as(service, tmp_path, discord_shard_count=2)) == [[0, 2], [1, 2]]


async def test_no_shard_settings_means_one_plain_connection(service, tmp_path):
    assert await identify_as(service, tmp_path) == [None]  # no "shard" field at all


def test_the_client_kind_follows_the_settings(service, tmp_path):
    plain = make_client(Settings(_env_file=None, data_dir=tmp_path), service)
    sharded = make_client(Settings(_env_file=None, data_dir=tmp_path, discord_shard_count=4,
                                   discord_shard_ids=[2, 3]), service)
    assert not isinstance(plain, ShardedMoodTunesClient)
    assert isinstance(sharded, ShardedMoodTunesClient)
    assert (sharded.shard_count, sharded.shard_ids) == (4, [2, 3])
