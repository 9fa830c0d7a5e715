"""RFC 5005 archives, poll guidance that agrees with itself, and 503 while starting."""

from __future__ import annotations

import threading
from pathlib import Path

import feedparser
import lxml.etree
import pytest
from flask.testing import FlaskClient

import feedsvc.state
from feedsvc.config import Settings
from feedsvc.entries import entry_id
from feedsvc.feeds import HISTORY_NS, SYNDICATION_NS
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from feedsvc.state import SiteState
from feedsvc.web import create_app
from tests.conftest import BASE_URL, wait_until

ATOM = "{http://www.w3.org/2005/Atom}"


def add_articles(folder: Path, count: int, start: int = 100, year: int = 2030) -> None:
    for n in range(start, start + count):
        date = f"{year}-01-{n % 28 + 1:02d}T{n % 24:02d}:00:00Z"
        text = f"{date}\n\nArticle {n}\n\nS {n}\n\nBody {n}.\n"
        (folder / f"{n:03d}_{n:016x}.txt").write_text(text, "utf-8")


@pytest.fixture
def small(settings: Settings, articles_dir: Path) -> Settings:
    add_articles(articles_dir, 8)  # 6 samples + 8 = 14 articles
    return Settings(**{**{f: getattr(settings, f) for f in Settings.__dataclass_fields__},
                       "item_limit": 3})  # fmt: skip


def _links(document: bytes, kind: str) -> dict[str, str]:
    root = lxml.etree.fromstring(document)
    parent = root.find("channel") if kind == "rss" else root
    tag = f"{ATOM}link"
    return {link.get("rel"): link.get("href") for link in parent.findall(tag)}


@pytest.mark.parametrize("kind,name", [("rss", "feed.xml"), ("atom", "atom.xml")])
def test_walking_back_from_the_feed_reaches_every_article(
    small: Settings, kind: str, name: str
) -> None:
    client = create_app(small).test_client()
    url, seen, archives = BASE_URL + name, [], 0
    while url:
        response = client.get("/" + url.removeprefix(BASE_URL))
        assert response.status_code == 200, url
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo
        seen += [entry.id for entry in parsed.entries]
        links = _links(response.data, kind)
        assert links["self"] == url
        if url != BASE_URL + name:
            archives += 1
            assert links["current"] == BASE_URL + name
            marker = lxml.etree.fromstring(response.data).iter(f"{{{HISTORY_NS}}}archive")
            assert next(marker, None) is not None, "archive marker missing"
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        url = links.get("prev-archive", "")
    corpus = load_corpus(small)
    assert set(seen) == {entry_id(a) for a in corpus.articles}
    assert archives == -(-(len(corpus.articles) - 3) // 3)


def _archives(settings: Settings) -> dict[str, bytes]:
    site = render_site(load_corpus(settings), settings)
    return {p: r.content() for p, r in site.resources.items() if p.startswith("/archive/")}


def _entry_ids(document: bytes) -> list[str]:
    return [entry.id for entry in feedparser.parse(document).entries]


def test_archives_keep_their_entries_as_articles_arrive(small: Settings) -> None:
    before = _archives(small)
    assert before
    add_articles(small.articles, 1, start=300, year=2031)  # no new archive yet: no change
    assert _archives(small) == before
    add_articles(small.articles, 3, start=400, year=2032)  # a new archive appears
    after = _archives(small)
    assert len(after) == len(before) + 2
    for path, body in before.items():
        assert _entry_ids(after[path]) == _entry_ids(body), path
        newer = _links(after[path], "rss" if path.endswith("feed.xml") else "atom")
        older = _links(body, "rss" if path.endswith("feed.xml") else "atom")
        assert {k: v for k, v in newer.items() if k != "next-archive"} == {
            k: v for k, v in older.items() if k != "next-archive"
        }


def test_no_archives_while_the_feed_holds_everything(client: FlaskClient) -> None:
    assert "prev-archive" not in _links(client.get("/feed.xml").data, "rss")
    assert client.get("/archive/1/feed.xml").status_code == 404


@pytest.mark.parametrize(
    "max_age,period,frequency",
    [(300, "hourly", 12), (60, "hourly", 60), (3600, "hourly", 1), (7200, "daily", 12),
     (86400, "daily", 1)],
)  # fmt: skip
def test_poll_guidance_states_one_interval(
    settings: Settings, max_age: int, period: str, frequency: int
) -> None:
    fields = {f: getattr(settings, f) for f in Settings.__dataclass_fields__}
    client = create_app(Settings(**{**fields, "max_age": max_age})).test_client()
    response = client.get("/feed.xml")
    channel = lxml.etree.fromstring(response.data).find("channel")
    ttl_seconds = int(channel.findtext("ttl")) * 60
    sy_period = channel.findtext(f"{{{SYNDICATION_NS}}}updatePeriod")
    sy_frequency = int(channel.findtext(f"{{{SYNDICATION_NS}}}updateFrequency"))
    assert (sy_period, sy_frequency) == (period, frequency)
    seconds = {"hourly": 3600, "daily": 86400}[sy_period] // sy_frequency
    assert response.headers["Cache-Control"] == f"public, max-age={max_age}"
    assert ttl_seconds == seconds == max_age


def test_503_with_retry_after_until_the_first_site(
    settings: Settings, held_render: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedsvc.state, "WARM_SHARE", 0)  # a warm cache: no front first
    fields = {f: getattr(settings, f) for f in Settings.__dataclass_fields__}
    app = create_app(Settings(**{**fields, "reload_interval": 30}))
    client = app.test_client()
    try:
        for path in ("/feed.xml", "/atom.xml", "/feed.json", "/", "/articles/x/", "/healthz"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert int(response.headers.get("Retry-After", "0")) > 0 or path == "/healthz"
        held_render.set()
        state = app.extensions["feedsvc"]
        assert isinstance(state, SiteState)
        wait_until(lambda: state.site is not None, 30, "the first site")
        assert client.get("/feed.xml").status_code == 200
    finally:
        app.extensions["feedsvc.stop"].set()
