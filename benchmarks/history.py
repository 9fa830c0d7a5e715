"""Git look-up benchmark: ``history.load_history`` against what git and the disk cost alone.

Run by hand, never as a timed test:

    .venv/bin/python benchmarks/history.py
    .venv/bin/python benchmarks/history.py --files 10000 --commits 200 --repeat 5

It makes a git repository in a temporary folder (not timed): ``--files`` article files
of about 300 bytes in ``articles/`` (``NNNNNN_<16 hex>.txt``), written with
``git fast-import`` in ``--commits`` commits an hour apart (UTC offsets +01:00 and
-05:00 in turn). The first three quarters of the commits add the files; each of the
others edits ``--edits`` files picked at random and deletes one. A README outside the
folder changes in every commit. Then ``git reset --hard`` checks the files out.

Every result of ``load_history`` is first checked against what was generated (the files
alive, which were edited, and the date of each edit). Then, the page cache warm, in one
process, medians of ``--repeat`` runs:

- ``load_history(articles)``: its three git commands and the parsing;
- floor, git log: ``git log --name-only --no-renames --format=%H -- .`` in the folder, to
  /dev/null (the history walk and tree diffs alone, nothing parsed);
- floor, git status: ``git status --porcelain -uno -- .`` to /dev/null (a stat of every
  tracked file);
- floor, list and stat: ``os.scandir`` of the folder and a stat of each file, as a build
  does before reading anything;
- ``parse_log`` alone, of the log output captured once;
- ``load_history(articles, previous)`` with the result of an earlier call at the same HEAD
  (only ``git status`` runs).

Then it commits an edit of one file and times, against the floors git status and list and
stat: ``load_history(articles, previous)`` with ``previous`` at the parent commit (``git
log`` over the one commit since); reading the history back from a parse cache; the two
together, as a build does; and storing the moved history. Last,
unless ``--builds 0``, ``feedsvc build`` (a child process) into an output folder and cache
folder already filled, after each of ``--builds`` (3) more such commits, with
``FEEDSVC_UPDATED_FROM=git`` and ``none`` in turn (the one that goes first alternates):
what dating an edit from git costs a build, as the ratio of the two.

It prints wall and CPU seconds (this process's and its children's, from ``getrusage``,
which stays meaningful on a busy machine) and the ratios. ``load_history`` is
also timed once right after the checkout, before anything refreshed git's index: as in a
fresh CI clone, git status then hashes the files whose index entries are racy.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from history_build import commit_edit, measure, run_builds, run_since  # noqa: E402

from feedsvc.history import _LOG, History, load_history, parse_log  # noqa: E402

START = 1_700_000_000  # the first commit's time, seconds since 1970
OFFSETS = ("+0100", "-0500")
ENVIRONMENT = {"PATH": os.environ["PATH"], "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1"}


@dataclass
class Generated:
    """What the generated history should give: the date of each file's add and edit."""

    added: dict[str, datetime] = field(default_factory=dict)
    edited: dict[str, datetime] = field(default_factory=dict)


def commit_date(number: int) -> tuple[str, datetime]:
    """Return the fast-import date of commit ``number`` and the datetime git gives back."""
    offset = OFFSETS[number % 2]
    hours = int(offset[:3])
    zone = timezone(timedelta(hours=hours))
    when = datetime.fromtimestamp(START + 3600 * number, zone)
    return f"{START + 3600 * number} {offset}", when


def article(name: str, version: int) -> bytes:
    text = f"2024-01-01T00:00:00Z\n\nArticle {name}\n\nVersion {version}. " + "Text. " * 40
    return text.encode()


