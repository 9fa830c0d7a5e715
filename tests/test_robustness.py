"""Hostile input: arbitrary article bytes, hostile requests, killed builds. Never a 500."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import feedparser
import lxml.etree
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from feedsvc.config import Settings
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from feedsvc.state import SiteState
from feedsvc.web import create_app
from tests.conftest import LiveServer, wait_until

GOOD = "2024-02-{day:02d}\n\nGood article {n}\n\nStandfirst {n}\n\nParagraph {n}.\n"


def _check_feeds(settings: Settings, good_titles: set[str]) -> None:
    site = render_site(load_corpus(settings), settings)
    for path in ("/feed.xml", "/atom.xml"):
        body = site.resources[path].content()
        lxml.etree.fromstring(body)  # well-formed
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert good_titles <= {entry.title for entry in parsed.entries}
    items = json.loads(site.resources["/feed.json"].content())["items"]
    assert good_titles <= {item["title"] for item in items}


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blobs=st.lists(st.binary(max_size=400), max_size=6),
    texts=st.lists(st.text(max_size=300), max_size=6),
)
def test_arbitrary_files_never_break_the_feeds(blobs: list[bytes], texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        good = set()
        for n in range(3):
            (root / f"{n:03d}_{n:016x}.txt").write_text(GOOD.format(day=n + 1, n=n), "utf-8")
            good.add(f"Good article {n}")
        for i, blob in enumerate(blobs):
            (root / f"5{i:02d}_{i + 0xB0:016x}.txt").write_bytes(blob)
        for i, text in enumerate(texts):
            data = text.encode("utf-8", "surrogatepass")
            (root / f"7{i:02d}_{i + 0xC0:016x}.txt").write_bytes(data)
        _check_feeds(Settings(articles=root, item_limit=50), good)


PATH_CHARS = st.sampled_from(list("aZ09/.-_%~\\?#&=;:@!$'()*+, ") + ["%2e", "%2f", "%00", "\x00"])


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    path=st.lists(PATH_CHARS, max_size=40).map("".join),
    prefix=st.sampled_from(["/", "/articles/", "/page/", "/feed.xml", "/articles/../"]),
    headers=st.dictionaries(
        st.sampled_from(
            ["If-None-Match", "If-Modified-Since", "Accept-Encoding", "Range", "Host", "Cookie"]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    ),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]),
)
def test_arbitrary_requests_never_fail(
    fuzz_client: FlaskClient, path: str, prefix: str, headers: dict[str, str], method: str
) -> None:
    # PATH_INFO set directly: the test client itself would read "//x:y" as a host and port.
    raw = (prefix + path).encode("utf-8").decode("latin-1")  # as WSGI servers pass it
    response = fuzz_client.open(
        "/", method=method, headers=headers, environ_overrides={"PATH_INFO": raw}
    )
    assert response.status_code < 500
    assert b"Traceback" not in response.data


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    folder = tmp_path_factory.mktemp("articles")
    for n in range(3):
        (folder / f"{n:03d}_{n:016x}.txt").write_text(GOOD.format(day=n + 1, n=n), "utf-8")
    return create_app(Settings(articles=folder, reload_interval=0)).test_client()


HOSTILE = [
    "/articles/../../etc/passwd",
    "/articles/%2e%2e/%2e%2e/etc/passwd",
    "/articles/..%2f..%2fetc%2fpasswd/",
    "/articles/..\\..\\etc\\passwd/",
    "/articles/%00/",
    "/articles/%c0%ae%c0%ae/",
    "/..%2f..%2f/feed.xml",
    "/page/99999999999999999999999999/",
    "/page/-1/",
    "/page/abc/",
    "/feed.xml?page=2&utm_source=x&<script>=1",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("path", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_paths_get_4xx_or_the_plain_feed(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    if path.startswith("/feed.xml?"):  # unknown query parameters are ignored
        assert response.status_code == 200
        assert response.data == client.get("/feed.xml").data
    else:
        assert 400 <= response.status_code < 500
    assert b"root:" not in response.data


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '"unterminated'},
        {"If-None-Match": "W/"},
        {"If-None-Match": ",,,"},
        {"If-Modified-Since": "Mon, 99 Foo 2023 99:99:99 GMT"},
        {"If-Modified-Since": "9" * 400},
        {"Accept-Encoding": "gzip;q=abc, *;q=-1"},
        {"Accept-Encoding": ";;;"},
        {"Range": "bytes=999999-1"},
        {"Range": "lines=1-2"},
        {"Range": "bytes=" + ",".join(["0-1"] * 500)},
    ],
    ids=lambda headers: next(iter(headers)) + ":" + next(iter(headers.values()))[:16],
)
def test_malformed_headers_are_ignored(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/feed.xml", headers=headers)
    assert response.status_code == 200
    if "Accept-Encoding" not in headers:
        assert response.data == client.get("/feed.xml").data


def test_problems_are_logged_once_per_change(
    settings: Settings, articles_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (articles_dir / "900_badbadbadbadbad0.txt").write_bytes(b"\xff\xfe not utf-8")
    with caplog.at_level(logging.WARNING, logger="feedsvc"):
        app = create_app(settings)
        client = app.test_client()
        for _ in range(5):
            assert client.get("/feed.xml").status_code == 200
        state = app.extensions["feedsvc"]
        assert isinstance(state, SiteState)
        state.refresh()  # nothing changed: nothing logged again
    lines = [r.getMessage() for r in caplog.records if "900_badbadbadbadbad0.txt" in r.getMessage()]
    assert len(lines) == 1 and "not valid UTF-8" in lines[0]


def _raw_request(server: LiveServer, data: bytes) -> bytes:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /feed.xml HTTP/1.1\r\nConnection: close\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n",
        b"GET /feed.xml HTTP/1.1\r\nConnection: close\r\n" + b"X-Many: 1\r\n" * 300 + b"\r\n",
        b"GET /articles/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /articles/%2e%2e%2fetc%2fpasswd/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"BREW /feed.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ],
    ids=["long-url", "long-header", "many-headers", "dotdot", "encoded", "method", "garbage"],
)
def test_real_server_answers_abuse_with_4xx(live_server: LiveServer, request_bytes: bytes) -> None:
    answer = _raw_request(live_server, request_bytes)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
    assert b"Traceback" not in answer and b"root:" not in answer


def test_killed_build_leaves_the_previous_output(settings: Settings, tmp_path: Path) -> None:
    for n in range(3000):
        (settings.articles / f"{n + 100:05d}_{n + 0xA000:016x}.txt").write_text(
            GOOD.format(day=n % 28 + 1, n=n), "utf-8"
        )
    out = tmp_path / "site"
    command = [sys.executable, "-m", "feedsvc", "build", "--articles", str(settings.articles),
               "--out", str(out)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    subprocess.run(command, check=True, env=env, capture_output=True)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    newest = GOOD.format(day=9, n="new").replace("2024-02-09", "2030-01-01")
    (settings.articles / "99999_ffffffffffffffff.txt").write_text(newest, "utf-8")
    interrupted = 0
    for delay in (0.0, 0.05, 0.2):
        for stale in tmp_path.glob(".site.tmp-*"):  # left by the previous kill
            shutil.rmtree(stale)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        wait_until(
            lambda: bool(list(tmp_path.glob(".site.tmp-*"))), 30, "the build to start writing"
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        if after == before:
            interrupted += 1
        else:  # the build finished before the kill: complete new output
            assert (out / "articles" / "ffffffffffffffff" / "index.html").exists()
            assert len(after) == len(before) + 1
            before = after
    assert interrupted, "no build was killed mid-way"
    subprocess.run(command, check=True, env=env, capture_output=True)
    assert not list(tmp_path.glob(".site.tmp-*")), "temporary folders left behind"


AWKWARD_NAMES = [
    "my article.txt",
    "café déjà vu.txt",
    "a%2fb?c#d.txt",
    "über\u0308.txt",
    "…&<>.txt",
]


def test_awkward_file_names_get_url_safe_pages(settings: Settings, articles_dir: Path) -> None:
    for n, name in enumerate(AWKWARD_NAMES):
        (articles_dir / name).write_text(GOOD.format(day=n + 1, n=f"awkward {n}"), "utf-8")
    client = create_app(settings).test_client()
    titles = {}
    for entry in feedparser.parse(client.get("/feed.xml").data).entries:
        path = entry.link.removeprefix(settings.base_url)
        assert all(c.isalnum() or c == "/" for c in path), path
        assert client.get("/" + path).status_code == 200
        titles[entry.title] = path
    assert {f"Good article awkward {n}" for n in range(len(AWKWARD_NAMES))} <= set(titles)


def test_a_file_that_keeps_changing_is_skipped_then_read(
    settings: Settings, articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = articles_dir / "001_53cd6c492ec135fb.txt"
    real_fstat = os.fstat
    calls = {"n": 0}

    def shifting_fstat(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        if os.path.realpath(f"/proc/self/fd/{fd}") == str(target.resolve()):
            calls["n"] += 1
            values = list(info)
            values[6] += calls["n"]  # st_size grows on every look: a writer is busy
            return os.stat_result(values)
        return info

    monkeypatch.setattr(os, "fstat", shifting_fstat)
    corpus = load_corpus(settings)
    assert [p.reason for p in corpus.problems if p.path == str(target)] == [
        "file kept changing while being read; it is read again at the next check"
    ]
    assert len(corpus.articles) == 5  # the others are published
    monkeypatch.setattr(os, "fstat", real_fstat)
    assert len(load_corpus(settings).articles) == 6


@pytest.mark.parametrize(
    "error,reason",
    [
        (PermissionError(13, "Permission denied"), "cannot read file (permission denied)"),
        (FileNotFoundError(2, "No such file"), "file disappeared while being read"),
    ],
    ids=["unreadable", "vanished"],
)
def test_unreadable_and_vanishing_files_are_problems(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str
) -> None:
    target = str((settings.articles / "002_46562b85a181cf96.txt").resolve())
    real_open = os.open

    def failing_open(path: object, flags: int, *args: object) -> int:
        if str(path) == target:
            raise error
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", failing_open)
    corpus = load_corpus(settings)
    assert [str(p) for p in corpus.problems] == [
        f"{settings.articles}/002_46562b85a181cf96.txt: {reason}"
    ]
    assert len(corpus.articles) == 5
    site = render_site(corpus, settings)
    assert not feedparser.parse(site.resources["/feed.xml"].body).bozo
