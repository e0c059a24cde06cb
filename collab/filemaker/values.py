"""Field values between the record document and FileMaker's default formats.

In the document: text as ``str``, numbers as ``int``/``float``, dates ``YYYY-MM-DD``, times
``HH:MM:SS``, timestamps ``YYYY-MM-DDTHH:MM:SS``, empty as ``""``.
FileMaker (``dateformats`` 0, the default): dates ``MM/dd/yyyy``, times ``HH:mm:ss``,
timestamps ``MM/dd/yyyy HH:mm:ss``, numbers as JSON numbers, empty as ``""``.

Both directions accept either form (FileMaker answers ISO with ``dateformats=2``; people type
US dates and 12-hour times), so converting twice changes nothing. A number field can hold
text ("$400 or best offer"): text stays text both ways, FileMaker decides what it means.
``result_type`` is the fieldMetaData ``result``: text, number, date, time, timeStamp, container.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["document_to_filemaker", "record_to_document", "to_document", "to_filemaker"]

RESULT_TYPES = frozenset({"text", "number", "date", "time", "timeStamp", "container"})

_DATE_US = r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
_DATE_ISO = r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
_TIME = r"(?P<H>\d{1,4}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<F>\.\d+)?)?(?:\s*(?P<P>[AaPp])\.?[Mm]\.?)?"
_DATE_RE = [re.compile(rf"\s*{_DATE_ISO}\s*"), re.compile(rf"\s*{_DATE_US}\s*")]
_TIME_RE = re.compile(rf"\s*{_TIME}\s*")
_STAMP_RE = [
    re.compile(rf"\s*{_DATE_ISO}(?:T|\s+){_TIME}\s*"),
    re.compile(rf"\s*{_DATE_US}\s+{_TIME}\s*"),
]
_MAX_YEAR = 4000  # FileMaker dates run from 1/1/0001 to 12/31/4000


def _date(match: re.Match[str], raw: str) -> dt.date:
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r} is not a valid date") from None
    if year > _MAX_YEAR:
        raise ValueError(f"{raw!r} is after 12/31/4000, the last date FileMaker can store")
    return value


def _time(match: re.Match[str], raw: str, *, clock: bool) -> str:
    """``HH:MM:SS[.fff]`` in 24-hour form. Outside timestamps a time may exceed 24 h (a duration)."""
    hours, minutes, seconds = int(match["H"]), int(match["M"]), int(match["S"] or 0)
    meridiem = (match["P"] or "").lower()
    if meridiem:
        if not 1 <= hours <= 12:
            raise ValueError(f"{raw!r} is not a valid 12-hour time (hours must be 1-12 with AM/PM)")
        hours = hours % 12 + (12 if meridiem == "p" else 0)
    if minutes > 59 or seconds > 59 or (clock and hours > 23):
        raise ValueError(f"{raw!r} is not a valid time of day")
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{match['F'] or ''}"


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} is a timestamp, not a date")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        for pattern in _DATE_RE:
            if match := pattern.fullmatch(value):
                return _date(match, value)
    raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD (or MM/DD/YYYY)")


def _parse_time(value: Any) -> str:
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, str) and (match := _TIME_RE.fullmatch(value)):
        return _time(match, value, clock=False)
    raise ValueError(f"{value!r} is not a time: use HH:MM:SS (24-hour) or h:mm:ss AM/PM")


def _parse_stamp(value: Any) -> tuple[dt.date, str]:
    if isinstance(value, dt.datetime):
        return value.date(), value.time().isoformat()
    if isinstance(value, str):
        for pattern in _STAMP_RE:
            if match := pattern.fullmatch(value):
                return _date(match, value), _time(match, value, clock=True)
    raise ValueError(f"{value!r} is not a timestamp: use YYYY-MM-DDTHH:MM:SS (or MM/DD/YYYY HH:MM:SS)")


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number: send 1 or 0")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be stored in a FileMaker number field")
        return value
    if isinstance(value, str):
        return value  # a number field holding text keeps its text
    raise ValueError(f"{value!r} is not a number")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{value!r} is not text")


def _us(day: dt.date) -> str:
    # strftime("%Y") does not pad years below 1000 on every platform.
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def _check_type(result_type: str) -> None:
    if result_type not in RESULT_TYPES:
        raise ValueError(f"unknown field result type {result_type!r}: expected one of {sorted(RESULT_TYPES)}")


def to_document(value: Any, result_type: str) -> Any:
    """A value FileMaker sent -> the document's form. Raises ValueError when it does not parse."""
    _check_type(result_type)
    if value is None or value == "":
        return ""
    if result_type == "number":
        return _number(value)
    if result_type == "date":
        return _parse_date(value).isoformat()
    if result_type == "time":
        return _parse_time(value)
    if result_type == "timeStamp":
        day, clock = _parse_stamp(value)
        return f"{day.isoformat()}T{clock}"
    return _text(value)  # text, container (a URL)


def to_filemaker(value: Any, result_type: str) -> Any:
    """A document value -> what FileMaker accepts in ``fieldData``. Raises ValueError when invalid."""
    _check_type(result_type)
    if value is None or value == "":
        return ""  # FileMaker clears a field with "", never null
    if result_type == "number":
        return _number(value)
    if result_type == "date":
        return _us(_parse_date(value))
    if result_type == "time":
        return _parse_time(value)
    if result_type == "timeStamp":
        day, clock = _parse_stamp(value)
        return f"{_us(day)} {clock}"
    if result_type == "container":
        raise ValueError("container fields cannot be written through fieldData (use a container upload)")
    return _text(value)


def record_to_document(field_data: Mapping[str, Any], field_types: Mapping[str, str]) -> dict[str, Any]:
    """A record's ``fieldData`` -> document values. Fields without a known type pass unchanged.

    A value FileMaker holds that does not parse as its type (a date field with validation off
    can hold text) is kept as FileMaker sent it rather than failing the whole record.
    """
    out: dict[str, Any] = {}
    for name, value in field_data.items():
        result_type = field_types.get(name)
        if result_type is None or result_type not in RESULT_TYPES:
            out[name] = value
            continue
        try:
            out[name] = to_document(value, result_type)
        except ValueError:
            out[name] = value
    return out


def document_to_filemaker(values: Mapping[str, Any], field_types: Mapping[str, str]) -> dict[str, Any]:
    """Document values -> ``fieldData``. Raises ValueError naming the first field that is invalid."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        result_type = field_types.get(name)
        if result_type is None:
            out[name] = "" if value is None else value
            continue
        try:
            out[name] = to_filemaker(value, result_type)
        except ValueError as exc:
            raise ValueError(f"field {name}: {exc}") from None
    return out
