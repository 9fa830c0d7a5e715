"""When an article's text last changed: from git's history, or from edits feedsvc noticed.

Pure: the shell gives the git dates (history.py), the file's bytes and mtime, and the
record it kept of the file (the cache folder's ``edits`` table). The rules:

- ``published`` is the article's date line; ``updated`` its edit time when it has one,
  else ``published`` (``Summary.updated``). An edit time is never before ``published``:
  an edit made before an article's own date (a scheduled article) does not date it.
- **git** (``updated_from = "git"``, or ``"auto"`` in a work tree): the committer date of
  the newest commit that changed the file after the commit that added it. A file git cannot
  date (uncommitted changes, untracked, a shallow clone) falls back to the noticed edits
  under ``"auto"``, and has no edit time under ``"git"``.
- **noticed edits** (``"mtime"``, or ``"auto"`` outside git): feedsvc keeps, per file, a
  hash of its bytes and the edit time it has given it. A file seen for the first time has
  no edit time (a fresh checkout gives every file a new mtime: none of them was edited).
  A file whose bytes are those recorded keeps its edit time (``touch``, a re-export with
  the same bytes, a restored mtime change nothing). A file whose bytes differ was edited
  at its mtime, cut to the second, and never at or before the edit time recorded before
  (a file restored with an old mtime still moves forward, by a second).
- ``"none"``: no edit times; every article's ``updated`` is its ``published``.

Deletions date the feeds (their own update time is the newest change, deletions
included; ``deletion_time``): by git, the newest commit that deleted an article file; by
noticed edits, a file with a record that is gone was deleted at the articles folder's
mtime when feedsvc found it gone (cut to the second: no earlier than the deletion, since
removing a file sets it, and no later than its discovery). Its record says so until a
file of that name comes back (seen for the first time again); the newest such time is
kept apart (``edits.NEWEST``), so a file deleted and written again leaves its deletion.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

SOURCES = ("auto", "git", "mtime", "none")
_LATEST = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())


class EditRecord(NamedTuple):
    """What is kept of a file between runs: a hash of its bytes and its edit time; for a
    file found deleted, ``DELETED`` and the time of its deletion."""

    content: str
    edited: datetime | None


DELETED = ""  # the content of the record of a file found deleted: no hash is empty


def content_hash(data: bytes) -> str:
    """Return the hash of a file's bytes that tells a rewrite from an edit."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def notice(record: EditRecord | None, content: str, mtime_ns: int, zone: tzinfo) -> EditRecord:
    """Return the record of a file whose bytes hash to ``content`` and whose mtime is
    ``mtime_ns``, given the ``record`` kept before (None: seen for the first time)."""
    if record is None or record.content == DELETED:
        return EditRecord(content, None)
    if record.content == content:
        return record
    edited = mtime_moment(mtime_ns, zone)
    if record.edited is not None and edited <= record.edited:
        edited = record.edited + timedelta(seconds=1)
    return EditRecord(content, edited)


def mtime_moment(mtime_ns: int, zone: tzinfo) -> datetime:
    """Return an mtime cut to the second, as edits and deletions are dated; one out of
    range (touch -d 12000-01-01) is cut to the range datetimes have."""
    seconds = min(max(mtime_ns // 1_000_000_000, 0), _LATEST)
    return datetime.fromtimestamp(seconds, zone)


def deletion_time(
    source: str,
    git_deleted: datetime | None,
    git_dated: bool,
    noticed: datetime | None,
    noticed_uncommitted: datetime | None,
) -> datetime | None:
    """Return the time of the newest deletion of an article by ``source`` (one of SOURCES),
    or None for none.

    ``git_deleted``: the newest commit that deleted an article file; ``git_dated``: git's
    history can date (a work tree, not a shallow clone); ``noticed``: the newest deletion
    feedsvc found; ``noticed_uncommitted``: the newest of those still to be committed (a
    file of HEAD gone from the work tree). Under "auto" git's dates rule where it has
    them, so that two clones of a commit agree, and a deletion not committed yet counts
    at the time it was found.
    """
    if source == "none":
        return None
    if source == "git":
        return git_deleted if git_dated else None
    if source == "mtime" or not git_dated:
        return noticed
    return max((t for t in (git_deleted, noticed_uncommitted) if t is not None), default=None)


def edit_time(
    source: str,
    published: datetime,
    git_edited: datetime | None,
    git_dated: bool,
    noticed: datetime | None,
) -> datetime | None:
    """Return an article's edit time by ``source`` (one of SOURCES), or None for none.

    ``git_edited``: the newest commit's edit of the file since its add (None: none, or
    no history); ``git_dated``: git can date the file as it is on disk (committed and
    clean, not a shallow clone); ``noticed``: the noticed-edit record's time. Under
    "auto", a file git cannot date (uncommitted changes) keeps its last committed edit
    time as a floor, so a local change never moves its date back.
    """
    if source == "none":
        return None
    if source == "git":
        edited = git_edited if git_dated else None
    elif source == "mtime":
        edited = noticed
    elif git_dated:
        edited = git_edited
    else:
        edited = max((t for t in (git_edited, noticed) if t is not None), default=None)
    if edited is None or edited <= published:
        return None
    return edited
