"""Guards around every call into yrs with client bytes: decode before apply, panics made visible.

pycrdt surfaces a Rust panic as ``pyo3_runtime.PanicException``, a ``BaseException`` that
``except Exception`` misses and that cannot be imported by name. We recognise it by class name
and turn it into :class:`CrdtPanic`; everything else (CancelledError, KeyboardInterrupt)
propagates untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pycrdt import Doc

from collab.errors import ProtocolError
from collab.protocol.sync import check_update, parse_state_vector, step2_frame

__all__ = ["CrdtPanic", "apply", "guarded", "is_noop", "is_panic", "state_vector", "step2"]

T = TypeVar("T")


class CrdtPanic(Exception):
    """yrs panicked: the document it was working on can no longer be trusted."""


def is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException"


def guarded(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)``; yrs errors become ProtocolError, a panic becomes CrdtPanic."""
    try:
        return fn(*args)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ProtocolError(f"update rejected by the CRDT engine: {exc}") from None
    except BaseException as exc:
        if is_panic(exc):
            raise CrdtPanic(str(exc)) from None
        raise


def state_vector(payload: bytes) -> dict[int, int]:
    return parse_state_vector(payload)


def step2(doc: Doc[Any], payload: bytes) -> bytes:
    """Sync step 2 for a client's (already bounds-checked) state vector."""
    parse_state_vector(payload)
    return step2_frame(guarded(doc.get_update, payload))


def apply(doc: Doc[Any], update: bytes) -> None:
    """Decode-check ``update`` (``check_update``), then apply it; the hot path of every edit,
    so one guard (no closures) covers both calls."""
    guarded(_decode_then_apply, doc, update)


def _decode_then_apply(doc: Doc[Any], update: bytes) -> None:
    check_update(update)
    doc.apply_update(update)


def is_noop(doc: Doc[Any], update: bytes) -> bool:
    """Would ``update`` change nothing? (A read-only client's step 2 after a reconnect.)

    New structs show in its state vector; deletions only by trying them on a scratch copy.
    """
    theirs = parse_state_vector(guarded(lambda: check_update(update)))
    state = doc.get_state()
    ours = parse_state_vector(state)
    if any(clock > ours.get(client, 0) for client, clock in theirs.items()):
        return False
    scratch: Doc[Any] = Doc()
    scratch.apply_update(doc.get_update())
    guarded(lambda: scratch.apply_update(update))
    return bool(scratch.get_update(state) == doc.get_update(state))
