"""Run every scenario against every selected peer, several times, and write one JSON file.

Each server runs as a subprocess pinned to one core (taskset), the Node load generator as
another pinned to the other core. Every server is stopped when its scenario ends; every
wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import collab_prep
from bench.peers_def import BENCH, NODE_DIR, ORDER, PEERS, PY, REPO, Peer

SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        "S1": {"readers": [3], "seconds": 1.5, "rate": 50},
        "S2": {"rooms": 3, "clientsPerRoom": 4, "inflight": 2, "warmup": 0.3, "seconds": 1.0},
        "S3": {"connections": 20, "perRoom": [1, 10], "batch": 20, "settleMs": 300},
        "S4": {"updates": 400, "warmRepeats": 2},
        "S5": {"rooms": 2, "clientsPerRoom": 3, "timeoutMs": 5000},
        "S6": {"rooms": 2, "clientsPerRoom": 2, "inflight": 1, "warmup": 0.3, "seconds": 1.0, "markers": 1,
               "timeoutMs": 20000, "pollMs": 50},
    },
    "full": {
        "S1": {"readers": [10, 50, 200], "seconds": 5, "rate": 50},
        "S2": {"rooms": 100, "clientsPerRoom": 4, "inflight": 3, "warmup": 1.5, "seconds": 5.0},
        "S3": {"connections": 3000, "perRoom": [1, 10], "batch": 100, "settleMs": 1500},
        "S4": {"updates": 20000, "warmRepeats": 3},
        "S5": {"rooms": 5, "clientsPerRoom": 3, "timeoutMs": 5000},
        "S6": {"rooms": 100, "clientsPerRoom": 4, "inflight": 3, "warmup": 1.5, "seconds": 10.0, "markers": 5,
               "timeoutMs": 25000, "pollMs": 100},
    },
}

ALL_SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6")


def log(*args: Any) -> None:
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else max(soft, min(65536, hard))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard) if hard != resource.RLIM_INFINITY else hard))


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f} s")


def _taskset(cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu] if cpu is not None and shutil.which("taskset") else []


@dataclass
class Options:
    size: str
    runs: int
    peers: list[str]
    scenarios: list[str]
    server_cpu: str | None
    client_cpu: str | None
    workdir: Path


class Server:
    """One peer's server process, on a fresh loopback port."""

    def __init__(self, peer: Peer, opts: Options, data_dir: Path, *, secret: str, config: Path | None = None) -> None:
        self.peer = peer
        self.port = _free_port()
        self.data_dir = data_dir
        cmd = [part.format(port=self.port, data_dir=data_dir) for part in peer.cmd]
        if config is not None:
            cmd += ["--config", str(config)]
        env = {**os.environ, **peer.env, "PYTHONPATH": str(REPO), "NODE_PATH": str(BENCH / "node_modules")}
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / f"server-{peer.name}-{self.port}.log"
        self._log = self.log_path.open("ab")
        self.emulator: subprocess.Popen[bytes] | None = None
        if peer.name == "collab":
            # FileMaker is another machine in production: the Data API emulator runs in its own
            # process on the load generator's core, so the hub's CPU and RSS are the hub's alone.
            self.fm_port = _free_port()
            self.emulator = subprocess.Popen(
                [*_taskset(opts.client_cpu), PY, "-m", "bench.peers.fm_emulator", "--port", str(self.fm_port),
                 "--db", str(data_dir / "emulator.db")],
                cwd=str(REPO), env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
            _wait_port(self.fm_port, self.emulator, 30.0)
            env.update({
                "COLLAB_SECRET": secret,
                "COLLAB_LOG_LEVEL": "warning",
                "COLLAB_FM_URL": f"http://127.0.0.1:{self.fm_port}",
                "COLLAB_FM_DATABASE": collab_prep.DATABASE,
                "COLLAB_FM_USER": collab_prep.ACCOUNT[0],
                "COLLAB_FM_PASSWORD": collab_prep.ACCOUNT[1],
            })
        self.proc = subprocess.Popen(
            [*_taskset(opts.server_cpu), *cmd],
            cwd=str(REPO),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_raise_nofile,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fm_http(self) -> str:
        """Where FileMaker's Data API is (collab: the emulator process)."""
        return f"http://127.0.0.1:{self.fm_port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.peer.name} exited with {self.proc.returncode}: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            if self.peer.name != "collab" or self._healthy():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.peer.name} did not start within {timeout:.0f} s: {self.tail()}")

    def _healthy(self) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.http}/readyz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def tail(self, n: int = 1500) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        # collab gets time to flush its store and write-back; the others are in-memory.
        grace = 15.0 if self.peer.name == "collab" else 4.0
        sig = signal.SIGTERM if self.peer.name == "hocuspocus" else signal.SIGINT
        for timeout in (grace, 3.0):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)  # a second SIGINT makes uvicorn skip the graceful wait
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.emulator is not None and self.emulator.poll() is None:
            self.emulator.terminate()
            try:
                self.emulator.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.emulator.kill()
                self.emulator.wait(timeout=5)
        self._log.close()


