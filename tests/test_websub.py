"""WebSub: hub settings, hub links in the feeds, Link headers, and pings to a hub on loopback."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import lxml.etree
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import Client

from feedsvc import websub
from feedsvc.cli import cli
from feedsvc.config import Settings, load_settings
from feedsvc.errors import ConfigError
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from feedsvc.state import SiteState
from feedsvc.web import create_app
from tests.conftest import BASE_URL, free_port, wait_until

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("feed.xml", "atom.xml", "feed.json")
OLD_ARTICLE = "2001-01-01\n\nAn old article\nFrom the vaults\n\nBody.\n"
NEW_ARTICLE = "2030-01-01\n\nA new article\nFresh\n\nBody.\n"


# --- a hub on 127.0.0.1 ---------------------------------------------------------------------


@dataclass
class Post:
    """One publish request the hub received."""

    form: dict[str, list[str]]
    content_type: str
    at: float  # time.monotonic()


@dataclass
class Hub:
    """What the test hub answers, and every POST it received."""

    url: str = ""
    failures: int = 0  # answer ``failure_status`` to this many requests first
    failure_status: int = 500
    retry_after: str = ""  # sent with each failure when set
    status: int = 204
    delay: float = 0.0  # seconds to wait before answering (cut short at teardown)
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    def topics(self) -> list[str]:
        with self.lock:
            return [url for post in self.posts for url in post.form.get("hub.url", [])]


class _HubServer(ThreadingHTTPServer):
    hub: Hub


class _HubHandler(BaseHTTPRequestHandler):
    server: _HubServer

    def do_POST(self) -> None:  # noqa: N802 -- the name http.server calls
        hub = self.server.hub
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        post = Post(
            parse_qs(body.decode("ascii"), keep_blank_values=True),
            self.headers.get("Content-Type", ""),
            time.monotonic(),
        )
        with hub.lock:
            hub.posts.append(post)
            failing = hub.failures > 0
            hub.failures -= failing
        if hub.delay:
            hub.release.wait(hub.delay)
        self.send_response(hub.failure_status if failing else hub.status)
        if failing and hub.retry_after:
            self.send_header("Retry-After", hub.retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


@pytest.fixture(autouse=True)
def quick_pings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Short timeouts and back-off, and no ping left running after a test."""
    monkeypatch.setattr(websub, "DEFAULT_TIMEOUT", 2.0)
    monkeypatch.setattr(websub, "DEFAULT_RETRIES", 2)
    monkeypatch.setattr(websub, "DEFAULT_BACKOFF", 0.05)
    monkeypatch.setattr(websub, "EXIT_WAIT", 5.0)
    yield
    assert pings_done(15), "a ping thread outlived its test"


def pings_done(timeout: float) -> bool:
    """Wait for every running ping thread; tell whether they all finished in time."""
    pings = [thread for thread in threading.enumerate() if thread.name == websub.THREAD_NAME]
    return websub.wait_pending(pings, timeout)


def _start_hub() -> tuple[Hub, _HubServer, threading.Thread]:
    server = _HubServer(("127.0.0.1", 0), _HubHandler)
    server.daemon_threads = True
    hub = Hub(url=f"http://127.0.0.1:{server.server_address[1]}/hub")
    server.hub = hub
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-hub", daemon=True
    )
    thread.start()
    return hub, server, thread


@contextmanager
def _running_hub() -> Iterator[Hub]:
    started, server, thread = _start_hub()
    try:
        yield started
    finally:
        started.release.set()  # quick_pings then waits for the pings still on their way
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A WebSub hub on a free port of 127.0.0.1, stopped at teardown."""
    with _running_hub() as started:
        yield started


@pytest.fixture
def other_hub() -> Iterator[Hub]:
    """A second hub, to show that one hub's trouble does not hold up another."""
    with _running_hub() as started:
        yield started


@pytest.fixture
def dead_hub() -> str:
    """The URL of a hub that is down: nothing listens on the port."""
    return f"http://127.0.0.1:{free_port()}/hub"


def feed_url(name: str) -> str:
    return BASE_URL + name


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "feedsvc" and r.levelno >= logging.WARNING and "WebSub" in r.getMessage()
    ]


# --- settings -------------------------------------------------------------------------------


def test_no_hubs_by_default() -> None:
    assert Settings().hubs == ()
    assert load_settings(config=None, env={}).hubs == ()


