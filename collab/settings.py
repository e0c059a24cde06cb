"""Settings: msgspec Structs read from a TOML file and ``COLLAB_*`` environment variables.

Every option is declared here with its default and the reason for it. Unknown keys are
refused so a typo in the TOML file fails at start instead of being silently ignored.
Validation errors name the setting and say what to put there.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from collab.errors import SettingsError

__all__ = [
    "DEMO_LAYOUT",
    "EventSettings",
    "FileMakerSettings",
    "LayoutSettings",
    "LimitSettings",
    "LockSettings",
    "ServerSettings",
    "Settings",
    "StatusFieldMap",
    "StoreSettings",
    "WritebackSettings",
    "load_settings",
]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ServerSettings(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    #: Where the SQLite store and logs live. ``COLLAB_DATA_DIR``.
    data_dir: str = "./collab-data"
    #: HS256 key for web-viewer tokens. ``COLLAB_SECRET``. Empty only allowed with --demo.
    secret: str = ""
    #: Key FileMaker scripts send as ``X-API-Key`` to mint tokens. ``COLLAB_API_KEY``.
    api_key: str = ""
    #: Exact Origin values allowed on WebSocket handshakes. ``"null"`` is what a FileMaker
    #: web viewer showing a ``data:`` URL sends; the hub's own origin is always allowed.
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    #: Allow handshakes without any Origin header (FileMaker plugins, scripts, Node clients).
    allow_missing_origin: bool = True
    #: The URL people use to reach the hub (printed links, web viewer URLs). Default: http://host:port
    public_url: str = ""
    #: Serve the bundled Data API emulator at /fmi/ with the demo database.
    demo: bool = False
    #: Accept connections without a token as an anonymous demo editor (demo only).
    allow_anonymous: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class FileMakerSettings(_Section, frozen=True):
    #: Base URL of FileMaker Server, without /fmi (e.g. https://fms.example.com). ``COLLAB_FM_URL``.
    url: str = ""
    #: Default database for layouts that do not name one. ``COLLAB_FM_DATABASE``.
    database: str = "Sales"
    username: str = ""  # COLLAB_FM_USER
    password: str = ""  # COLLAB_FM_PASSWORD
    api_version: Literal["v1", "v2", "vLatest"] = "vLatest"
    timeout_seconds: float = 10.0
    verify_tls: bool = True


class StatusFieldMap(_Section, frozen=True):
    """FileMaker fields that receive the approval state through the write-back path."""

    state: str = ""
    approved_by: str = ""
    approved_at: str = ""


class LayoutSettings(_Section, frozen=True):
    """How one FileMaker layout becomes collaborative documents."""

    database: str
    layout: str
    #: Field whose value names the room (a UUID or primary key). recordId is only a fallback.
    key_field: str
    #: Fields merged character by character (top-level Y.Text named after the field).
    text_fields: list[str] = msgspec.field(default_factory=list)
    #: Fields in the document; empty means every field on the layout except containers.
    fields: list[str] = msgspec.field(default_factory=list)
    #: Fields shown but never written by clients (the key field is always read-only).
    read_only_fields: list[str] = msgspec.field(default_factory=list)
    status_fields: StatusFieldMap = msgspec.field(default_factory=StatusFieldMap)
    #: Conflict policy for a field changed both in FileMaker and in the hub since the last
    #: exchange: text fields merge both sides; other fields keep the hub's ("hub") or
    #: FileMaker's ("filemaker") value. The overwritten value goes into a record.conflict event.
    conflict_policy: Literal["hub", "filemaker"] = "hub"
    #: Number of distinct approvers a submission needs.
    approvals_required: int = 1


DEMO_LAYOUT = LayoutSettings(
    database="Sales",
    layout="Invoices",
    key_field="UUID",
    text_fields=["Notes"],
    fields=[
        "UUID",
        "InvoiceNo",
        "Customer",
        "Notes",
        "Amount",
        "DueDate",
        "Status",
        "ApprovedBy",
        "ApprovedAt",
    ],
    read_only_fields=["InvoiceNo", "Status", "ApprovedBy", "ApprovedAt"],
    status_fields=StatusFieldMap(state="Status", approved_by="ApprovedBy", approved_at="ApprovedAt"),
)


class StoreSettings(_Section, frozen=True):
    backend: Literal["sqlite", "memory"] = "sqlite"
    #: SQLite file; relative paths are under data_dir.
    path: str = "collab.db"
    #: Group commit window: updates arriving within it share one fsync.
    group_commit_ms: float = 2.0
    #: Compact a room's update log into one snapshot after this many updates or bytes.
    compact_after_updates: int = 500
    compact_after_bytes: int = 1_048_576


class LimitSettings(_Section, frozen=True):
    #: Largest WebSocket message accepted; one byte more closes the connection with 1009.
    max_message_bytes: int = 1_048_576
    #: Sustained messages per second per connection, with a burst allowance.
    messages_per_second: float = 200.0
    message_burst: int = 400
    #: Bytes queued towards one client before it counts as too slow (awareness dropped first,
    #: then the connection closed with 1013).
    outbound_queue_bytes: int = 4_194_304
    max_connections: int = 10_000
    max_connections_per_room: int = 500
    #: Awareness state per client, bytes.
    max_awareness_bytes: int = 16_384
    ping_interval_seconds: float = 20.0
    #: A socket that sends nothing (not even pongs) for this long is closed.
    idle_timeout_seconds: float = 60.0
    #: A socket that has not finished the first sync step in this time is closed.
    handshake_timeout_seconds: float = 10.0
    #: A room stays loaded this long after its last client leaves.
    room_grace_seconds: float = 30.0
    max_http_body_bytes: int = 1_048_576


class WritebackSettings(_Section, frozen=True):
    enabled: bool = True
    #: Wait this long after the last edit before writing to FileMaker...
    debounce_ms: int = 750
    #: ...but never longer than this after the first unsaved edit.
    ceiling_ms: int = 5_000
    backoff_initial_ms: int = 500
    backoff_max_ms: int = 30_000
    max_requests_per_second_per_record: float = 1.0
    max_requests_per_second: float = 10.0
    #: Validation errors (500-511) are retried this many times, then the record is parked.
    validation_attempts: int = 2
    #: modId polling of open records: fast while busy, slowing down to the max when idle.
    poll_min_ms: int = 2_000
    poll_max_ms: int = 30_000
    max_polls_per_second: float = 5.0
    shutdown_flush_seconds: float = 5.0


class LockSettings(_Section, frozen=True):
    lease_ttl_seconds: float = 120.0
    #: A lease survives its holder's disconnect this long (a reload, a flaky network).
    lease_grace_seconds: float = 15.0
    #: Lifetime of tokens minted by POST /api/tokens unless asked otherwise.
    token_ttl_seconds: int = 3_600
    max_token_ttl_seconds: int = 86_400


class EventSettings(_Section, frozen=True):
    retention_days: float = 30.0
    retention_count: int = 100_000
    #: Long polls never hold longer than this (Insert From URL gives up at 60 s).
    long_poll_max_seconds: float = 25.0
    sse_heartbeat_seconds: float = 15.0
    #: record.changed summaries are emitted at most this often per record.
    changed_throttle_seconds: float = 2.0
    poll_after_min_ms: int = 1_000
    poll_after_max_ms: int = 30_000
    max_subscriber_backlog: int = 1_000


class Settings(_Section, frozen=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    filemaker: FileMakerSettings = msgspec.field(default_factory=FileMakerSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    limits: LimitSettings = msgspec.field(default_factory=LimitSettings)
    writeback: WritebackSettings = msgspec.field(default_factory=WritebackSettings)
    locks: LockSettings = msgspec.field(default_factory=LockSettings)
    events: EventSettings = msgspec.field(default_factory=EventSettings)
    layouts: list[LayoutSettings] = msgspec.field(default_factory=lambda: [DEMO_LAYOUT])

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def store_path(self) -> Path:
        path = Path(self.store.path)
        return path if path.is_absolute() else self.data_path / path

    @property
    def base_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = "127.0.0.1" if self.server.host in ("0.0.0.0", "::", "") else self.server.host
        return f"http://{host}:{self.server.port}"

    def layout(self, database: str, layout: str) -> LayoutSettings | None:
        for item in self.layouts:
            if item.database == database and item.layout == layout:
                return item
        return None

    def replace(self, **sections: Any) -> Settings:
        return msgspec.structs.replace(self, **sections)


# Environment variable -> (section, field).
_ENV: dict[str, tuple[str, str]] = {
    "COLLAB_HOST": ("server", "host"),
    "COLLAB_PORT": ("server", "port"),
    "COLLAB_DATA_DIR": ("server", "data_dir"),
    "COLLAB_SECRET": ("server", "secret"),
    "COLLAB_API_KEY": ("server", "api_key"),
    "COLLAB_PUBLIC_URL": ("server", "public_url"),
    "COLLAB_ALLOWED_ORIGINS": ("server", "allowed_origins"),
    "COLLAB_LOG_LEVEL": ("server", "log_level"),
    "COLLAB_FM_URL": ("filemaker", "url"),
    "COLLAB_FM_DATABASE": ("filemaker", "database"),
    "COLLAB_FM_USER": ("filemaker", "username"),
    "COLLAB_FM_PASSWORD": ("filemaker", "password"),
    "COLLAB_FM_VERIFY_TLS": ("filemaker", "verify_tls"),
    "COLLAB_STORE": ("store", "backend"),
}


def _env_value(name: str, raw: str) -> Any:
    if name == "COLLAB_ALLOWED_ORIGINS":
        return [item.strip() for item in raw.split(",") if item.strip()]
    if name == "COLLAB_PORT":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a port number, got {raw!r}") from None
    if name == "COLLAB_FM_VERIFY_TLS":
        return raw.strip().lower() not in ("0", "false", "no", "off")
    return raw


def load_settings(
    config_file: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build settings from defaults, then the TOML file, then the environment, then overrides.

    Raises:
        SettingsError: with a sentence naming the bad setting.
    """
    raw: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    env = os.environ if environ is None else environ
    for name, (section, key) in _ENV.items():
        if name in env and env[name] != "":
            raw.setdefault(section, {})[key] = _env_value(name, env[name])
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {_explain(exc)}") from None
    _check(settings)
    return settings


