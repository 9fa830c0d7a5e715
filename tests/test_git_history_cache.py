"""The git history kept in the parse cache: read back exactly, written as changes, never
trusted when a row is not as written, and moved on by the next build after a commit."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedsvc.cache import ParseCache
from feedsvc.cachefolder import DATABASE, site_folder
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.history import FileDates, History
from feedsvc.repository import load_corpus
from tests.conftest import BASE_URL, SEED, load_cached
from tests.test_git_history import GIT, Repo
from tests.test_git_history import git_runs as git_runs
from tests.test_git_history import home as home

ADDED = datetime(2024, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=45)))
EDITED = datetime(2024, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
# The same instant as ADDED in another zone: only the offset tells them apart.
ELSEWHERE = ADDED.astimezone(UTC)


@pytest.fixture
def cached(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


def stored(settings: Settings, history: History) -> None:
    cache = ParseCache.for_settings(settings)
    try:
        cache.update_history(history)
    finally:
        cache.close()


def read(settings: Settings) -> History | None:
    cache = ParseCache.for_settings(settings)
    try:
        return cache.history()
    finally:
        cache.close()


def exactly(history: History | None) -> object:
    """What must come back, offsets included (datetimes compare by instant only)."""
    if history is None:
        return None
    files = {
        name: (d.added.isoformat(), d.edited.isoformat() if d.edited else None)
        for name, d in history.files.items()
    }
    deleted = history.deleted.isoformat() if history.deleted else None
    return history.head, history.folder, history.shallow, files, deleted


def history_of(settings: Settings, head: str, **files: FileDates) -> History:
    return History(settings.articles, head, False, files, deleted=EDITED)


def test_a_history_reads_back_exactly_and_replaces_the_one_before(cached: Settings) -> None:
    first = history_of(
        cached, "a" * 40, one=FileDates(ADDED, None), two=FileDates(ADDED, EDITED),
        gone=FileDates(ELSEWHERE, None), utc=FileDates(ELSEWHERE, ELSEWHERE),
    )  # fmt: skip
    stored(cached, first)
    assert exactly(read(cached)) == exactly(first)
    files = {**first.files, "one": FileDates(ELSEWHERE, None), "new": FileDates(ADDED, EDITED)}
    del files["gone"]
    second = dataclasses.replace(first, head="b" * 64, files=files, deleted=None)
    stored(cached, second)
    assert exactly(read(cached)) == exactly(second)


def test_no_commit_yet_and_a_shallow_clone_read_back(cached: Settings) -> None:
    for history in (history_of(cached, ""), History(cached.articles, "d" * 40, True)):
        stored(cached, history)
        assert exactly(read(cached)) == exactly(history)


BAD: dict[str, str] = {
    "no row": "DELETE FROM git_history",
    "two rows": "INSERT INTO git_history SELECT * FROM git_history",
    "head an option": "UPDATE git_history SET head = '--output=x'",
    "head short": "UPDATE git_history SET head = 'abc'",
    "head a number": "UPDATE git_history SET head = 12",
    "folder a blob": "UPDATE git_history SET folder = X'2f'",
    "shallow 2": "UPDATE git_history SET shallow = 2",
    "shallow a text": "UPDATE git_history SET shallow = 'yes'",
    "dates not json": "UPDATE git_history SET dates = 'x'",
    "dates not a list": "UPDATE git_history SET dates = '{}'",
    "a pair of three": "UPDATE git_history SET dates = '[[1,0,null]]'",
    "a date a text": "UPDATE git_history SET dates = '[[\"1\",0,null,null],[1,0,2,0]]'",
    "a date a real": "UPDATE git_history SET dates = '[[1.5,0,null,null],[1,0,2,0]]'",
    "a date too late": "UPDATE git_history SET dates = '[[1e15,0,null,null],[1,0,2,0]]'",
    "an offset a day": "UPDATE git_history SET dates = '[[1,86400,null,null],[1,0,2,0]]'",
    "an offset missing": "UPDATE git_history SET dates = '[[1,0,2,null],[1,0,2,0]]'",
    "a pair missing": "UPDATE git_history SET dates = '[[1,0,null,null]]'",
    "a name missing": "UPDATE git_history SET names = 'one'",
    "a name twice": "UPDATE git_history SET names = 'one' || char(0) || 'one'",
    "names a blob": "UPDATE git_history SET names = CAST(names AS BLOB)",
    "pairs cut": "UPDATE git_history SET pairs = substr(pairs, 1, 6)",
    "pairs a text": "UPDATE git_history SET pairs = 'abcdefgh'",
    "deleted not json": "UPDATE git_history SET deleted = 'x'",
    "deleted a number": "UPDATE git_history SET deleted = 12",
    "deleted one of two": "UPDATE git_history SET deleted = '[1]'",
    "deleted an offset a day": "UPDATE git_history SET deleted = '[1,86400]'",
    "deleted a text date": "UPDATE git_history SET deleted = '[\"1\",0]'",
    "no table": "DROP TABLE git_history",
}


@pytest.mark.parametrize("damage", BAD.values(), ids=BAD.keys())
def test_a_history_not_as_written_is_not_used(cached: Settings, damage: str) -> None:
    history = history_of(cached, "a" * 40, one=FileDates(ADDED, None), two=FileDates(ADDED, EDITED))
    stored(cached, history)
    folder = site_folder(cached)
    assert folder is not None
    assert read(cached) is not None
    with sqlite3.connect(folder / DATABASE) as db:
        db.execute(damage)
    assert read(cached) is None


def test_a_stored_history_goes_with_another_fingerprint(cached: Settings) -> None:
    stored(cached, history_of(cached, "a" * 40, one=FileDates(ADDED, None)))
    assert read(dataclasses.replace(cached, timezone="Europe/Paris")) is None
    assert read(cached) is None


# --- a build after a commit ------------------------------------------------------------------


def commit_all(repo: Repo, day: int) -> None:
    repo.commit(f"2024-04-{day:02d}T09:30:00+02:00")


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_the_build_after_a_commit_reads_only_the_commits_since_the_last(
    runner: CliRunner, cached: Settings, tmp_path: Path, git_runs: Callable[[], list[str]]
) -> None:
    repo = Repo(cached.articles)
    commit_all(repo, 1)

    def build(out: Path, cache: Path) -> dict[str, bytes]:
        args = ["build", "--articles", str(cached.articles), "--out", str(out)]
        args += ["--base-url", BASE_URL, "--cache-dir", str(cache)]
        assert runner.invoke(cli, args, catch_exceptions=False).exit_code == 0
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    build(tmp_path / "public", tmp_path / "cache")
    (cached.articles / SEED).write_text((cached.articles / SEED).read_text() + "\n\nFixed.\n")
    commit_all(repo, 2)
    before = len(git_runs())
    after = build(tmp_path / "public", tmp_path / "cache")

    logs = [run for run in git_runs()[before:] if " log " in run]
    assert len(logs) == 1 and ".." in logs[0], logs
    assert after == build(tmp_path / "fresh", tmp_path / "empty cache")
    assert b"2024-04-02T07:30:00+00:00" in after["atom.xml"]  # in the site's zone
    stored_now = read(cached)
    assert stored_now is not None and stored_now.head == repo.git("rev-parse", "HEAD").strip()


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_a_damaged_stored_history_reads_the_whole_history_again(
    cached: Settings, git_runs: Callable[[], list[str]]
) -> None:
    repo = Repo(cached.articles)
    commit_all(repo, 1)
    load_cached(cached)
    folder = site_folder(cached)
    assert folder is not None
    with sqlite3.connect(folder / DATABASE) as db:
        db.execute("UPDATE git_history SET dates = replace(dates, '[[', '[[\"x\",')")
    (cached.articles / SEED).write_text((cached.articles / SEED).read_text() + "\n\nFixed.\n")
    commit_all(repo, 2)
    before = len(git_runs())

    corpus = load_cached(cached)

    logs = [run for run in git_runs()[before:] if " log " in run]
    assert len(logs) == 1 and ".." not in logs[0], logs
    fresh = load_corpus(cached)
    assert [(a.source, a.updated) for a in corpus.articles] == [
        (a.source, a.updated) for a in fresh.articles
    ]
    assert fresh.history is not None
    assert exactly(read(cached)) == exactly(fresh.history)
