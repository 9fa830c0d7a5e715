"""The parse cache and the body store: what a restart reads and renders again, what it trusts,
and how it survives a damaged, missing or unusable cache folder."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from flask.testing import FlaskClient

import feedsvc.cache
import feedsvc.pages
import feedsvc.site
import feedsvc.store
from feedsvc import repository
from feedsvc.cache import ParseCache
from feedsvc.cachefolder import DATABASE, site_folder
from feedsvc.config import Settings
from feedsvc.repository import Corpus, load_corpus
from feedsvc.resources import Resource, make_resource
from feedsvc.site import Site, render_site
from feedsvc.state import SiteState
from feedsvc.store import FOLDER as BODIES
from feedsvc.store import BlobStore
from feedsvc.urls import NOT_FOUND_FILE
from feedsvc.web import create_app
from tests.conftest import load_cached

MOMENT = datetime(2024, 1, 1, tzinfo=UTC)
SEED = "000_cab78a8f5eee25a1.txt"  # one of the sample articles
SEED_PAGE = "/articles/cab78a8f5eee25a1/"
# The resources a server keeps in memory; every other body goes to the store.
HOT = {"/", "/feed.xml", "/atom.xml", "/feed.json"}


def article_text(date: str = "2023-10-31", title: str = "Title") -> str:
    return f"{date}\n\n{title}\nStandfirst of {title}\n\nBody.\n"


# Beside the samples: explicit offsets, a UTC time, a warning and files that are skipped.
EXTRA: dict[str, bytes] = {
    "100_00000000000000a1.txt": article_text("2023-10-31T10:00:00+05:30", "Offset").encode(),
    "101_00000000000000a2.txt": article_text("2023-11-02T08:15:00Z", "Zulu").encode(),
    "102_00000000000000a3.txt": article_text("2023-11-01", "Control\x01 character").encode(),
    "103_00000000000000a4.txt": b"2023-10-31\n\nCaf\xe9\n\nBody.\n",
    "104_00000000000000a5.txt": b"",
    "105_00000000000000a1.txt": article_text("2023-11-04", "Same id as 100").encode(),
}


@pytest.fixture
def cached(settings: Settings, tmp_path: Path) -> Settings:
    """Settings over the samples and EXTRA, dates in Europe/Paris, with a cache folder."""
    for name, data in EXTRA.items():
        (settings.articles / name).write_bytes(data)
    return dataclasses.replace(settings, timezone="Europe/Paris", cache_dir=tmp_path / "cache")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the article files read, in order (each call of ``read_article``)."""
    names: list[str] = []
    original = repository.read_article

    def counting(path: Path | str, root: Path, settings: Settings) -> Any:
        names.append(os.path.basename(path))
        return original(path, root, settings)

    monkeypatch.setattr(repository, "read_article", counting)
    return names


def database(settings: Settings) -> Path:
    folder = site_folder(settings)
    assert folder is not None
    return folder / DATABASE


def connect(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path, isolation_level=None))


def stored_names(settings: Settings) -> set[str]:
    """The file names the cache has rows for, read without the cache's own filtering."""
    with connect(database(settings)) as db:
        return {name for (name,) in db.execute("SELECT name FROM files")}


def candidates(settings: Settings) -> list[str]:
    return sorted(repository.list_article_names(settings.articles))


def dates(corpus: Corpus) -> list[tuple[object, ...]]:
    """Each article's date as written, its offset, and its offset half a year on: a zone
    moves with its rules, a fixed offset does not."""
    return [
        (
            summary.published.isoformat(),
            summary.published.utcoffset(),
            (summary.published + timedelta(days=183)).utcoffset(),
        )
        for summary in corpus.articles
    ]


