"""The git dates of article files, read from real repositories made with the git command."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from feedsvc.errors import FeedsvcError, HistoryError
from feedsvc.history import FileDates, History, load_history

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")


def when(day: int, offset: int = 0) -> str:
    """A commit date in git's ISO 8601 form: 10:00 on ``day`` March 2024, UTC offset in hours."""
    return f"2024-03-{day:02d}T10:00:00{offset:+03d}:00"


class Repo:
    """A git work tree at ``root``, committed to with fixed dates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, date: str | None = None) -> str:
        environment = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "LC_ALL": "C"}
        if date is not None:
            environment |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        done = subprocess.run(
            ["git", "-C", str(self.root), *args],
            env=environment | {"GIT_CONFIG_NOSYSTEM": "1"},
            capture_output=True,
            check=True,
        )
        return os.fsdecode(done.stdout)

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")

    def commit(self, date: str, *paths: str) -> None:
        """Commit everything (or only ``paths``) at ``date``."""
        self.git("add", "-A", "--", *(paths or (".",)))
        self.git("commit", "-q", "--allow-empty", "-m", f"at {date}", date=date)


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME whose git config names the committer and nothing else."""
    folder = tmp_path_factory.mktemp("home")
    (folder / ".gitconfig").write_text("[user]\n\tname = A\n\temail = a@example.org\n")
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def history_of(folder: Path) -> History:
    history = load_history(folder)
    assert history is not None
    return history


def exact(dates: FileDates | None) -> tuple[str, str | None] | None:
    """The dates as text, so that the UTC offsets are compared too, not only the instants."""
    if dates is None:
        return None
    return dates.added.isoformat(), dates.edited.isoformat() if dates.edited else None


def test_an_edit_is_the_newest_commit_after_the_add_with_its_own_offset(repo: Repo) -> None:
    repo.write("a.txt", "one")
    repo.write("b.txt", "one")
    repo.commit(when(1, +1))
    repo.write("a.txt", "two")
    repo.commit(when(2))
    repo.write("a.txt", "three")
    repo.commit(when(3, -5))
    repo.write("other.md", "not an article, same folder")
    repo.commit(when(4))

    history = history_of(repo.root)

    assert exact(history.dates("a.txt")) == (when(1, +1), when(3, -5))
    assert exact(history.dates("b.txt")) == (when(1, +1), None)
    assert exact(history.dates("other.md")) == (when(4), None)
    assert history.dirty == frozenset()
    assert history.warning is None


def test_a_rename_is_an_add_of_the_new_name_not_an_edit(repo: Repo) -> None:
    repo.write("a.txt", "text")
    repo.write("b.txt", "text of b")
    repo.commit(when(1))
    repo.write("a.txt", "text, fixed")
    repo.commit(when(2))
    repo.git("mv", "a.txt", "renamed.txt")
    repo.git("mv", "b.txt", "renamed and edited.txt")
    repo.write("renamed and edited.txt", "text of b, fixed")
    repo.commit(when(3))

    history = history_of(repo.root)

    assert exact(history.dates("renamed.txt")) == (when(3), None)
    assert exact(history.dates("renamed and edited.txt")) == (when(3), None)
    assert history.dates("a.txt") is None
    assert set(history.files) == {"renamed.txt", "renamed and edited.txt"}


def test_a_file_deleted_and_added_again_starts_again(repo: Repo) -> None:
    repo.write("a.txt", "one")
    repo.write("gone.txt", "one")
    repo.commit(when(1))
    repo.write("a.txt", "two")
    repo.commit(when(2))
    (repo.root / "a.txt").unlink()
    (repo.root / "gone.txt").unlink()
    repo.commit(when(3))
    repo.write("a.txt", "back")
    repo.commit(when(4))

    assert exact(history_of(repo.root).dates("a.txt")) == (when(4), None)
    assert history_of(repo.root).dates("gone.txt") is None

    repo.write("a.txt", "back, edited")
    repo.commit(when(5))
    assert exact(history_of(repo.root).dates("a.txt")) == (when(4), when(5))


