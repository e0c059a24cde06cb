"""The TCP front ``collab emulator`` listens with, so outage mode "refused" is real at the
connection level.

uvicorn serves the emulator on a private Unix socket; this front accepts on the public
port and relays bytes. It reads each request head: in "refused" mode a request for the
Data API gets its connection reset (RST, no response), while /fmi/emulator/ requests
still pass so the outage can be ended. Switching "refused" on also resets idle
keep-alive connections. A "hard" refused outage closes the listening socket itself
(connecting fails with ECONNREFUSED) and opens it again when the outage ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn

from collab.filemaker.emulator.emulator import Emulator

__all__ = ["TcpFront", "serve"]

_HEAD_LIMIT = 64 * 1024


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpFront:
    def __init__(self, emulator: Emulator, uds: str) -> None:
        self.emulator = emulator
        self.uds = uds
        self.server: asyncio.Server | None = None
        self.host = "127.0.0.1"
        self._port = 0
        self._listening = False
        self._reopening: asyncio.Task[None] | None = None
        #: client writer -> True while a control request is in flight on it.
        self._clients: dict[asyncio.StreamWriter, bool] = {}
        emulator.outage_listeners.append(self._outage_changed)

    @property
    def port(self) -> int:
        return self._port

    async def start(self, host: str, port: int) -> None:
        self.host, self._port = host, port
        await self._listen()

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(
            self._client, self.host, self._port, limit=_HEAD_LIMIT, reuse_address=True
        )
        self._port = int(self.server.sockets[0].getsockname()[1])
        self._listening = True

    async def close(self) -> None:
        self._listening = False
        if self._reopening is not None:
            self._reopening.cancel()
        if self.server is not None:
            self.server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        if self.server is not None:
            await self.server.wait_closed()

    def _hard_outage(self) -> bool:
        faults = self.emulator.faults
        return faults.current_outage() == "refused" and faults.outage_hard

    def _outage_changed(self, mode: str | None) -> None:
        if mode == "refused":
            for writer, busy in list(self._clients.items()):
                if not busy:
                    _reset(writer)
        if self._hard_outage() and self._listening and self.server is not None:
            self.server.close()  # stop listening: connecting now fails with ECONNREFUSED
            self._listening = False
            self._schedule_reopen()
        elif not self._hard_outage() and not self._listening and self.server is not None:
            self._reopen()

    def _schedule_reopen(self) -> None:
        until = self.emulator.faults.outage_until
        if until is not None:
            delay = max(0.0, until - time.monotonic()) + 0.005
            asyncio.get_running_loop().call_later(delay, self._reopen)

    def _reopen(self) -> None:
        if self._listening or (self._reopening is not None and not self._reopening.done()):
            return
        if self._hard_outage():
            self._schedule_reopen()  # the timer fired a little early
            return
        self._reopening = asyncio.ensure_future(self._listen())

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients[writer] = False
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        pump: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                line = head.split(b"\r\n", 1)[0].split(b" ")
                path = line[1].decode("latin-1") if len(line) > 1 else ""
                control = path.startswith("/fmi/emulator/") or path == "/fmi/emulator"
                if self.emulator.faults.current_outage() == "refused" and not control:
                    _reset(writer)
                    return
                self._clients[writer] = control
                if upstream is None:
                    upstream = await asyncio.open_unix_connection(self.uds)
                    pump = asyncio.create_task(self._pump(upstream[0], writer))
                upstream[1].write(head)
                lower = head.lower()
                if b"transfer-encoding:" in lower and b"chunked" in lower:
                    await self._pump(reader, upstream[1])  # unframed body: relay the rest as is
                    return
                length = 0
                for header in lower.split(b"\r\n")[1:]:
                    if header.startswith(b"content-length:"):
                        length = int(header.split(b":", 1)[1].strip() or 0)
                if length:
                    upstream[1].write(await reader.readexactly(length))
                await upstream[1].drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._clients.pop(writer, None)
            if pump is not None:
                pump.cancel()
            if upstream is not None:
                upstream[1].close()
            writer.close()

    async def _pump(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                target.write(chunk)
                await target.drain()
                if target in self._clients:
                    self._clients[target] = False  # the response is on its way
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(Exception):
                target.close()


@asynccontextmanager
async def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[TcpFront]:
    """Run the emulator behind a TCP front on host:port (0 picks a free port) until the block ends."""
    with tempfile.TemporaryDirectory(prefix="collab-emulator-") as tmp:
        uds = str(Path(tmp) / "emulator.sock")
        config = uvicorn.Config(
            emulator.app, uds=uds, log_config=None, access_log=False, lifespan="on", server_header=False
        )
        server = uvicorn.Server(config)
        # The caller owns the signals (collab emulator stops on SIGINT/SIGTERM itself).
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        task = asyncio.create_task(server.serve())
        front = TcpFront(emulator, uds)
        try:
            async with asyncio.timeout(20):
                while not server.started:
                    if task.done():
                        task.result()
                        raise RuntimeError("uvicorn stopped before it started")
                    await asyncio.sleep(0.01)
            await front.start(host, port)
            yield front
        finally:
            await front.close()
            emulator.outage_listeners.remove(front._outage_changed)
            server.should_exit = True
            await asyncio.wait_for(task, 30)
