"""When each article file's text last changed, according to git.

``load_history(folder, previous)`` runs three git commands, whatever the number of files
(one ``rev-parse``, one ``log`` and one ``status``), and returns a ``History``, or None when
``folder`` is not in a git work tree or git is not installed. ``previous`` is an earlier
result for the folder (kept in memory by a server, in the parse cache between builds): at
the same commit no ``log`` runs; at a commit P on the chain of first parents of HEAD, the
``log`` reads only the commits since, ``P..HEAD``, and moves P's dates on. Anything else
(a rebase, a reset, P reached only through a side branch or unknown to git, commits that
disagree with P's files) reads the whole history again, so the result is always the one
the whole history gives. The caller dates an article from it like this::

    history = load_history(folder, previous)  # None: outside git, date edits another way
    if history is not None and history.warning:
        report(history.warning)               # a shallow clone: one line naming the fix
    dates = history.dates(name) if history is not None else None
    if dates is None:                         # not dated by git: fall back (the mtime rule)
        ...
    else:
        updated = dates.edited or published   # never edited since its add: its date line

The rules (Hugo's ``enableGitInfo`` and jekyll-last-modified-at also date a page by the
newest commit that changed its file; Hugo reads them all with one ``git log`` too):

- Dates are committer dates with the committer's own UTC offset, never the author date:
  the committer date is when the change reached the branch (a rebase or a cherry-pick
  moves it, an old patch applied today is today's change).
- ``added`` is the date of the commit that added the file; ``edited`` the date of the
  newest commit that changed it after that, or None when no commit did.
- Only the branch checked out is read, along first parents (``--first-parent``), each
  merge compared with its first parent: a change made on a side branch counts at the date
  of the merge that brought it in, which is when it reached the published branch; a
  merge's own changes (a conflict resolved) count too, and side-branch commits whose
  changes the merge does not bring (an edit reverted before the merge) count for nothing.
- Renames are not followed (``--no-renames``): a renamed file is a new file, added by the
  rename commit, so a rename never counts as an edit of the text (an article's id comes
  from its file name, so a renamed file is another article anyway).
- A file deleted and added again starts again: its add is the newest add, and the edits
  before its deletion are forgotten. A file deleted at HEAD has no dates.
- ``deleted`` is the date of the newest commit that deleted a candidate article file (a
  deletion changes the feeds: their own update time counts it).
- A file with uncommitted changes (staged or not) is in ``dirty`` and has no dates, nor has
  an untracked file (never committed): git cannot date their text, the caller falls back.
  Rewriting a file with the same bytes (``touch``) or changing its executable bit leaves
  it clean.
- In a shallow clone (the default of GitHub Actions' actions/checkout, depth 1) the oldest
  commit there shows every file as added by it, which would date articles wrongly and
  move dates backwards when the clone depth changes. So no file has dates, and
  ``warning`` names the fix.

Cost: ``git log`` reads, for every commit that changed the folder, the folder's tree
before and after it (one object of about 5 MB for 100,000 files in one folder), so the whole
history's time grows with commits times files: 5 to 10 s of CPU at 100,000 files and 400
commits, what a bare ``git log --name-only`` costs (``benchmarks/history.py``). With
``previous`` at the same HEAD only ``git status`` runs (0.19 to 0.26 s there); at the parent
of HEAD the log reads one commit, and the whole look-up takes 0.47 s of CPU (twice
``git status``: the one commit's trees cost git what a status does), 0.60 s with the history
read back from the parse cache first: a ``feedsvc build`` after one edit committed costs
1.08 to 1.11 times one that dates no edit (CPU, two runs; 5.8 s against 5.3 s).

Paths are relative to ``folder`` with ``/`` separators, file names decoded as ``os.fsdecode``
does (so they match ``os.scandir`` names, spaces, newlines and non-UTF-8 bytes included).
The result depends only on the repository: git runs with ``LC_ALL=C``, ``TZ=UTC``, without
the system config or any ``GIT_*`` variable of the environment, and with the settings of
the user's config that change what ``log`` prints overridden (``status`` keeps
``core.autocrlf`` and the attributes, which say how the files were checked out); only
``PATH`` (to find git) and ``HOME``/``XDG_CONFIG_HOME`` (``safe.directory``) are passed on.
git's errors (a broken repository, a folder git refuses to read, a git older than 2.15)
raise ``HistoryError``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from feedsvc.errors import HistoryError
from feedsvc.gitcommand import git_output, run_git
from feedsvc.listing import is_candidate

# %x01 opens each commit in the NUL-separated output; %cI: strict ISO 8601, own offset;
# %H %P: the commit and its parents, which tell whether a range continues an earlier result.
# -m: git before 2.31 shows no changes for merges without it (--first-parent implies it since).
_LOG_OPTIONS = (
    "log", "--first-parent", "-m", "--name-status", "--no-renames", "-z", "--no-color",
    "--no-ext-diff", "--format=%x01%cI %H %P",
)  # fmt: skip
# --ignore-missing HEAD: a branch without commits yet has an empty history, not an error.
_LOG = (*_LOG_OPTIONS, "--ignore-missing", "HEAD", "--", ".")
# The commits since an earlier result: --sparse lists those that change nothing in the folder
# too, so that the chain of first parents can be followed back to it. No --ignore-missing:
# with it an unknown commit would make an empty range, not an error.
_SINCE = (*_LOG_OPTIONS, "--sparse")
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256
_STATUS = (
    "status", "--porcelain", "-z", "--no-renames", "--untracked-files=no",
    "--ignore-submodules=all", "--", ".",
)  # fmt: skip
# The commit checked out comes last: --verify -q prints nothing and exits 1 when there is none.
_LOCATE = (
    "rev-parse", "--is-inside-work-tree", "--is-shallow-repository", "--show-prefix",
    "--verify", "-q", "HEAD",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileDates:
    """The committer dates of a file's add and of its newest edit since (None: none)."""

    added: datetime
    edited: datetime | None