def test_the_newest_deletion_of_an_article_file_is_kept(repo: Repo) -> None:
    for name in ("a.txt", "b.txt", "notes.md", "sub/c.txt", ".hidden.txt"):
        repo.write(f"articles/{name}", "one")
    repo.commit(when(1))
    assert history_of(repo.root / "articles").deleted is None
    (repo.root / "articles" / "a.txt").unlink()
    repo.commit(when(2, -5))
    repo.write("articles/a.txt", "added again since")
    repo.commit(when(3))
    for name in ("notes.md", "sub/c.txt", ".hidden.txt"):  # not article files
        (repo.root / "articles" / name).unlink()
    (repo.root / "outside.txt").write_text("outside the folder")
    repo.commit(when(4))
    (repo.root / "outside.txt").unlink()
    repo.commit(when(5))

    deleted = history_of(repo.root / "articles").deleted
    assert deleted is not None and deleted.isoformat() == when(2, -5)


def test_changes_from_a_side_branch_count_at_the_merge(repo: Repo) -> None:
    repo.write("articles/a.txt", "one")
    repo.commit(when(1))
    repo.git("checkout", "-q", "-b", "side")
    repo.write("articles/a.txt", "edited on the side branch")
    repo.write("articles/new.txt", "added on the side branch")
    repo.commit(when(2))
    repo.git("checkout", "-q", "main")
    repo.write("README.md", "main moves on, outside the articles")
    repo.commit(when(3))
    repo.git("merge", "-q", "--no-ff", "side", date=when(4, +2))

    history = history_of(repo.root / "articles")

    assert exact(history.dates("a.txt")) == (when(1), when(4, +2))
    assert exact(history.dates("new.txt")) == (when(4, +2), None)


def test_a_side_branch_that_edits_and_reverts_changes_no_date(repo: Repo) -> None:
    repo.write("a.txt", "one")
    repo.commit(when(1))
    repo.git("checkout", "-q", "-b", "side")
    repo.write("a.txt", "two")
    repo.commit(when(2))
    repo.write("a.txt", "one")
    repo.write("b.txt", "added on the side")
    repo.commit(when(3))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "side", date=when(4))

    history = history_of(repo.root)

    assert exact(history.dates("a.txt")) == (when(1), None)
    assert exact(history.dates("b.txt")) == (when(4), None)


def test_a_change_made_while_merging_is_an_edit(repo: Repo) -> None:
    repo.write("a.txt", "one")
    repo.write("b.txt", "one")
    repo.commit(when(1))
    repo.git("checkout", "-q", "-b", "side")
    repo.write("a.txt", "two")
    repo.commit(when(2))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side")
    repo.write("b.txt", "edited while merging")
    repo.commit(when(3))

    history = history_of(repo.root)

    assert exact(history.dates("a.txt")) == (when(1), when(3))
    assert exact(history.dates("b.txt")) == (when(1), when(3))


def test_a_fast_forward_merge_keeps_the_dates_of_its_commits(repo: Repo) -> None:
    repo.write("a.txt", "one")
    repo.commit(when(1))
    repo.git("checkout", "-q", "-b", "side")
    repo.write("a.txt", "two")
    repo.commit(when(2))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "side", date=when(9))

    assert exact(history_of(repo.root).dates("a.txt")) == (when(1), when(2))


def test_uncommitted_and_untracked_files_have_no_dates(repo: Repo) -> None:
    for name in ("changed.txt", "staged.txt", "touched.txt", "removed.txt", "clean.txt"):
        repo.write(name, "committed")
    repo.commit(when(1))
    repo.write("changed.txt", "changed, not staged")
    repo.write("staged.txt", "changed and staged")
    repo.git("add", "staged.txt")
    repo.write("touched.txt", "committed")  # the same bytes, a new mtime
    os.utime(repo.root / "touched.txt", (2_000_000_000, 2_000_000_000))
    (repo.root / "clean.txt").chmod(0o755)  # the text is the committed one
    repo.git("rm", "-q", "--cached", "removed.txt")  # still on disk, now untracked
    repo.write("added.txt", "staged, never committed")
    repo.git("add", "added.txt")
    repo.write("untracked.txt", "never added")

    history = history_of(repo.root)

    assert history.dirty == {"changed.txt", "staged.txt", "removed.txt", "added.txt"}
    for name in ("changed.txt", "staged.txt", "removed.txt", "added.txt", "untracked.txt"):
        assert history.dates(name) is None, name
    assert exact(history.dates("touched.txt")) == (when(1), None)
    assert exact(history.dates("clean.txt")) == (when(1), None)
    assert exact(history.files["changed.txt"]) == (when(1), None)  # what HEAD holds


