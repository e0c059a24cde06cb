"""Checking a record's audit trail: the hash chain, the sequence and the epochs."""

from __future__ import annotations

from collections.abc import Sequence

from collab.locks.state import GENESIS, AuditEntry, LockState, entry_hash

__all__ = ["verify_chain"]


def verify_chain(entries: Sequence[AuditEntry], head: LockState | None = None) -> tuple[bool, str]:
    """``(True, "")`` when intact, else ``(False, sentence saying where it breaks)``.

    With ``head`` (the record's stored state, which remembers the newest entry's hash and
    count) removing entries from the end is caught too.
    """
    prev, epoch = GENESIS, -1
    for index, entry in enumerate(entries, start=1):
        if entry.seq != index:
            return False, f"entry {index} is missing (found seq {entry.seq})"
        if entry.prev != prev:
            return False, f"entry {index} does not follow entry {index - 1} (prev hash differs)"
        if entry_hash(entry) != entry.hash:
            return False, f"entry {index} was altered (its hash does not match its content)"
        if entry.epoch <= epoch:
            return False, f"entry {index} has epoch {entry.epoch}, not above {epoch}"
        prev, epoch = entry.hash, entry.epoch
    if head is not None and (head.seq != len(entries) or head.head != prev):
        return False, f"the record's state names {head.seq} entries but {len(entries)} are stored (entries removed)"
    return True, ""
