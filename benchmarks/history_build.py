"""What dating costs in the build after one commit: ``history.py``'s second half.

``run_since`` times ``load_history`` given the history of the commit before (in memory,
and read back from the parse cache), and ``run_builds`` a whole ``feedsvc build`` after
one edit committed, with ``updated_from`` "git" and "none" in turn, in the same run.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from feedsvc.cache import ParseCache
from feedsvc.cachefolder import make_site_folder
from feedsvc.config import Settings
from feedsvc.history import History, load_history

Timing = tuple[float, float]  # median wall and CPU seconds
COMMITTER = ("-c", "user.name=A", "-c", "user.email=a@example.org")


def commit_edit(root: Path, name: str, date: str, text: bytes) -> None:
    """Commit a new text of ``articles/name`` at ``date`` (fast-import's "seconds offset")."""
    (root / "articles" / name).write_bytes(text)
    environment = {"PATH": os.environ["PATH"], "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1"}
    environment |= {"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    command = ["git", "-C", str(root), *COMMITTER, "commit", "-q", "-m", "edit", "--", "articles"]
    subprocess.run(command, env=environment, check=True)


def measure(run: Callable[[], object], repeat: int) -> Timing:
    """Return the median wall time and the median CPU time (with child processes') of
    ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        before, start = cpu_seconds(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - before)
    return statistics.median(walls), statistics.median(cpus)


def cpu_seconds() -> float:
    """This process's CPU time and that of its children waited for (git, feedsvc build)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_since(
    folder: Path, previous: History, moved: History, repeat: int
) -> list[tuple[str, Timing]]:
    """Time the look-up after one commit: ``previous`` is the history at its parent, and
    ``moved`` what ``load_history`` gives from it."""
    with tempfile.TemporaryDirectory(prefix="feedsvc-history-cache-") as temporary:
        settings = dataclasses.replace(Settings(), articles=folder, cache_dir=Path(temporary))
        cache = ParseCache(make_site_folder(settings), settings)
        try:
            cache.update_history(previous)
            stored = cache.history()
            assert stored is not None and stored.files == previous.files
            rows = [
                ("one commit since, in memory",
                 measure(lambda: load_history(folder, previous), repeat)),
                ("cache: read the history", measure(cache.history, repeat)),
                ("one commit since, from cache", measure(lambda: load_from(cache, folder), repeat)),
                ("cache: store the history", measure(lambda: cache.update_history(moved), repeat)),
            ]  # fmt: skip
        finally:
            cache.close()
    return rows


def load_from(cache: ParseCache, folder: Path) -> History | None:
    return load_history(folder, cache.history())


def run_builds(
    root: Path, pick: Callable[[int], tuple[str, str, datetime, bytes]], repeat: int
) -> dict[str, Timing]:
    """Time ``feedsvc build`` after each of ``repeat`` commits of one edit (``pick(n)``
    gives the file, the commit date and its text), with ``updated_from`` git and none."""
    times: dict[str, list[Timing]] = {"git": [], "none": []}
    with tempfile.TemporaryDirectory(prefix="feedsvc-history-build-") as temporary:
        work = Path(temporary)
        for source in times:  # the first builds: every file written, the caches filled
            build(root / "articles", work, source)
        for number in range(repeat):
            name, date, _, text = pick(number)
            commit_edit(root, name, date, text)
            for source in sorted(times, reverse=number % 2 == 1):  # alternate who goes first
                times[source].append(build(root / "articles", work, source))
    return {source: median_pair(runs) for source, runs in times.items()}


def build(articles: Path, work: Path, source: str) -> Timing:
    """Run ``feedsvc build`` once into ``work``'s folder for ``source``; its wall and CPU."""
    command = [sys.executable, "-m", "feedsvc", "build", "--articles", str(articles)]
    command += ["--out", str(work / f"public-{source}"), "--cache-dir", str(work / source)]
    command += ["--base-url", "https://news.example.org/"]
    environment = {**os.environ, "FEEDSVC_UPDATED_FROM": source}
    before, start = cpu_seconds(), time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, check=False)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - before
    if done.returncode != 0:
        raise SystemExit(f"feedsvc build failed: {os.fsdecode(done.stderr)}")
    return wall, cpu


def median_pair(runs: list[Timing]) -> Timing:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