def test_a_subfolder_of_the_repository_gives_paths_relative_to_it(repo: Repo) -> None:
    repo.write("README.md", "top")
    repo.write("site/articles/a.txt", "one")
    repo.write("site/articles/deeper/b.txt", "one")
    repo.write("site/other/c.txt", "one")
    repo.commit(when(1))
    repo.write("site/articles/a.txt", "two")
    repo.write("README.md", "top, changed later")
    repo.commit(when(2))
    repo.write("site/articles/a.txt", "uncommitted")
    repo.write("site/other/c.txt", "uncommitted, outside the folder")

    history = history_of(repo.root / "site" / "articles")

    assert set(history.files) == {"a.txt", "deeper/b.txt"}
    assert exact(history.dates("deeper/b.txt")) == (when(1), None)
    assert history.dirty == {"a.txt"}
    assert exact(history.files["a.txt"]) == (when(1), when(2))


ODD_NAMES = [
    "with space.txt",
    "new\nline.txt",
    'tab\tand "quotes" and \\.txt',
    "café ünïcödé – “quoted”.txt",
    "日本語.txt",
    " leading space.txt",
    os.fsdecode(b"latin-1 \xe9t\xe9.txt"),  # not UTF-8: a surrogate escape, as os.listdir gives
]


def test_odd_file_names_match_the_names_on_disk(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "odd\nrepository é")
    here = "odd\nfolder “é”"
    for name in ODD_NAMES:
        repo.write(f"{here}/{name}", "one")
    repo.commit(when(1))
    for name in ODD_NAMES[:3]:
        repo.write(f"{here}/{name}", "two")
    repo.commit(when(2))
    repo.write(f"{here}/{ODD_NAMES[4]}", "uncommitted")

    folder = repo.root / here
    history = history_of(folder)

    assert set(history.files) == set(os.listdir(folder)) == set(ODD_NAMES)
    assert history.dirty == {ODD_NAMES[4]}
    for name in ODD_NAMES[:3]:
        assert exact(history.dates(name)) == (when(1), when(2)), name
    for name in ODD_NAMES[3:4] + ODD_NAMES[5:]:
        assert exact(history.dates(name)) == (when(1), None), name


def test_a_shallow_clone_gives_no_dates_and_one_warning_with_the_fix(
    repo: Repo, tmp_path: Path
) -> None:
    repo.write("articles/a.txt", "one")
    repo.write("articles/b.txt", "one")
    repo.commit(when(1))
    repo.write("articles/a.txt", "two")
    repo.commit(when(2))
    repo.write("articles/c.txt", "one")
    repo.commit(when(3))
    clone = tmp_path / "clone"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    folder = clone / "articles"

    history = history_of(folder)

    assert history.shallow
    assert history.files == {} and history.dirty == frozenset()
    assert [history.dates(name) for name in ("a.txt", "b.txt", "c.txt")] == [None] * 3
    assert history.warning is not None
    assert history.warning.startswith(f"{folder}: warning: ")
    assert "\n" not in history.warning
    assert "fetch-depth: 0" in history.warning and "git fetch --unshallow" in history.warning

    repo.git("-C", str(clone), "fetch", "-q", "--unshallow")
    unshallow = load_history(folder, previous=history)  # the same HEAD, now with its history
    assert unshallow is not None and unshallow.head == history.head
    assert unshallow.files == history_of(repo.root / "articles").files != {}
    assert history_of(folder).files == history_of(repo.root / "articles").files
    assert history_of(folder).warning is None


