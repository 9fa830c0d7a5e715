"""A cold build with several processes (setting ``jobs``) writes what one process writes."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import feedsvc.pages
import feedsvc.site
from feedsvc import parallel
from feedsvc.articles import Article, Summary
from feedsvc.cachefolder import DATABASE
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.output import MARKER, build_site, read_manifest
from feedsvc.pages import render_article_page
from feedsvc.parallel import Builder, build_jobs, merge_parts, share_paths
from feedsvc.repository import Corpus
from feedsvc.resources import Resource, Stored
from feedsvc.site import render_part, render_site
from feedsvc.urls import file_path
from tests.conftest import BASE_URL

CONFIG = 'page_size = 2\nitem_limit = 3\nupdated_from = "mtime"\n'
File = tuple[int, bytes, int]  # mode, bytes, mtime in ns
TARGET = "0000000000000007"  # the id of the article a broken build process fails on


def article(day: str, title: str, body: str = "Body.") -> str:
    return f"{day}\n\n{title}\nStandfirst of {title}\n\n{body}\n"


def write_corpus(folder: Path, count: int = 40) -> None:
    """Articles with ties of dates, a duplicate id, and files that are skipped or cleaned."""
    for number in range(count):
        day = f"2023-{1 + number % 12:02d}-{1 + number % 5:02d}"  # many on the same day
        name = f"{100 + number:03d}_{number:016x}.txt"
        (folder / name).write_text(article(day, f"Story {number}"), "utf-8")
    (folder / f"{100 + count:03d}_{3:016x}.txt").write_text(article("2024-01-01", "Dup"), "utf-8")
    (folder / "200_00000000000000b1.txt").write_bytes(b"\x00\x01binary\x00" * 10)
    (folder / "201_00000000000000b2.txt").write_bytes(b"2023-05-05\n\nLatin-1 \xe9\n")
    (folder / "202_00000000000000b3.txt").write_text("   \n\n", "utf-8")
    (folder / "203_00000000000000b4.txt").write_text(article("2023-06-06", "Bell\x07"), "utf-8")


@pytest.fixture
def corpus_dir(articles_dir: Path) -> Path:
    write_corpus(articles_dir)
    return articles_dir


@pytest.fixture
def make(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> Callable[..., Result]:
    """Build the corpus into ``out`` with ``jobs`` processes and the cache folder ``cache``."""
    config = tmp_path / "feedsvc.toml"
    config.write_text(CONFIG, "utf-8")

    def build(out: Path, jobs: int, cache: str = "cache", *more: str) -> Result:
        args = [
            "build",
            "--config",
            config,
            "--articles",
            corpus_dir,
            "--out",
            out,
            "--cache-dir",
            tmp_path / cache,
            "--base-url",
            BASE_URL,
            "--jobs",
            jobs,
            *more,
        ]
        return runner.invoke(cli, [str(arg) for arg in args])  # fmt: skip

    return build


@pytest.fixture
def renderers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[], list[int]]:
    """Return the ids of the processes that have rendered a part (``render_part``) so far."""
    log = tmp_path / "render-part.log"
    original = render_part

    def logged(*args: Any) -> Any:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return original(*args)

    monkeypatch.setattr(parallel, "render_part", logged)
    return lambda: [int(line) for line in log.read_text().split()] if log.exists() else []


def files(folder: Path) -> dict[str, File]:
    return {
        str(path.relative_to(folder)): (path.stat().st_mode, path.read_bytes(),
                                        path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }  # fmt: skip


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp"))


def assert_same_output(got: Path, want: Path) -> None:
    """Every file with the same mode and bytes, every resource's with the same mtime (the
    web server files and the marker are dated when written, in any build), the same
    manifest, and no temporary folder left."""
    manifest = read_manifest(want)
    assert manifest is not None
    resources = {file_path(path) for path in manifest.paths}
    mine, theirs = files(got), files(want)
    assert mine.keys() == theirs.keys()
    assert resources < theirs.keys() and MARKER in theirs
    for name, (mode, data, mtime) in theirs.items():
        assert mine[name][:2] == (mode, data), name
        if name in resources:
            assert mine[name][2] == mtime, name
    assert leftovers(got) == []


# --- The same output --------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [2, 3])
def test_processes_write_the_files_of_one(
    make: Callable[..., Result], tmp_path: Path, renderers: Callable[[], list[int]], jobs: int
) -> None:
    one = make(tmp_path / "one", 1, "cache-one")
    assert renderers() == []
    many = make(tmp_path / "many", jobs, "cache-many")
    assert one.exit_code == 0 and many.exit_code == 0, many.output
    assert len(set(renderers())) == jobs and os.getpid() not in renderers()
    assert many.output == one.output.replace("/one ", "/many ")  # the same problems, in order
    for problem in ("duplicate id", "binary file", "not valid UTF-8", "control character"):
        assert problem in one.output
    assert_same_output(tmp_path / "many", tmp_path / "one")


@pytest.fixture
def pages_rendered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[], list[int]]:
    """Return the ids of the processes that have rendered an index page so far."""
    log = tmp_path / "index-pages.log"
    original = feedsvc.pages.render_index_page

    def logged(*args: Any) -> Any:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return original(*args)

    monkeypatch.setattr(feedsvc.site, "render_index_page", logged)
    return lambda: [int(line) for line in log.read_text().split()] if log.exists() else []


def cache_rows(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of the parse cache's tables of files read and of edits noticed."""
    (database,) = folder.rglob(DATABASE)
    with closing(sqlite3.connect(database)) as db:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("files", "edits")
        }


