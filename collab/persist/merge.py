"""Three-way merge of a record: base (last exchanged with FileMaker), theirs (FileMaker now),
ours (the converged document). Pure functions; the writer applies the result as small edits.

Text fields merge character by character so that both sides' typing survives. A non-text field
changed on both sides follows the layout's ``conflict_policy``; the losing value is reported so
that it can go into a ``record.conflict`` event.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

__all__ = ["FieldConflict", "MergeResult", "merge_record", "merge_text"]

_Edit = tuple[int, int, str]  # replace base[start:end] with text


class FieldConflict(msgspec.Struct, frozen=True):
    """A non-text field both sides changed: ``kept`` won, ``overwritten`` lost."""

    field: str
    base: Any
    ours: Any
    theirs: Any
    kept: Literal["hub", "filemaker"]

    @property
    def overwritten(self) -> Any:
        return self.theirs if self.kept == "hub" else self.ours


class MergeResult(msgspec.Struct, frozen=True):
    #: Values to bring into the document (text fields: the merged text).
    apply: dict[str, Any]
    #: Fields FileMaker changed since the base (what the refresh answer reports).
    theirs_changed: list[str]
    conflicts: list[FieldConflict]
    #: Text fields both sides changed, merged so both survive.
    text_merged: list[str]


def _edits(base: str, other: str) -> list[_Edit]:
    matcher = difflib.SequenceMatcher(a=base, b=other, autojunk=False)
    return [(i1, i2, other[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _overlaps(a: _Edit, b: _Edit) -> bool:
    # Edits at the same point (two inserts, or an insert where the other deletes) collide too.
    return (a[0] < b[1] and b[0] < a[1]) or a[0] == b[0]


def _apply(base: str, start: int, end: int, edits: Iterable[_Edit]) -> str:
    out: list[str] = []
    pos = start
    for e_start, e_end, text in edits:
        out.append(base[pos:e_start])
        out.append(text)
        pos = e_end
    out.append(base[pos:end])
    return "".join(out)


def _union(ours: str, theirs: str) -> str:
    """A text containing both: shared parts once, each side's own characters kept (ours first)."""
    if theirs in ours:
        return ours
    if ours in theirs:
        return theirs
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(ours[i1:i2])
        else:
            out.append(ours[i1:i2] + theirs[j1:j2])
    return "".join(out)


def merge_text(base: str, ours: str, theirs: str) -> str:
    """Both sides' changes to ``base``; where they touch the same span, both texts survive."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    a, b = _edits(base, ours), _edits(base, theirs)
    out: list[str] = []
    pos = i = j = 0
    while i < len(a) or j < len(b):
        # Start a cluster at the earliest edit, then absorb every edit that collides with it.
        if j >= len(b) or (i < len(a) and a[i][0] <= b[j][0]):
            mine, other = [a[i]], []
            i += 1
        else:
            mine, other = [], [b[j]]
            j += 1
        start = (mine or other)[0][0]
        end = (mine or other)[0][1]
        grew = True
        while grew:
            grew = False
            probe = (start, end, "")
            if i < len(a) and (_overlaps(probe, a[i]) or a[i][0] < end):
                mine.append(a[i])
                end = max(end, a[i][1])
                i += 1
                grew = True
            if j < len(b) and (_overlaps(probe, b[j]) or b[j][0] < end):
                other.append(b[j])
                end = max(end, b[j][1])
                j += 1
                grew = True
        out.append(base[pos:start])
        if mine and other:
            out.append(_union(_apply(base, start, end, mine), _apply(base, start, end, other)))
        else:
            out.append(_apply(base, start, end, mine or other))
        pos = end
    out.append(base[pos:])
    return "".join(out)


def _same(a: Any, b: Any) -> bool:
    # FileMaker returns "" for empty values of every type; the document may hold None.
    return ("" if a is None else a) == ("" if b is None else b)


def merge_record(
    base: Mapping[str, Any],
    theirs: Mapping[str, Any],
    ours: Mapping[str, Any],
    *,
    text_fields: Iterable[str],
    fields: Iterable[str],
    policy: Literal["hub", "filemaker"] = "hub",
) -> MergeResult:
    """What to bring into the document so that it holds FileMaker's changes and keeps ours."""
    texts = set(text_fields)
    apply: dict[str, Any] = {}
    theirs_changed: list[str] = []
    conflicts: list[FieldConflict] = []
    text_merged: list[str] = []
    for name in fields:
        if name not in theirs:
            continue  # not on the layout (or not readable): nothing FileMaker said about it
        b, t, o = base.get(name, ""), theirs[name], ours.get(name, "")
        if _same(t, b):
            continue
        theirs_changed.append(name)
        if _same(o, t):
            continue
        if _same(o, b):
            apply[name] = t
        elif name in texts:
            apply[name] = merge_text(_s(b), _s(o), _s(t))
            text_merged.append(name)
        else:
            conflicts.append(FieldConflict(name, b, o, t, kept=policy))
            if policy == "filemaker":
                apply[name] = t
    return MergeResult(apply, theirs_changed, conflicts, text_merged)


def _s(value: Any) -> str:
    return "" if value is None else str(value)