@dataclass(frozen=True, slots=True)
class History:
    """What git says of the files of an articles folder at HEAD.

    ``head`` is the id of the commit checked out ("" on a branch without commits);
    ``files`` holds the dates of every file committed at HEAD, by path relative to the
    folder; ``dirty`` the paths with uncommitted changes. Both are empty in a shallow clone.
    ``deleted`` is the committer date of the newest commit that deleted a candidate
    article file of the folder (``listing.is_candidate``, not in a subfolder), even one
    added again since; None when none did.
    """

    folder: Path
    head: str
    shallow: bool
    files: Mapping[str, FileDates] = field(default_factory=dict)
    dirty: frozenset[str] = frozenset()
    deleted: datetime | None = None  # the newest commit that deleted an article file

    def dates(self, path: str) -> FileDates | None:
        """Return the git dates of the text of ``path`` (relative to the folder).

        None when git cannot date the text as it is on disk: untracked, uncommitted
        changes, deleted at HEAD, or a shallow clone.
        """
        if path in self.dirty:
            return None
        return self.files.get(path)

    @property
    def warning(self) -> str | None:
        """The one line to show when git cannot date any file (a shallow clone), or None."""
        if not self.shallow:
            return None
        return (
            f"{self.folder}: warning: the git clone is shallow, so its history cannot date "
            "article edits; fetch the full history (actions/checkout: fetch-depth: 0, "
            "or git fetch --unshallow)"
        )


def load_history(folder: Path, previous: History | None = None) -> History | None:
    """Return the git history of the files of ``folder`` at HEAD.

    The dates of ``previous`` (an earlier result for the same folder) are used again when
    HEAD is the same commit: only ``git status`` runs then, not ``git log``.
    None when ``folder`` is not in a git work tree or git is not installed. Raises
    HistoryError, naming the folder and git's message, when git fails otherwise.
    """
    located = _locate(folder)
    if located is None:
        return None
    head, prefix, shallow = located
    if shallow:
        return History(folder, head, shallow=True)
    try:
        files, deleted = _files_at(folder, head, prefix, previous)
    except ValueError as exc:  # a date Python cannot hold: an offset of 24 hours or more
        raise HistoryError(f"{folder}: cannot read the git history: {exc}") from None
    dirty = parse_status(git_output(folder, _STATUS), prefix)
    return History(folder, head, False, files, dirty, deleted)


