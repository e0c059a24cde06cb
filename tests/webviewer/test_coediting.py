"""Two people type into the same text field at the same time; nobody loses a character."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.support.server import RunningHub
from tests.webviewer.conftest import Opener
from tests.webviewer.helpers import eventually, filemaker_values, hub_values

pytestmark = pytest.mark.browser


def is_subsequence(part: str, whole: str) -> bool:
    remaining = iter(whole)
    return all(char in remaining for char in part)


async def test_two_pages_type_into_notes_at_once(hub: RunningHub, opener: Opener, artifacts: Path) -> None:
    alice = await opener.page("alice", "Alice Archer", ["editor"])
    bob = await opener.page("bob", "Bob Baker", ["editor"])
    original = await alice.value("Notes")
    assert original == await bob.value("Notes")

    # Presence: each sees the other, and which field they are in.
    await alice.field("Notes").click()
    await bob.field("Customer").click()
    await alice.page.wait_for_selector('#presence [data-user="bob"][data-in-field="Customer"]')
    await bob.page.wait_for_selector('#presence [data-user="alice"][data-in-field="Notes"]')
    await bob.field("Notes").click()
    await alice.page.wait_for_selector('#presence [data-user="bob"][data-in-field="Notes"]')
    await alice.page.wait_for_selector('[data-presence-for="Notes"] .badge[data-user="bob"]')

    # Phase 1: Alice types at the end while Bob types at the start, concurrently.
    await alice.field("Notes").press("Control+End")
    await bob.field("Notes").press("Control+Home")
    text_a = " [alice was here 0123456789]"
    text_b = "[bob typed this first] "
    await asyncio.gather(
        alice.page.keyboard.type(text_a, delay=15),
        bob.page.keyboard.type(text_b, delay=15),
    )
    expected = text_b + original + text_a
    for viewer in (alice, bob):
        await viewer.page.wait_for_function(
            "(want) => document.querySelector('[data-field=\"Notes\"]').value === want", arg=expected
        )

    # Phase 2: both type in the very same spot (the middle) at once: interleaving is fine,
    # losing or reordering a person's characters is not.
    middle = len(text_b) + len(original) // 2
    for viewer in (alice, bob):
        await viewer.page.evaluate(
            "(at) => { const el = document.querySelector('[data-field=\"Notes\"]'); el.focus(); el.setSelectionRange(at, at) }",
            middle,
        )
    burst_a = "aaaa1111"
    burst_b = "BBBB2222"
    await asyncio.gather(
        alice.page.keyboard.type(burst_a, delay=10),
        bob.page.keyboard.type(burst_b, delay=10),
    )
    await eventually(
        lambda: _same(alice, bob), what="both pages to converge"
    )
    final = await alice.value("Notes")
    assert Counter(final) == Counter(expected + burst_a + burst_b)
    assert is_subsequence(burst_a, final) and is_subsequence(burst_b, final)
    assert final.startswith(text_b) and final.endswith(text_a)

    # A selection survives remote edits before it: Alice selects a word, Bob types in front.
    word = "maintenance"
    start = final.index(word)
    await alice.page.evaluate(
        "([a, b]) => { const el = document.querySelector('[data-field=\"Notes\"]'); el.focus(); el.setSelectionRange(a, b) }",
        [start, start + len(word)],
    )
    await bob.field("Notes").press("Control+Home")
    await bob.page.keyboard.type("<<")
    await alice.wait_contains("Notes", "<<[bob")
    selected = await alice.page.evaluate(
        "() => { const el = document.querySelector('[data-field=\"Notes\"]');"
        " return el.value.slice(el.selectionStart, el.selectionEnd) }"
    )
    assert selected == word
    final = await alice.value("Notes")

    # The hub holds exactly that, and so does FileMaker once write-back has run.
    await eventually(lambda: (hub_values(hub) or {}).get("Notes") == final, what="the hub's Notes")
    await eventually(lambda: filemaker_values(hub).get("Notes") == final, what="FileMaker's Notes", timeout=20)
    for viewer in (alice, bob):
        await viewer.page.wait_for_selector("#save-status:not([hidden])")
        await viewer.page.wait_for_selector('#store-status[data-state="stored"]')
    await alice.screenshot(artifacts / "webviewer-coediting-alice.png")
    await bob.screenshot(artifacts / "webviewer-coediting-bob.png")


async def _same(alice: object, bob: object) -> bool:
    a = await alice.value("Notes")  # type: ignore[attr-defined]
    b = await bob.value("Notes")  # type: ignore[attr-defined]
    return a == b and "1111" in a and "2222" in a


COMPOSE = """
([phase, text]) => {
  const el = document.querySelector('[data-field="Notes"]');
  if (phase === 'start') {
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
    window.__composeAt = el.value.length;
    el.dispatchEvent(new CompositionEvent('compositionstart', { data: '' }));
    return;
  }
  if (phase === 'update') {
    // What an IME does: the composed text is in the textarea, input events say isComposing.
    const at = window.__composeAt;
    el.value = el.value.slice(0, at) + text;
    el.setSelectionRange(at + text.length, at + text.length);
    el.dispatchEvent(new InputEvent('input', { data: text, isComposing: true, inputType: 'insertCompositionText' }));
    return;
  }
  el.dispatchEvent(new CompositionEvent('compositionend', { data: text }));
}
"""


async def test_ime_composition_survives_remote_edits(hub: RunningHub, opener: Opener) -> None:
    alice = await opener.page("alice", "Alice Archer", ["editor"])
    bob = await opener.page("bob", "Bob Baker", ["editor"])
    original = await alice.value("Notes")

    await alice.page.evaluate(COMPOSE, ["start", ""])
    await alice.page.evaluate(COMPOSE, ["update", "にほ"])
    # Bob types at the start while Alice is composing: her textarea is left alone meanwhile.
    await bob.field("Notes").click()
    await bob.field("Notes").press("Control+Home")
    await bob.page.keyboard.type("Bob: ")
    await eventually(lambda: (hub_values(hub) or {}).get("Notes", "").startswith("Bob: "), what="Bob's edit")
    assert await alice.value("Notes") == original + "にほ"
    await alice.page.evaluate(COMPOSE, ["update", "日本"])
    await alice.page.evaluate(COMPOSE, ["end", "日本"])

    expected = "Bob: " + original + "日本"
    for viewer in (alice, bob):
        await viewer.page.wait_for_function(
            "(want) => document.querySelector('[data-field=\"Notes\"]').value === want", arg=expected
        )
    assert await alice.page.evaluate("document.querySelector('[data-field=\"Notes\"]').selectionStart") == len(expected)
    await eventually(lambda: (hub_values(hub) or {}).get("Notes") == expected, what="the hub's Notes")
