"""Awareness follows y-protocols' own rule for what is applied and relayed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collab.protocol.sync import AwarenessEntry, parse_awareness
from collab.rooms.awareness import RoomAwareness
from tests.hub.conftest import bare_hub, preseed
from tests.hub.ysync import YClient, sync_url, wait_for

STATE = b'{"user":{"name":"A"}}'
OTHER = b'{"user":{"name":"B"}}'
NULL = b"null"


@pytest.mark.parametrize(
    ("sequence", "relayed", "kept"),
    [
        # y-protocols clients announce {} at clock 0 on connect: every receiver drops it.
        ([(0, b"{}")], [False], None),
        ([(1, STATE)], [True], (1, STATE)),
        ([(1, STATE), (1, OTHER)], [True, False], (1, STATE)),  # same clock, a state: not newer
        ([(2, STATE), (1, OTHER)], [True, False], (2, STATE)),  # stale
        ([(1, STATE), (2, OTHER)], [True, True], (2, OTHER)),
        ([(1, STATE), (1, NULL)], [True, True], None),  # removal at the same clock
        ([(1, STATE), (2, NULL), (3, STATE)], [True, True, True], (3, STATE)),  # back after leaving
        ([(3, NULL)], [False], None),  # nothing known to remove
    ],
)
def test_apply_follows_y_protocols(
    sequence: list[tuple[int, bytes]], relayed: list[bool], kept: tuple[int, bytes] | None
) -> None:
    awareness = RoomAwareness()
    owned: set[int] = set()
    for (clock, state), expected in zip(sequence, relayed, strict=True):
        accepted = awareness.apply("c1", owned, [AwarenessEntry(7, clock, state)])
        assert bool(accepted) is expected, (clock, state)
    assert awareness._states.get(7) == kept
    assert owned == {7}


def test_leaving_announces_only_states_the_others_saw() -> None:
    awareness = RoomAwareness()
    owned: set[int] = set()
    awareness.apply("c1", owned, [AwarenessEntry(1, 0, b"{}"), AwarenessEntry(2, 4, STATE)])
    frame = awareness.remove(owned)
    assert frame is not None
    assert parse_awareness(frame[2:], 1024) == [AwarenessEntry(2, 5, NULL)]
    assert awareness.remove({1}) is None  # nothing was relayed for it: nothing to take back


async def test_connect_announcements_are_not_fanned_out(tmp_path: Path) -> None:
    """The clock-0 empty state each client sends on connect reaches nobody; a real state does."""
    async with bare_hub(tmp_path) as hub:
        record = await preseed(hub)
        async with YClient(sync_url(hub.ws_url, record)) as a, YClient(sync_url(hub.ws_url, record)) as b:
            await wait_for(a.synced.is_set)
            await wait_for(b.synced.is_set)
            await a.set_awareness(b"{}", clock=0)
            await b.set_awareness(b"{}", clock=0)
            await a.set_awareness(STATE, clock=1)
            await wait_for(lambda: len(b.awareness) == 1, what="a's real state at b")
            await wait_for(lambda: len(a.awareness) == 1, what="a's own state echoed")
            assert STATE in b.awareness[0]
            assert len(hub.ctx.rooms.loaded(record).presence()) == 1
            await asyncio.sleep(0)  # nothing else is on its way: the same counts after a round trip
            await b.send_raw(bytes([3]))  # query awareness: answered with the one known state
            await wait_for(lambda: len(b.awareness) == 2, what="snapshot")
            assert len(a.awareness) == 1
