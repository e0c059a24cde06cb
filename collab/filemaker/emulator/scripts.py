"""FileMaker scripts as Python callables, and the script parameters of other requests.

A script gets a ``ScriptCall`` (its parameter, the layout, the stage it runs in and the
found set at that moment) and returns text for ``scriptResult`` or None; it raises
``ScriptError`` to report a ``scriptError`` code. Attached scripts run in the documented
order: prerequest -> action -> presort -> sort -> script -> offset/limit (section 1.2).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collab.filemaker.emulator.codes import FMError

__all__ = [
    "BUILTINS",
    "SCRIPT_KEYS",
    "ScriptCall",
    "ScriptError",
    "ScriptFn",
    "ScriptPlan",
    "resolve_builtin",
    "run_script",
]

#: Request keys that attach scripts (body for POST/PATCH, query string for GET/DELETE).
SCRIPT_KEYS = ("script", "script.param", "script.prerequest", "script.prerequest.param", "script.presort", "script.presort.param")


@dataclass
class ScriptCall:
    name: str
    param: str
    database: str
    layout: str
    #: "prerequest", "presort", "script" (after the action and sort) or "direct" (run-script route).
    stage: str
    #: recordIds of the found set when the script runs (empty before the action).
    found: list[int] = field(default_factory=list)
    #: The Emulator, for scripts that read or change records.
    emulator: Any = None


class ScriptError(Exception):
    """Raise from a script to end it with ``scriptError`` = code (and an optional result)."""

    def __init__(self, code: str | int, result: str | None = None) -> None:
        super().__init__(str(code))
        self.code = str(code)
        self.result = result


ScriptFn = Callable[[ScriptCall], "str | None | Awaitable[str | None]"]


async def run_script(fn: ScriptFn | None, call: ScriptCall) -> tuple[str | None, str]:
    """Run one script; returns (scriptResult or None, scriptError). Never raises."""
    if fn is None:
        return None, "0"
    try:
        result = fn(call)
        if inspect.isawaitable(result):
            result = await result
    except ScriptError as exc:
        return exc.result, exc.code
    except Exception:  # noqa: BLE001 - a broken script is a script error, not a crashed call
        return None, "3"
    return (None if result is None else str(result)), "0"


@dataclass
class ScriptPlan:
    """The scripts one request asked for, by stage."""

    stages: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> ScriptPlan:
        plan = cls()
        for stage, key in (("prerequest", "script.prerequest"), ("presort", "script.presort"), ("script", "script")):
            name = params.get(key)
            if name is None or name == "":
                continue
            if not isinstance(name, str):
                raise FMError("960", http_status=400)
            param = params.get(f"{key}.param", "")
            plan.stages[stage] = (name, param if isinstance(param, str) else str(param))
        return plan


def _echo(call: ScriptCall) -> str:
    return call.param


def _fail(call: ScriptCall) -> None:
    raise ScriptError(call.param or "3")


def _count(call: ScriptCall) -> str:
    if call.stage in ("prerequest", "direct"):
        return str(call.emulator.record_count(call.database, call.layout))
    return str(len(call.found))


def _found(call: ScriptCall) -> str:
    return ",".join(str(i) for i in call.found)


def _stage(call: ScriptCall) -> str:
    return call.stage


BUILTINS: dict[str, ScriptFn] = {"echo": _echo, "fail": _fail, "count": _count, "found": _found, "stage": _stage}


def resolve_builtin(run: str) -> ScriptFn | None:
    """A schema's ``run`` value: a built-in name, ``module:function``, or empty (does nothing)."""
    if not run:
        return None
    if run in BUILTINS:
        return BUILTINS[run]
    module, _, name = run.partition(":")
    fn = getattr(importlib.import_module(module), name, None) if name else None
    if not callable(fn):
        raise ValueError(f"script implementation {run!r} is neither a built-in nor module:function")
    return fn  # type: ignore[no-any-return]