def test_hubs_from_file_environment_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "feedsvc.toml"
    config.write_text('hub = "https://a.example/"\n', encoding="utf-8")
    assert load_settings(config, env={}).hubs == ("https://a.example/",)
    config.write_text('hub = ["https://a.example/", "http://b.example/h?x=1"]\n')
    assert load_settings(config, env={}).hubs == ("https://a.example/", "http://b.example/h?x=1")
    env = {"FEEDSVC_HUB": " https://c.example/ , https://d.example/,"}
    assert load_settings(config, env=env).hubs == ("https://c.example/", "https://d.example/")
    assert load_settings(config, env={"FEEDSVC_HUB": ""}).hubs == ()
    flags = {"hub": ("https://e.example/", "https://e.example/")}
    assert load_settings(config, env=env, overrides=flags).hubs == ("https://e.example/",)


BAD_HUBS = {
    "relative": "hub/",
    "ftp": "ftp://hub.example.org/",
    "no-host": "https:///hub",
    "fragment": "https://hub.example.org/#x",
    "space": "https://hub.example.org/a b",
    "header-injection": "https://hub.example.org/\r\nX-Evil: 1",
    "bad-port": "https://hub.example.org:99999/",
    "not-text": 5,
}


@pytest.mark.parametrize("value", BAD_HUBS.values(), ids=BAD_HUBS.keys())
def test_bad_hub_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config=None, env={}, overrides={"hub": value})
    message = str(caught.value)
    assert message.startswith("setting hub from the command line: ")
    assert "\n" not in message and caught.value.exit_code == 2


def test_bad_hub_in_the_environment_names_it() -> None:
    with pytest.raises(ConfigError, match=r"setting hub from the environment: .*absolute http"):
        load_settings(config=None, env={"FEEDSVC_HUB": "https://ok.example/,ftp://x.example/"})


def test_hub_flag_on_the_command_line(runner: CliRunner, articles_dir: Path) -> None:
    result = runner.invoke(cli, ["build", "--articles", str(articles_dir), "--hub", "nope"])
    assert result.exit_code == 2
    assert "setting hub from the command line" in result.stderr


# --- hub links in the feeds -----------------------------------------------------------------

HUBS = ("https://hub.example.org/", "https://other-hub.example.net/websub")


def rendered(settings: Settings) -> dict[str, bytes]:
    site = render_site(load_corpus(settings), settings)
    return {path: resource.content() for path, resource in site.resources.items()}


def xml_links(body: bytes) -> list[tuple[str, str]]:
    root = lxml.etree.fromstring(body)
    parent = root.find("channel") if root.tag == "rss" else root
    assert parent is not None
    return [(link.get("rel"), link.get("href")) for link in parent.findall(f"{ATOM}link")]


def test_feeds_name_each_hub(settings: Settings) -> None:
    bodies = rendered(dataclasses.replace(settings, hubs=HUBS))
    for name in ("feed.xml", "atom.xml"):
        links = xml_links(bodies["/" + name])
        assert [href for rel, href in links if rel == "hub"] == list(HUBS)
        assert [href for rel, href in links if rel == "self"] == [feed_url(name)]
    document = json.loads(bodies["/feed.json"])
    assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in HUBS]


def test_rss_keeps_its_channel_link_with_hubs(settings: Settings) -> None:
    root = lxml.etree.fromstring(rendered(dataclasses.replace(settings, hubs=HUBS))["/feed.xml"])
    assert root.findtext("channel/link") == BASE_URL


def test_no_hub_links_without_hubs(settings: Settings) -> None:
    bodies = rendered(settings)
    for name in ("feed.xml", "atom.xml"):
        assert [rel for rel, _ in xml_links(bodies["/" + name])].count("hub") == 0
    assert "hubs" not in json.loads(bodies["/feed.json"])


def test_archives_name_no_hub(settings: Settings) -> None:
    bodies = rendered(dataclasses.replace(settings, hubs=HUBS, item_limit=2))
    archives = [path for path in bodies if path.startswith("/archive/")]
    assert archives
    for path in archives:
        assert "hub" not in [rel for rel, _ in xml_links(bodies[path])]


def test_feeds_with_hubs_are_deterministic(settings: Settings) -> None:
    with_hubs = dataclasses.replace(settings, hubs=HUBS)
    assert rendered(with_hubs) == rendered(with_hubs)


