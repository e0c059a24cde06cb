"""10 clients (5 official yjs/y-websocket in Node, 5 pycrdt) edit 3 records at once through the hub."""

from __future__ import annotations

import asyncio
import random
import string
from typing import Any

from pycrdt import Doc, Map, Text

from collab.records import RecordKey
from tests.hub.conftest import DEMO_KEYS, preseed
from tests.hub.node import NodeClients, requires_node
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub

pytestmark = [requires_node]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + " ") for _ in range(rng.randint(1, 6)))


def _py_edit(rng: random.Random, doc: Doc[Any]) -> None:
    text = doc.get("Notes", type=Text)
    roll = rng.random()
    if roll < 0.55 or len(str(text)) == 0:
        text.insert(rng.randint(0, len(str(text))), _word(rng))
    elif roll < 0.8:
        start = rng.randint(0, len(str(text)) - 1)
        del text[start : min(len(str(text)), start + rng.randint(1, 4))]
    else:
        doc.get("fields", type=Map)[rng.choice(["Customer", "Amount", "DueDate"])] = _word(rng)


async def _node_edit(rng: random.Random, node: NodeClients, cid: str) -> None:
    roll = rng.random()
    if roll < 0.55:
        await node.call("insert", id=cid, field="Notes", index=rng.randint(0, 40), text=_word(rng))
    elif roll < 0.8:
        await node.call("delete", id=cid, field="Notes", index=rng.randint(0, 40), length=rng.randint(1, 4))
    else:
        await node.call("set", id=cid, key=rng.choice(["Customer", "Amount", "DueDate"]), value=_word(rng))


async def test_ten_clients_three_records_converge(hub: RunningHub) -> None:
    rng = random.Random(20261204)
    records = [await preseed(hub, {"Notes": f"record {i} notes"}) for i in range(3)]
    async with NodeClients() as node:
        node_clients = [(f"n{i}", records[i % 3]) for i in range(5)]
        for cid, record in node_clients:
            await node.call("open", id=cid, url=f"{hub.ws_url}/sync", room=record.room, params={})
        py_clients = [(YClient(sync_url(hub.ws_url, records[i % 3], control="1")), records[i % 3]) for i in range(5)]
        for client, _ in py_clients:
            await client.connect()
        await wait_for(lambda: all(node.synced(cid) for cid, _ in node_clients), 20)
        await wait_for(lambda: all(c.synced.is_set() for c, _ in py_clients), 20)

        async def py_worker(client: YClient, seed: int) -> None:
            local = random.Random(seed)
            for _ in range(40):
                await client.edit(lambda d: _py_edit(local, d))
                await asyncio.sleep(local.random() * 0.01)

        async def node_worker(cid: str, seed: int) -> None:
            local = random.Random(seed)
            for _ in range(40):
                await _node_edit(local, node, cid)

        await asyncio.gather(
            *(py_worker(c, rng.randrange(1 << 30)) for c, _ in py_clients),
            *(node_worker(cid, rng.randrange(1 << 30)) for cid, _ in node_clients),
        )

        async def snapshot(record_index: int) -> list[tuple[str, dict[str, Any]]]:
            record = records[record_index]
            views: list[tuple[str, dict[str, Any]]] = []
            for cid, rec in node_clients:
                if rec == record:
                    s = await node.state(cid, ["Notes"])
                    views.append((s["texts"]["Notes"], s["fields"]))
            for client, rec in py_clients:
                if rec == record:
                    views.append((client.text(), client.fields()))
            room = hub.ctx.rooms.loaded(record)
            values = room.values()
            views.append((values["Notes"], {k: v for k, v in values.items() if k != "Notes"}))
            return views

        async def converged() -> bool:
            for i in range(3):
                views = await snapshot(i)
                if any(v != views[0] for v in views[1:]):
                    return False
            return True

        async with asyncio.timeout(30):
            while not await converged():
                await asyncio.sleep(0.2)

        # Every pycrdt client's edits were acknowledged as stored.
        await wait_for(lambda: all(c.stored == c.sent for c, _ in py_clients), 20)

        for i, record in enumerate(records):
            expected = (await snapshot(i))[0]
            async with YClient(sync_url(hub.ws_url, record)) as fresh:
                await wait_for(fresh.synced.is_set)
                assert (fresh.text(), fresh.fields()) == expected
            assert len(expected[0]) > 0
        for client, _ in py_clients:
            await client.close()


async def test_concurrent_first_joins_with_official_clients(demo_hub: RunningHub) -> None:
    """S5: fresh records (seeded from the emulator), 3 y-websocket clients each at the same instant."""
    records = [RecordKey("Sales", "Invoices", key) for key in DEMO_KEYS[5:10]]
    async with NodeClients() as node:
        ids = [(f"r{r}c{c}", record) for r, record in enumerate(records) for c in range(3)]
        await asyncio.gather(
            *(node.call("open", id=cid, url=f"{demo_hub.ws_url}/sync", room=rec.room, params={}) for cid, rec in ids)
        )
        await wait_for(lambda: all(node.synced(cid) for cid, _ in ids), 5)
        for r, record in enumerate(records):
            states = [await node.state(cid, ["Notes"]) for cid, rec in ids if rec == record]
            assert len({(s["texts"]["Notes"], str(sorted(s["fields"].items()))) for s in states}) == 1
            assert states[0]["fields"]["UUID"] == record.key
            stored = await demo_hub.ctx.rooms.store.load(record.room)
            assert stored is not None and stored.log_count == 1, r  # one seed per record


async def test_official_clients_survive_hostile_peers(hub: RunningHub) -> None:
    """T10 end to end: every known-bad payload, and the official clients never notice."""
    from collab.errors import CloseCode
    from tests.hub.test_hostile import KNOWN_BAD

    record = await preseed(hub)
    async with NodeClients() as node:
        for cid in ("a", "b"):
            await node.call("open", id=cid, url=f"{hub.ws_url}/sync", room=record.room, params={})
        await wait_for(lambda: node.synced("a") and node.synced("b"))
        for name, frames in KNOWN_BAD.items():
            async with YClient(sync_url(hub.ws_url, record)) as attacker:
                await wait_for(attacker.synced.is_set)
                for frame in frames:
                    await attacker.send_raw(frame)
                assert await attacker.wait_closed(5) == CloseCode.POLICY, name
        await node.call("insert", id="a", field="Notes", index=0, text="still here ")

        async def b_sees() -> bool:
            return (await node.state("b", ["Notes"]))["texts"]["Notes"].startswith("still here ")

        async with asyncio.timeout(10):
            while not await b_sees():
                await asyncio.sleep(0.05)
        assert node.closes("a") == [] and node.closes("b") == []
        assert node.proc is not None and node.proc.returncode is None
