"""One size of the scale benchmark: its folders, feedsvc's command lines, its results."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from scale_corpus import edit_article, newest_article
from scale_processes import Services, say
from scale_results import Results

WORKERS = 2  # feedsvc serve's default, passed explicitly; nginx gets as many
BASE_URL = "https://news.example.org/"


def help_flags(command: str) -> frozenset[str]:
    result = subprocess.run(
        [sys.executable, "-m", "feedsvc", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",  # "-m" looks in the current folder first: not a checkout's, but --source's
    )
    return frozenset(re.findall(r"--[a-z][a-z0-9-]*", result.stdout))


@dataclass(frozen=True, slots=True)
class Feedsvc:
    """Command lines for the feedsvc being measured; new flags only where --help lists them."""

    articles: Path
    cache: Path
    build_flags: frozenset[str]
    serve_flags: frozenset[str]

    def cache_args(self, flags: frozenset[str]) -> list[str]:
        return ["--cache-dir", str(self.cache)] if "--cache-dir" in flags else []

    def build(self, out: Path, jobs: int | None = None) -> list[str]:
        """``feedsvc build``; with ``jobs``, in that many processes (where --jobs exists)."""
        base = [sys.executable, "-m", "feedsvc", "build", "--articles", str(self.articles)]
        more = ["--jobs", str(jobs)] if jobs is not None and "--jobs" in self.build_flags else []
        return [*base, "--out", str(out), *self.cache_args(self.build_flags), *more]

    def serve(self, port: int) -> list[str]:
        base = [sys.executable, "-m", "feedsvc", "serve", "--host", "127.0.0.1"]
        options = ["--port", str(port), "--workers", str(WORKERS), "--articles", str(self.articles)]
        # A fixed base URL: without one, serve links to the port it listens on, and a
        # restart on another free port would render every page again.
        fixed = ["--base-url", BASE_URL] if "--base-url" in self.serve_flags else []
        return [*base, *options, *fixed, *self.cache_args(self.serve_flags)]


class Trash:
    """Folders a run replaces, moved aside with one rename and deleted after the last measurement.

    On ext4 without a journal (this machine's root filesystem), the inode allocator skips the
    inodes of files deleted in the last minutes, so creating many files right after deleting
    many makes each creation scan past them: the run after a large ``rmtree`` pays for it, by an
    amount that depends on what was deleted. A rename deletes nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.moved = 0

    def move(self, path: Path) -> None:
        """Rename ``path``, if it exists, into the trash under a new name; ``path`` is then free."""
        self.folder.mkdir(exist_ok=True)
        try:
            os.rename(path, self.folder / f"{self.moved + 1:04d}-{path.name}")
        except FileNotFoundError:
            return
        self.moved += 1

    def empty(self) -> None:
        if self.moved:
            say(f"deleting {self.moved} moved-aside folders")
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Bench:
    """One size's folders, tools and results."""

    root: Path
    size: int
    repeat: int
    wrk_seconds: int
    peer_limit: float
    feedsvc: Feedsvc
    services: Services
    results: Results
    log: Path
    trash: Trash
    edits: int = 0

    def edit(self) -> str:
        self.edits += 1
        marker = f"bench-edit-{self.edits}-{random.getrandbits(32):08x}"
        edit_article(newest_article(self.feedsvc.articles), marker)
        return marker