# --- Link headers ---------------------------------------------------------------------------

LINK = re.compile(r'^<([^>]*)>\s*;\s*rel="([^"]*)"$')


def parse_links(values: list[str]) -> list[tuple[str, str]]:
    """Return (rel, target) of each Link header value (one link per header, as sent)."""
    parsed = []
    for value in values:
        match = LINK.match(value)
        assert match, value
        parsed.append((match[2], match[1]))
    return parsed


@pytest.fixture
def hub_app(settings: Settings) -> Flask:
    return create_app(dataclasses.replace(settings, hubs=HUBS))


@pytest.mark.parametrize("name", FEEDS)
def test_feeds_send_hub_and_self_link_headers_on_200_and_304(hub_app: Flask, name: str) -> None:
    expected = [("hub", HUBS[0]), ("hub", HUBS[1]), ("self", feed_url(name))]
    client = hub_app.test_client()
    first = client.get("/" + name)
    assert first.status_code == 200
    assert parse_links(first.headers.getlist("Link")) == expected
    assert first.headers.get("ETag")
    again = client.get("/" + name, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert parse_links(again.headers.getlist("Link")) == expected
    head = client.head("/" + name, headers={"Accept-Encoding": "gzip"})
    assert parse_links(head.headers.getlist("Link")) == expected


@pytest.mark.parametrize("name", FEEDS)
def test_flask_view_and_fast_path_send_the_same_links(hub_app: Flask, name: str) -> None:
    fast = hub_app.test_client().get("/" + name)
    flask_only = Client(hub_app.wsgi_app.app).get("/" + name)  # type: ignore[attr-defined]
    assert flask_only.status_code == fast.status_code == 200
    assert flask_only.headers.getlist("Link") == fast.headers.getlist("Link")


def test_only_subscription_feeds_send_links(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, hubs=HUBS, item_limit=2))
    client = app.test_client()
    for path in ("/", "/archive/1/feed.xml", "/archive/1/atom.xml", "/nowhere", "/rss"):
        assert client.get(path).headers.getlist("Link") == [], path


def test_no_link_headers_without_hubs(client: FlaskClient) -> None:
    for name in FEEDS:
        assert client.get("/" + name).headers.getlist("Link") == []


def test_link_header_urls_are_percent_encoded(settings: Settings) -> None:
    odd = dataclasses.replace(settings, base_url="https://news.example.org/é/", hubs=HUBS)
    links = parse_links(create_app(odd).test_client().get("/feed.xml").headers.getlist("Link"))
    assert links[-1] == ("self", "https://news.example.org/%C3%A9/feed.xml")


# --- publish --------------------------------------------------------------------------------


