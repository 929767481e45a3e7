"""Registry deadlines against real local servers: one that accepts and never answers, one that trickles a byte
at a time, one that asks to retry in 100000 s. Each ends in bounded time with an error that names the registry
and what timed out; the defaults are overridden from the environment (short values here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from geedocker.digest import Digest
from geedocker.errors import TransportError, UsageError
from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from geedocker.registry.lite import LiteTransport
from geedocker.registry.resume import ResumingBlobReader

SRC = str(Path(__file__).resolve().parents[2] / "src")
BLOB = Digest.parse("sha256:" + "ab" * 32)


class Server:
    """A TCP server on 127.0.0.1 that hands each connection to ``serve`` in a thread."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._serve = serve
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if conn.recv(1, socket.MSG_PEEK) == b"\x16":  # a TLS hello: answered in plain HTTP, as a registry
                conn.recv(4096)                            # without TLS does (the client then tries http://)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                conn.close()
                return
            self._serve(conn)
        except OSError:
            pass

    def stopped(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for c in self._open:
            c.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def server() -> Iterator[Callable[[Callable[[socket.socket], None]], Server]]:
    made: list[Server] = []

    def make(serve: Callable[[socket.socket], None]) -> Server:
        s = Server(serve)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _client(host: str, **cfg: object) -> RegistryClient:
    config = RegistryConfig(credentials=StaticCredentials({}), retry_base_delay=0.01, retry_max_delay=0.05,
                            **cfg)  # type: ignore[arg-type]
    return RegistryClient(host, config=config)


def test_a_registry_that_accepts_and_never_answers(server: Callable[..., Server]) -> None:
    def silent(conn: socket.socket) -> None:
        _read_request(conn)
        while conn.recv(4096):  # never answers; ends when the client gives up
            pass

    s = server(silent)
    client = _client(s.host, read_timeout=0.5, retries=2)
    t0 = time.monotonic()
    with pytest.raises(TransportError) as e:
        client.ping()
    took = time.monotonic() - t0
    assert s.host in str(e.value) and "timed out waiting for an answer" in str(e.value)
    assert "GEEDOCKER_REGISTRY_RESPONSE_TIMEOUT" in str(e.value)
    assert s.connections >= 3  # retried, then failed
    assert took < 10


def _trickle(headers: bytes, every: float) -> Callable[[socket.socket], None]:
    """Answer the first request that is not the /v2/ ping with ``headers``, then a byte every ``every`` s."""

    def serve(conn: socket.socket) -> None:
        while _read_request(conn).startswith(b"GET /v2/ "):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        conn.sendall(headers)
        for _ in range(1000):
            conn.sendall(b"x")
            time.sleep(every)

    return serve


def test_a_blob_that_trickles_is_resumed_then_fails(server: Callable[..., Server]) -> None:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n"
            b"Docker-Distribution-API-Version: registry/2.0\r\n\r\n")

    s = server(_trickle(head, 0.1))
    client = _client(s.host, read_timeout=5, stall_timeout=0.6)
    t0 = time.monotonic()
    reader = ResumingBlobReader(client, "x/y", BLOB, size=100000, max_resumes=2)
    with pytest.raises(TransportError) as e:
        while reader.read(65536):
            pass
    took = time.monotonic() - t0
    msg = str(e.value)
    assert f"blob {s.host}/x/y@{BLOB}" in msg and "after 2 resumes" in msg and "transfer stalled" in msg
    assert took < 10


def test_the_lite_transport_breaks_off_a_trickling_answer(server: Callable[..., Server]) -> None:
    s = server(_trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 0.1))
    lite = LiteTransport(RegistryConfig(stall_timeout=0.6, read_timeout=5))
    t0 = time.monotonic()
    with pytest.raises(TransportError, match="transfer stalled"):
        lite.send("GET", f"http://{s.host}/v2/x/manifests/latest", {})
    assert time.monotonic() - t0 < 5


def test_retry_after_is_capped(server: Callable[..., Server]) -> None:
    def busy(conn: socket.socket) -> None:
        while _read_request(conn):
            conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 100000\r\nContent-Length: 0\r\n\r\n")

    s = server(busy)
    client = _client(s.host, max_retry_after=0.3, retries=2)
    slept: list[float] = []
    client.sleep = lambda d: (slept.append(d), time.sleep(d))  # type: ignore[assignment]
    t0 = time.monotonic()
    with pytest.raises(TransportError) as e:
        client.ping()
    assert len(slept) >= 2 and set(slept) == {0.3}  # retried, each time after the cap, not 100000 s
    assert time.monotonic() - t0 < 5
    assert s.host in str(e.value)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CONNECT_TIMEOUT", "RESPONSE_TIMEOUT", "STALL_TIMEOUT", "MAX_RETRY_AFTER", "RETRIES"):
        monkeypatch.delenv(f"GEEDOCKER_REGISTRY_{var}", raising=False)
    default = RegistryConfig.from_env()
    assert (default.connect_timeout, default.read_timeout, default.stall_timeout, default.max_retry_after,
            default.retries) == (30, 60, 60, 30, 4)
    monkeypatch.setenv("GEEDOCKER_REGISTRY_CONNECT_TIMEOUT", "1.5")
    monkeypatch.setenv("GEEDOCKER_REGISTRY_RESPONSE_TIMEOUT", "2")
    monkeypatch.setenv("GEEDOCKER_REGISTRY_STALL_TIMEOUT", "3")
    monkeypatch.setenv("GEEDOCKER_REGISTRY_MAX_RETRY_AFTER", "0")
    monkeypatch.setenv("GEEDOCKER_REGISTRY_RETRIES", "1")
    c = RegistryConfig.from_env()
    assert (c.connect_timeout, c.read_timeout, c.stall_timeout, c.max_retry_after, c.retries) == (1.5, 2, 3, 0, 1)
    assert isinstance(c.retries, int)
    for var, bad in (("RESPONSE_TIMEOUT", "0"), ("STALL_TIMEOUT", "nan"), ("RETRIES", "1.5"),
                     ("CONNECT_TIMEOUT", "soon"), ("MAX_RETRY_AFTER", "-1"), ("STALL_TIMEOUT", "inf")):
        monkeypatch.setenv(f"GEEDOCKER_REGISTRY_{var}", bad)
        with pytest.raises(UsageError, match=f"GEEDOCKER_REGISTRY_{var}"):
            RegistryConfig.from_env()
        monkeypatch.setenv(f"GEEDOCKER_REGISTRY_{var}", "1")


def test_pull_from_a_silent_registry_ends_with_one_line(server: Callable[..., Server], tmp_path: Path) -> None:
    def silent(conn: socket.socket) -> None:
        while conn.recv(4096):
            pass

    s = server(silent)
    env = dict(os.environ, PYTHONPATH=SRC, GEEDOCKER_ROOT=str(tmp_path / "root"), GEEDOCKER_RUN=str(tmp_path / "run"),
               GEEDOCKER_REGISTRY_RESPONSE_TIMEOUT="0.5", GEEDOCKER_REGISTRY_RETRIES="1")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "geedocker", "pull", f"{s.host}/x/y:1"], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert time.monotonic() - t0 < 20
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and s.host in lines[0] and "timed out" in lines[0], proc.stderr