class PeerRun:
    """State of one peer within one run: its data dir, records and token (collab)."""

    def __init__(self, peer: Peer, opts: Options, index: int) -> None:
        self.peer = peer
        self.opts = opts
        self.sizes = SIZES[opts.size]
        self.data_dir = opts.workdir / f"run{index}-{peer.name}"
        shutil.rmtree(self.data_dir, ignore_errors=True)  # records are created for a fresh emulator
        self.secret = secrets.token_urlsafe(32)
        self.token = collab_prep.mint(self.secret) if peer.name == "collab" else ""
        self.record_ids: dict[str, str] = {}
        #: The other servers' room names -> the seed of the record collab serves in their place.
        self.seeds: dict[str, str] = {}
        self.template: CollabTemplate | None = None
        self.fm_token = ""
        self.server: Server | None = None
        self.config: Path | None = None

    # --- server lifecycle

    def start(self, *, config: Path | None = None) -> Server:
        self.server = Server(self.peer, self.opts, self.data_dir, secret=self.secret, config=config)
        self.server.wait_ready()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.fm_token = ""  # Data API sessions do not survive the emulator process

    # --- rooms

    def rooms(self, prefix: str, count: int, tag: str) -> list[str]:
        keys = collab_prep.record_keys(prefix, count)
        if self.peer.name != "collab":
            names = [f"bench-{tag}-{prefix}-{i}" for i in range(count)]
            if self.template is not None:
                self.seeds.update({name: self.template.seeds[key] for name, key in zip(names, keys, strict=True)})
            return names
        missing = [k for k in keys if k not in self.record_ids]
        if missing:
            assert self.server is not None
            t0 = time.monotonic()
            ids, _ = asyncio.run(collab_prep.ensure_records(self.server.fm_http, missing, check_existing=False))
            self.record_ids.update(ids)
            log(f"  created {len(missing)} records in the emulator in {time.monotonic() - t0:.1f} s")
        if self.server is not None and not self.fm_token:
            self.fm_token = asyncio.run(collab_prep.login(self.server.fm_http))
        return keys

    def use_template(self, template: CollabTemplate) -> None:
        """collab starts from the emulator database that already holds every benchmark record;
        the other servers' clients start from those records' seeds."""
        self.template = template
        if self.peer.name != "collab":
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template.emulator_db, self.data_dir / "emulator.db")
        self.record_ids = dict(template.record_ids)

    def client_config(self, scenario: str, rooms: list[str], sizes: dict[str, Any], **extra: Any) -> dict[str, Any]:
        assert self.server is not None
        if self.peer.name == "collab":
            base = f"ws://127.0.0.1:{self.server.port}/sync/{collab_prep.DATABASE}/{collab_prep.LAYOUT}"
            params = {"token": self.token}
        else:
            base = f"ws://127.0.0.1:{self.server.port}"
            params = {}
            extra.setdefault("seeds", {room: self.seeds[room] for room in rooms if room in self.seeds})
        return {
            "scenario": scenario,
            "kind": self.peer.kind,
            "base": base,
            "rooms": rooms,
            "params": params,
            "serverPid": self.server.pid,
            "sizes": sizes,
            # collab's `stored` seq counts the sync step 2 and update frames a socket sent.
            "countStep2": True,
            **extra,
        }

    def loadgen(self, config: dict[str, Any], deadline: float = 240.0) -> dict[str, Any]:
        config = {**config, "deadlineSeconds": deadline}
        proc = subprocess.run(
            [*_taskset(self.opts.client_cpu), "node", str(NODE_DIR / "loadgen.mjs")],
            input=json.dumps(config).encode(),
            capture_output=True,
            timeout=deadline + 30,
            cwd=str(BENCH),
            preexec_fn=_raise_nofile,
        )
        out = proc.stdout.decode(errors="replace").strip().splitlines()
        if proc.returncode != 0 or not out:
            err = proc.stderr.decode(errors="replace")[-1500:]
            server_tail = self.server.tail(800) if self.server else ""
            raise RuntimeError(f"loadgen {config['scenario']} failed ({proc.returncode}): {err}\nserver: {server_tail}")
        return dict(json.loads(out[-1]))


