"""Edits move an article's updated date: from git's history, or from the edits noticed in
its file; rewriting the same bytes changes nothing."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import lxml.etree
import pytest
from click.testing import CliRunner

from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.repository import Corpus, load_corpus
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
