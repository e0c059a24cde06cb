"""T10 in process (CI-sized): fuzzed and mutated frames into the real room handler.

Every input either is accepted or raises ProtocolError (the endpoint closes that connection
with 1008); nothing else escapes, and a refused input leaves the document untouched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text

from collab.errors import ProtocolError
from collab.protocol.sync import AwarenessEntry, awareness_frame, encode_awareness, step1_frame, update_frame
from tests.hub.harness import RECORD, Harness, Peer


def _valid_frames() -> list[bytes]:
    doc: Doc[Any] = Doc()
    frames = [step1_frame(doc.get_state())]
    for i in range(4):
        before = doc.get_state()
        doc.get("Notes", type=Text).insert(0, f"w{i}")
        doc.get("fields", type=Map)[f"k{i}"] = i
        frames.append(update_frame(doc.get_update(before)))
    frames.append(awareness_frame(encode_awareness([AwarenessEntry(doc.client_id, 1, b'{"user":{"name":"x"}}')])))
    frames.append(bytes([3]))
    return frames


VALID = _valid_frames()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 3))
        pos = draw(st.integers(0, max(0, len(frame) - 1)))
        if kind == 0 and frame:
            frame[pos] = draw(st.integers(0, 255))
        elif kind == 1:
            frame.insert(pos, draw(st.integers(0, 255)))
        elif kind == 2 and len(frame) > 1:
            del frame[pos]
        else:
            frame = frame[: pos + 1]
    return bytes(frame)


frames = st.lists(st.one_of(st.binary(min_size=1, max_size=64), mutated()), min_size=1, max_size=8)


async def _feed(inputs: list[bytes]) -> None:
    harness = Harness()
    await harness.seed()
    victim, attacker = Peer("victim"), Peer("attacker")
    await harness.connect(victim)
    await harness.connect(attacker)
    await harness.quiesce([victim, attacker])
    room = harness.registry.loaded(RECORD)
    assert room is not None and attacker.conn is not None
    for data in inputs:
        before = room.doc.get_state()
        try:
            room.receive(attacker.conn, data)
        except ProtocolError:
            assert room.doc.get_state() == before
            break
        await harness.turn()
    assert harness.registry.loaded(RECORD) is room  # no panic reload was needed
    # The victim still edits and the hub still answers.
    victim.edit(0, 0, "alive")
    await harness.quiesce([victim])
    assert "alive" in room.values()["Notes"]
    for peer in (victim, attacker):
        await harness.disconnect(peer)


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_fuzzed_frames_into_the_handler(inputs: list[bytes]) -> None:
    asyncio.run(_feed(inputs))
