"""Where a change came from, and the one place that decides what happens to it."""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = ["Origin", "OriginKind"]


class OriginKind(StrEnum):
    CLIENT = "client"  # a WebSocket client (browser, Node, pycrdt)
    PEER = "peer"  # another hub process, through the bus (already stored by that process)
    FILEMAKER = "filemaker"  # a change read from FileMaker (refresh, poll, 306 merge)
    SERVER = "server"  # the hub itself: seeding, HTTP field edits, comments from scripts


class Origin(msgspec.Struct, frozen=True):
    kind: OriginKind
    #: Connection id, peer instance id, or the actor (user id) for server edits.
    ident: str = ""
    #: User id responsible for the change, when known (for record.changed events).
    user: str = ""

    @property
    def stored(self) -> bool:
        """Does this change go into our durable log? Peers have stored it already."""
        return self.kind is not OriginKind.PEER

    @property
    def relayed_to_peers(self) -> bool:
        """Is it published on the bus? Never echo what came from the bus."""
        return self.kind is not OriginKind.PEER

    @property
    def written_back(self) -> bool:
        """Does it make the record dirty towards FileMaker? Not what FileMaker itself sent."""
        return self.kind is not OriginKind.FILEMAKER