def test_two_clones_give_the_same_dates_whatever_the_mtimes_zone_locale_and_config(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    repo.write("articles/a.txt", "one")
    repo.write("articles/b.txt", "one")
    repo.commit(when(1, +9))
    repo.write("articles/a.txt", "two")
    repo.commit(when(2, -3))
    results = []
    for number, (zone, locale) in enumerate([("UTC", "C"), ("Pacific/Chatham", "de_DE.UTF-8")]):
        clone = tmp_path / f"clone {number}"
        repo.git("clone", "-q", f"file://{repo.root}", str(clone))
        for offset, path in enumerate(sorted((clone / "articles").iterdir())):
            os.utime(path, (1_000_000 * number + offset,) * 2)
        monkeypatch.setenv("TZ", zone)
        monkeypatch.setenv("LC_ALL", locale)
        results.append(history_of(clone / "articles"))
        # The second clone is read with a config that changes what a plain log would print.
        (home / ".gitconfig").write_text(HOSTILE_CONFIG)
        monkeypatch.setenv("GIT_DIR", str(repo.root / ".git"))
        monkeypatch.setenv("GIT_WORK_TREE", str(repo.root))
        monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'log.showroot'='false'")

    first, second = results
    assert first.files == second.files and first.dirty == second.dirty == frozenset()
    assert (
        [exact(first.dates(name)) for name in ("a.txt", "b.txt")]
        == [exact(second.dates(name)) for name in ("a.txt", "b.txt")]
        == [(when(1, +9), when(2, -3)), (when(1, +9), None)]
    )


HOSTILE_CONFIG = """\
[log]
\tshowRoot = false
\tfollow = true
\tshowSignature = true
\tdate = relative
\tdiffMerges = combined
[diff]
\trenames = copies
\trelative = true
\tnoprefix = true
[core]
\tquotePath = true
[status]
\tshowUntrackedFiles = all
\trelativePaths = true
[format]
\tpretty = oneline
[color]
\tui = always
"""


@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from("abcd"), st.booleans()), max_size=4),
        min_size=1,
        max_size=8,
    )
)
@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_histories_match_the_rule(commits: list[list[tuple[str, bool]]]) -> None:
    """Each commit adds, edits (True) or deletes (False) some of four files."""
    expected: dict[str, tuple[str, str | None]] = {}
    deleted: str | None = None  # the newest commit that deleted a file
    contents: dict[str, str] = {}  # what the folder holds
    with tempfile.TemporaryDirectory() as temporary:
        repo = Repo(Path(temporary) / "repo")
        (repo.root / "articles").mkdir()
        for day, changes in enumerate(commits, start=1):
            before = dict(contents)
            for letter, keep in changes:
                name = f"{letter}.txt"
                if keep:
                    contents[name] = f"{name} on day {day}"
                    repo.write(f"articles/{name}", contents[name])
                elif contents.pop(name, None) is not None:
                    (repo.root / "articles" / name).unlink()
            if before.keys() - contents.keys():
                deleted = when(day)
            for name in before.keys() | contents.keys():
                if name not in contents:
                    del expected[name]
                elif name not in before:
                    expected[name] = (when(day), None)
                elif contents[name] != before[name]:
                    expected[name] = (expected[name][0], when(day))
            repo.write("outside.txt", f"day {day}")  # a commit outside the folder too
            repo.commit(when(day))
        history = history_of(repo.root / "articles")
    assert {name: exact(dates) for name, dates in history.files.items()} == expected
    assert (history.deleted.isoformat() if history.deleted else None) == deleted


@pytest.mark.parametrize(
    "where",
    ["no repository", "inside .git", "bare repository"],
)
def test_a_folder_outside_any_work_tree_has_no_history(tmp_path: Path, where: str) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    if where == "inside .git":
        Repo(tmp_path / "repo")
        folder = tmp_path / "repo" / ".git"
    elif where == "bare repository":
        Repo(tmp_path / "work").git("clone", "-q", "--bare", ".", str(tmp_path / "bare.git"))
        folder = tmp_path / "bare.git"
    assert load_history(folder) is None