def view(corpus: Corpus) -> list[tuple[object, ...]]:
    """What users see of each article (its text read from its file when not kept)."""
    texts = []
    for summary in corpus.articles:
        article = corpus.full(summary)
        texts.append((summary.id, summary.source, summary.digest, summary.number,
                      article.title, article.standfirst, article.paragraphs))  # fmt: skip
    return [(*text, *date) for text, date in zip(texts, dates(corpus), strict=True)]


def problems(corpus: Corpus) -> list[str]:
    return [str(problem) for problem in corpus.problems]


def assert_same(corpus: Corpus, expected: Corpus) -> None:
    assert [s.id for s in corpus.articles] == [s.id for s in expected.articles]
    assert view(corpus) == view(expected)
    assert problems(corpus) == problems(expected)


# --- A restart ---------------------------------------------------------------------------------


def test_restart_reads_no_file_and_gives_the_same_corpus(
    cached: Settings, reads: list[str]
) -> None:
    cold = load_corpus(cached)
    reads.clear()
    first = load_cached(cached)
    assert sorted(reads) == candidates(cached)
    reads.clear()

    second = load_cached(cached)

    assert reads == []
    assert second.articles == first.articles
    assert dates(second) == dates(first)
    assert problems(second) == problems(first)
    assert_same(second, cold)  # reads the files for their text
    assert len(second.articles) == 6 + 3
    assert any("duplicate id 00000000000000a1" in p for p in problems(second))


