"""The FileMaker Data API emulator (``collab emulator``, and /fmi/ in ``collab serve --demo``).

See docs/emulator.md for what it covers and where it differs from FileMaker Server.
"""

from __future__ import annotations

from collab.filemaker.emulator.emulator import Emulator
from collab.filemaker.emulator.scripts import ScriptCall, ScriptError

__all__ = ["DEMO_RECORD_UUID", "Emulator", "ScriptCall", "ScriptError"]

#: UUID of record 1 of Sales/Invoices in the demo schema (demos and tests use it).
DEMO_RECORD_UUID = "8D1F5E2A-0001-4000-8000-000000000001"
