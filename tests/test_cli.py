"""The command line: build, check, --strict, bad settings, and atomic replacement of the output."""

from __future__ import annotations

import errno
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner, Result

import feedsvc.output
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.hosting import HEADERS_FILE, NGINX_FILE, REDIRECTS_FILE, render_hosting_files
from feedsvc.output import MARKER, read_manifest
from feedsvc.repository import load_corpus
from feedsvc.resources import make_etag
from feedsvc.site import Site, render_site
from feedsvc.urls import NOT_FOUND_FILE, file_path
from tests.conftest import BASE_URL

HOSTING_FILES = {HEADERS_FILE, NGINX_FILE, REDIRECTS_FILE}
GOOD = "2023-10-31\n\nA good article\nStandfirst\n\nBody.\n"


def invoke(runner: CliRunner, *args: str | Path) -> Result:
    return runner.invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def build(runner: CliRunner, articles: Path, out: Path, *more: str) -> Result:
    return invoke(
        runner, "build", "--articles", articles, "--out", out, "--base-url", BASE_URL, *more
    )


def tree(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path below ``folder`` with its mode and, for files, its bytes."""
    return {
        str(path.relative_to(folder)): (
            path.lstat().st_mode,
            path.read_bytes() if path.is_file() and not path.is_symlink() else None,
        )
        for path in sorted(folder.rglob("*"))
    }


def leftovers(out: Path) -> list[str]:
    """Temporary folders of a build that are still beside ``out``."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp"))


def expected_files(site: Site) -> dict[str, bytes]:
    files = {file_path(path): resource.content() for path, resource in site.resources.items()}
    files[NOT_FOUND_FILE] = site.not_found.content()
    files.update(render_hosting_files(site))  # _headers and nginx.conf
    return files


# --- build ------------------------------------------------------------------------------------


