"""Properties of the value layer: every date, time and timestamp FileMaker can hold renders
and parses back to itself in each dateformats, and < / >= split any found set exactly."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from collab.filemaker.emulator.find import run_find
from collab.filemaker.emulator.schema import FieldDef
from collab.filemaker.emulator.store import Row
from collab.filemaker.emulator.values import parse_value, render_value

DATE = FieldDef(name="D", result="date")
TIME = FieldDef(name="T", result="time")
STAMP = FieldDef(name="S", result="timeStamp")
NUMBER = FieldDef(name="N", result="number")

dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(4000, 12, 31))
times = st.times().map(lambda t: t.replace(microsecond=0))


@settings(max_examples=60, deadline=None)
@given(dates, st.sampled_from([0, 1, 2]))
def test_dates_round_trip(day: dt.date, fmt: int) -> None:
    stored = day.isoformat()
    assert parse_value(DATE, render_value(DATE, stored, fmt), fmt) == stored


@settings(max_examples=60, deadline=None)
@given(times, st.sampled_from([0, 2]))
def test_times_round_trip(moment: dt.time, fmt: int) -> None:
    stored = moment.isoformat()
    assert parse_value(TIME, render_value(TIME, stored, fmt), fmt) == stored
    hour12 = moment.hour % 12 or 12
    meridiem = "PM" if moment.hour >= 12 else "AM"
    assert parse_value(TIME, f"{hour12}:{moment.minute:02d}:{moment.second:02d} {meridiem}", 0) == stored


@settings(max_examples=60, deadline=None)
@given(dates, times, st.sampled_from([0, 1, 2]))
def test_timestamps_round_trip(day: dt.date, moment: dt.time, fmt: int) -> None:
    stored = f"{day.isoformat()} {moment.isoformat()}"
    assert parse_value(STAMP, render_value(STAMP, stored, fmt), fmt) == stored


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-10_000, 10_000), min_size=1, max_size=30), st.integers(-10_000, 10_000))
def test_less_than_and_at_least_partition_the_records(values: list[int], pivot: int) -> None:
    rows = [Row(i + 1, 0, {"N": v}) for i, v in enumerate(values)]

    def ids(criterion: str) -> set[int]:
        found = run_find(rows, [{"N": criterion}], lambda _: NUMBER, lambda r, n: [r.data[n]], "2026-01-01")
        return {r.id for r in found}

    below, rest = ids(f"<{pivot}"), ids(f">={pivot}")
    assert below.isdisjoint(rest) and below | rest == {r.id for r in rows}
    assert ids(f"{min(values)}...{max(values)}") == {r.id for r in rows}