def stream(files: int, commits: int, edits: int, seed: int, expected: Generated) -> Iterator[bytes]:
    """Yield the fast-import stream of the history the module docstring describes."""
    rng = random.Random(seed)
    names = [f"{number:06d}_{rng.getrandbits(64):016x}.txt" for number in range(files)]
    adding = max(1, commits * 3 // 4)
    alive: list[str] = []
    for number in range(commits):
        date, when = commit_date(number)
        changes = [b"M 100644 inline README\n" + data(f"commit {number}\n".encode())]
        if number < adding:
            for name in names[number * files // adding : (number + 1) * files // adding]:
                changes.append(change(name, article(name, 0)))
                alive.append(name)
                expected.added[name] = when
        else:
            for name in rng.sample(alive, min(edits, len(alive))):
                changes.append(change(name, article(name, number)))
                expected.edited[name] = when
            gone = alive.pop(rng.randrange(len(alive)))
            changes.append(f"D articles/{gone}\n".encode())
            expected.added.pop(gone)
            expected.edited.pop(gone, None)
        message = data(f"commit {number}".encode())
        yield (f"commit refs/heads/main\ncommitter A <a@example.org> {date}\n").encode() + message
        yield b"".join(changes) + b"\n"


def change(name: str, content: bytes) -> bytes:
    return f"M 100644 inline articles/{name}\n".encode() + data(content)


def data(content: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(content), content)


def make_repository(root: Path, files: int, commits: int, edits: int) -> Generated:
    """Write the generated history into a new repository at ``root`` and check it out."""
    expected = Generated()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], env=ENVIRONMENT, check=True)
    importer = subprocess.Popen(
        ["git", "-C", str(root), "fast-import", "--quiet"], stdin=subprocess.PIPE, env=ENVIRONMENT
    )
    assert importer.stdin is not None
    for chunk in stream(files, commits, edits, 1, expected):
        importer.stdin.write(chunk)
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard"], env=ENVIRONMENT, check=True)
    return expected


def check(history: History | None, expected: Generated) -> History:
    """Return ``history`` once it is what the generated history should give."""
    assert history is not None and not history.shallow and not history.dirty
    assert set(history.files) == set(expected.added), "the files alive differ"
    for name, dates in history.files.items():
        assert dates.added == expected.added[name], name
        assert dates.edited == expected.edited.get(name), name
        assert dates.added.utcoffset() == expected.added[name].utcoffset(), name
    return history


def list_and_stat(folder: Path) -> int:
    with os.scandir(folder) as entries:
        return sum(entry.stat().st_size for entry in entries)


def git_to_null(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=folder, stdout=subprocess.DEVNULL, env=ENVIRONMENT, check=True
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=400)
    parser.add_argument("--edits", type=int, default=50, help="files edited per later commit")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="parent of the temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--builds", type=int, default=3, help="commits to time feedsvc build after (0: none)"
    )
    options = parser.parse_args(argv)
    temporary = Path(tempfile.mkdtemp(prefix="feedsvc-history-", dir=options.workdir))
    try:
        sizes = (options.files, options.commits, options.edits)
        run(temporary / "repo", *sizes, options.repeat, options.builds)
    finally:
        if options.keep:
            print(f"kept {temporary}")
        else:
            shutil.rmtree(temporary)


