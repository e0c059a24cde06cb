"""Field values: parse what clients write, render what they read, in every ``dateformats``.

Internal (stored) forms: dates ``YYYY-MM-DD``, times ``HH:MM:SS``, timestamps
``YYYY-MM-DD HH:MM:SS``, numbers as int/float (or the text someone typed into a number
field, as FileMaker allows), empty as ``""``. dateformats 0 (US) and 1 (file locale; our
files are US-locale) render ``MM/dd/yyyy``; 2 renders ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.schema import FieldDef

__all__ = ["Stored", "parse_dateformats", "parse_value", "render_value", "sort_key", "two_digit_year"]

Stored = str | int | float

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{1,4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*([AaPp][Mm])?$")


def parse_dateformats(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise FMError("960", http_status=400) from None
    if value not in (0, 1, 2):
        raise FMError("960", http_status=400)
    return value


def two_digit_year(text: str) -> bool:
    """True when a US date string gives its year in fewer than four digits (fourDigitYear)."""
    match = _US_DATE.match(text.strip().split(" ")[0])
    return bool(match and len(match.group(3)) < 4)


def _date(text: str, iso: bool) -> str:
    text = text.strip()
    if iso:
        m = _ISO_DATE.match(text)
        year, month, day = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)
    else:
        m = _US_DATE.match(text)
        month, day, year = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)
        if m and len(m.group(3)) <= 2:
            year += 2000 if year < 50 else 1900
    if not m or not 1 <= year <= 4000:
        raise FMError("500")
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise FMError("500") from None


def _time(text: str, code: str = "501") -> str:
    m = _TIME.match(text.strip())
    if not m:
        raise FMError(code)
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    meridiem = (m.group(5) or "").upper()
    if meridiem:
        if not 1 <= hour <= 12:
            raise FMError(code)
        hour = hour % 12 + (12 if meridiem == "PM" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise FMError(code)
    return f"{hour:02d}:{minute:02d}:{second:02d}{m.group(4) or ''}"


def _timestamp(text: str, iso: bool) -> str:
    text = text.strip()
    parts = text.split("T", 1) if iso and "T" in text else text.split(None, 1)
    if len(parts) == 1:
        return f"{_date(parts[0], iso)} 00:00:00"
    return f"{_date(parts[0], iso)} {_time(parts[1], '500')}"


def _number(value: Any) -> Stored:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise FMError("502")
        return value
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return str(value)  # FileMaker keeps text typed into a number field
    if not math.isfinite(number):
        return str(value)
    return int(number) if re.fullmatch(r"[+-]?\d+", text) else number


def parse_value(field: FieldDef, value: Any, dateformats: int) -> Stored:
    """A client's value for ``field`` in the stored form; 500/501/502 when unreadable."""
    if value is None or value == "":
        return ""
    iso = dateformats == 2
    if field.result == "number":
        return _number(value)
    if isinstance(value, bool | int | float):
        if field.result == "text":
            return _render_number(value) if not isinstance(value, bool) else str(int(value))
        value = str(value)
    if not isinstance(value, str):
        raise FMError("960", http_status=400)
    if field.result == "date":
        return _date(value, iso)
    if field.result == "time":
        return _time(value)
    if field.result == "timeStamp":
        return _timestamp(value, iso)
    return value


def _render_number(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def render_value(field: FieldDef, stored: Any, dateformats: int) -> Any:
    """The stored value as the Data API returns it (JSON numbers, US or ISO dates)."""
    if stored is None or stored == "":
        return ""
    if field.result == "number":
        if isinstance(stored, float) and stored.is_integer():
            return int(stored)
        return stored
    if not isinstance(stored, str):
        return stored
    if dateformats == 2:
        return stored.replace(" ", "T", 1) if field.result == "timeStamp" else stored
    if field.result == "date":
        y, m, d = stored.split("-")
        return f"{m}/{d}/{y}"
    if field.result == "timeStamp":
        date, time = stored.split(" ", 1)
        y, m, d = date.split("-")
        return f"{m}/{d}/{y} {time}"
    return stored


def sort_key(field: FieldDef, stored: Any) -> tuple[int, Any]:
    """Typed order, empty values first (as FileMaker sorts ascending)."""
    if stored is None or stored == "":
        return (0, "")
    if field.result == "number":
        if isinstance(stored, int | float):
            return (1, float(stored))
        return (2, str(stored).lower())
    if isinstance(stored, str):
        return (1, stored.lower() if field.result == "text" else stored)
    return (1, stored)