Dated = tuple[Mapping[str, FileDates], datetime | None]  # History.files and .deleted


def _files_at(folder: Path, head: str, prefix: bytes, previous: History | None) -> Dated:
    """Return the dates of the files at ``head`` and of the newest deletion: those of
    ``previous`` at the same commit, moved on by the commits since it, or else read from
    the whole history.
    """
    if previous is not None and not previous.shallow and previous.folder == folder:
        if previous.head == head:
            return previous.files, previous.deleted
        if previous.head and head:
            since = _files_since(folder, previous, head, prefix)
            if since is not None:
                return since
    return parse_log(git_output(folder, _LOG), prefix)


def _files_since(folder: Path, previous: History, head: str, prefix: bytes) -> Dated | None:
    """Return the files of ``previous`` moved on to ``head`` by the commits since it, and
    the newest deletion.

    None when they cannot be: ``previous.head`` is not on the chain of first parents that
    ends at ``head`` (a rebase, a reset, a commit reached only through a side branch), git
    does not know it, or the commits do not agree with ``previous.files``.
    """
    if _COMMIT_ID.fullmatch(previous.head) is None or _COMMIT_ID.fullmatch(head) is None:
        return None
    try:
        done = run_git(folder, (*_SINCE, f"{previous.head}..{head}", "--", "."))
    except FileNotFoundError:
        return None
    if done.returncode != 0:
        return None
    changes = parse_range(done.stdout, prefix, previous.head, head)
    files = None if changes is None else merge_range(previous.files, changes)
    if changes is None or files is None:
        return None
    removed = [c.removed for path, c in changes.items() if _is_article(path)]
    return files, _newest(previous.deleted, *removed)


def _newest(*moments: datetime | None) -> datetime | None:
    """Return the latest of ``moments`` that are not None (None: none)."""
    return max((moment for moment in moments if moment is not None), default=None)


def _is_article(path: str) -> bool:
    """Tell whether ``path`` (relative to the folder) is a candidate article file."""
    return "/" not in path and is_candidate(path)


def _locate(folder: Path) -> tuple[str, bytes, bool] | None:
    """Return HEAD's id, the folder's path in the repository and whether the clone is
    shallow; None outside a work tree or without git.
    """
    try:
        done = run_git(folder, _LOCATE)
    except FileNotFoundError:  # no git
        return None
    unborn = done.returncode == 1 and done.stdout.count(b"\n") >= 3  # no commit yet
    if not unborn and done.returncode != 0 and b"not a git repository" in done.stderr:
        return None
    output = done.stdout if unborn else git_output(folder, _LOCATE, done)
    inside, shallow, rest = output.split(b"\n", 2)
    if inside != b"true":  # in a .git folder, or a bare repository
        return None
    rest = rest.removesuffix(b"\n")
    prefix, head = (rest, b"") if unborn else rest.rpartition(b"\n")[::2]
    return head.decode("ascii"), prefix, shallow == b"true"


def parse_log(output: bytes, prefix: bytes = b"") -> Dated:
    """Return the dates of each file alive at the end of ``output``, by path less ``prefix``,
    and the date of the newest commit that deleted an article file (``History.deleted``).

    ``output`` is what ``_LOG`` prints, newest commit first: per commit ``\\x01``, its
    date, id and parents, then a status letter and a path per file, all separated by NUL bytes.
    """
    deleted: datetime | None = None
    files: dict[bytes, FileDates] = {}
    done: set[bytes] = set()  # settled, or deleted at HEAD
    edited: dict[bytes, datetime] = {}  # alive, newest edit met, add not met yet
    shared: dict[tuple[datetime, datetime | None], FileDates] = {}  # one per pair of dates
    tokens = iter(output.split(b"\0"))
    date: datetime | None = None
    for token in tokens:
        if token.startswith(b"\x01"):
            date = datetime.fromisoformat(token[1:].partition(b" ")[0].decode("ascii"))
            continue
        path = next(tokens, b"")  # after a status letter, "\nA" first in a commit
        kind = token[-1:]
        if kind == b"D" and date is not None and (deleted is None or date > deleted):
            if path.startswith(prefix) and _is_article(os.fsdecode(path.removeprefix(prefix))):
                deleted = date
        if not path or date is None or path in done:
            continue
        if kind == b"A":
            dates = (date, edited.pop(path, None))
            files[path] = shared.get(dates) or shared.setdefault(dates, FileDates(*dates))
            done.add(path)
        elif path not in edited:
            if kind == b"D":
                done.add(path)
            else:  # M, or T (a file became a link or back)
                edited[path] = date
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    named = {path.removeprefix(prefix).decode(encoding, errors): d for path, d in files.items()}
    return named, deleted


