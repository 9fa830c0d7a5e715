"""Attacks on the folders feedsvc reads: a folder swapped under the articles' links."""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.config import Settings
from feedsvc.repository import load_corpus

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