def _explain(exc: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.server.port`"; turn the path into TOML words.
    text = str(exc)
    if " - at `$." in text:
        message, where = text.split(" - at `$.", 1)
        return f"{where.rstrip('`')}: {message}"
    return text


def _check(settings: Settings) -> None:
    server = settings.server
    if not 0 < server.port < 65536:
        raise SettingsError(f"server.port must be between 1 and 65535, got {server.port}")
    if not server.demo and not server.secret:
        raise SettingsError(
            "server.secret is empty: set COLLAB_SECRET (a long random string) so web-viewer tokens can be signed"
        )
    if server.secret and len(server.secret) < 16 and not server.demo:
        raise SettingsError("server.secret is too short: use at least 16 characters")
    if not server.demo and not settings.filemaker.url:
        raise SettingsError(
            "filemaker.url is empty: set COLLAB_FM_URL to your FileMaker Server (https://fms.example.com), "
            "or run `collab serve --demo` to use the bundled emulator"
        )
    if settings.filemaker.url and not settings.filemaker.url.startswith(("http://", "https://")):
        raise SettingsError(
            f"filemaker.url must start with http:// or https://, got {settings.filemaker.url!r}"
        )
    if settings.limits.max_message_bytes < 1024:
        raise SettingsError("limits.max_message_bytes must be at least 1024")
    if settings.writeback.ceiling_ms < settings.writeback.debounce_ms:
        raise SettingsError("writeback.ceiling_ms must not be smaller than writeback.debounce_ms")
    seen: set[tuple[str, str]] = set()
    for item in settings.layouts:
        ident = (item.database, item.layout)
        if ident in seen:
            raise SettingsError(f"layout {item.database}/{item.layout} is configured twice")
        seen.add(ident)
        if item.fields and item.key_field not in item.fields:
            raise SettingsError(
                f"layout {item.database}/{item.layout}: key_field {item.key_field!r} must be in fields"
            )
        missing = [name for name in item.text_fields if item.fields and name not in item.fields]
        if missing:
            raise SettingsError(
                f"layout {item.database}/{item.layout}: text_fields {missing} are not in fields"
            )
        if item.approvals_required < 1:
            raise SettingsError(
                f"layout {item.database}/{item.layout}: approvals_required must be at least 1"
            )
