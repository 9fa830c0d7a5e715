"""Incremental static builds: rewriting only what changed gives the output of a full build."""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import feedsvc.output
from feedsvc.cli import cli
from feedsvc.hosting import HEADERS_FILE, NGINX_FILE
from feedsvc.output import MARKER, read_manifest
from feedsvc.urls import NOT_FOUND_FILE, file_path
from tests.conftest import BASE_URL

SEED = "000_cab78a8f5eee25a1.txt"  # the oldest sample article: on the last index page
SEED_PAGE = Path("articles/cab78a8f5eee25a1/index.html")
MIDDLE = "003_7ae450fa8aea6a04.txt"  # on index page 2 of 3
NEW = "006_00000000000000ab.txt"
# Two entries per feed and per index page: archives and three index pages from six samples.
# Edits dated by what the cache noticed would differ from a build with a fresh cache:
# tests/test_edit_dates.py covers them.
CONFIG = 'page_size = 2\nitem_limit = 2\nupdated_from = "none"\n'

File = tuple[int, bytes, int]  # mode, bytes, mtime in ns


def invoke(runner: CliRunner, *args: str | Path) -> Result:
    return runner.invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feedsvc.toml"
    path.write_text(CONFIG, "utf-8")
    return path


@pytest.fixture
def make(
    runner: CliRunner, articles_dir: Path, config: Path, tmp_path: Path
) -> Callable[..., Result]:
    """Build the articles into a folder with a cache folder; flags go on the command line."""

    def build(out: Path, *more: str, cache: str = "cache") -> Result:
        return invoke(runner, "build", "--config", config, "--articles", articles_dir,
                      "--out", out, "--cache-dir", tmp_path / cache, "--base-url", BASE_URL,
                      *more)  # fmt: skip

    return build


