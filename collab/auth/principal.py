"""Who is on the other end: the claims of a verified token."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

import msgspec

from collab.records import RecordKey

__all__ = ["ANONYMOUS_EDITOR", "ROLES", "Principal", "Role"]

Role = Literal["viewer", "editor", "approver", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "approver", "admin")


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    sub: str
    name: str = ""
    roles: frozenset[str] = frozenset()
    #: Patterns over ``database/layout/key`` (decoded parts): ``Sales/Invoices/*``, ``*``, or one record.
    records: tuple[str, ...] = ()
    #: Token expiry (unix seconds); 0 for principals that are not token-based.
    exp: int = 0

    def has_role(self, *roles: str) -> bool:
        return "admin" in self.roles or any(role in self.roles for role in roles)

    def may_open(self, record: RecordKey) -> bool:
        if "*" in self.records:  # the common token; checked on every update a client sends
            return True
        target = f"{record.database}/{record.layout}/{record.key}"
        return any(pattern == target or fnmatchcase(target, pattern) for pattern in self.records)

    def may_see_layout(self, database: str, layout: str) -> bool:
        probe = f"{database}/{layout}/"
        return any(
            pattern in ("*", f"{database}/*", f"{database}/{layout}/*") or pattern.startswith(probe)
            for pattern in self.records
        )

    @property
    def display(self) -> str:
        return self.name or self.sub


#: Used only when ``server.allow_anonymous`` is on (the demo without tokens).
ANONYMOUS_EDITOR = Principal(sub="anonymous", name="Guest", roles=frozenset({"editor"}), records=("*",))
