"""Web viewer component: serves the co-editing page (``/webviewer/``), the approvals dashboard
(``/webviewer/approvals``), their bundled assets (``/webviewer/assets/...``) and the layout
schema API (``GET /api/layouts/{database}/{layout}/schema``).

The sources are in ``webviewer/`` at the repository root; docs/webviewer.md explains how to
put the page into a FileMaker web viewer.
"""

from __future__ import annotations

from collab.context import Component, HubContext
from collab.webviewer.routes import route_handlers

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    return Component(route_handlers=route_handlers())
