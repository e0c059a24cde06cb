"""T1 / T2: random edits, delivery order, duplication, loss, reconnects and hub restarts converge.

The hub in the loop is the real handler (registry, room, connection queues) on an in-memory
or SQLite store, driven without sockets so hypothesis can choose every interleaving.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text, merge_updates

from collab.rooms.sqlite_store import SqliteDocStore
from collab.store.sqlite import SqliteDatabase
from tests.hub.harness import RECORD, Harness, Peer

PEERS = 4
words = st.text(alphabet="abcxyz ", min_size=1, max_size=5)
step = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, PEERS - 1), st.integers(0, 2), st.integers(0, 30), words),
    st.tuples(st.just("up"), st.integers(0, PEERS - 1), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("down"), st.integers(0, PEERS - 1), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("drop"), st.integers(0, PEERS - 1)),
    st.tuples(st.just("reconnect"), st.integers(0, PEERS - 1)),
    st.tuples(st.just("restart"), st.booleans()),
)


async def _run(program: list[tuple[Any, ...]], harness: Harness) -> None:
    await harness.seed()
    peers = [Peer(f"p{i}") for i in range(PEERS)]
    for peer in peers:
        await harness.connect(peer)
    for op in program:
        kind = op[0]
        if kind == "edit":
            peers[op[1]].edit(op[2], op[3], op[4])
        elif kind == "up":
            harness.up(peers[op[1]], op[2], keep=op[3])
        elif kind == "down":
            harness.down(peers[op[1]], op[2], keep=op[3])
        elif kind == "drop":
            await harness.disconnect(peers[op[1]])
        elif kind == "reconnect":
            await harness.disconnect(peers[op[1]])
            await harness.connect(peers[op[1]])
        else:
            await harness.restart(peers, crash=op[1])
            for peer in peers:
                await harness.connect(peer)
        await harness.turn()
    await harness.quiesce(peers)
    room = harness.registry.loaded(RECORD)
    assert room is not None
    hub_view = (room.values()["Notes"], {k: v for k, v in room.doc.get("fields", type=Map).to_py().items()})
    for peer in peers:
        assert peer.values() == hub_view, peer.name
        # Nothing left pending: the peer's state vector is the hub's.
        assert peer.doc.get_state() == room.doc.get_state() or _same_vector(peer.doc, room.doc)
    await room.settle()
    stored = await harness.stored_doc()
    assert str(stored.get("Notes", type=Text)) == hub_view[0]
    assert stored.get("fields", type=Map).to_py() == hub_view[1]
    # The seed is there exactly once.
    assert hub_view[1]["Customer"] == "Acme"
    for peer in peers:
        await harness.disconnect(peer)


def _same_vector(a: Doc[Any], b: Doc[Any]) -> bool:
    from collab.protocol.sync import parse_state_vector

    return parse_state_vector(a.get_state()) == parse_state_vector(b.get_state())


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=60))
def test_convergence_memory_store(program: list[tuple[Any, ...]]) -> None:
    asyncio.run(_run(program, Harness()))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(program=st.lists(step, max_size=40))
def test_convergence_sqlite_store(program: list[tuple[Any, ...]], tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / f"p{random.randrange(1 << 30)}.db"
        db = SqliteDatabase(path, group_commit_ms=0.5)
        SqliteDocStore.register(db)
        async with db:
            await _run(program, Harness(SqliteDocStore(db)))

    asyncio.run(main())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 20), words), min_size=1, max_size=30), st.randoms())
def test_update_algebra(edits: list[tuple[int, int, int, str]], rng: random.Random) -> None:
    """T2: applying the log twice, in any order, merged in any partition gives one state."""
    peers = [Peer(f"p{i}") for i in range(3)]
    log: list[bytes] = []
    for who, op, pos, text in edits:
        peer = peers[who]
        before = peer.doc.get_state()
        peer.edit(op, pos, text)
        update = peer.doc.get_update(before)
        log.append(update)
        if rng.random() < 0.5:  # peers sometimes see each other's updates
            for other in peers:
                other.doc.apply_update(update)

    def view(doc: Doc[Any]) -> tuple[str, dict[str, Any], bytes]:
        return str(doc.get("Notes", type=Text)), doc.get("fields", type=Map).to_py(), doc.get_state()

    reference: Doc[Any] = Doc()
    for update in log:
        reference.apply_update(update)
    expected = view(reference)
    twice: Doc[Any] = Doc()
    for update in log + log:
        twice.apply_update(update)
    assert view(twice) == expected
    for _ in range(5):
        shuffled = log[:]
        rng.shuffle(shuffled)
        doc: Doc[Any] = Doc()
        for update in shuffled:
            doc.apply_update(update)
        assert view(doc) == expected
    cut = sorted(rng.sample(range(len(log) + 1), k=min(3, len(log) + 1)))
    parts = [log[a:b] for a, b in zip([0, *cut], [*cut, len(log)], strict=True) if log[a:b]]
    merged: Doc[Any] = Doc()
    merged.apply_update(merge_updates(*(merge_updates(*p) for p in parts)))
    assert view(merged) == expected
    fresh: Doc[Any] = Doc()
    fresh.apply_update(reference.get_update())
    assert view(fresh) == expected
