"""T10 / T11 a: known malicious payloads and fuzzed frames close only the offending connection."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Text

from collab.errors import CloseCode, ProtocolError
from collab.protocol import sync as sync_module
from collab.protocol.sync import (
    SYNC,
    AwarenessEntry,
    awareness_frame,
    encode_awareness,
    parse_frame,
    step1_frame,
    update_frame,
    var_uint,
)
from tests.hub.conftest import bare_hub, preseed
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub

#: reliability.md 1.9: length bombs, a 5-byte state-vector bomb, yjs #687-style content lengths.
KNOWN_BAD: dict[str, list[bytes]] = {
    "frame length bomb": [bytes([0, 2, 255, 255, 255, 122])],
    "type bomb [255,255,255,122]": [bytes([255, 255, 255, 122])],
    "update is [255,255,255,122]": [update_frame(bytes([255, 255, 255, 122]))],
    "yjs 687 content length": [update_frame(bytes([1, 1, 1, 0, 4, 1, 1, 116, 255, 255, 255, 255, 15]))],
    "struct count bomb": [update_frame(bytes([1, 255, 255, 255, 255, 15, 1, 0]))],
    "delete set bomb": [update_frame(bytes([0, 255, 255, 255, 255, 15]))],
    "random bytes": [random.Random(687).randbytes(64)],
    "trailing garbage": [update_frame(b"\x00\x00") + b"\x01"],
    "unknown sync step": [bytes([0, 9, 0])],
    "control from client": [bytes([100, 2]) + b"{}"],
    "awareness state not JSON": [awareness_frame(encode_awareness([AwarenessEntry(1234, 1, b"{not json")]))],
    "awareness count bomb": [awareness_frame(bytes([255, 255, 255, 255, 15]))],
}


async def _victims(hub: RunningHub) -> tuple[YClient, YClient, object]:
    record = await preseed(hub)
    a = YClient(sync_url(hub.ws_url, record, control="1"))
    b = YClient(sync_url(hub.ws_url, record))
    await a.connect()
    await b.connect()
    await wait_for(lambda: a.synced.is_set() and b.synced.is_set())
    return a, b, record


async def _still_fine(hub: RunningHub, a: YClient, b: YClient, marker: str) -> None:
    await a.edit(lambda d: d.get("Notes", type=Text).insert(0, marker))
    await wait_for(lambda: b.text().startswith(marker), 5)
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{hub.url}/healthz")).status_code == 200


@pytest.mark.parametrize("name", list(KNOWN_BAD))
async def test_known_bad_payload_closes_only_the_attacker(hub: RunningHub, name: str) -> None:
    a, b, record = await _victims(hub)
    room = hub.ctx.rooms.loaded(record)
    before = room.doc.get_state()
    attacker = YClient(sync_url(hub.ws_url, record))
    await attacker.connect()
    await wait_for(attacker.synced.is_set)
    for frame in KNOWN_BAD[name]:
        await attacker.send_raw(frame)
    assert await attacker.wait_closed(5) == CloseCode.POLICY
    assert attacker.close_reason  # says why
    assert hub.ctx.rooms.loaded(record) is room and room.doc.get_state() == before
    await _still_fine(hub, a, b, f"<{name}>")
    await a.close()
    await b.close()


async def test_state_vector_bomb_in_first_step1(hub: RunningHub) -> None:
    a, b, record = await _victims(hub)
    attacker = YClient(sync_url(hub.ws_url, record))
    await attacker.connect(send_step1=False)
    await attacker.send_raw(bytes([0, 0, 5, 255, 255, 255, 255, 15]))
    assert await attacker.wait_closed(5) == CloseCode.POLICY
    await _still_fine(hub, a, b, "after-sv-bomb")


async def test_text_frames_and_updates_before_step1_are_refused(hub: RunningHub) -> None:
    record = await preseed(hub)
    attacker = YClient(sync_url(hub.ws_url, record))
    await attacker.connect(send_step1=False)
    await attacker.ws.send("hello")
    assert await attacker.wait_closed(5) == CloseCode.POLICY
    early = YClient(sync_url(hub.ws_url, record))
    await early.connect(send_step1=False)
    await early.send_raw(update_frame(b"\x00\x00"))
    assert await early.wait_closed(5) == CloseCode.POLICY
    assert "step 1" in early.close_reason


async def test_size_cap_is_exact(tmp_path: Path) -> None:
    """T11 a: a message of exactly the cap is accepted, one byte more closes with 1009."""
    cap = 4096
    async with bare_hub(tmp_path, limits={"max_message_bytes": cap}) as hub:
        record = await preseed(hub)
        client = YClient(sync_url(hub.ws_url, record, control="1"))
        await client.connect()
        await wait_for(client.synced.is_set)
        probe = client.doc.get_state()

        def frame_for(n: int) -> bytes:
            from pycrdt import Doc

            scratch: Doc = Doc(client_id=client.doc.client_id)
            scratch.apply_update(client.doc.get_update())
            scratch.get("Notes", type=Text).insert(0, "x" * n)
            return update_frame(scratch.get_update(probe))

        n = cap - 40
        while len(frame_for(n)) < cap:
            n += 1
        while len(frame_for(n)) > cap:
            n -= 1
        exact = frame_for(n)
        assert len(exact) == cap
        client.sent += 1
        await client.send_raw(exact)
        await wait_for(lambda: client.stored == client.sent)
        assert hub.ctx.rooms.loaded(record).values()["Notes"].startswith("x" * n)
        await client.send_raw(exact + b"\x00")
        assert await client.wait_closed(2) == CloseCode.TOO_BIG


async def test_flood_is_closed_and_others_keep_working(tmp_path: Path) -> None:
    """T11 c: a client sending far more than the rate limit is closed (1008); others are fine."""
    async with bare_hub(tmp_path, limits={"messages_per_second": 50.0, "message_burst": 100}) as hub:
        a, b, record = await _victims(hub)
        flooder = YClient(sync_url(hub.ws_url, record))
        await flooder.connect()
        await wait_for(flooder.synced.is_set)
        frame = bytes([3])  # query awareness: cheap, valid
        for _ in range(2000):
            try:
                await flooder.send_raw(frame)
            except Exception:
                break
        assert await flooder.wait_closed(5) == CloseCode.POLICY
        assert "rate" in flooder.close_reason
        await _still_fine(hub, a, b, "after-flood")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=1, max_size=200))
async def test_fuzzed_frames_over_websocket(data: bytes) -> None:
    """End-to-end fuzz (CI-sized): random frames after a valid handshake never crash the hub."""
    hub = _FUZZ["hub"]
    record = _FUZZ["record"]
    client = YClient(sync_url(hub.ws_url, record))
    await client.connect()
    await client.send_raw(data)
    await client.send_raw(step1_frame(b"\x00"))
    await client.close()
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{hub.url}/healthz")).status_code == 200


_FUZZ: dict[str, object] = {}


@pytest.fixture(autouse=True)
async def _fuzz_hub(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.node.name != "test_fuzzed_frames_over_websocket":
        yield
        return
    async with bare_hub(tmp_path) as hub:
        _FUZZ["hub"] = hub
        _FUZZ["record"] = await preseed(hub)
        yield
        async with YClient(sync_url(hub.ws_url, _FUZZ["record"])) as fresh:  # the room still works
            await wait_for(fresh.synced.is_set)
            assert fresh.fields()["Customer"] == "Acme"
    _FUZZ.clear()


def test_var_uint_round_trip() -> None:
    assert var_uint(0) == b"\x00" and var_uint(300) == b"\xac\x02"


def _parse_general(data: bytes) -> tuple[int, int, bytes] | str:
    """parse_frame's answer without its fast path (the bounded reader alone)."""
    try:
        reader = sync_module._Reader(data)
        kind = reader.var_uint()
        if kind != SYNC:
            return "other"
        step = reader.var_uint()
        if step > 2:
            return "error"
        payload = reader.var_bytes()
        reader.end()
        return (SYNC, step, payload)
    except ProtocolError:
        return "error"


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 2), st.binary(max_size=40), st.integers(0, 20_000), st.integers(-2, 2))
def test_sync_frame_fast_path_agrees_with_the_reader(step: int, head: bytes, length: int, skew: int) -> None:
    """The fast path of parse_frame accepts exactly what the general reader accepts."""
    payload = (head * (length // max(1, len(head)) + 1))[:length] if head else bytes(length)
    data = bytes((SYNC, step)) + var_uint(len(payload) + skew if len(payload) + skew >= 0 else 0) + payload
    expected = _parse_general(data)
    try:
        frame = parse_frame(data)
        got: tuple[int, int, bytes] | str = (frame.kind, frame.step, frame.payload)
    except ProtocolError:
        got = "error"
    assert got == expected
