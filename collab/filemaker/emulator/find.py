"""Find requests and sorting, with FileMaker's find-mode operators.

Requests are processed in order: a find request adds the records it matches, an omit
request (``"omit": "true"``) removes them from what earlier requests found (an omit first
starts from all records). Within one request every criterion must hold.

Operators: ``=`` (empty, or whole word), ``==`` (whole field), ``<`` ``<=`` ``>`` ``>=``,
``a...b`` (range), ``*`` (not empty; inside text any characters), ``@`` (one character),
``#`` (one digit), ``!`` (duplicates), ``//`` (today), ``"..."`` (phrase). Without an
operator, text matches words starting with each criterion word; other types match equal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.schema import FieldDef
from collab.filemaker.emulator.store import Row
from collab.filemaker.emulator.values import sort_key

__all__ = ["ValuesOf", "run_find", "sort_rows"]

#: (row, field name) -> the values to test (several for a related field).
ValuesOf = Callable[[Row, str], list[Any]]

_WORD = re.compile(r"[\w'.-]+", re.UNICODE)
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _as_date(text: str) -> str:
    text = text.strip()
    m = _US.match(text)
    try:
        if m:
            return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2))).isoformat()
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise FMError("508") from None


def _typed(field: FieldDef, text: str) -> Any:
    """A criterion operand in the stored (comparable) form; 508 when it cannot be one."""
    text = text.strip()
    if field.result == "number":
        try:
            return float(text.replace(",", ""))
        except ValueError:
            raise FMError("508") from None
    if field.result == "date":
        return _as_date(text)
    if field.result == "timeStamp":
        date, _, time = text.replace("T", " ").partition(" ")
        return f"{_as_date(date)} {time.strip() or '00:00:00'}"
    if field.result == "time":
        return text if len(text) > 5 else f"{text}:00"
    return text.lower()


def _comparable(field: FieldDef, value: Any) -> Any:
    if value == "" or value is None:
        return None
    if field.result == "number":
        return float(value) if isinstance(value, int | float) else None
    return value.lower() if field.result == "text" and isinstance(value, str) else value


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = {"*": ".*", "@": ".", "#": r"\d"}
    return re.compile("".join(parts.get(ch, re.escape(ch)) for ch in pattern), re.IGNORECASE)


def _text_match(criterion: str, value: str) -> bool:
    words = [w.lower() for w in _WORD.findall(value)]
    if criterion.startswith('"') and criterion.endswith('"') and len(criterion) >= 2:
        return criterion[1:-1].lower() in value.lower()
    if any(ch in criterion for ch in "*@#"):
        rx = _wildcard(criterion)
        return bool(rx.match(value)) or any(rx.match(w) for w in words)
    return all(any(w.startswith(c.lower()) for w in words) for c in _WORD.findall(criterion))


def _match(field: FieldDef, criterion: str, value: Any, today: str, dups: set[Any]) -> bool:
    c = criterion.strip()
    empty = value == "" or value is None
    if c == "=":
        return empty
    if c == "*":
        return not empty
    if c == "!":
        return not empty and _comparable(field, value) in dups
    if empty:
        return False
    have = _comparable(field, value)
    if c == "//":
        return isinstance(value, str) and value[:10] == today
    if field.result in ("date", "timeStamp") and "//" in c:
        c = c.replace("//", today)  # today as a bound: >=//, //...12/31/2026
    for op in ("<=", ">=", "≤", "≥", "<", ">"):
        if c.startswith(op):
            want = _typed(field, c[len(op) :])
            if have is None:
                return False
            if op in ("<=", "≤"):
                return bool(have <= want or _same_day(field, have, want))
            if op in (">=", "≥"):
                return bool(have >= want)
            return bool(have < want) if op == "<" else bool(have > want and not _same_day(field, have, want))
    for sep in ("...", "..", "…"):
        if sep in c:
            low, high = (_typed(field, part) for part in c.split(sep, 1))
            return have is not None and (low <= have <= high or _same_day(field, have, high))
    if c.startswith("=="):
        target = c[2:]
        if field.result == "text":
            return bool(_wildcard(target).fullmatch(str(value)))
        return bool(have == _typed(field, target))
    if c.startswith("="):
        target = c[1:]
        if field.result == "text":
            words = {w.lower() for w in _WORD.findall(str(value))}
            wanted = [w.lower() for w in _WORD.findall(target)]
            return bool(wanted) and all(w in words for w in wanted)
        return bool(have == _typed(field, target))
    if field.result in ("text", "container") or have is None:
        return _text_match(c, str(value))
    if any(ch in c for ch in "*@#"):
        shown = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return bool(_wildcard(c).fullmatch(shown))
    if field.result == "timeStamp" and len(c.replace("T", " ").split()) == 1:
        return bool(str(have)[:10] == _typed(field, c)[:10])
    return bool(have == _typed(field, c))


def _same_day(field: FieldDef, have: Any, want: Any) -> bool:
    """A date-only bound on a timestamp field covers the whole day."""
    return field.result == "timeStamp" and str(want).endswith("00:00:00") and str(have)[:10] == str(want)[:10]


def run_find(
    rows: Sequence[Row],
    requests: Sequence[dict[str, Any]],
    fields: Callable[[str], FieldDef],
    values_of: ValuesOf,
    today: str,
) -> list[Row]:
    """The rows the requests find, in recordId order."""
    found: dict[int, Row] = {}
    first = True
    for request in requests:
        omit = str(request.get("omit", "false")).lower() == "true"
        criteria = {k: v for k, v in request.items() if k != "omit" and v is not None and str(v) != ""}
        checks = [(fields(name), name, str(v)) for name, v in criteria.items()]
        if not checks:
            continue  # an empty request finds nothing and omits nothing
        dups: dict[str, set[Any]] = {}
        for field, name, crit in checks:
            if crit.strip() == "!":
                counts = Counter(_comparable(field, v) for r in rows for v in values_of(r, name))
                dups[name] = {v for v, n in counts.items() if n > 1 and v is not None}
        if omit and first:
            found = {r.id: r for r in rows}
        for row in rows:
            hit = all(
                any(_match(field, crit, v, today, dups.get(name, set())) for v in values_of(row, name) or [""])
                for field, name, crit in checks
            )
            if hit and omit:
                found.pop(row.id, None)
            elif hit:
                found[row.id] = row
        first = False
    return sorted(found.values(), key=lambda r: r.id)


def sort_rows(rows: list[Row], spec: Sequence[tuple[FieldDef, str, bool]], values_of: ValuesOf) -> list[Row]:
    """Sort by (field, name, descending) keys, first key most significant; stable."""
    result = list(rows)
    for field, name, descending in reversed(spec):
        result.sort(key=lambda r: sort_key(field, (values_of(r, name) or [""])[0]), reverse=descending)
    return result