@dataclass
class CollabTemplate:
    emulator_db: Path
    record_ids: dict[str, str]
    #: record key -> its document as collab seeds it (base64): every server serves the same
    seeds: dict[str, str]


def collab_keys(sizes: dict[str, Any]) -> list[str]:
    """Every record the collab scenarios open (the same keys in every run)."""
    counts = {
        "s1": len(sizes["S1"]["readers"]),
        "s2": sizes["S2"]["rooms"],
        "s3": sizes["S3"]["connections"],
        "s4": 1,
        "s5": sizes["S5"]["rooms"],
        "s6": sizes["S6"]["rooms"],
    }
    return [key for prefix, n in counts.items() for key in collab_prep.record_keys(prefix, n)]


def make_collab_template(opts: Options) -> CollabTemplate:
    """Create the records once through the emulator's Data API, then copy its database into
    every run's fresh data dir (creating thousands of records takes the emulator a while).

    Then read each record's document from the hub (a fresh client's sync step 2: the seed it
    built from the record). The other servers' clients start from those bytes, so every
    server serves the same documents."""
    pr = PeerRun(PEERS["collab"], opts, -1)
    pr.data_dir = opts.workdir / "collab-template"
    shutil.rmtree(pr.data_dir, ignore_errors=True)
    keys = collab_keys(pr.sizes)
    t0 = time.monotonic()
    pr.start()
    try:
        ids, _ = asyncio.run(collab_prep.ensure_records(pr.server.fm_http, keys, check_existing=False))  # type: ignore[union-attr]
        seeds: dict[str, str] = pr.loadgen(pr.client_config("seeds", keys, {}))["seeds"]
    finally:
        pr.stop()
    log(f"created {len(keys)} records in the emulator and read their seeds in {time.monotonic() - t0:.1f} s (template for every run)")
    return CollabTemplate(pr.data_dir / "emulator.db", ids, seeds)


# ---------------------------------------------------------------- scenarios


def scenario_s1(pr: PeerRun, tag: str) -> dict[str, Any]:
    s = pr.sizes["S1"]
    out: dict[str, Any] = {}
    pr.start()
    try:
        rooms = pr.rooms("s1", len(s["readers"]), tag)
        for i, n in enumerate(s["readers"]):
            sizes = {"readers": n, "seconds": s["seconds"], "rate": s["rate"]}
            out[str(n)] = pr.loadgen(pr.client_config("S1", [rooms[i]], sizes))
            r = out[str(n)]
            log(f"  S1 N={n}: p50 {fmt(r['latency_ms']['p50'])} ms, p99 after 1 s {fmt(r['after_1s_ms']['p99'])} ms, "
                f"lost {r['lost']}; CPU share server {r['server_cpu_share']:.2f}, clients {r['client_cpu_share']:.2f}")
    finally:
        pr.stop()
    return out