@dataclass(slots=True)
class Change:
    """What the commits of a range did to one file, met newest first (``parse_range``).

    ``deleted``: the newest change deleted it; ``added``: the date of the newest add;
    ``edited``: of the newest edit after that add (or in the range, without an add);
    ``existed``: the oldest change was not an add, so the file was there before the range;
    ``removed``: the date of the newest deletion, even one followed by an add.
    """

    deleted: bool
    added: datetime | None = None
    edited: datetime | None = None
    existed: bool = True
    removed: datetime | None = None


def parse_range(output: bytes, prefix: bytes, start: str, end: str) -> dict[str, Change] | None:
    """Return what the commits after ``start`` up to ``end`` did to each file, by path less
    ``prefix``; None unless they are the chain of first parents from ``end`` back to
    ``start``, each listed (``_SINCE``), ``start`` excluded.
    """
    changes: dict[bytes, Change] = {}
    expected = end  # the id the next (older) commit must have
    date: datetime | None = None
    for header, kind, path in _changes(output):
        if header:
            stamp, ident, parents = header.decode("ascii").split(" ", 2)
            if ident != expected:
                return None
            expected = parents.partition(" ")[0]
            date = datetime.fromisoformat(stamp)
            continue
        if date is None:
            return None
        change = changes.get(path)
        if change is None:
            change = changes[path] = Change(deleted=kind == b"D")
        if kind == b"A":
            change.added = change.added or date
            change.existed = False
        else:  # D, M, or T (a file became a link or back)
            if kind != b"D" and change.added is None and change.edited is None:
                change.edited = date
            if kind == b"D":
                change.removed = _newest(change.removed, date)
            change.existed = True
    if date is None or expected != start:
        return None
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {path.removeprefix(prefix).decode(encoding, errors): c for path, c in changes.items()}


def _changes(output: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Yield ``(header, b"", b"")`` per commit of ``_LOG`` output (its date, id and parents),
    then ``(b"", status letter, path)`` per file it changed."""
    tokens = iter(output.split(b"\0"))
    for token in tokens:
        if token.startswith(b"\x01"):
            yield token[1:], b"", b""
        elif token:
            path = next(tokens, b"")  # after a status letter, "\nA" first in a commit
            if path:
                yield b"", token[-1:], path


def merge_range(
    files: Mapping[str, FileDates], changes: Mapping[str, Change]
) -> dict[str, FileDates] | None:
    """Return ``files`` (the dates before a range of commits) with ``changes`` (what the
    range did) made; None when the two disagree: a file the range found there unknown
    to ``files``, or one it added already in them.
    """
    merged = dict(files)
    for path, change in changes.items():
        before = files.get(path)
        if change.existed != (before is not None):
            return None
        if change.deleted:
            merged.pop(path, None)
        elif change.added is not None:
            merged[path] = FileDates(change.added, change.edited)
        elif before is not None:
            merged[path] = FileDates(before.added, change.edited or before.edited)
    return merged


def parse_status(output: bytes, prefix: bytes = b"") -> frozenset[str]:
    """Return the paths, less ``prefix``, that ``_STATUS`` output lists as changed."""
    return frozenset(
        os.fsdecode(entry[3:].removeprefix(prefix)) for entry in output.split(b"\0") if entry
    )
