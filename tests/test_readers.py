"""A real feed reader library (reader, SQLite-backed, conditional requests) subscribed to a
live server through months of changes: one entry per article, edits as updates."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reader import Entry, Reader, make_reader

from feedsvc.entries import entry_id_of
from tests.conftest import BASE_URL, SEED, http_get, running_server, wait_until

FEEDS = ("feed.xml", "atom.xml", "feed.json")
SITE: dict[str, Any] = {"workers": 1, "base_url": BASE_URL}  # the same links on any port
ADDED = "900_00000000000000ad.txt"
RETITLED = "Kim Jong-un, North Korean Leader, to Visit Russia Soon: Kremlin"


def entries(reader: Reader, url: str) -> dict[str, Entry]:
    return {entry.id: entry for entry in reader.get_entries(feed=url)}


def refresh(reader: Reader) -> tuple[int, int]:
    """Update every feed; return how many entries were new and how many modified."""
    new = modified = 0
    for result in reader.update_feeds_iter(scheduled=False):  # now, not when scheduled
        assert not isinstance(result.value, Exception), result.value
        if result.value is not None:
            new += result.value.new
            modified += result.value.modified
    return new, modified


def served(url: str, text: str) -> Callable[[], bool]:
    return lambda: text.encode() in http_get(url + "feed.json")[2]


def test_a_reader_follows_additions_edits_titles_and_deletions(
    articles_dir: Path, tmp_path: Path
) -> None:
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    with running_server(articles_dir, tmp_path / "one.log", **SITE) as server:
        urls = [server.url + feed for feed in FEEDS]
        for url in urls:
            reader.add_feed(url)
        assert refresh(reader) == (18, 0)
        first = {url: entries(reader, url) for url in urls}
        assert all(len(found) == 6 for found in first.values())

        (articles_dir / ADDED).write_text(
            "2024-02-01\n\nA new article\n\n\nIts standfirst\n\nIts text.\n", "utf-8"
        )
        wait_until(served(server.url, "A new article"), 10, "the new article")
        assert refresh(reader) == (3, 0)

        edited_at = datetime(2024, 6, 1, 12, tzinfo=UTC)
        seed = articles_dir / SEED
        seed.write_text(seed.read_text("utf-8") + "\n\nA correction.\n", "utf-8")
        os.utime(seed, (edited_at.timestamp(), edited_at.timestamp()))
        wait_until(served(server.url, "A correction."), 10, "the edit")
        assert refresh(reader) == (0, 3)
        seed_entry = entry_id_of(SEED.removesuffix(".txt").split("_")[1])
        for url in urls:
            changed, before = entries(reader, url)[seed_entry], first[url][seed_entry]
            content = changed.get_content()
            assert content is not None and "A correction." in content.value
            assert changed.published == before.published
            if not url.endswith("feed.xml"):  # RSS 2.0 items have no updated date
                assert before.updated == before.published and changed.updated == edited_at

        text = seed.read_text("utf-8").replace("Kim Jong Un", "Kim Jong-un", 1)
        seed.write_text(text, "utf-8")
        wait_until(served(server.url, "Kim Jong-un, North Korean"), 10, "the new title")
        assert refresh(reader) == (0, 3)

        (articles_dir / ADDED).unlink()
        wait_until(lambda: not served(server.url, "A new article")(), 10, "the deletion")
        refresh(reader)
        for url in urls:
            assert len(entries(reader, url)) == 7  # one per article ever published
            titles = [entry.title for entry in entries(reader, url).values()]
            assert (
                titles.count("Kim Jong-un, North Korean Leader, to Visit Russia Soon: Kremlin") == 1
            )

    with running_server(articles_dir, tmp_path / "two.log", **SITE) as server:
        for url, feed in zip(urls, FEEDS, strict=True):
            reader.change_feed_url(url, server.url + feed)
        # A restart (on another port, the same site): nothing new or changed for a reader.
        assert refresh(reader) == (0, 0)


def test_a_restart_answers_the_validators_of_before_with_304(
    articles_dir: Path, tmp_path: Path
) -> None:
    with running_server(articles_dir, tmp_path / "one.log", **SITE) as server:
        validators = {feed: http_get(server.url + feed)[1] for feed in FEEDS}
    with running_server(articles_dir, tmp_path / "two.log", **SITE) as again:
        for feed, headers in validators.items():
            for name, value in (("If-None-Match", "etag"), ("If-Modified-Since", "last-modified")):
                status, _, _ = http_get(again.url + feed, {name: headers[value]})
                assert status == 304, (feed, name)