def files(folder: Path) -> dict[str, File]:
    """Every file below ``folder`` with its mode, bytes and mtime."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mode,
            path.read_bytes(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def folders(folder: Path) -> dict[str, int]:
    """Every folder below ``folder`` with its mode."""
    return {
        str(path.relative_to(folder)): path.stat().st_mode
        for path in sorted(folder.rglob("*"))
        if path.is_dir()
    }


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp"))


def written(result: Result) -> int:
    match = re.search(r"^wrote (\d+) files? to ", result.stdout, re.MULTILINE)
    assert match is not None, result.output
    return int(match[1])


def assert_same_output(out: Path, expected: Path, published: dict[str, File] | None = None) -> None:
    """The same folders and files, the same bytes and modes, the same mtimes.

    A resource's file has its Last-Modified as mtime. Where ``out`` held a file before
    the build (``published``), its mtime follows from that one instead: kept for the same
    bytes, later for new ones (never earlier than the Last-Modified), so that a web server
    deriving validators from mtime and size sees every change. The web server files and
    the marker are no resources (nothing sends them with a Last-Modified): their mtime is
    the time they were written, which the build does only when their bytes change.
    """
    assert folders(out) == folders(expected)
    got, want = files(out), files(expected)
    assert {HEADERS_FILE, NGINX_FILE, NOT_FOUND_FILE, MARKER} <= want.keys()
    assert got.keys() == want.keys()
    manifest = read_manifest(expected)
    assert manifest is not None
    resources = {file_path(path) for path in manifest.paths}
    assert resources < want.keys()
    published = published or {}
    for name, (mode, data, mtime) in want.items():
        assert got[name][:2] == (mode, data), name
        if name not in resources:
            continue
        if name not in published:
            assert got[name][2] == mtime, name
        elif published[name][1] == data:
            assert got[name][2] == published[name][2], name
        else:
            assert got[name][2] > published[name][2] and got[name][2] >= mtime, name
    assert leftovers(out) == []


# --- Changes ----------------------------------------------------------------------------------


def edit_body(folder: Path) -> None:
    path = folder / SEED
    path.write_text(path.read_text("utf-8") + "\nOne more paragraph.\n", "utf-8")


def add_article(folder: Path) -> None:
    (folder / NEW).write_text("2023-11-10\n\nAdded\nStandfirst\n\nBody.\n", "utf-8")


def remove_article(folder: Path) -> None:
    (folder / SEED).unlink()


def change_title(folder: Path) -> None:
    path = folder / MIDDLE
    lines = path.read_text("utf-8").split("\n")
    lines[2] = "A new title for the library"
    path.write_text("\n".join(lines), "utf-8")


def move_to_the_front(folder: Path) -> None:
    """Date the oldest article after the others: from the last index page to the first."""
    path = folder / SEED
    text = path.read_text("utf-8")
    path.write_text(text.replace("Tuesday, October 31, 2023", "2023-12-01", 1), "utf-8")


def no_change(folder: Path) -> None:
    pass


CHANGES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "edited-body": (edit_body, ()),
    "added-article": (add_article, ()),
    "removed-article": (remove_article, ()),
    "changed-title": (change_title, ()),
    "article-moved-across-index-pages": (move_to_the_front, ()),
    "changed-site-title": (no_change, ("--title", "Other News")),
    "changed-timezone": (no_change, ("--timezone", "Asia/Tokyo")),
    "added-websub-hub": (no_change, ("--hub", "https://hub.example.org/")),  # in _headers
}


@pytest.mark.parametrize(("change", "flags"), CHANGES.values(), ids=CHANGES.keys())
def test_incremental_build_equals_a_full_build(
    make: Callable[..., Result],
    articles_dir: Path,
    tmp_path: Path,
    change: Callable[[Path], None],
    flags: tuple[str, ...],
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    change(articles_dir)
    published = files(out)

    result = make(out, *flags)
    assert result.exit_code == 0, result.output
    full = make(tmp_path / "fresh", "--full", *flags, cache="fresh-cache")
    assert full.exit_code == 0, full.output

    assert_same_output(out, tmp_path / "fresh", published)
    assert written(result) < written(full)


def test_changes_one_after_another_equal_a_full_build(
    make: Callable[..., Result], articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    for change in (add_article, edit_body, change_title, move_to_the_front, remove_article):
        change(articles_dir)
        published = files(out)
        assert make(out).exit_code == 0
        fresh = tmp_path / change.__name__
        assert make(fresh, "--full", cache=f"{change.__name__}-cache").exit_code == 0
        assert_same_output(out, fresh, published)


def test_the_full_flag_gives_the_same_output(
    make: Callable[..., Result], articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    change_title(articles_dir)
    published = files(out)
    assert make(out, "--full").exit_code == 0
    assert make(tmp_path / "fresh", cache="fresh-cache").exit_code == 0
    assert_same_output(out, tmp_path / "fresh", published)


def identities(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file below ``folder`` with its inode, mtime and bytes."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_ino,
            path.stat().st_mtime_ns,
            path.read_bytes(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_an_unchanged_rebuild_writes_only_the_marker(
    make: Callable[..., Result], tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    before = identities(out)

    result = make(out)

    assert result.exit_code == 0, result.output
    assert written(result) == 1
    after = identities(out)
    assert after.keys() == before.keys()
    for name in before.keys() - {MARKER}:
        assert after[name] == before[name], name  # not even replaced by the same bytes
    assert after[MARKER][2] == before[MARKER][2]
    assert leftovers(out) == []


def test_a_removed_article_leaves_no_page_and_no_folder(
    make: Callable[..., Result], articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    assert (out / SEED_PAGE).is_file()
    remove_article(articles_dir)

    assert make(out).exit_code == 0

    assert not (out / SEED_PAGE).exists()
    assert not (out / SEED_PAGE).parent.exists()
    assert (out / "articles").is_dir()
    manifest = read_manifest(out)
    assert manifest is not None
    assert "/" + SEED_PAGE.parent.as_posix() + "/" not in manifest.paths
    assert leftovers(out) == []


# --- A damaged marker -------------------------------------------------------------------------


def empty(text: bytes) -> bytes:
    return b""


def not_utf8(text: bytes) -> bytes:
    return b"\xff\xfe" + text[2:]


def other_format(text: bytes) -> bytes:
    return text.replace(b"manifest 1\n", b"manifest 999\n", 1)


def cut_mid_line(text: bytes) -> bytes:
    return text[: len(text) // 2]


def cut_before_the_removed_page(text: bytes) -> bytes:
    """Cut at a line end: the lines from that of the page of the article removed are gone."""
    line = b"\n/" + SEED_PAGE.parent.as_posix().encode() + b"/\t"
    return text[: text.index(line) + 1]


def size_not_a_number(text: bytes) -> bytes:
    return re.sub(rb"\t(\d+)\n", rb"\t\1x\n", text, count=1)


def size_missing(text: bytes) -> bytes:
    return re.sub(rb"\t\d+\n", rb"\n", text, count=1)


def a_line_of_garbage(text: bytes) -> bytes:
    head, rest = text.split(b"\n", 1)
    return head + b"\nnot a manifest line\n" + rest


DAMAGED: dict[str, Callable[[bytes], bytes]] = {
    "empty": empty,
    "not-utf8": not_utf8,
    "other-format": other_format,
    "cut-mid-line": cut_mid_line,
    "cut-at-a-line-end": cut_before_the_removed_page,
    "a-line-of-garbage": a_line_of_garbage,
    "size-not-a-number": size_not_a_number,
    "size-missing": size_missing,
}


@pytest.mark.parametrize("damage", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_marker_gives_the_right_output(
    make: Callable[..., Result],
    articles_dir: Path,
    tmp_path: Path,
    damage: Callable[[bytes], bytes],
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    marker = out / MARKER
    marker.write_bytes(damage(marker.read_bytes()))

    result = make(out)  # nothing changed but the marker

    assert result.exit_code == 0, result.output
    assert make(tmp_path / "fresh", "--full", cache="fresh-cache").exit_code == 0
    assert_same_output(out, tmp_path / "fresh")
    assert written(make(out)) == 1  # healed: the next build has nothing to write

    marker.write_bytes(damage(marker.read_bytes()))
    listed = read_manifest(out) is not None
    remove_article(articles_dir)
    change_title(articles_dir)
    published = files(out)

    result = make(out)

    assert result.exit_code == 0, result.output
    assert make(tmp_path / "changed", "--full", cache="changed-cache").exit_code == 0
    if not listed:
        # No manifest says the removed article's page was written by a build: a build
        # deletes only the files a manifest lists, so it stays.
        assert (out / SEED_PAGE).is_file()
        shutil.rmtree(out / SEED_PAGE.parent)
    assert_same_output(out, tmp_path / "changed", published)


def test_a_marker_line_pointing_outside_the_output_deletes_nothing(
    make: Callable[..., Result], tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    outside = tmp_path / "outside.html"
    outside.write_text("not ours")
    marker = out / MARKER
    head, *lines, _end, _ = marker.read_bytes().split(b"\n")
    lines.append(b"/../outside.html\t" + b"0" * 32 + b'\t"x"\t8')
    marker.write_bytes(b"\n".join([head, *lines, b"end %d" % len(lines), b""]))

    assert make(out).exit_code == 0  # the line's resource is gone: its file would be stale

    assert outside.read_text() == "not ours"


# --- A failed build ---------------------------------------------------------------------------


def fail_after(count: int) -> Callable[[str, bytes, float | None], None]:
    """A ``write_file`` that fills the disk after ``count`` files."""
    original = feedsvc.output.write_file
    calls: list[str] = []

    def write_file(path: str, body: bytes, stamp: float | None = None) -> None:
        if len(calls) >= count:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        calls.append(path)
        original(path, body, stamp)

    return write_file


@pytest.mark.parametrize("count", [0, 1, 3, 6])
def test_a_build_failing_while_staging_keeps_the_previous_output(
    make: Callable[..., Result],
    articles_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
) -> None:
    out = tmp_path / "public"
    assert make(out).exit_code == 0
    before = files(out)
    inodes = {name: os.stat(out / name).st_ino for name in before}
    for change in (add_article, edit_body, change_title, remove_article):
        change(articles_dir)

    monkeypatch.setattr(feedsvc.output, "write_file", fail_after(count))
    result = make(out)
    monkeypatch.undo()

    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"feedsvc: error: {out}: cannot write the output")
    assert line.endswith("previous output kept")
    assert files(out) == before
    assert {name: os.stat(out / name).st_ino for name in before} == inodes
    assert leftovers(out) == []

    assert make(out).exit_code == 0  # the next build completes the change
    assert make(tmp_path / "fresh", "--full", cache="fresh-cache").exit_code == 0
    assert_same_output(out, tmp_path / "fresh", before)
