"""Three-way merge: pure functions, and the result applied to real pycrdt documents."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text

from collab.document import apply_values, read_values, seed_document
from collab.persist.merge import merge_record, merge_text
from collab.settings import DEMO_LAYOUT


def test_only_one_side_changed() -> None:
    assert merge_text("Hello", "Hello world", "Hello") == "Hello world"
    assert merge_text("Hello", "Hello", "Hello there") == "Hello there"
    assert merge_text("Hello", "Hi", "Hi") == "Hi"


def test_disjoint_edits_both_survive() -> None:
    assert merge_text("The cat sat", "The big cat sat", "The cat sat down") == "The big cat sat down"


def test_same_point_inserts_keep_both() -> None:
    merged = merge_text("ab", "aXb", "aYb")
    assert merged in ("aXYb", "aYXb")


def test_overlap_keeps_every_typed_character() -> None:
    merged = merge_text("one two three", "one 2 three", "one TWO three")
    assert "2" in merged and "TWO" in merged
    assert merged.startswith("one ") and merged.endswith(" three")


def test_repeated_write_is_not_duplicated() -> None:
    # The hub wrote "xA", died before recording it, and typed "B" since: no second "A".
    assert merge_text("x", "xAB", "xA") == "xAB"


def test_multibyte_text() -> None:
    assert merge_text("café", "café ☕", "Le café") == "Le café ☕"


@settings(max_examples=300, deadline=None)
@given(
    base=st.text(alphabet="abcde ", max_size=12),
    ours_ins=st.tuples(st.integers(0, 12), st.text(alphabet="XYZ", min_size=1, max_size=3)),
    theirs_ins=st.tuples(st.integers(0, 12), st.text(alphabet="PQR", min_size=1, max_size=3)),
)
def test_concurrent_inserts_all_survive(base: str, ours_ins: tuple[int, str], theirs_ins: tuple[int, str]) -> None:
    o_at, o_text = min(ours_ins[0], len(base)), ours_ins[1]
    t_at, t_text = min(theirs_ins[0], len(base)), theirs_ins[1]
    ours = base[:o_at] + o_text + base[o_at:]
    theirs = base[:t_at] + t_text + base[t_at:]
    merged = merge_text(base, ours, theirs)
    assert o_text in merged and t_text in merged
    # Nothing of the base is lost and nothing invented: the merge is base plus both inserts.
    assert len(merged) == len(base) + len(o_text) + len(t_text)


def test_record_merge_policies() -> None:
    base = {"Notes": "n", "Customer": "Acme", "Amount": 10, "DueDate": "2026-01-01"}
    theirs = {"Notes": "n FM", "Customer": "Acme Ltd", "Amount": 12, "DueDate": "2026-01-01"}
    ours = {"Notes": "hub n", "Customer": "Acme", "Amount": 11, "DueDate": "2026-02-01"}
    fields = list(base)
    hub = merge_record(base, theirs, ours, text_fields=["Notes"], fields=fields, policy="hub")
    assert hub.apply == {"Notes": "hub n FM", "Customer": "Acme Ltd"}
    assert [c.field for c in hub.conflicts] == ["Amount"]
    assert hub.conflicts[0].overwritten == 12
    assert sorted(hub.theirs_changed) == ["Amount", "Customer", "Notes"]
    fm = merge_record(base, theirs, ours, text_fields=["Notes"], fields=fields, policy="filemaker")
    assert fm.apply["Amount"] == 12 and fm.conflicts[0].overwritten == 11


def _doc(values: dict[str, Any]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    seed_document(doc, DEMO_LAYOUT, values)
    return doc


def test_merge_applied_as_small_edits_keeps_concurrent_typing() -> None:
    """FileMaker's change enters as a diff: a peer typing meanwhile keeps its characters."""
    base = {"UUID": "u1", "Notes": "Hello world", "Amount": 1}
    hub = _doc(base)
    peer: Doc[Any] = Doc()
    peer.apply_update(hub.get_update())
    # The peer types at the same moment the merge happens in the hub.
    peer.get("Notes", type=Text).insert(0, ">> ")
    theirs = {"UUID": "u1", "Notes": "Hello big world", "Amount": 1}
    ours = read_values(hub, DEMO_LAYOUT)
    result = merge_record(base, theirs, ours, text_fields=["Notes"], fields=list(theirs))
    apply_values(hub, DEMO_LAYOUT, result.apply)
    hub.apply_update(peer.get_update(hub.get_state()))
    peer.apply_update(hub.get_update(peer.get_state()))
    assert str(hub.get("Notes", type=Text)) == ">> Hello big world"
    assert read_values(hub, DEMO_LAYOUT) == read_values(peer, DEMO_LAYOUT)


@settings(max_examples=300, deadline=None)
@given(
    base=st.text(alphabet="abc ", max_size=14),
    ours=st.tuples(st.integers(0, 14), st.integers(0, 4), st.text(alphabet="XYZ", max_size=3)),
    theirs=st.tuples(st.integers(0, 14), st.integers(0, 4), st.text(alphabet="PQR", max_size=3)),
)
def test_deletes_and_inserts_merge_without_duplicates(
    base: str, ours: tuple[int, int, str], theirs: tuple[int, int, str]
) -> None:
    def edit(spec: tuple[int, int, str]) -> str:
        at, cut, text = min(spec[0], len(base)), spec[1], spec[2]
        return base[:at] + text + base[at + cut :]

    mine, other = edit(ours), edit(theirs)
    merged = merge_text(base, mine, other)
    # Every typed character survives exactly once; the merge never grows past both edits.
    for char in "XYZ":
        assert merged.count(char) == mine.count(char)
    for char in "PQR":
        assert merged.count(char) == other.count(char)
    assert len(merged) <= len(base) + len(ours[2]) + len(theirs[2])
    assert merge_text(base, mine, base) == mine and merge_text(base, base, other) == other
