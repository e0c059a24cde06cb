from __future__ import annotations

import msgspec
import pytest

from collab.records import RecordKey


def test_room_name_round_trips_through_parse() -> None:
    key = RecordKey("Sales", "Invoices", "INV/2026 #7 é")
    assert key.room == "Sales/Invoices/INV%2F2026%20%237%20%C3%A9"
    assert RecordKey.parse(key.room) == key
    assert key.layout_path == "Sales/Invoices"


def test_cached_names_leave_identity_and_encoding_alone() -> None:
    used = RecordKey("Sales", "Invoices", "A")
    assert used.room and used.layout_path  # fills the cache
    fresh = RecordKey("Sales", "Invoices", "A")
    assert used == fresh and hash(used) == hash(fresh)
    assert {used: 1}[fresh] == 1
    assert msgspec.json.encode(used) == b'{"database":"Sales","layout":"Invoices","key":"A"}'
    assert sorted([RecordKey("Sales", "Invoices", "B"), used]) == [used, RecordKey("Sales", "Invoices", "B")]


def test_record_keys_stay_frozen() -> None:
    key = RecordKey("Sales", "Invoices", "A")
    with pytest.raises(AttributeError):
        key.key = "B"  # type: ignore[misc]


@pytest.mark.parametrize("room", ["Sales/Invoices", "Sales//A", "a/b/c/d", ""])
def test_malformed_room_names_are_refused(room: str) -> None:
    with pytest.raises(ValueError):
        RecordKey.parse(room)
