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


def _script(base: str, other: str) -> tuple[list[bool], list[str]]:
    """``other`` as an edit of ``base``: which base characters it keeps, and what it inserts
    before each base position (``len(base) + 1`` slots)."""
    keep = [True] * len(base)
    inserted = [""] * (len(base) + 1)
    # Trim the common ends first: typing is one small change, and difflib alone may describe
    # an insert into a run of equal characters as a move ("aaa" -> "aXaa" as +"aX" -"a").
    head = 0
    while head < min(len(base), len(other)) and base[head] == other[head]:
        head += 1
    tail = 0
    while tail < min(len(base), len(other)) - head and base[-1 - tail] == other[-1 - tail]:
        tail += 1
    a, b = base[head : len(base) - tail], other[head : len(other) - tail]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for i in range(head + i1, head + i2):
            keep[i] = False
        inserted[head + i1] += b[j1:j2]
    return keep, inserted


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
    """Both sides' changes to ``base``: a base character stays only if both kept it, and what
    either side typed survives (typed at the same spot: ours first; typed by both: once)."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    keep_o, ins_o = _script(base, ours)
    keep_t, ins_t = _script(base, theirs)
    out: list[str] = []
    for i in range(len(base) + 1):
        mine, other = ins_o[i], ins_t[i]
        out.append(_union(mine, other) if mine and other else mine or other)
        if i < len(base) and keep_o[i] and keep_t[i]:
            out.append(base[i])
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
