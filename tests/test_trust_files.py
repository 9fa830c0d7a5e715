"""Attacks on the folders feedsvc reads and writes: a folder swapped under the articles'
links, an output folder that holds the articles, files the build did not write."""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.errors import BuildError
from feedsvc.output import MARKER, FolderStore
from feedsvc.repository import load_corpus

SEED = "000_cab78a8f5eee25a1.txt"  # one of the sample articles
SEED_ID = "cab78a8f5eee25a1"
OTHER_USER = 65534  # nobody
DAY = "Tuesday, October 31, 2023\n\n"

# Swaps two names in one step, again and again, until killed (Linux renameat2).
RENAMER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
first, second = (os.fsencode(a) for a in sys.argv[1:3])
print("ready", flush=True)
while True:
    libc.renameat2(-100, first, -100, second, 2)
"""


@pytest.fixture
def racing(tmp_path: Path) -> Iterator[Path]:
    """An articles folder whose link leads through ``sub``, swapped with a link outside."""
    articles = tmp_path / "articles"
    (articles / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text(DAY + "SECRET from outside\n\nNot to be published.\n")
    (outside / "x.txt").chmod(0o600)
    (articles / "sub" / "x.txt").write_text(DAY + "Inside title\n\nPublished.\n")
    (articles / "001_00000000000000a1.txt").symlink_to("sub/x.txt")
    (articles / "evil").symlink_to("../outside")
    renamer = subprocess.Popen(
        [sys.executable, "-c", RENAMER, str(articles / "sub"), str(articles / "evil")],
        stdout=subprocess.PIPE,
    )
    try:
        assert renamer.stdout is not None and renamer.stdout.readline() == b"ready\n"
        yield articles
    finally:
        renamer.kill()
        renamer.wait()
        assert renamer.stdout is not None
        renamer.stdout.close()


def titles_of_repeated_loads(articles: Path, seconds: float) -> list[str]:
    settings = dataclasses.replace(Settings(), articles=articles, cache_dir=None)
    titles = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        corpus = load_corpus(settings)
        titles += [corpus.full(summary).title for summary in corpus.articles]
    return titles


@pytest.mark.parametrize("opening", ["openat2", "descriptor-check"])
def test_a_folder_swapped_for_a_link_outside_never_publishes_outside(
    racing: Path, opening: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if opening == "descriptor-check":  # as on a kernel without openat2

        def missing(folder: int, relative: str, flags: int) -> int:
            raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))

        monkeypatch.setattr("feedsvc.reading.openat2_beneath", missing)
    titles = titles_of_repeated_loads(racing, 2.0)
    assert "Inside title" in titles  # the race ran both ways
    assert not [title for title in titles if "SECRET" in title]


# --- The output folder a build replaces ------------------------------------------------------


def build(runner: CliRunner, articles: Path, out: Path, *more: str) -> Result:
    arguments = ["build", "--articles", str(articles), "--out", str(out), *more]
    return runner.invoke(cli, arguments, catch_exceptions=False)


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        (lambda articles: articles / "public", "must be outside the articles folder"),
        (lambda articles: articles, "must be outside the articles folder"),
        (lambda articles: articles / "sub" / "public", "must be outside the articles folder"),
        (lambda articles: articles.parent, "must not contain the articles folder"),
    ],
    ids=["inside", "the-same", "deeper-inside", "holding-it"],
)
def test_an_output_folder_inside_the_articles_folder_is_refused(
    runner: CliRunner, articles_dir: Path, where: Callable[[Path], Path], problem: str
) -> None:
    before = sorted(articles_dir.rglob("*"))
    out = where(articles_dir)

    result = build(runner, articles_dir, out)

    assert result.exit_code == 2
    assert result.output == f"feedsvc: error: setting out: {str(out)!r} {problem}\n"
    assert sorted(articles_dir.rglob("*")) == before


def test_a_folder_with_a_stray_marker_keeps_the_files_no_build_wrote(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    out.mkdir()
    (out / MARKER).touch()  # empty: it lists nothing
    (out / "precious.doc").write_bytes(b"the only copy")

    assert build(runner, articles_dir, out).exit_code == 0

    assert (out / "precious.doc").read_bytes() == b"the only copy"
    assert (out / "feed.xml").is_file()


def test_a_full_build_deletes_only_what_the_manifest_lists(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert build(runner, articles_dir, out).exit_code == 0
    (out / "precious.doc").write_bytes(b"placed by hand")
    (out / "articles" / "notes").mkdir()
    (out / "articles" / "notes" / "draft.txt").write_bytes(b"a draft")
    (out / "link").symlink_to("precious.doc")
    seed_page = out / "articles" / SEED_ID / "index.html"
    (articles_dir / SEED).unlink()

    assert build(runner, articles_dir, out, "--full").exit_code == 0

    assert (out / "precious.doc").read_bytes() == b"placed by hand"
    assert (out / "articles" / "notes" / "draft.txt").read_bytes() == b"a draft"
    assert os.readlink(out / "link") == "precious.doc"
    assert not seed_page.exists()  # listed by the manifest: the build wrote it


def test_replacing_a_folder_keeps_its_mode_owner_and_group(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    assert build(runner, articles_dir, out).exit_code == 0
    owner = (OTHER_USER, OTHER_USER) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(out, *owner)
    out.chmod(0o2770)  # drwxrws---

    assert build(runner, articles_dir, out, "--full").exit_code == 0

    info = out.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o2770, *owner)


@pytest.mark.parametrize(
    "relative", ["../escaped.html", "articles/../../escaped.html", "/abs.html"]
)
def test_a_store_never_writes_outside_its_folder(tmp_path: Path, relative: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(BuildError, match="not a path inside the output folder"):
        FolderStore(folder).write(relative, b"body")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out"]
