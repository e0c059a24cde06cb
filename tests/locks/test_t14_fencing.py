"""T14: leases and approvals under concurrent actors, clock jumps and hub restarts.

A Hypothesis state machine drives the real HTTP API: each step fires a burst of concurrent
requests from several people (and a FileMaker script polling the lock state) at one record,
jumps the hub's injected clock past the lease TTL, or restarts the hub on the same store.
After every step the record's history (its audit trail) is checked offline:

- never two valid lease holders: a lease or submit by anyone else happens only after the
  previous holder released, submitted, or their lease (as last renewed) expired;
- epochs strictly increase, across restarts too, and the chain verifies;
- requests carrying a stale ``expected_epoch`` are always refused;
- every successful transition left exactly one audit entry, and a read after the burst
  reflects the newest one.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.locks.support import KEYS, bearer, token
from tests.support.server import RunningHub, hub_settings, run_hub

PEOPLE = {"ed1": ("editor",), "ed2": ("editor",), "ed3": ("editor",), "ap1": ("approver",), "ap2": ("approver",),
          "root": ("admin",), "vic": ("viewer",)}
#: Weighted towards the contended moves: leases and submissions racing each other.
MOVES = ["lease", "lease", "lease", "release", "submit", "submit", "approve", "reject", "withdraw", "reopen", "poll"]
EDITORS = ["ed1", "ed2", "ed3", "root"]
RECORDS = KEYS[:2]
TTL = 120.0
TRANSITIONS = {"release", "submit", "approve", "reject", "withdraw", "reopen"}


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else 0.0


class LockHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="t14-"))
        self.offset = 0.0
        self.stack: AsyncExitStack | None = None
        self.hub: RunningHub | None = None
        self.http: httpx.AsyncClient | None = None
        self.max_epoch: dict[str, int] = dict.fromkeys(RECORDS, 0)
        #: (record, holder) -> [(epoch seen, lease_expires_at)] from responses saying "leased by me"
        self.leases: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self.successes: dict[str, Counter[tuple[str, str]]] = {key: Counter() for key in RECORDS}
        self.headers: dict[str, dict[str, str]] = {}
        self._run(self._start())

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def clock(self) -> float:
        return time.time() + self.offset

    async def _start(self) -> None:
        config = hub_settings(self.dir / "data", locks={"lease_ttl_seconds": TTL, "lease_grace_seconds": 1})
        self.stack = AsyncExitStack()
        self.hub = await self.stack.enter_async_context(run_hub(config))
        self.hub.ctx.locks.clock = self.clock  # the injected clock: jumps without waiting
        self.http = await self.stack.enter_async_context(httpx.AsyncClient(base_url=self.hub.url, timeout=30))
        self.headers = {sub: bearer(token(config, sub, *roles)) for sub, roles in PEOPLE.items()}

    async def _stop(self) -> None:
        if self.stack is not None:
            await self.stack.aclose()
        self.stack = self.hub = self.http = None

    def teardown(self) -> None:
        try:
            self._run(self._stop())
        finally:
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- steps -----------------------------------------------------------------------------

    @rule(
        record=st.sampled_from(RECORDS),
        moves=st.lists(
            st.tuples(
                st.one_of(st.sampled_from(EDITORS), st.sampled_from(sorted(PEOPLE))),
                st.sampled_from(MOVES),
                st.sampled_from(["none", "none", "current", "stale"]),
            ),
            min_size=1,
            max_size=6,
        ),
    )
    def burst(self, record: str, moves: list[tuple[str, str, str]]) -> None:
        self._run(self._burst(record, moves))

    async def _burst(self, record: str, moves: list[tuple[str, str, str]]) -> None:
        assert self.http is not None
        url = f"/api/records/Sales/Invoices/{record}"
        before = (await self.http.get(f"{url}/lock", headers=self.headers["root"])).json()
        epoch = before["epoch"]

        async def one(who: str, move: str, fencing: str) -> tuple[str, str, str, httpx.Response]:
            body: dict[str, Any] = {"comment": f"{who} says {move}"}
            if fencing == "current":
                body["expected_epoch"] = epoch
            elif fencing == "stale":
                body["expected_epoch"] = epoch - 1 if epoch > 0 else epoch + 1000
            headers = self.headers[who]
            if move == "poll":
                return who, move, fencing, await self.http.get(f"{url}/lock", headers=headers)  # type: ignore[union-attr]
            if move in ("lease", "release"):
                method = "POST" if move == "lease" else "DELETE"
                return who, move, fencing, await self.http.request(method, f"{url}/lease", headers=headers, json=body)  # type: ignore[union-attr]
            return who, move, fencing, await self.http.post(f"{url}/approval/{move}", headers=headers, json=body)  # type: ignore[union-attr]

        results = await asyncio.gather(*(one(*move) for move in moves))
        for who, move, fencing, response in results:
            assert response.status_code in (200, 403, 409), (move, response.status_code, response.text)
            if fencing == "stale" and move != "poll":
                assert response.status_code != 200, f"{who} {move} with a stale epoch succeeded"
                if response.status_code == 409:
                    assert response.json()["code"] == "stale_epoch"
            if response.status_code == 200 and move != "poll":
                data = response.json()
                self.successes[record][(who, move)] += 1
                if data["leased_by_me"]:
                    self.leases.setdefault((record, who), []).append((data["epoch"], _unix(data["lease_expires_at"])))
        await self._check(record)

    @rule(seconds=st.floats(min_value=TTL / 4, max_value=TTL * 1.5))
    def clock_jump(self, seconds: float) -> None:
        self.offset += seconds

    @rule()
    def restart(self) -> None:
        self._run(self._stop())
        self._run(self._start())

    @invariant()
    def epochs_survive(self) -> None:
        async def read() -> None:
            assert self.http is not None
            for record in RECORDS:
                state = (await self.http.get(f"/api/records/Sales/Invoices/{record}/lock", headers=self.headers["vic"])).json()
                assert state["epoch"] >= self.max_epoch[record], "an epoch went down"

        self._run(read())

    # -- the offline history check ---------------------------------------------------------

    async def _check(self, record: str) -> None:
        assert self.http is not None
        url = f"/api/records/Sales/Invoices/{record}"
        audit = (await self.http.get(f"{url}/audit", headers=self.headers["root"])).json()
        assert audit["chain_ok"], audit["problem"]
        entries = audit["entries"]
        epochs = [entry["epoch"] for entry in entries]
        assert epochs == sorted(set(epochs)), "epochs must strictly increase"

        holder, granted_at, grant_epoch = "", 0.0, 0
        for entry in entries:
            actor, action, at = entry["actor"], entry["action"], entry["at_unix"]
            if holder and actor != holder and action in ("lease", "submit"):
                ends = [granted_at + TTL] + [
                    expires for epoch, expires in self.leases.get((record, holder), []) if epoch >= grant_epoch
                ]
                assert at >= max(ends) - 0.01, f"{actor} got {action} at {at} while {holder} held the lease until {max(ends)}"
            if action == "lease":
                holder, granted_at, grant_epoch = actor, at, entry["epoch"]
            elif action in ("release", "expire", "submit"):
                holder = ""

        # One entry per successful transition (a lease request may also have been a renewal).
        audited = Counter((entry["actor"], entry["action"]) for entry in entries)
        for (who, move), count in self.successes[record].items():
            if move in TRANSITIONS:
                assert audited[(who, move)] == count, (who, move, audited[(who, move)], count)
            else:
                assert audited[(who, move)] <= count
        now = (await self.http.get(f"{url}/lock", headers=self.headers["root"])).json()
        assert now["epoch"] == (epochs[-1] if epochs else 0), "a read after the burst shows an older state"
        self.max_epoch[record] = now["epoch"]


LockHistory.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=15,
    deadline=None,
    # No shrinking: every step runs real servers, and an unshrunk failing history still names its steps.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLockHistory = LockHistory.TestCase
