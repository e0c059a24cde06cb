"""Value conversion between the record document and FileMaker's default formats."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collab.filemaker.values import document_to_filemaker, record_to_document, to_document, to_filemaker


@pytest.mark.parametrize(
    ("value", "result_type", "expected"),
    [
        ("02/22/2022", "date", "2022-02-22"),
        ("2/3/2022", "date", "2022-02-03"),
        ("2022-02-22", "date", "2022-02-22"),  # dateformats=2 answers are already ISO
        ("21:15:55", "time", "21:15:55"),
        ("9:15:55 PM", "time", "21:15:55"),
        ("12:00:00 AM", "time", "00:00:00"),
        ("12:30 pm", "time", "12:30:00"),
        ("36:00:00", "time", "36:00:00"),  # a time field can hold a duration
        ("10:05:03.25", "time", "10:05:03.25"),
        ("02/22/2022 21:15:55", "timeStamp", "2022-02-22T21:15:55"),
        ("2/22/2022 9:15:55 PM", "timeStamp", "2022-02-22T21:15:55"),
        ("2022-02-22 21:15:55", "timeStamp", "2022-02-22T21:15:55"),
        (1250, "number", 1250),
        (12.5, "number", 12.5),
        ("$400 or best offer", "number", "$400 or best offer"),
        ("Acme", "text", "Acme"),
        (42, "text", "42"),
        ("https://fms/Streaming_SSL/x.png", "container", "https://fms/Streaming_SSL/x.png"),
    ],
)
def test_to_document(value: Any, result_type: str, expected: Any) -> None:
    assert to_document(value, result_type) == expected


@pytest.mark.parametrize(
    ("value", "result_type", "expected"),
    [
        ("2022-02-22", "date", "02/22/2022"),
        ("0001-01-01", "date", "01/01/0001"),
        ("2/3/2022", "date", "02/03/2022"),
        (dt.date(2024, 12, 31), "date", "12/31/2024"),
        ("21:15:55", "time", "21:15:55"),
        ("9:15 PM", "time", "21:15:00"),
        ("2022-02-22T21:15:55", "timeStamp", "02/22/2022 21:15:55"),
        # FileMaker timestamps carry no zone (they are the host's local time)
        (dt.datetime(2022, 2, 22, 21, 15, 55), "timeStamp", "02/22/2022 21:15:55"),  # noqa: DTZ001
        (1250, "number", 1250),
        (-0.5, "number", -0.5),
        ("n/a", "number", "n/a"),
        ("Acme", "text", "Acme"),
    ],
)
def test_to_filemaker(value: Any, result_type: str, expected: Any) -> None:
    assert to_filemaker(value, result_type) == expected


@pytest.mark.parametrize("result_type", ["text", "number", "date", "time", "timeStamp", "container"])
def test_empty_is_empty_string_both_ways(result_type: str) -> None:
    assert to_document("", result_type) == ""
    assert to_filemaker("", result_type) == ""
    assert to_filemaker(None, result_type) == ""  # FileMaker clears with "", never null


@pytest.mark.parametrize(
    ("value", "result_type", "words"),
    [
        ("2022-02-30", "date", "not a valid date"),
        ("13/01/2022", "date", "not a valid date"),
        ("4001-01-01", "date", "12/31/4000"),
        ("tomorrow", "date", "not a date"),
        ("2022-02-22T10:00:00", "date", "not a date"),
        ("25:00", "time", None),
        ("13:00 PM", "time", "12-hour"),
        ("0:30 AM", "time", "12-hour"),
        ("10:61:00", "time", "not a valid time"),
        ("noon", "time", "not a time"),
        ("2022-02-22T24:00:00", "timeStamp", "not a valid time"),
        ("2022-02-22", "timeStamp", "not a timestamp"),
        (True, "number", "boolean"),
        (float("nan"), "number", "cannot be stored"),
        (["a"], "text", "not text"),
        ("x", "container", "container upload"),
        ("x", "blob", "unknown field result type"),
    ],
)
def test_invalid_values_raise_value_error(value: Any, result_type: str, words: str | None) -> None:
    if result_type == "time" and value == "25:00":
        # 25 hours is a valid duration in a time field, but not inside a timestamp.
        assert to_filemaker(value, result_type) == "25:00:00"
        with pytest.raises(ValueError, match="not a valid time"):
            to_filemaker(f"2022-01-01T{value}", "timeStamp")
        return
    with pytest.raises(ValueError, match=words):
        to_filemaker(value, result_type)


def test_record_round_trip_with_types() -> None:
    types = {
        "UUID": "text",
        "InvoiceNo": "number",
        "DueDate": "date",
        "ApprovedAt": "timeStamp",
        "Notes": "text",
    }
    field_data = {
        "UUID": "A1",
        "InvoiceNo": 1001,
        "DueDate": "03/15/2026",
        "ApprovedAt": "",
        "Notes": "call back",
        "Orders::Total": 5,  # not in the metadata: passes unchanged
    }
    document = record_to_document(field_data, types)
    assert document == {
        "UUID": "A1",
        "InvoiceNo": 1001,
        "DueDate": "2026-03-15",
        "ApprovedAt": "",
        "Notes": "call back",
        "Orders::Total": 5,
    }
    assert document_to_filemaker(document, types) == field_data


def test_record_to_document_keeps_unparseable_values() -> None:
    # A date field with validation off can hold text; one odd value must not break the record.
    assert record_to_document({"DueDate": "soon"}, {"DueDate": "date"}) == {"DueDate": "soon"}


def test_document_to_filemaker_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="field DueDate: 'someday' is not a date"):
        document_to_filemaker(
            {"Customer": "Acme", "DueDate": "someday"}, {"Customer": "text", "DueDate": "date"}
        )


@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(4000, 12, 31)))
def test_dates_round_trip(day: dt.date) -> None:
    iso = day.isoformat()
    assert to_document(to_filemaker(iso, "date"), "date") == iso


_FIRST = dt.datetime(1, 1, 1)  # noqa: DTZ001 - FileMaker timestamps are zone-less
_LAST = dt.datetime(4000, 12, 31, 23, 59, 59)  # noqa: DTZ001


@given(st.datetimes(min_value=_FIRST, max_value=_LAST).map(lambda moment: moment.replace(microsecond=0)))
def test_timestamps_round_trip(moment: dt.datetime) -> None:
    iso = moment.isoformat()
    assert to_document(to_filemaker(iso, "timeStamp"), "timeStamp") == iso