def test_a_cold_build_leaves_the_cache_rows_of_one(
    make: Callable[..., Result], corpus_dir: Path, tmp_path: Path
) -> None:
    # The processes take each file's key as they read it (nothing listed them first).
    assert make(tmp_path / "one", 1, "cache-one").exit_code == 0
    assert make(tmp_path / "two", 2, "cache-two").exit_code == 0
    one, two = cache_rows(tmp_path / "cache-one"), cache_rows(tmp_path / "cache-two")
    assert len(one["files"]) == len(os.listdir(corpus_dir)) and one["edits"]
    assert one == two


def test_edits_noticed_through_the_cache_are_dated_alike(
    make: Callable[..., Result],
    corpus_dir: Path,
    tmp_path: Path,
    renderers: Callable[[], list[int]],
    pages_rendered: Callable[[], list[int]],
) -> None:
    assert make(tmp_path / "first", 1, "cache").exit_code == 0
    for name in ("105_0000000000000005.txt", "130_000000000000001e.txt"):
        path = corpus_dir / name
        path.write_text(path.read_text("utf-8") + "\nA later paragraph.\n", "utf-8")
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (corpus_dir / "131_000000000000001f.txt").unlink()  # a deletion dates the feeds
    os.utime(corpus_dir, (1_900_000_000, 1_900_000_000))
    shutil.copytree(tmp_path / "cache", tmp_path / "cache-copy")
    assert make(tmp_path / "one", 1, "cache").exit_code == 0
    index_pages = pages_rendered()
    assert make(tmp_path / "two", 2, "cache-copy").exit_code == 0
    assert len(set(renderers())) == 2
    assert os.getpid() not in pages_rendered()[len(index_pages) :]  # the processes' pages kept
    assert_same_output(tmp_path / "two", tmp_path / "one")
    assert files(tmp_path / "one") != files(tmp_path / "first")  # the edits are in it
    assert b"2030-03-17T17:46:40" in files(tmp_path / "one")["atom.xml"][1]  # the deletion


def test_a_full_build_over_an_earlier_output_keeps_its_mtimes_alike(
    make: Callable[..., Result], corpus_dir: Path, tmp_path: Path
) -> None:
    for out in ("one", "two"):
        assert make(tmp_path / out, 1, f"cache-{out}").exit_code == 0
    (corpus_dir / "110_000000000000000a.txt").write_text(article("2023-03-03", "New"), "utf-8")
    assert make(tmp_path / "one", 1, "none-1", "--full").exit_code == 0
    assert make(tmp_path / "two", 2, "none-2", "--full").exit_code == 0
    assert_same_output(tmp_path / "two", tmp_path / "one")


