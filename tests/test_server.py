"""``feedsvc serve`` for real: gunicorn on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import errno
import gzip
import os
import socket
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

from tests.conftest import (
    LiveServer,
    free_port,
    http_get,
    running_server,
    stop_process_group,
    wait_until,
)


def test_serves_feeds_with_conditional_get(live_server: LiveServer) -> None:
    for path in ("feed.xml", "atom.xml", "feed.json"):
        status, headers, body = http_get(live_server.url + path)
        assert status == 200
        if path.endswith(".xml"):
            parsed = feedparser.parse(body)
            assert not parsed.bozo and parsed.entries
            assert all(entry.link.startswith(live_server.url) for entry in parsed.entries)
        again = http_get(live_server.url + path, {"If-None-Match": headers["etag"]})
        assert (again[0], again[2], again[1]["etag"]) == (304, b"", headers["etag"])
        since = http_get(live_server.url + path, {"If-Modified-Since": headers["last-modified"]})
        assert since[0] == 304
        packed = http_get(live_server.url + path, {"Accept-Encoding": "gzip"})
        assert packed[1]["content-encoding"] == "gzip"
        assert gzip.decompress(packed[2]) == body


def test_all_workers_agree_on_bytes_and_etags(live_server: LiveServer) -> None:
    answers = {http_get(live_server.url + "feed.xml")[1]["etag"] for _ in range(20)}
    assert len(answers) == 1


def _titles(live_server: LiveServer) -> list[str]:
    status, _, body = http_get(live_server.url + "feed.xml")
    assert status == 200
    return [entry.title for entry in feedparser.parse(body).entries]


def test_added_and_removed_articles_appear_and_go(live_server: LiveServer) -> None:
    path = live_server.articles / "990_feedfacecafebeef.txt"
    path.write_text(
        "2040-01-02\n\nArrived while serving\n\nStandfirst\n\nA paragraph.\n", encoding="utf-8"
    )
    # Two workers watch the folder on their own: every answer must show the change.
    wait_until(
        lambda: all(_titles(live_server)[0] == "Arrived while serving" for _ in range(6)),
        15,
        "the new article in /feed.xml",
    )
    page = http_get(live_server.url + "articles/feedfacecafebeef/")
    assert page[0] == 200
    path.unlink()
    wait_until(
        lambda: all("Arrived while serving" not in _titles(live_server) for _ in range(6)),
        15,
        "the removed article to leave /feed.xml",
    )
    assert http_get(live_server.url + "articles/feedfacecafebeef/")[0] == 404


def test_index_and_errors_over_http(live_server: LiveServer) -> None:
    status, headers, body = http_get(live_server.url)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'rel="alternate"' in body
    assert http_get(live_server.url + "no/such/page")[0] == 404
    server = headers.get("server", "")
    assert "/" not in server, f"version banner: {server}"


# --- the port -------------------------------------------------------------------------------


def start_serve(articles: Path, port: int, server: str, *more: str) -> subprocess.Popen[bytes]:
    """Start ``feedsvc serve`` on 127.0.0.1:``port`` (no base_url anywhere)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    command = [sys.executable, "-m", "feedsvc", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--articles", str(articles), "--server", server, *more]  # fmt: skip
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,
    )


def refused(articles: Path, port: int, server: str) -> tuple[int, list[str]]:
    """Start a server that must exit at once; return its exit code and error lines."""
    process = start_serve(articles, port, server)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        stop_process_group(process)
    return process.returncode, stderr.decode().splitlines()


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_second_server_on_the_port_is_refused_and_the_first_keeps_it(
    articles_dir: Path, tmp_path: Path, server: str
) -> None:
    with running_server(articles_dir, tmp_path / "first.log", server="granian") as first:
        port = int(first.url.rsplit(":", 1)[1].strip("/"))
        code, lines = refused(articles_dir, port, server)
        assert (code, lines) == (
            1,
            [
                f"feedsvc: error: 127.0.0.1:{port} is already in use by another process; "
                "stop it or choose another --port"
            ],
        )
        # Every request still reaches the first server (none went to a second one).
        assert all(http_get(first.url + "healthz")[0] == 200 for _ in range(20))
        assert first.process.poll() is None


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "reuseport"])
@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_port_held_by_another_program_is_one_line(
    articles_dir: Path, server: str, reuse_port: bool
) -> None:
    with socket.socket() as holder:
        if reuse_port:  # a program that would share: feedsvc must still not bind beside it
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, lines = refused(articles_dir, port, server)
    assert code == 1
    assert lines == [
        f"feedsvc: error: 127.0.0.1:{port} is already in use by another process; "
        "stop it or choose another --port"
    ]


def test_the_listening_socket_is_not_shared(live_server: LiveServer) -> None:
    port = int(live_server.url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as intruder:
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        with pytest.raises(OSError) as refusal:
            intruder.bind(("127.0.0.1", port))
    assert refusal.value.errno == errno.EADDRINUSE


def test_serve_links_to_its_own_port_without_a_base_url(articles_dir: Path) -> None:
    port = free_port()
    process = start_serve(articles_dir, port, "granian", "--workers", "1")
    url = f"http://127.0.0.1:{port}/"
    try:

        def ready() -> bool:
            assert process.poll() is None, process.communicate()
            try:
                return http_get(url + "feed.xml")[0] == 200
            except OSError:
                return False

        wait_until(ready, 30, "the server to answer /feed.xml")
        entries = feedparser.parse(http_get(url + "feed.xml")[2]).entries
        assert entries and all(entry.link.startswith(url) for entry in entries)
    finally:
        stop_process_group(process)
        process.communicate()  # closes the pipes