def unthrottled_config(pr: PeerRun, reason: str) -> Path:
    """collab's per-connection message-rate limit raised: the throughput scenarios measure the
    sync path, and at quick sizes a few clients edit far above the default 200 messages/s
    (a throttled client is closed with 1008, reconnects and merges its edits into one frame,
    which the ack bookkeeping would count as unacked). The reference servers have no limit."""
    config = pr.data_dir / "bench-unthrottled.toml"
    config.write_text(f"# {reason}\n[limits]\nmessages_per_second = 1000000.0\nmessage_burst = 1000000\n")
    return config


def scenario_s2(pr: PeerRun, tag: str, scenario: str = "S2") -> dict[str, Any]:
    s = pr.sizes[scenario]
    if pr.peer.name == "collab":
        pr.start(config=unthrottled_config(pr, f"{scenario}: throughput, not the rate limiter"))
    else:
        pr.start()
    try:
        rooms = pr.rooms(scenario.lower(), s["rooms"], tag)
        extra: dict[str, Any] = {}
        if scenario == "S6":
            base = f"{pr.server.fm_http}/fmi/data/vLatest/databases/{collab_prep.DATABASE}"  # type: ignore[union-attr]
            extra["fm"] = {
                "base": base,
                "layout": collab_prep.LAYOUT,
                "token": pr.fm_token,
                "control": f"{pr.server.fm_http}/fmi/emulator",  # type: ignore[union-attr]
                "records": [{"key": k, "recordId": pr.record_ids[k]} for k in rooms],
                "timeoutMs": s["timeoutMs"],
                "pollMs": s["pollMs"],
            }
        res = pr.loadgen(pr.client_config(scenario, rooms, s, **extra))
        log(f"  {scenario}: {res['delivered_per_s']:.0f} delivered/s, {fmt(res['server_cpu_us_per_delivery'])} µs CPU each, "
            f"lost {res['lost']}; CPU share server {res['server_cpu_share']:.2f}, clients {res['client_cpu_share']:.2f}")
        return res
    finally:
        pr.stop()