def run(root: Path, files: int, commits: int, edits: int, repeat: int, builds: int = 0) -> None:
    start = time.perf_counter()
    expected = make_repository(root, files, commits, edits)
    folder = root / "articles"
    print(
        f"{len(expected.added):,} files alive, {len(expected.edited):,} edited, {commits} commits"
    )
    print(f"generated and checked out in {time.perf_counter() - start:.1f} s (not timed)")
    start = time.perf_counter()
    history = load_history(folder)
    print(f"load_history right after the checkout, once: {time.perf_counter() - start:.3f} s")
    check(history, expected)
    time.sleep(1.1)  # then a status that writes the index: no entry is racy any more
    git_to_null(root, "status", "--porcelain")
    check(load_history(folder), expected)
    log = subprocess.run(  # what load_history parses, with its arguments
        ["git", "-c", "log.showRoot=true", *_LOG], cwd=folder, capture_output=True, check=True
    ).stdout
    previous = load_history(folder)
    rows = [
        ("load_history", measure(lambda: load_history(folder), repeat)),
        ("floor: git log --name-only", measure(lambda: git_log_floor(folder), repeat)),
        ("floor: git status -uno", measure(lambda: git_status_floor(folder), repeat)),
        ("floor: list and stat", measure(lambda: list_and_stat(folder), repeat)),
        ("parse_log of the log output", measure(lambda: parse_log(log, b"articles/"), repeat)),
        ("load_history, HEAD unchanged", measure(lambda: load_history(folder, previous), repeat)),
    ]
    print_rows(rows, f"medians of {repeat} runs, {len(log) / 1e6:.1f} MB of log output")
    assert previous is not None
    since = run_after_commits(root, expected, previous, commits, (repeat, builds))
    floors = {name: timing for name, timing in rows if name.startswith("floor")}
    print(f"\nafter one commit that edits one file, medians of {repeat} runs")
    print(f"  {'':30} {'wall':>8} {'CPU':>8}   this / git status, / list and stat (CPU)")
    status, listing = floors["floor: git status -uno"][1], floors["floor: list and stat"][1]
    for name, (wall_here, cpu_here) in since:
        ratios = f"{ratio(cpu_here, status)} {ratio(cpu_here, listing)}"
        print(f"  {name:30} {wall_here:7.3f}s {cpu_here:7.3f}s   {ratios}")


def ratio(this: float, other: float) -> str:
    """``this / other`` in six characters ("-" when ``other`` took no measurable time)."""
    return f"{this / other:6.2f}" if other else "     -"


def print_rows(rows: list[tuple[str, tuple[float, float]]], title: str) -> None:
    wall, cpu = rows[0][1]
    print(f"\n{title}")
    print(f"  {'':30} {'wall':>8} {'CPU':>8}   load_history / this (wall, CPU)")
    for name, (wall_here, cpu_here) in rows:
        ratios = f"{ratio(wall, wall_here)} {ratio(cpu, cpu_here)}" if name != rows[0][0] else ""
        print(f"  {name:30} {wall_here:7.3f}s {cpu_here:7.3f}s   {ratios}")


def run_after_commits(
    root: Path, expected: Generated, previous: History, commits: int, repeats: tuple[int, int]
) -> list[tuple[str, tuple[float, float]]]:
    """Commit one edit and time the look-up from ``previous`` (at its parent), ``repeats[0]``
    times; then ``feedsvc build`` after each of ``repeats[1]`` more such commits, with and
    without git's dates."""
    repeat, builds = repeats
    folder = root / "articles"
    names = sorted(expected.added)

    def pick(number: int) -> tuple[str, str, datetime, bytes]:
        name = names[number * 7919 % len(names)]
        date, when = commit_date(commits + number)
        return name, date, when, article(name, commits + number)

    name, date, when, text = pick(0)
    commit_edit(root, name, date, text)
    expected.edited[name] = when
    moved = check(load_history(folder, previous), expected)
    assert moved == check(load_history(folder), expected)
    rows = run_since(folder, previous, moved, repeat)
    if builds:
        timings = run_builds(root, lambda number: pick(number + 1), builds)
        rows += [(f"build, updated_from={source}", timings[source]) for source in timings]
        (git_wall, git_cpu), (none_wall, none_cpu) = timings["git"], timings["none"]
        print(f"\nfeedsvc build after one commit, git / none: wall {ratio(git_wall, none_wall)},"
              f" CPU {ratio(git_cpu, none_cpu)}")  # fmt: skip
    return rows


def git_log_floor(folder: Path) -> None:
    git_to_null(folder, "log", "--name-only", "--no-renames", "--format=%H", "--", ".")


def git_status_floor(folder: Path) -> None:
    git_to_null(folder, "status", "--porcelain", "-uno", "--", ".")


if __name__ == "__main__":
    main()
