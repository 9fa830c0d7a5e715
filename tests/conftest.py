"""Shared fixtures: a private copy of the sample articles, settings, app, client and runner."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

import feedsvc.pages
import feedsvc.site
import feedsvc.state
from feedsvc.cache import ParseCache
from feedsvc.config import Settings
from feedsvc.repository import Corpus, load_corpus
from feedsvc.site import Site, render_site
from feedsvc.web import create_app

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = PROJECT / "articles"
SEED = "000_cab78a8f5eee25a1.txt"
BASE_URL = "https://news.example.org/"
# Debian's nginx, which tests run over built output and in front of gunicorn.
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def load_cached(settings: Settings) -> Corpus:
    """Load as a new process does: a fresh ParseCache, no corpus from before."""
    cache = ParseCache.for_settings(settings)
    try:
        return load_corpus(settings, cache=cache)
    finally:
        cache.close()


def require_tool(path: str | None, name: str) -> str:
    """Return the path of an external tool; skip without it, but fail in CI, which installs it."""
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed; .ci/run installs it")
    pytest.skip(f"{name} is not installed")


@pytest.fixture(autouse=True)
def private_cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the default cache folder (and that of servers the test starts) at a temp folder."""
    home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A private copy of the sample articles that a test may change."""
    folder = tmp_path / "articles"
    shutil.copytree(SAMPLE_ARTICLES, folder)
    return folder


@pytest.fixture
def settings(articles_dir: Path, tmp_path: Path) -> Settings:
    """Settings over the private articles, with watching off (tests refresh explicitly)."""
    return Settings(
        title="Example News",
        description="News from the example",
        base_url=BASE_URL,
        author="Example Newsroom",
        articles=articles_dir,
        out=tmp_path / "public",
        reload_interval=0,
    )


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    """A CLI runner in an empty folder with no FEEDSVC_* variables."""
    for name in list(os.environ):
        if name.startswith("FEEDSVC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield CliRunner()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET over real HTTP; return status, headers (lower-case names) and body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started with ``start_new_session`` and every child it forked."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except ProcessLookupError:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # a worker that outlived its master
    except ProcessLookupError:
        pass


@dataclass
class LiveServer:
    """A ``feedsvc serve`` process (gunicorn) on 127.0.0.1."""

    url: str
    articles: Path
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def running_server(
    articles: Path,
    log: Path,
    *,
    base_url: str | None = None,
    server: str = "granian",
    workers: int = 2,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> Iterator[LiveServer]:
    """Run ``feedsvc serve`` on a free port of 127.0.0.1 until the block ends.

    Waits (unless not ``wait``) until every worker has rendered its site (each answers
    503 until then); the server and all its workers are stopped at the end, whatever
    happens.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    environment.update({"FEEDSVC_RELOAD_INTERVAL": "0.2", **(env or {})})
    command = [sys.executable, "-m", "feedsvc", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--articles", str(articles), "--base-url", base_url or url,
               "--workers", str(workers), "--server", server]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=environment, start_new_session=True
        )
    try:

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}: {log.read_text()}")
            try:
                return http_get(url + "healthz")[0] == 200
            except OSError:
                return False

        if wait:
            wait_until(ready, 30, "the server to answer /healthz")
            wait_until(
                lambda: log.read_text().count("serving ") >= workers, 30, "every worker's site"
            )
        yield LiveServer(url, articles, process, log)
    finally:
        stop_process_group(process)


@pytest.fixture(params=["granian", "gunicorn"])
def live_server(
    articles_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """Run ``feedsvc serve`` with each production server on a free port of 127.0.0.1."""
    log = tmp_path / "server.log"
    env = {"FEEDSVC_TITLE": "Example News"}
    with running_server(articles_dir, log, server=request.param, env=env) as server:
        yield server


@pytest.fixture
def set_tz() -> Iterator[Callable[[str], None]]:
    """Set the process time zone (``TZ`` and ``time.tzset``); the old one is back after the test."""
    original = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    time.tzset()


@pytest.fixture
def held_render(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Make a server's complete render wait until the test lets it go (``set``)."""
    release = threading.Event()
    real = render_site  # what feedsvc.state calls

    def slow(*args: Any, **kwargs: Any) -> Site:
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(feedsvc.state, "render_site", slow)
    yield release
    release.set()


@pytest.fixture
def rendered_pages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the article pages rendered from now on, in order."""
    rendered: list[str] = []
    render = feedsvc.pages.render_article_page  # what feedsvc.site calls

    def counting(article: Any, site_settings: Settings) -> bytes:
        rendered.append(article.id)
        return render(article, site_settings)

    monkeypatch.setattr(feedsvc.site, "render_article_page", counting)
    return rendered