def scenario_s3(pr: PeerRun, tag: str) -> dict[str, Any]:
    s = pr.sizes["S3"]
    out: dict[str, Any] = {}
    for per_room in s["perRoom"]:
        pr.start()
        try:
            rooms = pr.rooms("s3", s["connections"] // per_room, tag)
            sizes = {"perRoom": per_room, "batch": s["batch"], "settleMs": s["settleMs"]}
            res = pr.loadgen(pr.client_config("S3", rooms, sizes))
            out[str(per_room)] = res
            log(f"  S3 {per_room}/record: {res['kb_per_connection']:.1f} KB/conn, {res['connect_all_s']:.1f} s, synced {res['synced']}")
        finally:
            pr.stop()
    return out


def scenario_s4(pr: PeerRun, tag: str) -> dict[str, Any]:
    s = pr.sizes["S4"]
    if pr.peer.name != "collab":
        pr.start()
        try:
            res = pr.loadgen(pr.client_config("S4", pr.rooms("s4", 1, tag), s))
        finally:
            pr.stop()
    else:
        # Build the history through the hub itself, restart, then measure a fresh client
        # against a room that must be loaded from the store.
        config = unthrottled_config(pr, "S4: the history is sent as fast as possible")
        pr.start(config=config)
        try:
            rooms = pr.rooms("s4", 1, tag)
            build = pr.loadgen(pr.client_config("S4", rooms, s, phase="build"))
        finally:
            pr.stop()
        pr.start(config=config)
        try:
            res = pr.loadgen(pr.client_config("S4", rooms, s, phase="measure"))
            res["build"] = build
        finally:
            pr.stop()
    log(f"  S4: step1->step2 {fmt(res['first']['step2_ms'])} ms, synced {fmt(res['first']['synced_ms'])} ms, {res['build']['encoded_bytes']} B")
    return res


def scenario_s5(pr: PeerRun, tag: str) -> dict[str, Any]:
    s = pr.sizes["S5"]
    pr.start()
    try:
        res = pr.loadgen(pr.client_config("S5", pr.rooms("s5", s["rooms"], tag), s))
        log(f"  S5: {res['synced_and_converged']}/{res['clients']} synced and converged")
        return res
    finally:
        pr.stop()


SCENARIOS = {
    "S1": scenario_s1,
    "S2": scenario_s2,
    "S3": scenario_s3,
    "S4": scenario_s4,
    "S5": scenario_s5,
    "S6": lambda pr, tag: scenario_s2(pr, tag, "S6"),
}


def fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def versions() -> dict[str, str]:
    out: dict[str, str] = {"python": platform.python_version(), "machine": platform.machine()}
    try:
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("collab", "litestar", "uvicorn", "pycrdt", "pycrdt-websocket", "websockets", "msgspec"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    for pkg in ("yjs", "y-websocket", "@y/websocket-server", "@hocuspocus/server", "@hocuspocus/provider", "ws"):
        path = BENCH / "node_modules" / pkg / "package.json"
        with contextlib.suppress(OSError, ValueError):
            out[pkg] = json.loads(path.read_text())["version"]
    try:
        out["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, timeout=10
        ).stdout.strip()
    except OSError:
        pass
    # A run from an exported snapshot of the tree (no .git) names its commit this way.
    out["commit"] = out.get("commit") or os.environ.get("COLLAB_BENCH_COMMIT", "")
    out["cpus"] = str(os.cpu_count())
    return out


def run(opts: Options, out_path: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "size": opts.size,
            "sizes": SIZES[opts.size],
            "runs": opts.runs,
            "peers": opts.peers,
            "scenarios": opts.scenarios,
            "server_cpu": opts.server_cpu,
            "client_cpu": opts.client_cpu,
            "versions": versions(),
            "labels": {name: PEERS[name].label for name in opts.peers},
        },
        "runs": [],
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    template = make_collab_template(opts)
    for index in range(opts.runs):
        run_result: dict[str, Any] = {"index": index, "peers": {}}
        result["runs"].append(run_result)
        for name in opts.peers:
            peer = PEERS[name]
            pr = PeerRun(peer, opts, index)
            pr.use_template(template)
            peer_result: dict[str, Any] = {"errors": {}}
            run_result["peers"][name] = peer_result
            log(f"run {index + 1}/{opts.runs}: {name}")
            for scenario in opts.scenarios:
                if scenario not in peer.scenarios:
                    continue
                t0 = time.monotonic()
                try:
                    peer_result[scenario] = SCENARIOS[scenario](pr, f"r{index}")
                except Exception as exc:
                    peer_result["errors"][scenario] = str(exc)[-2000:]
                    log(f"  {scenario} failed: {str(exc)[-600:]}")
                finally:
                    pr.stop()
                peer_result.setdefault("seconds", {})[scenario] = round(time.monotonic() - t0, 1)
            out_path.write_text(json.dumps(result, indent=1))
    result["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    out_path.write_text(json.dumps(result, indent=1))
    return result


def make_options(size: str, runs: int, peers: list[str] | None, scenarios: list[str] | None,
                 server_cpu: str | None, client_cpu: str | None, workdir: str | None) -> Options:
    peers = peers or ORDER
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise SystemExit(f"unknown peers {unknown}: choose from {', '.join(ORDER)}")
    scenarios = scenarios or list(ALL_SCENARIOS)
    bad = [s for s in scenarios if s not in ALL_SCENARIOS]
    if bad:
        raise SystemExit(f"unknown scenarios {bad}: choose from {', '.join(ALL_SCENARIOS)}")
    if not (BENCH / "node_modules").is_dir():
        raise SystemExit("bench/node_modules is missing: run `npm ci` in bench/ first")
    cpus = os.cpu_count() or 1
    if cpus < 2:
        server_cpu = client_cpu = None
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="collab-bench-"))
    return Options(size, runs, peers, scenarios, server_cpu, client_cpu, base)
