"""The git dates moved on from an earlier result by the commits since it (``git log P..H``)
equal those of the whole history, on real repositories; and when they cannot be, the whole
history is read."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from feedsvc.history import Change, History, load_history, parse_range
from tests.test_git_history import GIT, Repo, exact, history_of, when
from tests.test_git_history import git_runs as git_runs
from tests.test_git_history import home as home

pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")
Runs = Callable[[], list[str]]


def as_text(history: History) -> dict[str, tuple[str, str | None] | None]:
    return {name: exact(dates) for name, dates in history.files.items()}


def moved_on(folder: Path, previous: History, runs: Runs | None = None) -> tuple[History, str]:
    """Return the history given ``previous`` once it equals a fresh one, and which ``git log``
    ran: "range", "whole" or "none"."""
    before = len(runs()) if runs is not None else 0
    history = load_history(folder, previous)
    logs = [run for run in (runs() if runs is not None else [])[before:] if " log " in run]
    kind = "none" if not logs else "range" if all(".." in run for run in logs) else "whole"
    fresh = history_of(folder)
    assert history is not None
    assert (history.head, history.dirty) == (fresh.head, fresh.dirty)
    assert as_text(history) == as_text(fresh)
    assert stamp(history.deleted) == stamp(fresh.deleted)
    return history, kind


def stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@pytest.fixture
def folder(repo: Repo) -> Path:
    for name in ("a.txt", "b.txt", "c.txt"):
        repo.write(f"articles/{name}", f"{name} one")
    repo.commit(when(1, +1))
    return repo.root / "articles"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def test_each_kind_of_commit_is_read_from_the_range_alone(
    repo: Repo, folder: Path, git_runs: Runs
) -> None:
    history = history_of(folder)
    steps: list[Callable[[], object]] = [
        lambda: repo.write("articles/a.txt", "a edited"),
        lambda: repo.write("articles/d.txt", "d added"),
        lambda: (folder / "b.txt").unlink(),
        lambda: repo.write("articles/b.txt", "b added again"),
        lambda: repo.git("mv", "articles/c.txt", "articles/e.txt"),
        lambda: repo.write("README.md", "outside the folder"),
        lambda: repo.write("articles/d.txt", "d edited, with its offset"),
    ]
    for day, step in enumerate(steps, start=2):
        step()
        repo.commit(when(day, -5 if day % 2 else +2))
        history, kind = moved_on(folder, history, git_runs)
        assert kind == "range", day
    assert exact(history.dates("a.txt")) == (when(1, +1), when(2, +2))
    assert exact(history.dates("b.txt")) == (when(5, -5), None)
    assert exact(history.dates("e.txt")) == (when(6, +2), None)
    assert exact(history.dates("d.txt")) == (when(3, -5), when(8, +2))
    assert history.dates("c.txt") is None


def test_several_commits_and_a_merge_of_a_side_branch(
    repo: Repo, folder: Path, git_runs: Runs
) -> None:
    history = history_of(folder)
    repo.git("checkout", "-q", "-b", "side")
    repo.write("articles/a.txt", "edited on the side")
    repo.commit(when(2))
    repo.write("articles/f.txt", "added on the side")
    repo.commit(when(3))
    repo.git("checkout", "-q", "main")
    repo.write("articles/b.txt", "edited on main")
    repo.commit(when(4))
    (folder / "c.txt").unlink()
    repo.commit(when(5))
    repo.git("merge", "-q", "--no-ff", "side", date=when(6, +3))
    repo.write("articles/x.txt", "x added")
    repo.commit(when(7))
    repo.write("articles/x.txt", "x edited")
    repo.write("articles/c.txt", "c added again")
    repo.commit(when(8))
    repo.write("articles/x.txt", "x edited again")
    repo.write("articles/b.txt", "b edited again")
    repo.commit(when(9, -2))
    (folder / "x.txt").unlink()
    repo.commit(when(10))
    repo.write("articles/x.txt", "x added again")
    repo.commit(when(11))

    history, kind = moved_on(folder, history, git_runs)

    assert kind == "range"
    assert exact(history.dates("a.txt")) == (when(1, +1), when(6, +3))
    assert exact(history.dates("f.txt")) == (when(6, +3), None)
    assert exact(history.dates("b.txt")) == (when(1, +1), when(9, -2))
    assert exact(history.dates("c.txt")) == (when(8), None)
    assert exact(history.dates("x.txt")) == (when(11), None)


@pytest.mark.parametrize("change", ["amend", "reset", "rebase"])
def test_a_rewritten_or_older_head_reads_the_whole_history(
    repo: Repo, folder: Path, git_runs: Runs, change: str
) -> None:
    repo.write("articles/a.txt", "a edited")
    repo.commit(when(2))
    repo.write("articles/b.txt", "b edited")
    repo.commit(when(3))
    history = history_of(folder)
    if change == "amend":
        repo.write("articles/c.txt", "c edited too")
        repo.git("add", "-A")
        repo.git("commit", "-q", "--amend", "-m", "amended", date=when(4))
    elif change == "reset":
        repo.git("reset", "-q", "--hard", "HEAD~1")
    else:
        repo.git("checkout", "-q", "-b", "other", "HEAD~2")
        repo.write("articles/g.txt", "g added elsewhere")
        repo.commit(when(5))
        repo.git("rebase", "-q", "other", "main", date=when(6))

    after, kind = moved_on(folder, history, git_runs)

    assert kind == "whole" and after.head != history.head


def test_a_head_reached_only_through_a_side_branch_reads_the_whole_history(
    repo: Repo, folder: Path, git_runs: Runs
) -> None:
    repo.git("checkout", "-q", "-b", "side")
    repo.write("articles/a.txt", "edited on the side")
    repo.commit(when(2))
    on_side = history_of(folder)
    repo.git("checkout", "-q", "main")
    repo.write("articles/b.txt", "edited on main")
    repo.commit(when(3))
    repo.git("merge", "-q", "--no-ff", "side", date=when(4))

    assert moved_on(folder, on_side, git_runs)[1] == "whole"


def test_an_unknown_commit_or_files_that_disagree_read_the_whole_history(
    repo: Repo, folder: Path, git_runs: Runs
) -> None:
    history = history_of(folder)
    repo.write("articles/a.txt", "a edited")
    repo.write("articles/h.txt", "h added")
    repo.commit(when(2))
    without_a = {name: dates for name, dates in history.files.items() if name != "a.txt"}
    with_h = {**history.files, "h.txt": history.files["b.txt"]}
    for previous in (
        dataclasses.replace(history, head="0" * 40),  # git: bad revision
        dataclasses.replace(history, head="--output=/dev/null"),  # never an option
        dataclasses.replace(history, files=without_a),  # an edit of an unknown file
        dataclasses.replace(history, files=with_h),  # an add of a known one
    ):
        assert moved_on(folder, previous, git_runs)[1] == "whole", previous.head


def test_an_unchanged_head_runs_no_log(repo: Repo, folder: Path, git_runs: Runs) -> None:
    history = history_of(folder)
    assert moved_on(folder, history, git_runs)[1] == "none"


OPERATIONS = st.sampled_from(["edit", "add or delete", "outside", "merge"])


@given(
    st.lists(st.tuples(OPERATIONS, st.sampled_from("abcd"), st.booleans()), min_size=1, max_size=10)
)
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_commits_moved_on_a_few_at_a_time_match_the_whole_history(
    steps: list[tuple[str, str, bool]],
) -> None:
    """After each commit whose flag is set (and the last), the history is moved on from the
    one before and compared with a fresh one."""
    with tempfile.TemporaryDirectory() as temporary:
        repo = Repo(Path(temporary) / "repo")
        repo.write("articles/a.txt", "a")
        repo.commit(when(1))
        folder = repo.root / "articles"
        history = history_of(folder)
        for day, (operation, letter, load) in enumerate(steps, start=2):
            make(repo, operation, folder / f"{letter}.txt", day)
            if load or day == len(steps) + 1:
                history = moved_on(folder, history)[0]


def make(repo: Repo, operation: str, path: Path, day: int) -> None:
    """Commit one change at ``day``: ``operation`` of the file at ``path``."""
    if operation == "merge":
        repo.git("checkout", "-q", "-b", f"side{day}")
        path.write_text(f"edited on a side branch on day {day}")
        repo.commit(when(day))
        repo.git("checkout", "-q", "main")
        repo.git("merge", "-q", "--no-ff", f"side{day}", date=when(day, +1))
        return
    if operation == "edit" or (operation == "add or delete" and not path.exists()):
        path.write_text(f"{path.name} on day {day}")
    elif operation == "add or delete":
        path.unlink()
    else:
        repo.write("outside.txt", f"day {day}")
    repo.commit(when(day))


def log_output(*commits: tuple[str, str, str]) -> bytes:
    """What ``git log`` prints for ``(id, first parent, change)`` commits, newest first."""
    return b"".join(
        f"\x01{when(1)} {ident} {parent}\0\nM\0articles/a.txt\0".encode()
        for ident, parent, _ in commits
    )


@pytest.mark.parametrize(
    "commits",
    [
        [("3" * 40, "2" * 40, ""), ("2" * 40, "1" * 40, "")],
        [("3" * 40, "1" * 40, ""), ("2" * 40, "1" * 40, "")],
        [("2" * 40, "1" * 40, ""), ("3" * 40, "2" * 40, "")],
        [("3" * 40, "2" * 40, "")],
        [],
    ],
    ids=["a chain", "not a chain", "oldest first", "stops short", "no commit"],
)
def test_a_range_is_only_taken_as_the_chain_of_first_parents(
    commits: list[tuple[str, str, str]],
) -> None:
    changes = parse_range(log_output(*commits), b"articles/", "1" * 40, "3" * 40)
    assert (changes is not None) == (len(commits) == 2 and commits[0][1] == commits[1][0])
    if changes is not None:
        assert changes == {"a.txt": Change(deleted=False, edited=changes["a.txt"].edited)}