def test_a_server_restart_parses_no_file(cached: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server lists the folder itself and hands the listing to the load.
    parsed: list[str] = []
    original = repository.read_parsed

    def counting(path: Path | str, *args: Any) -> Any:
        parsed.append(os.path.basename(path))
        return original(path, *args)

    monkeypatch.setattr(repository, "read_parsed", counting)
    assert SiteState(cached).refresh()
    assert sorted(parsed) == candidates(cached)
    parsed.clear()

    restarted = SiteState(cached)

    assert restarted.refresh()
    assert parsed == []
    assert restarted.site is not None and "/feed.xml" in restarted.site.resources


def test_problems_are_remembered_without_reading_the_files(
    cached: Settings, reads: list[str]
) -> None:
    folder = cached.articles
    (folder / "106_00000000000000a6.txt").write_bytes(b"   \n\n  \n")
    (folder / "107_00000000000000a7.txt").write_bytes(b"\x00\x01binary\x00" * 10)
    first = load_cached(cached)
    expected = {
        f"{folder / '103_00000000000000a4.txt'}: not valid UTF-8: byte 0xe9 at offset 15; "
        "save as UTF-8",
        f"{folder / '104_00000000000000a5.txt'}: empty file",
        f"{folder / '106_00000000000000a6.txt'}: file has only white space",
        f"{folder / '107_00000000000000a7.txt'}: binary file, not text",
        f"{folder / '102_00000000000000a3.txt'}: warning: "
        "removed 2 control character(s) XML 1.0 forbids",
    }
    assert expected <= set(problems(first))
    reads.clear()

    second = load_cached(cached)

    assert reads == []
    assert problems(second) == problems(first)


# --- What is read again -----------------------------------------------------------------------


def change_ctime(path: Path) -> None:
    """Change the mode of ``path`` and back, until the kernel's (maybe coarse) clock shows it."""
    before = path.stat().st_ctime_ns
    mode = stat.S_IMODE(path.stat().st_mode)
    for _ in range(1_000_000):
        os.chmod(path, mode ^ stat.S_IXUSR)
        os.chmod(path, mode)
        if path.stat().st_ctime_ns != before:
            return
    pytest.fail("ctime never changed")


def edit(path: Path) -> None:
    info = path.stat()
    path.write_text(article_text("2023-10-31", "Edited title"), "utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def touch(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def chmod(path: Path) -> None:
    os.chmod(path, 0o600)
    change_ctime(path)


def replace_same_size_and_mtime(path: Path) -> None:
    """Swap in a copy with one letter changed: same size and mtime, another inode."""
    info = path.stat()
    data = path.read_bytes()
    index = data.index(b"Kim")
    copy = path.with_name(".copy")
    copy.write_bytes(data[:index] + b"J" + data[index + 1 :])
    os.utime(copy, ns=(info.st_atime_ns, info.st_mtime_ns))
    os.replace(copy, path)
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (info.st_size, info.st_mtime_ns)
    assert after.st_ino != info.st_ino


CHANGES: dict[str, Callable[[Path], None]] = {
    "edit": edit,
    "touch": touch,
    "chmod": chmod,
    "same-size-and-mtime-new-inode": replace_same_size_and_mtime,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_changed_file_alone_is_read_again(
    cached: Settings, reads: list[str], change: Callable[[Path], None]
) -> None:
    load_cached(cached)
    change(cached.articles / SEED)
    reads.clear()

    corpus = load_cached(cached)

    assert reads == [SEED]
    assert_same(corpus, load_corpus(cached))
    reads.clear()
    load_cached(cached)
    assert reads == []  # what was read again is remembered


def test_edited_text_shows_after_a_restart(cached: Settings, reads: list[str]) -> None:
    load_cached(cached)
    edit(cached.articles / SEED)
    load_cached(cached)
    reads.clear()
    corpus = load_cached(cached)
    assert reads == []
    summary = next(s for s in corpus.articles if s.source == SEED)
    assert corpus.full(summary).title == "Edited title"


def test_a_deleted_file_leaves_the_corpus_and_the_cache(cached: Settings, reads: list[str]) -> None:
    load_cached(cached)
    assert SEED in stored_names(cached)
    (cached.articles / SEED).unlink()
    reads.clear()

    corpus = load_cached(cached)

    assert reads == []
    assert "cab78a8f5eee25a1" not in {s.id for s in corpus.articles}
    assert stored_names(cached) == set(candidates(cached))
    assert SEED not in stored_names(cached)
    assert_same(corpus, load_corpus(cached))


def test_a_renamed_file_is_read_under_its_new_name(cached: Settings, reads: list[str]) -> None:
    load_cached(cached)
    new = "050_00000000000000b1.txt"
    (cached.articles / SEED).rename(cached.articles / new)
    reads.clear()

    corpus = load_cached(cached)

    assert reads == [new]
    assert "00000000000000b1" in {s.id for s in corpus.articles}
    assert "cab78a8f5eee25a1" not in {s.id for s in corpus.articles}
    assert new in stored_names(cached)
    assert SEED not in stored_names(cached)
    assert_same(corpus, load_corpus(cached))


# --- What empties the cache -------------------------------------------------------------------


SETTINGS_CHANGES: dict[str, dict[str, object]] = {
    "timezone": {"timezone": "Asia/Kolkata"},
    "chrome_lines": {"chrome_lines": ("Body.",)},
    "max_file_bytes": {"max_file_bytes": 200},
}


@pytest.mark.parametrize("change", SETTINGS_CHANGES.values(), ids=SETTINGS_CHANGES.keys())
def test_a_settings_change_reads_everything_again(
    cached: Settings, reads: list[str], change: dict[str, object]
) -> None:
    load_cached(cached)
    other = dataclasses.replace(cached, **change)  # type: ignore[arg-type]
    expected = load_corpus(other)
    assert view(expected) != view(load_corpus(cached))  # the change shows in the corpus
    reads.clear()

    corpus = load_cached(other)

    assert sorted(reads) == candidates(cached)
    assert_same(corpus, expected)


def test_a_cache_of_another_format_is_emptied(
    cached: Settings, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    load_cached(cached)
    cache = ParseCache.for_settings(cached)
    cache.add_rendered([("signature", ('"etag"', 1, None))])
    cache.close()
    monkeypatch.setattr(feedsvc.cache, "FORMAT", feedsvc.cache.FORMAT + 1)
    reads.clear()

    cache = ParseCache.for_settings(cached)
    assert cache.entries() == {}
    assert cache.rendered() == {}
    corpus = load_corpus(cached, cache=cache)
    cache.close()

    assert sorted(reads) == candidates(cached)
    assert_same(corpus, load_corpus(cached))


# --- A damaged cache --------------------------------------------------------------------------


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00not a database\xff" * 256)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def files_table_garbled(path: Path) -> None:
    """Leave the header and the settings intact: the damage shows only when rows are read."""
    with connect(path) as db:
        (size,) = db.execute("PRAGMA page_size").fetchone()
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files'").fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xff" * size)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "garbage": garbage,
    "truncated": truncated,
    "files-table-garbled": files_table_garbled,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_cache_file_is_rebuilt(
    cached: Settings,
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None],
) -> None:
    load_cached(cached)
    path = database(cached)
    assert not path.with_name(DATABASE + "-wal").exists()  # everything is in the file
    damage(path)
    expected = load_corpus(cached)

    assert_same(load_cached(cached), expected)
    assert any(
        record.levelno == logging.WARNING and str(path) in record.getMessage()
        for record in caplog.records
    )

    load_cached(cached)  # a working cache again, at the latest here
    reads.clear()
    corpus = load_cached(cached)
    assert reads == []
    assert_same(corpus, expected)


Row = dict[str, object]  # a row of the files table by column name


def _same_key_rows(settings: Settings) -> tuple[list[str], list[Row]]:
    """The columns and rows of a cache written by a load of ``settings``."""
    with connect(database(settings)) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(files)")]
        rows = [dict(zip(columns, row, strict=True)) for row in db.execute("SELECT * FROM files")]
    return columns, rows


def _write_database(settings: Settings, columns: list[str], rows: list[Row]) -> None:
    """Replace the cache by a valid database whose ``files`` columns take any type."""
    path = database(settings)
    path.unlink()
    with connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute(
            "INSERT INTO meta VALUES ('fingerprint', ?)", (feedsvc.cache.fingerprint(settings),)
        )
        # No declared types: SQLite then keeps a number written as text as text.
        db.execute(f"CREATE TABLE files ({columns[0]} PRIMARY KEY, {', '.join(columns[1:])})")
        marks = ", ".join("?" for _ in columns)
        db.executemany(
            f"INSERT INTO files VALUES ({marks})", [[r[c] for c in columns] for r in rows]
        )


def _row_of(rows: list[Row], name: str) -> Row:
    return next(row for row in rows if row["name"] == name)


# Each gives the changes that turn a good row into one that must not be believed.
BAD_ROWS: dict[str, Callable[[Row], Row]] = {
    "published-not-a-date": lambda row: {"published": "not a date"},
    "published-naive": lambda row: {"published": "2023-10-31T00:00:00", "zone": ""},
    "published-a-number": lambda row: {"published": 20231031},
    "zone-unknown": lambda row: {"zone": "Nowhere/Land"},
    "size-as-text": lambda row: {"size": str(row["size"])},
    "mtime-as-real": lambda row: {"mtime_ns": float(cast(int, row["mtime_ns"]))},
    "inode-as-text": lambda row: {"ino": str(row["ino"])},
    "number-as-text": lambda row: {"number": str(row["number"])},
    "digest-a-number": lambda row: {"digest": 12},
    "id-a-number": lambda row: {"id": 12},
    "problems-not-json": lambda row: {"problems": "not json"},
    "problems-not-pairs": lambda row: {"problems": "[1]"},
    "problems-null": lambda row: {"problems": None},
}


def test_rows_written_by_another_program_are_used_when_right(
    cached: Settings, reads: list[str]
) -> None:
    load_cached(cached)
    columns, rows = _same_key_rows(cached)
    _write_database(cached, columns, rows)
    reads.clear()
    corpus = load_cached(cached)
    assert reads == []  # so that the tests below show the rows' types are checked
    assert_same(corpus, load_corpus(cached))


@pytest.mark.parametrize("bad", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_rows_of_wrong_types_are_not_trusted(
    cached: Settings, reads: list[str], bad: Callable[[Row], Row]
) -> None:
    load_cached(cached)
    columns, rows = _same_key_rows(cached)
    articles = [row for row in rows if row["id"] is not None]
    for row in articles:  # the keys stay right: only the wrong types give the rows away
        row.update(bad(row))
    _write_database(cached, columns, rows)
    expected = load_corpus(cached)
    reads.clear()

    corpus = load_cached(cached)
    assert set(reads) >= {str(row["name"]) for row in articles}
    assert_same(corpus, expected)

    reads.clear()
    corpus = load_cached(cached)
    assert reads == []
    assert_same(corpus, expected)


def test_a_row_without_article_or_problem_is_not_trusted(
    cached: Settings, reads: list[str]
) -> None:
    load_cached(cached)
    columns, rows = _same_key_rows(cached)
    row = _row_of(rows, SEED)
    for column in columns:
        if column not in ("name", "size", "mtime_ns", "ctime_ns", "ino"):
            row[column] = None
    row["problems"] = "[]"
    _write_database(cached, columns, rows)
    reads.clear()

    corpus = load_cached(cached)

    assert reads == [SEED]
    assert_same(corpus, load_corpus(cached))


# --- An unusable cache folder -----------------------------------------------------------------


def file_for_site_folder(settings: Settings) -> None:
    folder = site_folder(settings)
    assert folder is not None
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b"not a folder")


def file_for_cache_dir(settings: Settings) -> None:
    assert settings.cache_dir is not None
    settings.cache_dir.write_bytes(b"not a folder")


def folder_for_database(settings: Settings) -> None:
    database(settings).mkdir(parents=True)


BLOCKED: dict[str, Callable[[Settings], None]] = {
    "file-for-site-folder": file_for_site_folder,
    "file-for-cache-dir": file_for_cache_dir,
    "folder-for-database": folder_for_database,
}


@pytest.mark.parametrize("block", BLOCKED.values(), ids=BLOCKED.keys())
def test_an_unusable_cache_folder_means_loading_without_a_cache(
    cached: Settings,
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
    block: Callable[[Settings], None],
) -> None:
    block(cached)
    caplog.set_level(logging.WARNING, logger="feedsvc")
    expected = load_corpus(cached)
    for _ in range(2):
        reads.clear()
        cache = ParseCache.for_settings(cached)
        assert not cache.enabled
        corpus = load_corpus(cached, cache=cache)
        cache.close()
        assert sorted(reads) == candidates(cached)
        assert_same(corpus, expected)
    assert caplog.records
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert "running without it" in caplog.text


def skip_unless_permissions_apply(folder: Path) -> None:
    """Skip where this user writes into read-only folders (root with CAP_DAC_OVERRIDE)."""
    probe = folder / "probe"
    probe.mkdir()
    probe.chmod(0o500)
    try:
        (probe / "file").touch()
    except PermissionError:
        return
    finally:
        probe.chmod(0o700)
    pytest.skip("permissions do not stop this user")


def test_a_read_only_cache_folder_means_loading_without_a_cache(
    cached: Settings, reads: list[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    skip_unless_permissions_apply(tmp_path)
    assert cached.cache_dir is not None
    cached.cache_dir.mkdir()
    cached.cache_dir.chmod(0o500)
    caplog.set_level(logging.WARNING, logger="feedsvc")
    try:
        corpus = load_cached(cached)
        assert sorted(reads) == candidates(cached)
        assert_same(corpus, load_corpus(cached))
        assert "running without it" in caplog.text
    finally:
        cached.cache_dir.chmod(0o700)


def test_a_cache_that_became_read_only_still_loads(
    cached: Settings, reads: list[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    skip_unless_permissions_apply(tmp_path)
    load_cached(cached)
    folder = database(cached).parent
    edit(cached.articles / SEED)
    folder.chmod(0o500)
    database(cached).chmod(0o400)
    caplog.set_level(logging.WARNING, logger="feedsvc")
    try:
        reads.clear()
        corpus = load_cached(cached)
        assert SEED in reads
        assert_same(corpus, load_corpus(cached))
        assert "running without it" in caplog.text
    finally:
        folder.chmod(0o700)
        database(cached).chmod(0o600)


# --- Dates through the cache ------------------------------------------------------------------


def resources(site: Site) -> dict[str, Resource]:
    return {**site.resources, "/" + NOT_FOUND_FILE: site.not_found}


def assert_same_site(site: Site, expected: Site) -> None:
    got, want = resources(site), resources(expected)
    assert got.keys() == want.keys()
    for path, resource in want.items():
        assert got[path].content() == resource.content(), path
        assert got[path].content(gzipped=True) == resource.content(gzipped=True), path
        assert got[path].etag == resource.etag, path
        assert got[path].http_last_modified == resource.http_last_modified, path


DATES = [
    pytest.param("2023-07-14", id="summer-date"),
    pytest.param("2023-12-25", id="winter-date"),
    pytest.param("2023-03-26", id="day-clocks-go-forward"),
    pytest.param("2023-10-29T02:30:00", id="hour-repeated-when-clocks-go-back"),
    pytest.param("2023-07-14T23:30:00", id="summer-time"),
    pytest.param("2023-10-31T10:00:00+05:30", id="offset"),
    pytest.param("Tuesday, October 31, 2023 10:00 -0400", id="negative-offset"),
    pytest.param("2023-10-31T10:00:00Z", id="zulu"),
    pytest.param("2023-10-31 10:00 GMT", id="gmt"),
    pytest.param("2023-03-26T02:30:00", id="hour-skipped-when-clocks-go-forward"),
]


@pytest.mark.parametrize("date", DATES)
def test_dates_round_trip_to_byte_identical_resources(
    cached: Settings, reads: list[str], date: str
) -> None:
    (cached.articles / "200_00000000000000d1.txt").write_text(article_text(date, "Dated"))
    cold = render_site(load_corpus(cached), cached)
    load_cached(cached)
    reads.clear()

    warm = load_cached(cached)
    assert reads == []

    assert_same_site(render_site(warm, cached), cold)


# --- Rendered bodies in the cache folder ------------------------------------------------------


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often each renderer of ``feedsvc.site`` is called."""
    counts: dict[str, int] = {}
    names = ("render_article_page", "render_index_page", "render_not_found")
    for name in (*names, "build_documents", "build_json"):
        original = getattr(feedsvc.site, name)

        def counting(*args: Any, name: str = name, original: Any = original) -> Any:
            counts[name] = counts.get(name, 0) + 1
            return original(*args)

        monkeypatch.setattr(feedsvc.site, name, counting)
    return counts


@pytest.fixture
def served(cached: Settings) -> Settings:
    """Few entries per feed and page: archives and several index pages."""
    return dataclasses.replace(cached, item_limit=2, page_size=2)


def start(settings: Settings) -> tuple[ParseCache, BlobStore]:
    """Open the cache and the body store as a server process does when it starts."""
    folder = site_folder(settings)
    assert folder is not None
    cache = ParseCache.for_settings(settings)
    return cache, BlobStore(folder / BODIES, cache)


def render_served(settings: Settings) -> tuple[Site, Corpus, BlobStore]:
    cache, store = start(settings)
    corpus = load_corpus(settings, cache=cache, keep_bodies=False)
    return render_site(corpus, settings, store=store), corpus, store


def test_a_restart_renders_only_what_a_server_keeps_in_memory(
    served: Settings, renders: dict[str, int]
) -> None:
    cold = render_site(load_corpus(served), served)
    renders.clear()
    first, _, _ = render_served(served)
    assert_same_site(first, cold)
    assert renders["render_article_page"] == 9
    renders.clear()

    second, _, _ = render_served(served)

    # The feeds, the front page and the 404 page are always rendered; nothing else.
    assert renders == {
        "render_index_page": 1,
        "build_documents": 2,  # feed.xml and atom.xml
        "build_json": 1,
        "render_not_found": 1,
    }
    stored = {path for path, resource in second.resources.items() if resource.body is None}
    assert stored == second.resources.keys() - HOT
    assert any(path.startswith("/archive/") for path in stored)
    assert any(path.startswith("/page/") for path in stored)
    assert_same_site(second, cold)


def test_a_deleted_body_is_rendered_again_once_missed(
    served: Settings, renders: dict[str, int]
) -> None:
    cold = render_site(load_corpus(served), served)
    render_served(served)
    site, corpus, store = render_served(served)
    page = site.resources[SEED_PAGE]
    for body in store.folder.glob(page.etag.strip('"') + "*"):
        body.unlink()
    with pytest.raises(OSError):
        page.content()
    store.forget(page.etag)  # what a server does with a body it cannot read
    assert store.known(page.signature, False) is None
    renders.clear()

    again = render_site(corpus, served, store=store)

    assert renders["render_article_page"] == 1
    assert again.resources[SEED_PAGE].content() == cold.resources[SEED_PAGE].content()
    assert_same_site(again, cold)
    restarted, _, _ = render_served(served)
    assert_same_site(restarted, cold)


# --- The web app with a cache folder -----------------------------------------------------------


def remove_body_files(folder: Path) -> None:
    for body in (folder / BODIES).iterdir():
        body.unlink()


def remove_bodies_folder(folder: Path) -> None:
    shutil.rmtree(folder / BODIES)


def remove_cache_folder(folder: Path) -> None:
    shutil.rmtree(folder.parent)


MISSING_BODIES = [
    pytest.param(remove_body_files, id="body-files"),
    pytest.param(remove_bodies_folder, id="bodies-folder"),
    pytest.param(remove_cache_folder, id="cache-folder"),  # documented as safe at any time
]


def join_recovery() -> None:
    """Wait for the app's recovery of lost bodies, started by the failed request."""
    for thread in threading.enumerate():
        if thread.name == "feedsvc-recover":
            thread.join(timeout=30)
            assert not thread.is_alive()


@pytest.mark.parametrize("remove", MISSING_BODIES)
def test_the_app_serves_again_after_its_bodies_are_deleted(
    cached: Settings, remove: Callable[[Path], None]
) -> None:
    cold = render_site(load_corpus(cached), cached)
    app = create_app(cached)
    client: FlaskClient = app.test_client()
    feed = client.get("/feed.xml")
    assert feed.status_code == 200
    assert feed.data == cold.resources["/feed.xml"].content()
    page = client.get(SEED_PAGE)
    assert page.status_code == 200
    assert page.data == cold.resources[SEED_PAGE].content()
    folder = site_folder(cached)
    assert folder is not None
    remove(folder)

    missing = client.get(SEED_PAGE)
    join_recovery()

    assert missing.status_code == 503
    assert missing.headers["Retry-After"]
    app.extensions["feedsvc"].refresh()
    again = client.get(SEED_PAGE)
    assert again.status_code == 200
    assert again.data == cold.resources[SEED_PAGE].content()
    assert client.get("/feed.xml").data == cold.resources["/feed.xml"].content()


OPEN_TOGETHER = """
import logging, sys, time
from pathlib import Path
from feedsvc.cache import Entry, ParseCache
from feedsvc.filesystem import make_key
from feedsvc.config import Settings
logging.basicConfig(level=logging.WARNING)
articles, cache_dir, start, name = sys.argv[1:5]
while time.time() < float(start):
    pass
cache = ParseCache.for_settings(Settings(articles=Path(articles), cache_dir=Path(cache_dir)))
assert cache.enabled, "no cache"
cache.update({name: Entry(make_key(1, 2, 3, 4), None, (("a problem", True),))}, ())
"""


def test_workers_opening_a_new_cache_together_all_use_it(tmp_path: Path) -> None:
    # Server workers start at the same moment: none may take another's half-made
    # database for a damaged one and delete it.
    articles, cache_dir = tmp_path / "articles", tmp_path / "cache"
    articles.mkdir()
    start = time.time() + 2
    names = [f"{n:03d}_{n:016x}.txt" for n in range(6)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_TOGETHER, str(articles), str(cache_dir), str(start), name],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    errors = [run.communicate(timeout=60)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), errors
    assert not any("deleting" in text or "without it" in text for text in errors), errors
    cache = ParseCache.for_settings(Settings(articles=articles, cache_dir=cache_dir))
    assert sorted(cache.entries()) == names


def test_workers_starting_together_render_each_page_once(
    settings: Settings, tmp_path: Path, rendered_pages: list[str]
) -> None:
    # The first worker renders into the cache folder; the others wait for it and then
    # find every body there, instead of all rendering everything at once.
    settings = dataclasses.replace(settings, cache_dir=tmp_path / "cache")
    rendered = rendered_pages
    states = [SiteState(settings) for _ in range(3)]
    threads = [threading.Thread(target=state.refresh) for state in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    corpus = load_corpus(settings)
    assert sorted(rendered) == sorted(summary.id for summary in corpus.articles)
    sites = [state.site for state in states if state.site is not None]
    assert len(sites) == len(states)
    for path in sites[0].resources:
        assert len({site.resources[path].content() for site in sites}) == 1, path


def test_held_rows_are_written_by_write_held_or_close(cached: Settings) -> None:
    cache = ParseCache.for_settings(cached)
    cache.hold_writes()
    load_corpus(cached, cache=cache)
    assert stored_names(cached) == set()
    cache.write_held()
    assert stored_names(cached) == set(candidates(cached))
    cache.close()
    again = ParseCache.for_settings(cached)
    again.hold_writes()
    (cached.articles / SEED).unlink()
    load_corpus(cached, cache=again)
    assert SEED in stored_names(cached)
    again.close()
    assert stored_names(cached) == set(candidates(cached))


def test_the_store_writes_its_rows_as_it_goes(
    cached: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Held to the end, a first start's rows were a tenth of a worker's peak memory.
    monkeypatch.setattr(feedsvc.store, "ROWS_HELD", 2)
    folder = site_folder(cached)
    assert folder is not None
    cache = ParseCache.for_settings(cached)
    store = BlobStore(folder / BODIES, cache)
    for number in range(3):
        resource = make_resource(f"body {number}".encode(), "text/plain", MOMENT, "no-cache")
        store.put(f"/{number}", dataclasses.replace(resource, signature=f"s{number}"), False)
    assert sorted(cache.rendered()) == ["s0", "s1"]
    store.flush()
    assert sorted(cache.rendered()) == ["s0", "s1", "s2"]
    assert store.read(cache.rendered()["s2"][0], False) == b"body 2"
    cache.close()


def test_a_server_start_forgets_the_bodies_no_path_asks_for(served: Settings) -> None:
    # A new title changes every page and feed: the rows of the old ones would otherwise
    # be read into memory by every restart, however many releases and edits ago.
    before = SiteState(served)
    assert before.refresh()
    assert before.site is not None
    old = {r.signature for r in before.site.resources.values() if r.body is None}
    retitled = dataclasses.replace(served, title="Another title")
    after = SiteState(retitled)
    assert after.refresh()
    assert after.site is not None
    new = {r.signature for r in after.site.resources.values() if r.body is None}
    assert new and not new & old
    assert set(ParseCache.for_settings(retitled).rendered()) == new
    # The old site starts again, whole, rendering what was forgotten.
    again = SiteState(served)
    assert again.refresh()
    assert again.site is not None
    assert_same_site(again.site, render_site(load_corpus(served), served))
