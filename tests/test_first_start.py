"""A server's first start with a cold cache: the feeds and the front page first, from the
articles' date lines (``load_front``, ``render_front``), with the bytes the complete site
has; 503 with an honest Retry-After for the other paths until it is rendered."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from feedsvc import pace
from feedsvc.articles import parse_article
from feedsvc.cache import ParseCache
from feedsvc.cachefolder import make_site_folder
from feedsvc.config import Settings
from feedsvc.errors import ArticleError
from feedsvc.frontload import head_summary, load_front
from feedsvc.repository import (
    Corpus,
    decode_article,
    folder_keys,
    load_corpus,
)
from feedsvc.site import render_front, render_site
from feedsvc.state import SiteState
from feedsvc.web import create_app
from tests.conftest import http_get, running_server, wait_until

FRONT = ("/", "/feed.xml", "/atom.xml", "/feed.json")
NAME = "007_0123456789abcdef.txt"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def article(date: str, title: str, body: str = "Some text.") -> str:
    return f"{date}\n\n{title}\n\nA standfirst.\n\n{body}\n\nLatest stories\n"


@pytest.fixture
def awkward(settings: Settings) -> Settings:
    """The sample articles and every kind of file the date line decides about."""
    folder = settings.articles
    write(folder, "100_1000000000000001.txt", article("Monday, January 1, 2024", "Tie one"))
    write(folder, "101_1000000000000002.txt", article("Monday, January 1, 2024", "Tie two"))
    # The same id as the file before: the full load keeps the first file by name.
    write(folder, "102_1000000000000002.txt", article("Friday, March 1, 2024", "Duplicate"))
    write(folder, "103_1000000000000003.txt", "\ufeff\r\n\r\n  2024-02-02\r\n\r\nCRLF\r\n")
    write(folder, "104_1000000000000004.txt", "\n" * 700 + article("2024-02-03", "Far down"))
    write(folder, "105_1000000000000005.txt", article("Tues\x01day, Feb 6, 2024", "Control"))
    write(folder, "106_1000000000000006.txt", article("The day after tomorrow", "Bad date"))
    write(folder, "107_1000000000000007.txt", "")
    write(folder, "108_1000000000000008.txt", "   \n\t\n")
    write(folder, "109_1000000000000009.txt", article("2024-02-09", "x" * 100, "y" * 5000))
    (folder / "110_100000000000000a.txt").symlink_to("/etc/hostname")
    os.mkfifo(folder / "111_100000000000000b.txt")
    return dataclasses.replace(settings, max_file_bytes=4000)


def rows(corpus: Corpus) -> list[tuple[object, ...]]:
    return [(a.id, a.source, a.published, a.edited, a.number) for a in corpus.articles]


def skipped(corpus: Corpus) -> list[str]:
    return [problem.path for problem in corpus.problems if problem.skipped]


def test_front_orders_and_dates_the_articles_as_the_full_load(awkward: Settings) -> None:
    front = load_front(awkward, folder_keys(awkward.articles))
    full = load_corpus(awkward)
    assert rows(front) == rows(full)
    assert skipped(front) == skipped(full)
    sources = {a.source for a in full.articles}
    assert {"103_1000000000000003.txt", "104_1000000000000004.txt"} <= sources
    assert "105_1000000000000005.txt" in sources  # dated once its control character goes
    assert "109_1000000000000009.txt" not in sources  # over max_file_bytes in both


def test_front_renders_the_bytes_of_the_complete_site(awkward: Settings) -> None:
    front = render_front(load_front(awkward, folder_keys(awkward.articles)), awkward)
    site = render_site(load_corpus(awkward), awkward)
    assert not front.complete and site.complete
    assert sorted(front.resources) == sorted(FRONT)
    for path, resource in front.resources.items():
        complete = site.resources[path]
        assert resource.body == complete.body, path
        assert resource.gzip_body == complete.gzip_body, path
        assert (resource.etag, resource.last_modified) == (complete.etag, complete.last_modified)
    assert front.not_found.body == site.not_found.body


def test_front_dates_noticed_edits_as_the_full_load(settings: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings, cache_dir=tmp_path / "cache", updated_from="mtime")
    cache = ParseCache.for_settings(settings)
    load_corpus(settings, cache=cache)  # the records of every file as first seen
    seed = sorted(settings.articles.iterdir())[-1]
    seed.write_text(seed.read_text(encoding="utf-8") + "\nA correction.\n", encoding="utf-8")
    stamp = time.time() + 3600
    os.utime(seed, (stamp, stamp))
    gone = sorted(settings.articles.iterdir())[0]
    gone.unlink()  # a deletion, found by both alike
    os.utime(settings.articles, (stamp + 60, stamp + 60))
    front = load_front(settings, folder_keys(settings.articles), cache)
    full = load_corpus(settings, cache=cache)
    cache.close()
    assert rows(front) == rows(full)
    edited = [a for a in full.articles if a.edited is not None]
    assert [a.source for a in edited] == [seed.name]
    assert front.deleted == full.deleted and full.deleted is not None
    assert full.deleted.timestamp() == int(stamp + 60)


def test_front_takes_a_file_the_full_load_refuses(settings: Settings) -> None:
    """The one difference: a good date line over a text that cannot be published."""
    write(settings.articles, NAME, "2020-01-01\n\n" + "x" * 400 + "\n")  # the title too long
    front = load_front(settings, folder_keys(settings.articles))
    assert NAME in {a.source for a in front.articles}
    assert NAME not in {a.source for a in load_corpus(settings).articles}


LINES = st.sampled_from(
    ["", " ", "\t", "\ufeff", "\x0b", "\x01", "\x85", "\u2028", "Latest stories",
     "Tuesday, October 31, 2023", "2023-10-31", "Oct 31 2023", "Title", "Standfirst",
     "A paragraph of text.", "Tues\x02day, October 31, 2023", "31/10/2023", "\udcff"]
)  # fmt: skip


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_date_line_is_read_as_the_full_parse_reads_it(lines: list[str], end: str) -> None:
    data = end.join(lines).encode("utf-8", "surrogatepass")
    try:
        text, _ = decode_article(Path(NAME), data)
        full = parse_article(NAME, text, UTC)
    except ArticleError:
        return  # refused by the full read: the front may take it (see above)
    head = head_summary(NAME, data, UTC)
    assert (head.id, head.published, head.number) == (full.id, full.published, full.number)


def test_first_start_serves_the_front_then_the_rest(
    settings: Settings, held_render: threading.Event, tmp_path: Path
) -> None:
    watched = dataclasses.replace(settings, reload_interval=30, cache_dir=tmp_path / "cache")
    app = create_app(watched)
    client = app.test_client()
    state = app.extensions["feedsvc"]
    assert isinstance(state, SiteState)
    try:
        front = {path: client.get(path) for path in FRONT}
        assert all(response.status_code == 200 for response in front.values())
        corpus = load_corpus(settings)
        page = f"/articles/{corpus.articles[-1].id}/"
        for path in (page, "/page/2/", "/sitemap.xml", "/no/such/page"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["Cache-Control"] == "no-store"
        assert client.post("/feed.xml").status_code == 405
        assert client.post(page).status_code == 405
        health = client.get("/healthz")
        assert (health.status_code, health.data) == (200, b"ok, rendering\n")
        held_render.set()
        wait_until(lambda: state.site is not None and state.site.complete, 30, "the whole site")
        assert client.get(page).status_code == 200
        assert client.get("/no/such/page").status_code == 404
        assert client.get("/healthz").data == b"ok\n"
        for path, before in front.items():
            after = client.get(path)
            assert after.data == before.data, path
            assert after.headers["ETag"] == before.headers["ETag"]
            assert after.headers["Last-Modified"] == before.headers["Last-Modified"]
    finally:
        app.extensions["feedsvc.stop"].set()


def test_a_warm_cache_renders_the_complete_site_first(settings: Settings, tmp_path: Path) -> None:
    watched = dataclasses.replace(settings, reload_interval=30, cache_dir=tmp_path / "cache")
    cache = ParseCache.for_settings(watched)
    load_corpus(watched, cache=cache)  # a row for every file
    cache.close()
    state = SiteState(watched)
    state.serve_front()
    assert state.site is None  # the complete load is about as quick: no front


def test_retry_after_follows_the_pace_of_the_render(settings: Settings, tmp_path: Path) -> None:
    """The worker rendering and a worker waiting its turn give the same estimate."""
    cached = dataclasses.replace(settings, cache_dir=tmp_path / "cache")
    make_site_folder(cached)
    rendering, waiting = SiteState(cached), SiteState(cached)
    assert rendering.retry_after() == waiting.retry_after() == pace.DEFAULT_SECONDS
    work = rendering._pace
    work.start(400)
    work.advance(100)
    work.started -= 10  # 100 of 400 units in 10 s: 30 s to go
    work._write()
    assert rendering.retry_after() in (30, 31)
    assert waiting.retry_after() in (30, 31)
    work.advance(300)
    assert rendering.retry_after() == 1
    work.finish()
    assert waiting.retry_after() == pace.DEFAULT_SECONDS


@pytest.mark.parametrize("text", ["", "x y z", "nan 1 2", "1e9 5 2", "1e9 -1 2", "1e9 1"])
def test_a_damaged_pace_file_gives_the_default(
    settings: Settings, tmp_path: Path, text: str
) -> None:
    cached = dataclasses.replace(settings, cache_dir=tmp_path / "cache")
    folder = make_site_folder(cached)
    assert folder is not None
    (folder / pace.FILE).write_text(text)
    assert SiteState(cached).retry_after() == pace.DEFAULT_SECONDS


def test_the_pace_file_is_never_read_through_a_link(settings: Settings, tmp_path: Path) -> None:
    cached = dataclasses.replace(settings, cache_dir=tmp_path / "cache")
    folder = make_site_folder(cached)
    assert folder is not None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text(f"{time.time() - 10} 100 400\n")
    (folder / pace.FILE).symlink_to(elsewhere)
    assert SiteState(cached).retry_after() == pace.DEFAULT_SECONDS


def answers(url: str) -> int:
    """The status of a GET, 0 while the server does not accept connections yet."""
    try:
        return http_get(url)[0]
    except OSError:
        return 0


def test_first_start_over_http_never_a_503_for_the_feeds_once_served(
    articles_dir: Path, tmp_path: Path
) -> None:
    """Two granian workers, each taking requests once its own feeds are ready."""
    for number in range(6, 1506):
        day = 1 + number % 28
        text = article(f"2023-{1 + number % 12:02d}-{day:02d}", f"Article {number}", "Text. " * 80)
        write(articles_dir, f"{number:03d}_{number:016x}.txt", text)
    log = tmp_path / "server.log"
    env = {"FEEDSVC_TITLE": "Example News", "FEEDSVC_CACHE_DIR": str(tmp_path / "cache")}
    with running_server(articles_dir, log, env=env, wait=False) as server:
        wait_until(lambda: answers(server.url + "feed.xml") == 200, 30, "the first feed")
        statuses: set[int] = set()
        pages: set[int] = set()
        while log.read_text().count("serving ") < 2:
            statuses |= {http_get(server.url + path.lstrip("/"))[0] for path in FRONT}
            status, headers, _ = http_get(server.url + f"articles/{1000:016x}/")
            pages.add(status)
            assert status == 200 or int(headers["retry-after"]) >= 1
        assert statuses == {200}
        assert pages <= {200, 503}
        assert http_get(server.url + f"articles/{1000:016x}/")[0] == 200


def test_a_worker_waiting_its_turn_takes_what_the_first_rendered(
    settings: Settings, tmp_path: Path, rendered_pages: list[str]
) -> None:
    """Both workers serve their front; the first renders the rest into the cache folder,
    the second, after it, renders nothing."""
    watched = dataclasses.replace(settings, reload_interval=30, cache_dir=tmp_path / "cache")
    rendered = rendered_pages
    first, second = SiteState(watched), SiteState(watched)
    first.serve_front()
    second.serve_front()
    assert first.site is not None and second.site is not None and not second.site.complete
    assert first.refresh()
    assert len(rendered) == len(load_corpus(settings).articles)
    rendered.clear()
    assert second.refresh()
    assert rendered == []
    assert second.site is not None and second.site.complete
