"""The record document model: deterministic seeds, values, and minimal text edits."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text

from collab.document import apply_text, apply_values, read_values, seed_update
from collab.records import RecordKey
from collab.settings import DEMO_LAYOUT

RECORD = RecordKey("Sales", "Invoices", "8D1F5E2A-0001")
VALUES = {"UUID": "8D1F5E2A-0001", "Notes": "Ship by Friday 📦", "Amount": 1250.5, "Customer": "Acme"}


def test_two_seeds_of_the_same_values_are_identical_and_merge_without_duplication() -> None:
    client_a, update_a = seed_update(RECORD, DEMO_LAYOUT, VALUES)
    client_b, update_b = seed_update(RECORD, DEMO_LAYOUT, VALUES)
    assert (client_a, update_a) == (client_b, update_b)
    doc: Doc[Any] = Doc()
    doc.apply_update(update_a)
    doc.apply_update(update_b)
    assert read_values(doc, DEMO_LAYOUT)["Notes"] == "Ship by Friday 📦"


def test_different_values_give_a_different_seed_client() -> None:
    assert (
        seed_update(RECORD, DEMO_LAYOUT, VALUES)[0]
        != seed_update(RECORD, DEMO_LAYOUT, {**VALUES, "Amount": 1})[0]
    )


def test_apply_values_changes_only_what_differs() -> None:
    doc: Doc[Any] = Doc()
    doc.apply_update(seed_update(RECORD, DEMO_LAYOUT, VALUES)[1])
    assert apply_values(
        doc, DEMO_LAYOUT, {"Amount": 1250.5, "Customer": "Acme Ltd", "Notes": "Ship by Friday 📦"}
    ) == ["Customer"]


def test_concurrent_typing_survives_a_diff_applied_elsewhere() -> None:
    base: Doc[Any] = Doc()
    base.apply_update(seed_update(RECORD, DEMO_LAYOUT, {"Notes": "hello world"})[1])
    typist: Doc[Any] = Doc()
    typist.apply_update(base.get_update())
    typist.get("Notes", type=Text).insert(5, ", dear")
    apply_values(base, DEMO_LAYOUT, {"Notes": "hello big world"})  # what FileMaker changed
    base.apply_update(typist.get_update())
    typist.apply_update(base.get_update())
    assert str(base.get("Notes", type=Text)) == str(typist.get("Notes", type=Text)) == "hello, dear big world"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_apply_text_reaches_any_target(old: str, new: str) -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    text.insert(0, old)
    apply_text(text, new)
    assert str(text) == new