def test_without_git_there_is_no_history(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("a.txt", "one")
    repo.commit(when(1))
    monkeypatch.setenv("PATH", str(tmp_path / "no git here"))
    assert load_history(repo.root) is None


def test_a_branch_without_commits_has_no_dates(repo: Repo) -> None:
    repo.write("a.txt", "staged")
    repo.git("add", "a.txt")
    repo.write("b.txt", "untracked")

    history = history_of(repo.root)

    assert history.files == {} and history.dirty == {"a.txt"}


def test_a_broken_repository_is_an_error_naming_the_folder(repo: Repo) -> None:
    repo.write("articles/a.txt", "one")
    repo.commit(when(1))
    tree = repo.git("rev-parse", "HEAD:articles").strip()
    loose = repo.root / ".git" / "objects" / tree[:2] / tree[2:]
    loose.chmod(stat.S_IWUSR | stat.S_IRUSR)
    loose.unlink()
    folder = repo.root / "articles"

    with pytest.raises(HistoryError) as raised:
        load_history(folder)

    assert isinstance(raised.value, FeedsvcError)
    message = str(raised.value)
    assert message.startswith(f"{folder}: cannot read the git history: git log failed")
    assert tree in message and "\n" not in message


def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "missing"
    with pytest.raises(HistoryError, match="missing: cannot read the git history: .*cannot change"):
        load_history(folder)


@pytest.fixture
def git_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Put a git on PATH that notes its arguments; return a function giving the runs so far."""
    calls = tmp_path / "calls"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec {GIT} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return lambda: calls.read_text().splitlines() if calls.exists() else []


def subcommands(runs: list[str]) -> list[str]:
    return [
        next(word for word in ("rev-parse", "log", "status") if f" {word} " in run) for run in runs
    ]


@pytest.mark.parametrize("files", [3, 60], ids=["3 files", "60 files"])
def test_git_runs_three_times_whatever_the_number_of_files(
    repo: Repo, git_runs: Callable[[], list[str]], files: int
) -> None:
    for number in range(files):
        repo.write(f"{number}.txt", "one")
    repo.commit(when(1))
    for number in range(0, files, 2):
        repo.write(f"{number}.txt", "two")
    repo.commit(when(2))
    before = len(git_runs())

    history = history_of(repo.root)

    assert len(history.files) == files
    assert subcommands(git_runs()[before:]) == ["rev-parse", "log", "status"]


def test_an_earlier_result_is_used_again_while_head_has_not_moved(
    repo: Repo, git_runs: Callable[[], list[str]]
) -> None:
    repo.write("articles/a.txt", "one")
    repo.write("articles/b.txt", "one")
    repo.commit(when(1))
    first = history_of(repo.root / "articles")
    repo.write("articles/a.txt", "uncommitted")
    before = len(git_runs())

    again = load_history(repo.root / "articles", previous=first)

    assert subcommands(git_runs()[before:]) == ["rev-parse", "status"]
    assert again == History(
        repo.root / "articles", first.head, False, first.files, frozenset({"a.txt"})
    )
    assert load_history(repo.root, previous=first) == history_of(repo.root)  # another folder

    repo.commit(when(2))
    assert exact(history_of(repo.root / "articles").dates("a.txt")) == (when(1), when(2))
    after = load_history(repo.root / "articles", previous=again)
    assert after is not None and after.head != first.head
    assert exact(after.dates("a.txt")) == (when(1), when(2)) and not after.dirty


def test_a_commit_date_python_cannot_hold_is_an_error_naming_the_folder(repo: Repo) -> None:
    """git keeps a committer offset of up to 99:59 in a commit made by hand; Python's
    datetime holds under 24 hours."""
    repo.write("articles/a.txt", "one")
    repo.commit(when(1))
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    raw = f"tree {tree}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +9959\n\nx\n"
    done = subprocess.run(
        [
            "git",
            "-C",
            str(repo.root),
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--stdin",
            "--literally",
        ],
        input=raw.encode(),
        capture_output=True,
        check=True,
    )
    repo.git("reset", "-q", "--hard", done.stdout.decode().strip())
    folder = repo.root / "articles"
    with pytest.raises(HistoryError, match=f"^{folder}: cannot read the git history: .*offset"):
        load_history(folder)