def test_build_writes_every_resource(runner: CliRunner, articles_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    result = build(runner, articles_dir, out)
    assert result.exit_code == 0, result.output

    settings = Settings(articles=articles_dir, base_url=BASE_URL)
    corpus = load_corpus(settings)
    expected = expected_files(render_site(corpus, settings))
    required = {"feed.xml", "atom.xml", "feed.json", "index.html"}
    required |= {f"articles/{article.slug}/index.html" for article in corpus.articles}
    assert required <= expected.keys()
    written = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    written.pop(MARKER)
    assert written == expected  # the same bytes the server sends
    assert feedparser.parse(written["feed.xml"]).bozo == 0
    manifest = read_manifest(out)
    assert manifest is not None
    assert {file_path(path) for path in manifest.paths} == expected.keys() - HOSTING_FILES
    site = render_site(corpus, settings)
    for path, resource in {**site.resources, "/" + NOT_FOUND_FILE: site.not_found}.items():
        stored = manifest.stored(resource.signature)
        assert stored is not None, path
        assert stored.etag == make_etag(written[file_path(path)])
        assert stored.size == len(written[file_path(path)])

    assert result.stderr == ""
    assert f"wrote {len(expected) + 1} files to {out} ({len(corpus.articles)} articles)" in (
        result.stdout
    )
    assert leftovers(out) == []


def test_build_output_is_readable_by_a_web_server(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert build(runner, articles_dir, out).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o755


def test_build_defaults_to_public_in_the_current_folder(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    result = invoke(runner, "build", "--articles", articles_dir)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "public" / "feed.xml").is_file()


def test_build_takes_settings_from_file_environment_and_flags(
    runner: CliRunner, articles_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "feedsvc.toml").write_text(
        f'articles = "{articles_dir}"\ntitle = "From file"\nbase_url = "https://file.example/"\n'
    )
    monkeypatch.setenv("FEEDSVC_OUT", str(tmp_path / "from-env"))
    monkeypatch.setenv("FEEDSVC_BASE_URL", "https://env.example/")
    result = invoke(runner, "build", "--base-url", "https://flag.example/")
    assert result.exit_code == 0, result.output
    document = feedparser.parse((tmp_path / "from-env" / "atom.xml").read_bytes())
    assert document.feed.title == "From file"
    assert document.feed.link == "https://flag.example/"


def test_build_prints_problems_and_still_publishes(runner: CliRunner, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "001_00000000000000a1.txt").write_text(GOOD)
    (articles / "empty.txt").write_bytes(b"")
    (articles / "latin1.txt").write_bytes("2023-10-31\n\nCaf\xe9\n".encode("latin-1"))
    out = tmp_path / "public"
    result = build(runner, articles, out)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"{articles / 'empty.txt'}: empty file",
        f"{articles / 'latin1.txt'}: not valid UTF-8: byte 0xe9 at offset 15; save as UTF-8",
    ]
    assert "2 problem(s)" in result.stdout
    entries = feedparser.parse((out / "feed.xml").read_bytes()).entries
    assert [entry.title for entry in entries] == ["A good article"]


def test_strict_with_problems_exits_1_and_writes_nothing(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    (articles_dir / "broken.txt").write_text("not a date\n\nTitle\n")
    out = tmp_path / "public"
    result = build(runner, articles_dir, out, "--strict")
    assert result.exit_code == 1
    assert f"{articles_dir / 'broken.txt'}: line 1: cannot read date" in result.stderr
    assert not out.exists()
    assert leftovers(out) == []


def test_strict_with_problems_keeps_the_previous_output(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert build(runner, articles_dir, out).exit_code == 0
    before = tree(out)
    (articles_dir / "broken.txt").write_bytes(b"")
    assert build(runner, articles_dir, out, "--strict").exit_code == 1
    assert tree(out) == before


def test_strict_without_problems_builds(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    result = build(runner, articles_dir, out, "--strict")
    assert result.exit_code == 0, result.output
    assert (out / "feed.json").is_file()


# --- check ------------------------------------------------------------------------------------


def test_check_sample_articles_is_clean(runner: CliRunner, articles_dir: Path) -> None:
    result = invoke(runner, "check", "--articles", articles_dir)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    count = len(list(articles_dir.glob("*.txt")))
    assert result.stdout == f"{count} article(s) ok, 0 problem(s)\n"


def test_check_prints_each_problem_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "001_00000000000000a1.txt").write_text(GOOD)
    (articles / "002_00000000000000a1.txt").write_text(GOOD)
    (articles / "bad-date.txt").write_text("February 30, 2023\n\nTitle\n")
    (articles / "blank.txt").write_text("   \n")
    result = invoke(runner, "check", "--articles", articles)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{articles / '002_00000000000000a1.txt'}: duplicate id 00000000000000a1, "
        "already used by 001_00000000000000a1.txt; skipped",
        f"{articles / 'bad-date.txt'}: line 1: cannot read date 'February 30, 2023': "
        "day is out of range for month: February 30, 2023",
        f"{articles / 'blank.txt'}: file has only white space",
    ]
    assert result.stdout == "1 article(s) ok, 3 problem(s)\n"


def test_check_writes_nothing(runner: CliRunner, articles_dir: Path, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    assert invoke(runner, "check", "--articles", articles_dir).exit_code == 0
    assert sorted(tmp_path.rglob("*")) == before


# --- Bad settings -----------------------------------------------------------------------------


def _empty(tmp_path: Path) -> list[str]:
    (tmp_path / "empty").mkdir()
    return ["--articles", str(tmp_path / "empty")]


def _only_ignored(tmp_path: Path) -> list[str]:
    (tmp_path / "quiet").mkdir()
    (tmp_path / "quiet" / ".hidden.txt").write_text(GOOD)
    (tmp_path / "quiet" / "notes.md").write_text(GOOD)
    return ["--articles", str(tmp_path / "quiet")]


def _a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "file.txt").write_text(GOOD)
    return ["--articles", str(tmp_path / "file.txt")]


def _bad_toml(tmp_path: Path) -> list[str]:
    (tmp_path / "feedsvc.toml").write_text("item_limit = 0\n")
    return []


def _no_flags(tmp_path: Path) -> list[str]:
    return []


BAD_SETTINGS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "relative-base-url": (lambda _: ["--base-url", "relative/"], "absolute http(s) URL"),
    "unknown-timezone": (lambda _: ["--timezone", "Mars/Base"], "not a known IANA time zone"),
    "item-limit-zero": (lambda _: ["--item-limit", "0"], "whole number above 0"),
    "missing-folder": (lambda p: ["--articles", str(p / "nowhere")], "articles folder not found"),
    "empty-folder": (_empty, "no article files"),
    "only-ignored-files": (_only_ignored, "no article files"),
    "folder-is-a-file": (_a_file, "not a folder"),
    "missing-config": (lambda p: ["--config", str(p / "nowhere.toml")], "settings file not found"),
    "bad-settings-file": (_bad_toml, "item_limit from feedsvc.toml"),
    # FEEDSVC_BASEURL (a typo of FEEDSVC_BASE_URL) is set by the test for this case.
    "unknown-environment-variable": (_no_flags, "unknown setting 'baseurl' in the environment"),
}


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize(("make", "message"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_bad_settings_exit_2_with_one_line(
    runner: CliRunner,
    articles_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    make: Callable[[Path], list[str]],
    message: str,
) -> None:
    monkeypatch.setenv("FEEDSVC_ARTICLES", str(articles_dir))
    if make is _no_flags:
        monkeypatch.setenv("FEEDSVC_BASEURL", "https://typo.example/")
    args = make(tmp_path)
    out = ["--out", str(tmp_path / "public")] if command == "build" else []
    result = invoke(runner, command, *args, *out)
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("feedsvc: error: ")
    assert message in line
    assert not (tmp_path / "public").exists()


# --- Atomic replacement -----------------------------------------------------------------------


@pytest.fixture
def previous(runner: CliRunner, articles_dir: Path, tmp_path: Path) -> Path:
    """A first build in tmp_path/public, then an article added so a rebuild would differ."""
    out = tmp_path / "public"
    assert build(runner, articles_dir, out).exit_code == 0
    (articles_dir / "999_00000000000000ff.txt").write_text(GOOD)
    return out


def _raise_after(count: int, error: BaseException) -> Callable[..., None]:
    """A ``write_file`` that raises ``error`` after ``count`` files."""
    original = feedsvc.output.write_file
    calls: list[str] = []

    def write_file(path: str, body: bytes, stamp: float | None = None) -> None:
        if len(calls) >= count:
            raise error
        calls.append(path)
        original(path, body, stamp)

    return write_file


FAILURES = {
    "disk-full-at-first-file": (0, OSError(errno.ENOSPC, "No space left on device")),
    "disk-full-after-3-files": (3, OSError(errno.ENOSPC, "No space left on device")),
    "permission-denied-after-1": (1, PermissionError(errno.EACCES, "Permission denied")),
    "interrupted-after-2-files": (2, KeyboardInterrupt()),
}


@pytest.mark.parametrize(("count", "error"), FAILURES.values(), ids=FAILURES.keys())
def test_failed_build_leaves_previous_output_untouched(
    runner: CliRunner,
    articles_dir: Path,
    previous: Path,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    error: BaseException,
) -> None:
    before = tree(previous)
    monkeypatch.setattr(feedsvc.output, "write_file", _raise_after(count, error))
    result = runner.invoke(cli, ["build", "--articles", str(articles_dir), "--out", str(previous),
                                 "--base-url", BASE_URL])  # fmt: skip
    monkeypatch.undo()
    assert result.exit_code == 1
    if isinstance(error, OSError):
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"feedsvc: error: {previous}: cannot write the output")
        assert line.endswith("previous output kept")
    assert tree(previous) == before
    assert leftovers(previous) == []


@pytest.mark.parametrize("error", [OSError(errno.EIO, "I/O error"), KeyboardInterrupt()],
                         ids=["io-error", "interrupt"])  # fmt: skip
@pytest.mark.parametrize("mode", [(), ("--full",)], ids=["incremental", "full"])
def test_failure_after_all_files_are_written_keeps_previous_output(
    runner: CliRunner,
    articles_dir: Path,
    previous: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    mode: tuple[str, ...],
) -> None:
    before = tree(previous)
    finish = feedsvc.output._finish

    def fail_at_the_end(site: Site, *args: Any) -> None:
        finish(site, *args)
        raise error

    monkeypatch.setattr(feedsvc.output, "_finish", fail_at_the_end)
    assert build(runner, articles_dir, previous, *mode).exit_code == 1
    assert tree(previous) == before
    assert leftovers(previous) == []


def test_failed_swap_keeps_previous_output(
    runner: CliRunner, articles_dir: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(previous)

    def refuse(first: Path, second: Path) -> bool:
        raise OSError(errno.EIO, "I/O error", str(second))

    monkeypatch.setattr(feedsvc.output, "_exchange", refuse)
    assert build(runner, articles_dir, previous, "--full").exit_code == 1
    assert tree(previous) == before
    assert leftovers(previous) == []


def test_build_without_folder_exchange_replaces_output(
    runner: CliRunner, articles_dir: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedsvc.output, "_exchange", lambda first, second: False)
    assert build(runner, articles_dir, previous, "--full").exit_code == 0
    assert (previous / "articles" / "00000000000000ff" / "index.html").is_file()
    assert leftovers(previous) == []


def test_failed_second_rename_without_exchange_keeps_previous_output(
    runner: CliRunner, articles_dir: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(previous)
    rename = os.rename
    calls = []

    def rename_once(source: str | Path, target: str | Path) -> None:
        calls.append((source, target))
        if len(calls) == 2:  # the old output is already moved aside
            raise OSError(errno.EIO, "I/O error")
        rename(source, target)

    monkeypatch.setattr(feedsvc.output, "_exchange", lambda first, second: False)
    monkeypatch.setattr(os, "rename", rename_once)  # the os module feedsvc.output uses
    result = build(runner, articles_dir, previous, "--full")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert tree(previous) == before
    assert leftovers(previous) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_undeletable_old_output_does_not_fail_a_finished_build(
    runner: CliRunner,
    articles_dir: Path,
    previous: Path,
    monkeypatch: pytest.MonkeyPatch,
    exchange: bool,
) -> None:
    # E.g. a file the web server left in the old output that this user may not delete.
    rmtree = shutil.rmtree

    def rmtree_fails(path: str | Path, ignore_errors: bool = False) -> None:
        if not ignore_errors:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    if not exchange:
        monkeypatch.setattr(feedsvc.output, "_exchange", lambda first, second: False)
    monkeypatch.setattr(shutil, "rmtree", rmtree_fails)  # the shutil module feedsvc.output uses
    result = build(runner, articles_dir, previous, "--full")
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    assert (previous / "articles" / "00000000000000ff" / "index.html").is_file()
    for name in leftovers(previous):  # the next build removes them as stale
        rmtree(previous.parent / name)


def test_failed_first_build_leaves_nothing(
    runner: CliRunner, articles_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "public"
    full = OSError(errno.ENOSPC, "full")
    monkeypatch.setattr(feedsvc.output, "write_file", _raise_after(2, full))
    result = build(runner, articles_dir, out)
    monkeypatch.undo()
    assert result.exit_code == 1
    assert not out.exists()
    assert leftovers(out) == []


def test_rebuild_replaces_rather_than_merges(
    runner: CliRunner, articles_dir: Path, previous: Path
) -> None:
    (articles_dir / "999_00000000000000ff.txt").unlink()
    removed = sorted(articles_dir.glob("*.txt"))[-1]
    settings = Settings(articles=articles_dir, base_url=BASE_URL)
    slug = next(a.slug for a in load_corpus(settings).articles if a.source == removed.name)
    assert (previous / "articles" / slug).is_dir()
    removed.unlink()
    assert build(runner, articles_dir, previous).exit_code == 0
    assert not (previous / "articles" / slug).exists()
    assert leftovers(previous) == []


def test_stale_temporary_folder_of_a_killed_build_is_removed(
    runner: CliRunner, articles_dir: Path, previous: Path
) -> None:
    stale = previous.parent / f".{previous.name}.tmp-killed"
    stale.mkdir()
    (stale / "feed.xml").write_text("half")
    assert build(runner, articles_dir, previous).exit_code == 0
    assert leftovers(previous) == []


def _foreign_folder(out: Path) -> None:
    out.mkdir()
    (out / "precious.txt").write_text("not ours")


def _foreign_file(out: Path) -> None:
    out.write_text("not ours")


def _link_to_our_output(out: Path) -> None:
    real = out.with_name("real")
    real.mkdir()
    (real / MARKER).write_bytes(b"")
    out.symlink_to(real)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_foreign_folder, "folder exists and was not written by feedsvc build"),
        (_foreign_file, "exists and is not a folder"),
        (_link_to_our_output, "exists and is not a folder"),
    ],
    ids=["non-empty-folder", "file", "symlink"],
)
def test_build_refuses_to_replace_what_it_did_not_write(
    runner: CliRunner,
    articles_dir: Path,
    tmp_path: Path,
    make: Callable[[Path], None],
    message: str,
) -> None:
    out = tmp_path / "target"
    make(out)
    before = tree(tmp_path / "target") if out.is_dir() and not out.is_symlink() else None
    content = out.read_text() if out.is_file() else None
    result = build(runner, articles_dir, out)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line == f"feedsvc: error: {out}: {message}; " + (
        "empty it or choose another --out" if "written" in message else "choose another --out"
    )
    if before is not None:
        assert tree(out) == before
    if content is not None:
        assert out.read_text() == content
    assert out.is_symlink() == (make is _link_to_our_output)
    assert leftovers(out) == []


def test_build_fills_an_empty_existing_folder(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    out.mkdir()
    assert build(runner, articles_dir, out).exit_code == 0
    assert (out / "index.html").is_file()


def test_build_into_the_articles_folder_is_refused(runner: CliRunner, articles_dir: Path) -> None:
    before = {p.name: p.read_bytes() for p in articles_dir.iterdir()}
    result = build(runner, articles_dir, articles_dir)
    assert result.exit_code == 2
    assert result.output == (
        f"feedsvc: error: setting out: {str(articles_dir)!r} must be outside the articles folder\n"
    )
    assert {p.name: p.read_bytes() for p in articles_dir.iterdir()} == before


def test_file_mtimes_are_the_last_modified_of_each_resource(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    assert build(runner, articles_dir, first).exit_code == 0
    os.utime(articles_dir / "003_7ae450fa8aea6a04.txt", (1, 1))  # mtimes of inputs do not leak
    assert build(runner, articles_dir, second).exit_code == 0
    settings = Settings(articles=articles_dir, base_url=BASE_URL)
    site = render_site(load_corpus(settings), settings)
    for path, resource in site.resources.items():
        for out in (first, second):
            stamp = (out / file_path(path)).stat().st_mtime
            assert stamp == resource.last_modified.timestamp(), path


def test_large_builds_log_progress_lines_without_a_terminal(
    runner: CliRunner, tmp_path: Path, articles_dir: Path
) -> None:
    articles = tmp_path / "many"
    articles.mkdir()
    for n in range(1000):
        (articles / f"{n:04d}_{n:016x}.txt").write_text(f"2024-01-01\n\nT{n}\n", "utf-8")
    result = build(runner, articles, tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    rendering = [line for line in lines if line.startswith("rendering pages: ")]
    assert rendering == [f"rendering pages: {n}/1000" for n in range(100, 1001, 100)]
    small = build(runner, articles_dir, tmp_path / "out2")  # 6 articles: no progress lines
    assert small.exit_code == 0 and "rendering pages" not in small.stderr


def test_builds_on_a_terminal_draw_a_bar_that_ends_at_100_percent(tmp_path: Path) -> None:
    articles = tmp_path / "many"
    articles.mkdir()
    for n in range(2000):
        (articles / f"{n:04d}_{n:016x}.txt").write_text(f"2024-01-01\n\nT{n}\n", "utf-8")
    terminal, child_end = pty.openpty()
    command = [sys.executable, "-m", "feedsvc", "build", "--articles", str(articles),
               "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=child_end) as process:
        os.close(child_end)
        shown = b""
        while chunk := _read_terminal(terminal):
            shown += chunk
        assert process.wait(timeout=60) == 0
    os.close(terminal)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())  # cursor hidden, shown
    bars = [bar.strip() for bar in text.split("\r") if "rendering pages" in bar]
    assert bars[-1].startswith("rendering pages") and bars[-1].endswith("100%")
    assert len(bars) >= 10  # drawn as it goes


def _read_terminal(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child's end is closed
        return b""


@pytest.mark.parametrize(("source", "dated"), [("mtime", True), ("none", False)])
def test_updated_from_on_the_command_line(
    runner: CliRunner,
    articles_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    dated: bool,
) -> None:
    """--updated-from beats the file and the environment: an edit noticed by a second
    build with the same cache is dated under mtime, not under none."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    flags = ("--cache-dir", str(cache), "--updated-from", source)
    assert build(runner, articles_dir, out, *flags).exit_code == 0
    edited = sorted(articles_dir.iterdir())[-1]
    edited.write_text(edited.read_text("utf-8") + "\nA correction.\n", "utf-8")
    later = edited.stat().st_mtime + 86_400 * 3650
    os.utime(edited, (later, later))
    monkeypatch.setenv("FEEDSVC_UPDATED_FROM", "mtime" if source == "none" else "none")
    assert build(runner, articles_dir, out, *flags).exit_code == 0
    items = json.loads((out / "feed.json").read_bytes())["items"]
    modified = [item for item in items if item["date_modified"] != item["date_published"]]
    assert bool(modified) is dated


def test_updated_from_refuses_another_source(runner: CliRunner, articles_dir: Path) -> None:
    result = runner.invoke(
        cli, ["build", "--articles", str(articles_dir), "--updated-from", "ctime"]
    )
    assert result.exit_code == 2
    assert "'ctime' is not one of 'auto', 'git', 'mtime', 'none'" in result.output