def test_publish_posts_one_form_per_feed(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    urls = [feed_url(name) for name in FEEDS]
    assert websub.publish([hub.url], urls) == ()
    assert [post.form for post in hub.posts] == [
        {"hub.mode": ["publish"], "hub.url": [url]} for url in urls
    ]
    assert {post.content_type for post in hub.posts} == {"application/x-www-form-urlencoded"}
    assert failures(caplog) == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_publish_retries_with_exponential_back_off(
    hub: Hub, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    hub.failures, hub.failure_status = 3, status
    assert websub.publish([hub.url], [feed_url("feed.xml")], retries=3, backoff=0.1) == ()
    assert len(hub.posts) == 4
    gaps = [later.at - earlier.at for earlier, later in zip(hub.posts, hub.posts[1:], strict=False)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps
    assert failures(caplog) == []


def test_publish_honours_retry_after(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    hub.failures, hub.failure_status, hub.retry_after = 1, 429, "1"
    assert websub.publish([hub.url], [feed_url("feed.xml")], retries=1, backoff=0.01) == ()
    first, second = hub.posts
    assert second.at - first.at >= 1
    assert failures(caplog) == []


def test_publish_gives_up_after_the_retries_and_logs(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.failures = 100
    url = feed_url("atom.xml")
    assert websub.publish([hub.url], [url], retries=2, backoff=0.01) == ((hub.url, url),)
    assert len(hub.posts) == 3
    [line] = failures(caplog)
    assert hub.url in line and url in line and "HTTP 500" in line and "3 attempt(s)" in line


def test_a_refusal_is_not_retried(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    hub.status = 400
    assert websub.publish([hub.url], [feed_url("feed.xml")], retries=3, backoff=0.01)
    assert len(hub.posts) == 1
    [line] = failures(caplog)
    assert "HTTP 400" in line and "1 attempt(s)" in line


def test_a_redirect_is_not_followed(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    hub.status = 302  # urllib would turn the POST into a GET without the form
    assert websub.publish([hub.url], [feed_url("feed.xml")], retries=3, backoff=0.01)
    assert len(hub.posts) == 1
    assert "HTTP 302" in failures(caplog)[0]


def test_a_dead_hub_is_logged_never_raised(dead_hub: str, caplog: pytest.LogCaptureFixture) -> None:
    urls = [feed_url(name) for name in FEEDS]
    started = time.monotonic()
    failed = websub.publish([dead_hub], urls, retries=2, backoff=0.01)
    assert failed == tuple((dead_hub, url) for url in urls)
    assert time.monotonic() - started < 2
    first, rest = failures(caplog)  # tried for one feed; not hammered for the others
    assert dead_hub in first and urls[0] in first and "Connection refused" in first
    assert "3 attempt(s)" in first
    assert dead_hub in rest and "unreachable" in rest and urls[1] in rest and urls[2] in rest


def test_a_hub_that_answers_is_tried_for_every_feed(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.status = 404
    urls = [feed_url(name) for name in FEEDS]
    assert len(websub.publish([hub.url], urls, retries=2, backoff=0.01)) == len(FEEDS)
    assert hub.topics() == urls
    assert len(failures(caplog)) == len(FEEDS)


def test_a_slow_hub_times_out(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    hub.delay = 30
    started = time.monotonic()
    failed = websub.publish([hub.url], [feed_url("feed.xml")], timeout=0.3, retries=1, backoff=0.01)
    assert failed and time.monotonic() - started < 3
    assert len(hub.posts) == 2
    [line] = failures(caplog)
    assert "timed out" in line


def test_one_hub_down_does_not_hold_up_another(
    hub: Hub, other_hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.delay = 30
    threads = websub.publish_in_background([hub.url, other_hub.url], [feed_url("feed.xml")])
    assert len(threads) == 2
    wait_until(lambda: other_hub.topics() == [feed_url("feed.xml")], 5, "the healthy hub's ping")
    assert not websub.wait_pending(threads, 0.2)
    assert "gave up waiting" in caplog.text


# --- pings from the server ------------------------------------------------------------------


def hub_state(settings: Settings, *hubs: str) -> SiteState:
    app = create_app(dataclasses.replace(settings, hubs=hubs, reload_interval=0))
    state: SiteState = app.extensions["feedsvc"]
    return state


def feed_etags(state: SiteState) -> dict[str, str]:
    assert state.site is not None
    return {name: state.site.resources["/" + name].etag for name in FEEDS}


def test_server_does_not_ping_at_start_up(settings: Settings, hub: Hub) -> None:
    state = hub_state(settings, hub.url)
    assert state.site is not None
    assert pings_done(5)
    assert hub.posts == []


def test_server_pings_every_changed_feed(settings: Settings, hub: Hub) -> None:
    state = hub_state(settings, hub.url)
    (settings.articles / "900_00000000000000a1.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert state.refresh()
    wanted = sorted(feed_url(name) for name in FEEDS)
    wait_until(lambda: sorted(hub.topics()) == wanted, 5, "a ping for each feed")
    assert {post.form["hub.mode"][0] for post in hub.posts} == {"publish"}


def test_server_pings_only_the_feeds_that_changed(settings: Settings, hub: Hub) -> None:
    # An article older than the newest item_limit changes RSS and Atom (a new RFC 5005
    # prev-archive link) but not the JSON Feed, which has no archives.
    state = hub_state(dataclasses.replace(settings, item_limit=6), hub.url)
    before = feed_etags(state)
    (settings.articles / "900_00000000000000a2.txt").write_text(OLD_ARTICLE, encoding="utf-8")
    assert state.refresh()
    after = feed_etags(state)
    changed = sorted(feed_url(name) for name in FEEDS if before[name] != after[name])
    assert 0 < len(changed) < len(FEEDS), "the change should leave some feed as it was"
    wait_until(lambda: len(hub.topics()) >= len(changed), 5, "the pings")
    assert pings_done(5)
    assert sorted(hub.topics()) == changed


def test_server_pings_nothing_when_no_feed_changed(settings: Settings, hub: Hub) -> None:
    state = hub_state(settings, hub.url)
    article = next(settings.articles.glob("*.txt"))
    os.utime(article, ns=(0, 10**18))  # the folder looks changed; the feeds are the same
    assert state.refresh()
    assert pings_done(5)
    assert hub.posts == []


def test_a_dead_or_slow_hub_never_delays_serving(
    settings: Settings, hub: Hub, dead_hub: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub.delay = 30
    app = create_app(dataclasses.replace(settings, hubs=(hub.url, dead_hub), reload_interval=0))
    state: SiteState = app.extensions["feedsvc"]
    (settings.articles / "900_00000000000000a3.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    started = time.monotonic()
    assert state.refresh()
    assert time.monotonic() - started < 1
    response = app.test_client().get("/feed.json")
    assert response.status_code == 200
    assert json.loads(response.data)["items"][0]["title"] == "A new article"
    assert time.monotonic() - started < 1.5
    wait_until(lambda: any(dead_hub in line for line in failures(caplog)), 10, "the dead hub")


# --- feedsvc build --ping -------------------------------------------------------------------


def build(runner: CliRunner, articles: Path, out: Path, *more: str) -> Result:
    args = ["build", "--articles", str(articles), "--out", str(out), "--base-url", BASE_URL]
    return runner.invoke(cli, [*args, *more], catch_exceptions=False)


def test_build_ping_notifies_only_changed_feeds(
    runner: CliRunner, articles_dir: Path, tmp_path: Path, hub: Hub
) -> None:
    out = tmp_path / "public"
    ping = ("--ping", "--hub", hub.url, "--item-limit", "6")
    first = build(runner, articles_dir, out, *ping)
    assert first.exit_code == 0, first.output
    assert sorted(hub.topics()) == sorted(feed_url(name) for name in FEEDS)  # nothing before

    hub.posts.clear()
    again = build(runner, articles_dir, out, *ping)
    assert again.exit_code == 0, again.output
    assert "no feed changed" in again.stdout
    assert hub.posts == []

    before = {name: (out / name).read_bytes() for name in FEEDS}
    (articles_dir / "900_00000000000000a4.txt").write_text(OLD_ARTICLE, encoding="utf-8")
    changed = build(runner, articles_dir, out, *ping)
    assert changed.exit_code == 0, changed.output
    differ = sorted(feed_url(n) for n in FEEDS if (out / n).read_bytes() != before[n])
    assert 0 < len(differ) < len(FEEDS)
    assert sorted(hub.topics()) == differ


def test_build_without_ping_notifies_nobody(
    runner: CliRunner, articles_dir: Path, tmp_path: Path, hub: Hub
) -> None:
    result = build(runner, articles_dir, tmp_path / "public", "--hub", hub.url)
    assert result.exit_code == 0, result.output
    assert pings_done(5)
    assert hub.posts == []


def test_build_ping_needs_a_hub(runner: CliRunner, articles_dir: Path, tmp_path: Path) -> None:
    result = build(runner, articles_dir, tmp_path / "public", "--ping")
    assert result.exit_code == 2
    assert "--ping needs a WebSub hub" in result.stderr
    assert not (tmp_path / "public").exists()


def test_build_ping_takes_hubs_from_the_environment(
    runner: CliRunner, articles_dir: Path, tmp_path: Path, hub: Hub
) -> None:
    result = runner.invoke(
        cli,
        ["build", "--articles", str(articles_dir), "--out", str(tmp_path / "p"), "--ping"],
        env={"FEEDSVC_HUB": hub.url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert len(hub.topics()) == len(FEEDS)


def test_build_with_a_dead_and_a_slow_hub_waits_a_bounded_time(
    runner: CliRunner,
    articles_dir: Path,
    tmp_path: Path,
    hub: Hub,
    dead_hub: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub.delay = 30
    monkeypatch.setattr(websub, "DEFAULT_TIMEOUT", 20.0)  # the hub outlasts the exit wait
    monkeypatch.setattr(websub, "EXIT_WAIT", 1.0)
    out = tmp_path / "public"
    started = time.monotonic()
    result = build(runner, articles_dir, out, "--ping", "--hub", hub.url, "--hub", dead_hub)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert (out / "feed.xml").is_file()
    assert elapsed < 3, elapsed
    lines = failures(caplog)
    assert any(dead_hub in line for line in lines), lines
    assert any("gave up waiting" in line for line in lines), lines
