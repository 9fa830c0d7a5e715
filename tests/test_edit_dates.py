"""Edits move an article's updated date: from git's history, or from the edits noticed in
its file; rewriting the same bytes changes nothing."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner

from feedsvc.cache import ParseCache
from feedsvc.cachefolder import DATABASE, site_folder
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.pages import render_article_page
from feedsvc.repository import Corpus, load_corpus
from feedsvc.site import render_site
from tests.conftest import BASE_URL, SEED, load_cached

ATOM = "{http://www.w3.org/2005/Atom}"
EDITED_AT = datetime(2024, 6, 1, 12, 30, 15, tzinfo=UTC)
SOURCES = ("auto", "mtime")


def dates_of(corpus: Corpus, source: str) -> tuple[datetime, datetime]:
    (summary,) = [s for s in corpus.articles if s.source == source]
    return summary.published, summary.updated


def edit(path: Path, moment: datetime, text: str = "A correction.") -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{text}\n", encoding="utf-8")
    os.utime(path, (moment.timestamp(), moment.timestamp()))


@pytest.fixture
def cached(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("source", SOURCES)
def test_an_edit_noticed_by_a_later_build_dates_the_article(cached: Settings, source: str) -> None:
    settings = dataclasses.replace(cached, updated_from=source)
    first = load_cached(settings)
    published, updated = dates_of(first, SEED)
    assert updated == published  # seen for the first time: never edited
    edit(settings.articles / SEED, EDITED_AT)
    published, updated = dates_of(load_cached(settings), SEED)
    assert updated == EDITED_AT and updated > published
    others = {s.source: s.updated for s in first.articles if s.source != SEED}
    assert {
        s.source: s.updated for s in load_cached(settings).articles if s.source != SEED
    } == others


def test_the_same_bytes_never_move_a_date(cached: Settings) -> None:
    edit(cached.articles / SEED, EDITED_AT)
    load_cached(cached)
    path = cached.articles / SEED
    edit(path, EDITED_AT + timedelta(days=1), "Another correction.")
    before = dates_of(load_cached(cached), SEED)
    data = path.read_bytes()
    later = (EDITED_AT + timedelta(days=30)).timestamp()
    os.utime(path, (later, later))  # touch
    assert dates_of(load_cached(cached), SEED) == before
    path.unlink()
    path.write_bytes(data)  # a re-export with the same bytes: a new inode and mtime
    assert dates_of(load_cached(cached), SEED) == before


def test_an_edit_through_a_running_servers_reload_is_dated(cached: Settings) -> None:
    first = load_cached(cached)
    edit(cached.articles / SEED, EDITED_AT)
    reloaded = load_corpus(cached, previous=first)
    assert dates_of(reloaded, SEED)[1] == EDITED_AT


def test_none_dates_no_edit(cached: Settings) -> None:
    settings = dataclasses.replace(cached, updated_from="none")
    load_cached(settings)
    edit(settings.articles / SEED, EDITED_AT)
    published, updated = dates_of(load_cached(settings), SEED)
    assert updated == published


# --- git ------------------------------------------------------------------------------------


def git(folder: Path, *args: str, date: datetime | None = None) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "GIT_CONFIG_NOSYSTEM": "1"}
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date.isoformat()
    subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)


def repository(tmp_path: Path, articles_dir: Path) -> tuple[Path, datetime]:
    """A repository of the sample articles, then a commit that fixes the seed article."""
    repo = tmp_path / "origin"
    shutil.copytree(articles_dir, repo / "articles")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Editor")
    git(repo, "config", "user.email", "editor@example.org")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Articles", date=datetime(2024, 1, 1, tzinfo=UTC))
    fixed_at = datetime(2024, 5, 2, 8, 15, tzinfo=timezone(timedelta(hours=2)))
    edit(repo / "articles" / SEED, EDITED_AT)
    git(repo, "commit", "-qam", "Fix a typo", date=fixed_at)
    return repo, fixed_at


def build(clone: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "feedsvc", "build", "--articles", str(clone / "articles")]
    command += ["--out", str(out), "--base-url", BASE_URL, "--cache-dir", str(out) + ".cache"]
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_two_clones_build_the_same_bytes_dated_by_the_fix_commit(
    tmp_path: Path, articles_dir: Path
) -> None:
    repo, fixed_at = repository(tmp_path, articles_dir)
    outputs = []
    for n, (zone, locale) in enumerate((("UTC", "C"), ("Pacific/Auckland", "C.UTF-8"))):
        clone = tmp_path / f"clone{n}"
        git(tmp_path, "clone", "-q", str(repo), str(clone))
        for path in (clone / "articles").iterdir():  # a checkout's mtimes: any at all
            os.utime(path, (n * 10**8, n * 10**8))
        out = tmp_path / f"public{n}"
        build(clone, out, {"TZ": zone, "LC_ALL": locale})
        outputs.append(files_of(out))
    assert outputs[0] == outputs[1]
    atom = lxml.etree.fromstring(outputs[0]["atom.xml"])
    seed_id = SEED.removesuffix(".txt").split("_")[1]
    (entry,) = [
        e for e in atom.iter(f"{ATOM}entry") if seed_id in e.find(f"{ATOM}link").get("href")
    ]
    assert datetime.fromisoformat(entry.find(f"{ATOM}updated").text) == fixed_at
    assert datetime.fromisoformat(atom.find(f"{ATOM}updated").text) == fixed_at


def test_a_shallow_clone_says_how_to_date_edits(tmp_path: Path, articles_dir: Path) -> None:
    repo, _ = repository(tmp_path, articles_dir)
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    done = build(clone, tmp_path / "public", {})
    warnings = [line for line in done.stderr.splitlines() if "shallow" in line]
    assert len(warnings) == 1 and "fetch-depth: 0" in warnings[0], done.stderr
    atom = lxml.etree.fromstring((tmp_path / "public" / "atom.xml").read_bytes())
    for entry in atom.iter(f"{ATOM}entry"):  # no git dates, no noticed edits: no edit times
        assert entry.find(f"{ATOM}updated").text == entry.find(f"{ATOM}published").text


def test_an_incremental_build_dates_an_edit_as_a_full_build_with_its_cache_does(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    def build(out: Path, *more: str) -> None:
        args = ["build", "--articles", str(articles_dir), "--out", str(out), "--base-url"]
        args += [BASE_URL, "--cache-dir", str(tmp_path / "cache"), *more]
        assert runner.invoke(cli, args, catch_exceptions=False).exit_code == 0

    build(tmp_path / "public")
    edit(articles_dir / SEED, EDITED_AT)
    build(tmp_path / "public")
    build(tmp_path / "full", "--full")
    assert files_of(tmp_path / "public") == files_of(tmp_path / "full")
    atom = lxml.etree.fromstring((tmp_path / "public" / "atom.xml").read_bytes())
    assert datetime.fromisoformat(atom.find(f"{ATOM}updated").text) == EDITED_AT


# --- deletions --------------------------------------------------------------------------------

DELETED_AT = datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC)  # after every sample article's date
RSS_DATE = "Sun, 03 Feb 2030 04:05:06 +0000"


def feed_dates(corpus: Corpus, settings: Settings) -> tuple[datetime, str]:
    """The Atom feed's own <updated> and the RSS feed's lastBuildDate."""
    site = render_site(corpus, settings)
    atom = lxml.etree.fromstring(site.resources["/atom.xml"].content())
    rss = lxml.etree.fromstring(site.resources["/feed.xml"].content())
    updated = datetime.fromisoformat(atom.find(f"{ATOM}updated").text)
    return updated, rss.find("channel/lastBuildDate").text


def delete_newest(settings: Settings, corpus: Corpus, moment: datetime) -> Path:
    """Delete the newest article's file, the folder's mtime then being ``moment``."""
    path = settings.articles / corpus.articles[0].source
    path.unlink()
    os.utime(settings.articles, (moment.timestamp(), moment.timestamp()))
    return path


@pytest.mark.parametrize("source", SOURCES)
def test_a_noticed_deletion_dates_the_feeds_and_is_kept(cached: Settings, source: str) -> None:
    settings = dataclasses.replace(cached, updated_from=source)
    first = load_cached(settings)
    assert first.deleted is None and feed_dates(first, settings)[0] == first.articles[0].updated
    path = delete_newest(settings, first, DELETED_AT + timedelta(microseconds=900))
    cache = ParseCache.for_settings(settings)
    try:
        reloaded = load_corpus(settings, first, cache)  # a server's reload
    finally:
        cache.close()
    assert reloaded.deleted == DELETED_AT  # cut to the second
    assert feed_dates(reloaded, settings) == (DELETED_AT, RSS_DATE)
    os.utime(settings.articles, (0, 0))  # later changes to the folder move nothing
    assert load_cached(settings).deleted == DELETED_AT  # a restart: from the cache folder
    path.write_text("Monday, January 1, 2001\n\nBack again\n\nA new text.\n", encoding="utf-8")
    again = load_cached(settings)
    assert again.deleted == DELETED_AT  # the deletion happened; the file is a new one
    assert feed_dates(again, settings)[0] == DELETED_AT


def test_a_deletion_is_not_noticed_without_the_cache_or_under_none(cached: Settings) -> None:
    first = load_cached(cached)
    delete_newest(cached, first, DELETED_AT)
    assert load_corpus(cached).deleted is None  # no record of the file: nothing to notice
    settings = dataclasses.replace(cached, updated_from="none")
    assert load_cached(settings).deleted is None
    assert load_cached(cached).deleted == DELETED_AT  # the records were kept meanwhile


def test_a_file_never_seen_whole_is_not_a_deletion(cached: Settings) -> None:
    load_cached(cached)
    extra = cached.articles / "900_0123456789abcdef.txt"
    extra.write_text("not an article", encoding="utf-8")  # a problem: no record
    load_cached(cached)
    extra.unlink()
    os.utime(cached.articles, (DELETED_AT.timestamp(), DELETED_AT.timestamp()))
    assert load_cached(cached).deleted is None


def test_a_committed_deletion_dates_the_feeds_of_every_clone(
    tmp_path: Path, articles_dir: Path
) -> None:
    repo, _ = repository(tmp_path, articles_dir)
    newest = load_corpus(dataclasses.replace(Settings(), articles=repo / "articles")).articles[0]
    deleted_at = datetime(2030, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-4)))
    (repo / "articles" / newest.source).unlink()
    git(repo, "commit", "-qam", "Withdraw an article", date=deleted_at)
    outputs = []
    for n in range(2):
        clone = tmp_path / f"clone{n}"
        git(tmp_path, "clone", "-q", str(repo), str(clone))
        build(clone, tmp_path / f"public{n}", {"TZ": ("UTC", "Asia/Tokyo")[n]})
        outputs.append(files_of(tmp_path / f"public{n}"))
    assert outputs[0] == outputs[1]
    atom = lxml.etree.fromstring(outputs[0]["atom.xml"])
    assert datetime.fromisoformat(atom.find(f"{ATOM}updated").text) == deleted_at


def test_a_deletion_not_committed_yet_counts_when_noticed_then_at_its_commit(
    tmp_path: Path, articles_dir: Path
) -> None:
    repo, _ = repository(tmp_path, articles_dir)
    settings = Settings(articles=repo / "articles", cache_dir=tmp_path / "cache")
    first = load_cached(settings)
    assert first.deleted is None
    delete_newest(settings, first, DELETED_AT)
    assert load_cached(settings).deleted == DELETED_AT  # git cannot date it yet
    committed_at = datetime(2031, 1, 1, tzinfo=UTC)
    git(repo, "commit", "-qam", "Withdraw an article", date=committed_at)
    assert load_cached(settings).deleted == committed_at  # git's date, as in any clone


DAMAGE = {
    # a damage, and whether the deletion is still known after it
    "a deletion without its time": ("UPDATE edits SET edited = NULL WHERE content = ''", False),
    "a time that is not one": ("UPDATE edits SET edited = 'soon' WHERE content = ''", False),
    "a hash that is not one": ("UPDATE edits SET content = 'x' WHERE content != ''", True),
}


@pytest.mark.parametrize(("damage", "kept"), DAMAGE.values(), ids=DAMAGE.keys())
def test_a_record_not_as_written_counts_for_nothing(
    cached: Settings, damage: str, kept: bool
) -> None:
    """A damaged record is a file seen for the first time: no edit, no deletion."""
    first = load_cached(cached)
    delete_newest(cached, first, DELETED_AT)
    assert load_cached(cached).deleted == DELETED_AT
    folder = site_folder(cached)
    assert folder is not None
    with sqlite3.connect(folder / DATABASE) as db:
        db.execute(damage)
    again = load_cached(cached)
    assert again.deleted == (DELETED_AT if kept else None)
    assert [s.updated for s in again.articles] == [s.updated for s in first.articles[1:]]


def test_an_edit_is_shown_in_the_sites_zone_not_the_committers(
    tmp_path: Path, articles_dir: Path
) -> None:
    repo, _ = repository(tmp_path, articles_dir)
    late = datetime(2024, 5, 9, 1, 30, tzinfo=timezone(timedelta(hours=9)))  # May 8 in UTC
    edit(repo / "articles" / SEED, EDITED_AT, "A later correction.")
    git(repo, "commit", "-qam", "Fix another typo", date=late)
    settings = Settings(articles=repo / "articles", base_url=BASE_URL, timezone="UTC")
    corpus = load_corpus(settings)
    (summary,) = [s for s in corpus.articles if s.source == SEED]
    assert summary.updated == late and summary.updated.utcoffset() == timedelta(0)
    page = lxml.html.fromstring(render_article_page(corpus.full(summary), settings))
    (updated,) = page.cssselect("p.updated time")
    assert updated.text == "Wednesday, May 8, 2024"
    assert updated.get("datetime") == "2024-05-08T16:30:00+00:00"
