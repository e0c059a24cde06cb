"""Component stub: replaced by the part that owns collab/events/."""

from __future__ import annotations

from collab.context import Component, HubContext

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    return Component()