def test_a_build_on_an_earlier_output_runs_in_one_process(
    make: Callable[..., Result],
    corpus_dir: Path,
    tmp_path: Path,
    renderers: Callable[[], list[int]],
) -> None:
    assert make(tmp_path / "one", 1, "cache-one").exit_code == 0
    assert make(tmp_path / "two", 2, "cache-two").exit_code == 0
    rendered = len(renderers())
    (corpus_dir / "110_000000000000000a.txt").write_text(article("2023-03-03", "New"), "utf-8")
    assert make(tmp_path / "one", 1, "cache-one").exit_code == 0
    assert make(tmp_path / "two", 2, "cache-two").exit_code == 0
    assert len(renderers()) == rendered
    assert_same_output(tmp_path / "two", tmp_path / "one")


def test_progress_reaches_the_number_of_articles(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_corpus(settings.articles)
    monkeypatch.setattr(parallel, "PROGRESS_BATCH", 7)
    steps: list[int] = []
    with Builder(settings, 2) as builder:
        corpus = builder.load(None)
        build_site(lambda store: builder.render(corpus, store, steps.append), settings.out)
    assert sum(steps) == len(corpus.articles) == 47
    assert len(steps) > 2  # sent in batches, the last one short


# --- Failures ---------------------------------------------------------------------------------


def fail_in_a_process(action: Callable[[], None]) -> Callable[..., bytes]:
    """A page renderer that does ``action`` for the article TARGET in a build process."""
    parent, original = os.getpid(), render_article_page

    def render(article: Article, settings: Settings) -> bytes:
        if os.getpid() != parent and article.id == TARGET:
            action()
        return original(article, settings)

    return render


def boom() -> None:
    raise RuntimeError("boom")


def kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def explode_reading(path: Path | str, *args: Any) -> Any:
    raise RuntimeError(f"cannot read {os.path.basename(path)}")


FAILURES = {
    "raises-rendering": ("render", fail_in_a_process(boom), r"failed: RuntimeError: boom \(.+\)"),
    "killed-rendering": (
        "render",
        fail_in_a_process(kill),
        r"was killed by SIGKILL \(out of memory\?\)",
    ),
    "raises-reading": (
        "read",
        explode_reading,
        r"failed: RuntimeError: cannot read \d+_\w+\.txt \(.+\)",
    ),
}


@pytest.mark.parametrize(("step", "broken", "message"), FAILURES.values(), ids=FAILURES.keys())
@pytest.mark.parametrize("earlier", [True, False], ids=["over-output", "first-build"])
def test_a_failed_process_writes_nothing(
    make: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    broken: Callable[..., Any],
    message: str,
    earlier: bool,
) -> None:
    out = tmp_path / "public"
    if earlier:
        assert make(out, 1).exit_code == 0
    before = files(out) if earlier else None
    if step == "render":
        monkeypatch.setattr(feedsvc.site, "render_article_page", broken)
    else:
        monkeypatch.setattr(parallel, "read_parsed", broken)
    result = make(out, 2, "cache-2", "--full")
    monkeypatch.undo()
    assert result.exit_code == 1
    line = result.stderr.splitlines()[-1]
    assert re.fullmatch(
        rf"feedsvc: error: build process [12] of 2 {message}; nothing written, "
        r"the previous output is kept",
        line,
    ), result.stderr
    assert (files(out) if earlier else None) == before
    assert out.exists() == earlier
    assert leftovers(out) == []


# --- Jobs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_jobs_flag_is_one_line_and_exit_2(
    runner: CliRunner, corpus_dir: Path, tmp_path: Path, value: str
) -> None:
    out = tmp_path / "public"
    result = runner.invoke(cli, ["build", "--articles", str(corpus_dir), "--out", str(out),
                                 f"--jobs={value}"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        f"feedsvc: error: setting jobs from the command line: {value!r} "
        "must be a whole number above 0\n"
    )
    assert not out.exists()


def test_build_jobs(settings: Settings) -> None:
    two = dataclasses.replace(settings, jobs=2)
    assert build_jobs(dataclasses.replace(settings, jobs=1), False) == 1
    assert build_jobs(two, False) == 2  # no output yet
    settings.out.mkdir()
    (settings.out / MARKER).write_text("", "utf-8")
    assert build_jobs(two, False) == 1  # a build on it renders what changed
    assert build_jobs(two, True) == 2
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert build_jobs(two, True) == 1  # never forked from a threaded process
    finally:
        stop.set()
        thread.join()


# --- The parts and the whole, in one process -------------------------------------------------


class MemoryStore:
    """A Store that keeps nothing: bodies are dropped, as a FolderStore's are once written."""

    def known(self, signature: str, hot: bool) -> Stored | None:
        return None

    def put(self, path: str, resource: Resource, hot: bool = False) -> Resource:
        return resource.without_bodies()

    def read(self, etag: str, gzipped: bool) -> bytes:
        raise OSError("not kept")

    def flush(self) -> None:
        pass


START = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def corpora(draw: st.DrawFn) -> tuple[Corpus, Settings, int, dict[str, int]]:
    """Articles newest first (ties of dates, edits), settings with small pages and archives,
    a number of processes and which one read which article's file."""
    count = draw(st.integers(0, 40))
    hours = sorted(draw(st.lists(st.integers(0, 30), min_size=count, max_size=count)))
    articles = []
    for number, hour in enumerate(hours):
        edited = START + timedelta(hours=hour + 5) if number % 7 == 3 else None
        text = Article(f"{number:016x}", f"{number:03d}_{number:016x}.txt",
                       START + timedelta(hours=hour, seconds=number), digest=f"d{number}",
                       number=number, edited=edited, title=f"T{number}", standfirst="S",
                       paragraphs=("P",))  # fmt: skip
        articles.append(text)
    settings = Settings(base_url=BASE_URL, item_limit=draw(st.integers(1, 6)),
                        page_size=draw(st.integers(1, 6)))  # fmt: skip
    deleted = draw(st.sampled_from([None, START + timedelta(hours=2), START + timedelta(days=9)]))
    jobs = draw(st.integers(1, 4))
    owners = {a.source: draw(st.integers(0, jobs - 1)) for a in articles if draw(st.booleans())}
    newest = tuple(Summary(a.id, a.source, a.published, digest=a.digest, number=a.number,
                           edited=a.edited) for a in reversed(articles))  # fmt: skip
    return (
        Corpus(newest, (), settings=settings, bodies={a.id: a for a in articles}, deleted=deleted),
        settings,
        jobs,
        owners,
    )


@hypothesis_settings(max_examples=40, deadline=None)
@given(corpora())
def test_the_parts_and_the_rest_make_the_site(
    case: tuple[Corpus, Settings, int, dict[str, int]],
) -> None:
    corpus, settings, jobs, owners = case
    whole = render_site(corpus, settings, False, None, None, MemoryStore())
    shares = share_paths(corpus.articles, owners, jobs, settings)
    answers = []
    for paths in shares:
        resources, pages = render_part(corpus, settings, paths, None, MemoryStore())
        signed = {key: (sig, path) for key, (_, sig, path) in pages.items() if path in paths}
        answers.append((resources, signed, 0))
        assert resources.keys() <= paths
    assert sum(len(share) for share in shares) == len(frozenset().union(*shares))  # disjoint
    parts = {p for p in whole.resources if p == "/" or p.startswith(("/articles/", "/archive/",
                                                                       "/page/"))}  # fmt: skip
    assert frozenset().union(*shares) == parts
    rendered: list[str] = []
    again = render_site(corpus, settings, False, merge_parts(corpus.articles, answers), None,
                        CountingStore(rendered))  # fmt: skip
    assert list(again.resources) == list(whole.resources)
    for path, resource in whole.resources.items():
        assert (again.resources[path].etag, again.resources[path].last_modified) == (
            resource.etag, resource.last_modified)  # fmt: skip
    assert not set(rendered) & frozenset().union(*shares)


class CountingStore(MemoryStore):
    def __init__(self, rendered: list[str]) -> None:
        self.rendered = rendered

    def put(self, path: str, resource: Resource, hot: bool = False) -> Resource:
        self.rendered.append(path)
        return super().put(path, resource, hot)
