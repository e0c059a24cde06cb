"""Awareness (presence) of one room: kept per client id, bound to the connection that claimed it.

A connection may only speak for the awareness client ids it announced first; entries for an id
another connection owns are dropped. When a connection leaves, its ids are removed and a
"gone" entry (clock + 1, state ``null``) is relayed, as y-protocols does on timeout.

An entry is applied and relayed under y-protocols' own rule (``applyAwarenessUpdate``): a state
must have a newer clock than the one known for its client (0 for a client not seen yet); a
``null`` removes a known client at its clock or a later one, and is dropped for a client with
no state. So the empty state every y-protocols client announces on connect (clock 0) is
neither kept nor relayed: every receiving client would drop it by the same rule, and relaying
it cost each newcomer a frame to every peer in the room.
"""

from __future__ import annotations

from typing import Any

import msgspec

from collab.errors import ProtocolError
from collab.protocol.sync import AwarenessEntry, awareness_frame, encode_awareness

__all__ = ["MAX_CLIENT_IDS_PER_CONNECTION", "RoomAwareness"]

#: One browser tab uses one id; a few more cover reconnect races. Anything above is abuse.
MAX_CLIENT_IDS_PER_CONNECTION = 8
_NULL = b"null"


class RoomAwareness:
    __slots__ = ("_owner", "_states")

    def __init__(self) -> None:
        #: client id -> (clock, JSON state)
        self._states: dict[int, tuple[int, bytes]] = {}
        self._owner: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, connection_id: str, owned: set[int], entries: list[AwarenessEntry]) -> list[AwarenessEntry]:
        """Record the entries this connection may set; return the ones to relay."""
        accepted: list[AwarenessEntry] = []
        for entry in entries:
            owner = self._owner.get(entry.client)
            if owner is None:
                if len(owned) >= MAX_CLIENT_IDS_PER_CONNECTION:
                    raise ProtocolError("too many awareness client ids on one connection")
                self._owner[entry.client] = connection_id
                owned.add(entry.client)
            elif owner != connection_id:
                continue
            if entry.state != _NULL:
                # Other clients JSON.parse every state; one that does not parse would throw there.
                try:
                    msgspec.json.decode(entry.state)
                except msgspec.DecodeError:
                    raise ProtocolError("awareness state is not valid JSON") from None
            current = self._states.get(entry.client)
            if entry.state == _NULL:
                if current is None or entry.clock < current[0]:
                    continue  # nothing known to remove, or stale
                del self._states[entry.client]
            else:
                if entry.clock <= (current[0] if current is not None else 0):
                    continue  # not newer: y-protocols drops it, so every client would
                self._states[entry.client] = (entry.clock, entry.state)
            accepted.append(entry)
        return accepted

    def remove(self, owned: set[int]) -> bytes | None:
        """Forget a leaving connection's ids; the awareness frame telling the others, if any."""
        gone: list[AwarenessEntry] = []
        for client in owned:
            self._owner.pop(client, None)
            current = self._states.pop(client, None)
            if current is not None:  # the others never saw a state that was not relayed
                gone.append(AwarenessEntry(client, current[0] + 1, _NULL))
        owned.clear()
        return awareness_frame(encode_awareness(gone)) if gone else None

    def snapshot_frame(self) -> bytes | None:
        """Every known state in one awareness frame (for a newcomer or a query)."""
        if not self._states:
            return None
        entries = [AwarenessEntry(client, clock, state) for client, (clock, state) in self._states.items()]
        return awareness_frame(encode_awareness(entries))

    def presence(self, who: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
        """Decoded states with the owning connection's user: ``who`` maps connection id -> (sub, name)."""
        out: list[dict[str, Any]] = []
        for client, (_clock, raw) in self._states.items():
            owner = self._owner.get(client, "")
            sub, name = who.get(owner, ("", ""))
            try:
                state = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                state = None
            field = state.get("field", "") if isinstance(state, dict) else ""
            out.append(
                {"client": client, "connection": owner, "user": sub, "name": name, "field": field, "state": state}
            )
        return out
