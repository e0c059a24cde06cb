"""Raw ASGI plumbing: the request as the handlers see it, envelopes, and sending responses.

Paths are split from ``raw_path`` when it carries the full ``/fmi/...`` path, so a layout
named ``A/B`` (sent as ``A%2FB``) stays one segment. Mounted with the ``/fmi`` prefix
stripped (``root_path="/fmi"`` or a framework mount), the path is taken as relative to /fmi.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from collab.filemaker.emulator.codes import FMError

__all__ = ["MAX_BODY", "Receive", "Request", "Response", "Scope", "Send", "envelope", "fm_error", "read_request", "send_response"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 64 * 1024 * 1024


@dataclass
class Request:
    method: str
    #: Path segments after /fmi, percent-decoded one by one.
    segments: list[str]
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str
    #: Query parameters given more than once (the Data API takes each keyword once).
    repeated: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json_body(self, *, allow_empty: bool = True) -> dict[str, Any]:
        """The body as a JSON object; 1710 when it is not valid JSON, 960 when not an object."""
        if not self.body.strip():
            if allow_empty:
                return {}
            raise FMError("1710", http_status=400)
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise FMError("1710", http_status=400) from None
        if not isinstance(value, dict):
            raise FMError("960", http_status=400)
        return value

    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: FileMaker code carried by the body, for the call log ("" for non-Data-API bodies).
    code: str = ""


def envelope(response: dict[str, Any] | None = None, *, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = {"response": response or {}, "messages": [{"code": "0", "message": "OK"}]}
    return Response(200, json.dumps(body, separators=(",", ":")).encode(), headers=list(headers), code="0")


def fm_error(err: FMError) -> Response:
    body = {"response": {}, "messages": [{"code": err.code, "message": err.message}]}
    return Response(err.http_status, json.dumps(body, separators=(",", ":")).encode(), code=err.code)


def _segments(scope: Scope) -> tuple[list[str], str]:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(b"/fmi/"):
        text = raw.decode("latin-1").split("?", 1)[0]
        parts = [unquote(p, encoding="utf-8") for p in text.split("/")[2:]]
        return parts, unquote(text)
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]  # some servers keep the mount prefix in path
    if not path.startswith("/fmi/"):
        path = "/fmi" + (path if path.startswith("/") else "/" + path)
    return path.split("/")[2:], path


async def read_request(scope: Scope, receive: Receive) -> Request:
    segments, path = _segments(scope)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise FMError("1708", "Request body is too large", http_status=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    query = dict(pairs)
    repeated = sorted({k for k, _ in pairs if sum(1 for other, _ in pairs if other == k) > 1})
    host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
    base = f"{scope.get('scheme', 'http')}://{host}"
    return Request(scope.get("method", "GET"), segments, path, query, headers, b"".join(chunks), base, repeated)


async def send_response(send: Send, response: Response) -> None:
    headers = [(b"content-type", response.content_type.encode()), (b"content-length", str(len(response.body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
