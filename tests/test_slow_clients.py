"""Slow and stalled clients against real servers on 127.0.0.1: granian on its own, gunicorn
behind nginx with examples/nginx-proxy.conf. Normal requests are answered meanwhile, and
every attacking connection is closed by the server within its timeouts."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedsvc.cli import cli
from feedsvc.server import HEAD_TIMEOUT_MS, WRITE_TIMEOUT_MS
from tests.conftest import (
    NGINX,
    PROJECT,
    free_port,
    require_tool,
    running_server,
    stop_process_group,
    wait_until,
)

WORDS = "the feed of a newsroom with long articles and many readers".split()


@pytest.fixture
def big_articles(tmp_path: Path) -> Path:
    """Sixty articles of about 20 KB: a /feed.xml of about 1 MB, more than socket buffers."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for number in range(60):
        paragraph = " ".join(WORDS[(number + i) % len(WORDS)] for i in range(160))
        body = "\n\n".join([paragraph] * 20)
        (folder / f"{number:03d}_{number:016x}.txt").write_text(
            f"2024-01-{number % 28 + 1:02d}\n\nTitle {number}\n\nStandfirst\n\n{body}\n"
        )
    return folder


class Attack:
    """Clients that trickle a request head or body a byte a second, and clients that send a
    request and never read the answer; each on its own connection to ``port``."""

    def __init__(self, port: int, trickling: int, stalled: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.heads = [self._connect() for _ in range(trickling)]
        self.bodies = [self._connect() for _ in range(trickling)]
        self.stalled = [self._connect(receive_buffer=4096) for _ in range(stalled)]
        for sock in self.stalled:
            sock.sendall(b"GET /feed.xml HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b"GET /feed.xml HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100 + b"\r\n\r\n"
        with_body = b"GET /feed.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        self.threads = [
            *(threading.Thread(target=self._trickle, args=(s, b"", head)) for s in self.heads),
            *(
                threading.Thread(target=self._trickle, args=(s, with_body, b"b" * 100))
                for s in self.bodies
            ),
        ]
        for thread in self.threads:
            thread.start()

    def _connect(self, receive_buffer: int = 0) -> socket.socket:
        sock = socket.socket()
        if receive_buffer:  # before connecting: the window it announces stays small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect(("127.0.0.1", self.port))
        return sock

    def _trickle(self, sock: socket.socket, at_once: bytes, slowly: bytes) -> None:
        try:
            sock.sendall(at_once)
            for byte in slowly:
                if self.stop.wait(1):
                    return
                sock.sendall(bytes([byte]))
        except OSError:
            return  # cut off by the server: what it should do

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        for sock in self.heads + self.bodies + self.stalled:
            sock.close()


def is_closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed or reset ``sock`` (whatever it sent first is read)."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        return False  # still open, nothing more to read
    except ConnectionError:
        return True
    return True  # end of file


def read_whole(sock: socket.socket, timeout: float) -> int:
    """Read until the server closes ``sock`` or is silent for ``timeout``; return the count."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    count = 0
    try:
        while chunk := sock.recv(65536):
            count += len(chunk)
    except (ConnectionError, TimeoutError):
        pass
    return count


def timed_get(port: int, path: str = "/feed.xml") -> tuple[float, bytes, int]:
    """GET over a new connection; return seconds taken, the status line and the body size."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return time.monotonic() - start, head.split(b"\r\n")[0], len(body)


@contextmanager
def attacking(port: int, trickling: int = 10, stalled: int = 50) -> Iterator[Attack]:
    attack = Attack(port, trickling, stalled)
    try:
        yield attack
    finally:
        attack.close()


def assert_others_are_served(port: int, size: int) -> None:
    for _ in range(4):
        seconds, status, length = timed_get(port)
        assert (status, length) == (b"HTTP/1.1 200 OK", size)
        assert seconds < 2, f"a normal request took {seconds:.1f}s"


def test_granian_serves_others_and_cuts_off_slow_and_stalled_clients(
    big_articles: Path, tmp_path: Path
) -> None:
    with running_server(big_articles, tmp_path / "server.log", server="granian") as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        size = timed_get(port)[2]
        assert size > 800_000
        with attacking(port) as attack:
            time.sleep(1)
            assert_others_are_served(port, size)
            limit = (max(HEAD_TIMEOUT_MS, WRITE_TIMEOUT_MS)) / 1000 + 10
            wait_until(
                lambda: all(is_closed_by_server(s) for s in attack.heads + attack.bodies),
                limit,
                "the server to close every trickling connection",
            )
            # Each stalled client was cut off: reading now, it never gets the whole feed.
            time.sleep(max(0.0, WRITE_TIMEOUT_MS / 1000 + 5 - HEAD_TIMEOUT_MS / 1000))
            received = [read_whole(sock, 2) for sock in attack.stalled]
            assert max(received) < size, "a stalled client kept its connection"
            assert_others_are_served(port, size)


# --- gunicorn behind nginx ------------------------------------------------------------------


@contextmanager
def running_proxy(upstream: int, work: Path) -> Iterator[int]:
    """Run Debian's nginx with examples/nginx-proxy.conf in front of ``upstream``."""
    binary = require_tool(NGINX, "nginx")
    work.mkdir()
    port = free_port()
    example = (PROJECT / "examples" / "nginx-proxy.conf").read_text()
    assert "server 127.0.0.1:8000;" in example and "listen 80;" in example
    proxy = example.replace("127.0.0.1:8000", f"127.0.0.1:{upstream}").replace(
        "listen 80;", f"listen 127.0.0.1:{port};"
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # else workers become "nobody"
    temp = "".join(f"    {kind}_temp_path {work / kind};\n" for kind in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    config = work / "nginx.conf"
    config.write_text(
        f"daemon off;\n{user}worker_processes 1;\npid {work / 'nginx.pid'};\n"
        f"events {{ worker_connections 512; }}\n"
        f"http {{\n    access_log off;\n{temp}{proxy}\n}}\n"
    )
    log = work / "error.log"
    with (work / "stderr.log").open("wb") as sink:
        process = subprocess.Popen(
            [binary, "-p", str(work), "-e", str(log), "-c", str(config)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"nginx exited: {(work / 'stderr.log').read_text()}{log.read_text()}")
            try:
                return timed_get(port, "/healthz")[1] == b"HTTP/1.1 200 OK"
            except OSError:
                return False

        wait_until(ready, 15, "nginx to answer")
        yield port
    finally:
        stop_process_group(process)


def test_gunicorn_behind_the_example_proxy_serves_others(
    big_articles: Path, tmp_path: Path
) -> None:
    with running_server(big_articles, tmp_path / "server.log", server="gunicorn") as server:
        upstream = int(server.url.rsplit(":", 1)[1].strip("/"))
        with running_proxy(upstream, tmp_path / "nginx") as port:
            size = timed_get(port)[2]
            assert size > 800_000
            with attacking(port) as attack:
                time.sleep(1)
                assert_others_are_served(port, size)
                # nginx holds a trickled body and a response left unread itself (gunicorn's
                # thread is free once nginx has the response); it closes trickled heads.
                wait_until(
                    lambda: all(is_closed_by_server(s) for s in attack.heads),
                    HEAD_TIMEOUT_MS / 1000 + 10,
                    "nginx to close every trickling head",
                )
                assert_others_are_served(port, size)


def test_gunicorn_says_it_needs_a_buffering_proxy() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert "gunicorn only behind a buffering proxy such as nginx" in " ".join(result.output.split())
    assert "examples/nginx-proxy.conf" in (PROJECT / "README.md").read_text()
