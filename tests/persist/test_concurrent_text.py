"""A FileMaker user and two web clients type in the same text field at the same moment."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text

from tests.hub.ysync import YClient, sync_url
from tests.persist.helpers import converged, emulator_values, eventually, filemaker_values, record_key
from tests.support.server import RunningHub

UUID8 = "8D1F5E2A-0008-4000-8000-000000000008"


def insert_at(fraction: float, marker: str) -> Any:
    def change(doc: Doc[Any]) -> None:
        text = doc.get("Notes", type=Text)
        current = str(text)
        cut = int(len(current) * fraction)
        text.insert(len(current[:cut].encode()), marker)

    return change


async def test_three_way_typing_survives_everywhere(hub: RunningHub) -> None:
    emulator = hub.ctx.extras["emulator"]
    record = record_key(UUID8)
    record_id, _, _ = await filemaker_values(hub, record)
    async with YClient(sync_url(hub.ws_url, record, control="1")) as a, YClient(sync_url(hub.ws_url, record)) as b:
        await eventually(lambda: a.synced.is_set() and b.synced.is_set())
        markers: list[str] = []
        for round_ in range(3):
            fm_now = emulator_values(hub, record_id)["Notes"]
            # Before a space near the middle: inside a word, never inside an earlier marker.
            mid = fm_now.index(" ", len(fm_now) // 2)
            mine = [f"<A{round_}>", f"<B{round_}>", f"<FM{round_}>"]
            markers += mine
            # All three at once: no waiting between them.
            await a.edit(insert_at(0.0, mine[0]))
            await b.edit(insert_at(1.0, mine[1]))
            emulator.user_edit("Sales", "Invoices", int(record_id), {"Notes": fm_now[:mid] + mine[2] + fm_now[mid:]})

            def everywhere(markers: tuple[str, ...] = tuple(markers)) -> bool:
                fm = emulator_values(hub, record_id)["Notes"]
                return a.text() == b.text() == fm == converged(hub, record)["Notes"] and all(
                    fm.count(m) == 1 for m in markers
                )

            await eventually(
                everywhere,
                timeout=10,
                what=lambda r=round_: f"round {r}: all contributions everywhere: A={a.text()!r} B={b.text()!r} "
                f"FM={emulator_values(hub, record_id)['Notes']!r} hub={converged(hub, record)['Notes']!r}",
            )
