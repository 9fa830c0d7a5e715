"""The git history of the articles folder as the parse cache keeps it, written out and
read back, checked.

A build after a new commit moves the stored history on (``history.load_history``) instead
of reading all of git's. The rows are compact: per file its name, and the seconds since
1970 and UTC offset of its add and newest edit (integers, a few bytes each). Nothing read
back is used unless all of it is as written: one bad row, a count that does not match or
a commit id that is not one, and the whole history is ignored (git's is read again), since
a file left out would silently lose its dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from feedsvc.history import FileDates, History

TABLES = """
CREATE TABLE IF NOT EXISTS git_head (head TEXT, folder TEXT, shallow INTEGER, files INTEGER);
CREATE TABLE IF NOT EXISTS git_files (
    name TEXT PRIMARY KEY, added INTEGER, added_offset INTEGER,
    edited INTEGER, edited_offset INTEGER
);
"""
READ_HEAD = "SELECT head, folder, shallow, files FROM git_head"
READ_FILES = "SELECT name, added, added_offset, edited, edited_offset FROM git_files"
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256; "": no commit
Statement = tuple[str, Sequence[Sequence[object]]]
Row = tuple[str, int, int, int | None, int | None]
Rows = list[tuple[Any, ...]]


def read_history(
    head_rows: list[tuple[Any, ...]], file_rows: list[tuple[Any, ...]]
) -> History | None:
    """Return the stored History (its ``dirty`` empty), or None unless every row reads back
    whole."""
    if len(head_rows) != 1:
        return None
    head, folder, shallow, count = head_rows[0]
    if type(head) is not str or (head and _COMMIT_ID.fullmatch(head) is None):
        return None
    if type(folder) is not str or shallow not in (0, 1) or type(count) is not int:
        return None
    if count != len(file_rows):
        return None
    files: dict[str, FileDates] = {}
    shared: dict[tuple[Any, ...], FileDates] = {}  # one per pair of dates, as parse_log
    try:
        for name, *moments in file_rows:
            key = tuple(moments)
            dates = shared.get(key)
            if dates is None:
                dates = shared[key] = _dates(*moments)
            if type(name) is not str:
                return None
            files[name] = dates
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return History(Path(folder), head, bool(shallow), files)


def _dates(added: object, added_offset: object, edited: object, edited_offset: object) -> FileDates:
    """Raises TypeError or ValueError (OverflowError, OSError) for columns not as written."""
    if edited is None and edited_offset is None:
        return FileDates(_moment(added, added_offset), None)
    return FileDates(_moment(added, added_offset), _moment(edited, edited_offset))


def _moment(seconds: object, offset: object) -> datetime:
    if type(seconds) is not int or type(offset) is not int:
        raise TypeError("not an integer")
    zone = UTC if offset == 0 else timezone(timedelta(seconds=offset))  # ValueError past 24 h
    return datetime.fromtimestamp(seconds, zone)


def write_history(history: History, before: History | None) -> list[Statement]:
    """Return the statements that store ``history``, to run in one transaction.

    ``before`` is what the cache holds (None: unknown): only the rows of files whose dates
    changed since are written, and nothing unless the cache still holds ``before``.
    """
    head = (history.head, str(history.folder), int(history.shallow), len(history.files))
    if before is None:
        return [
            ("DELETE FROM git_head", [()]),
            ("DELETE FROM git_files", [()]),
            ("INSERT INTO git_files VALUES (?, ?, ?, ?, ?)", _rows(history.files, {})),
            ("INSERT INTO git_head VALUES (?, ?, ?, ?)", [head]),
        ]
    held = "(SELECT head FROM git_head) = ?"
    removed = [(name, before.head) for name in before.files.keys() - history.files.keys()]
    changed = [(*row, before.head) for row in _rows(history.files, before.files)]
    return [
        (f"DELETE FROM git_files WHERE name = ? AND {held}", removed),
        (f"INSERT OR REPLACE INTO git_files SELECT ?, ?, ?, ?, ? WHERE {held}", changed),
        ("UPDATE git_head SET head = ?, folder = ?, shallow = ?, files = ? WHERE head = ?",
         [(*head, before.head)]),
    ]  # fmt: skip


def _rows(files: Mapping[str, FileDates], before: Mapping[str, FileDates]) -> list[Row]:
    """Return the rows of ``files`` whose dates are not those of ``before`` (offsets too)."""
    rows = []
    for name, dates in files.items():
        old = before.get(name)
        if old is dates:  # moved on from the history before: unchanged
            continue
        row = _row(name, dates)
        if old is None or _row(name, old) != row:
            rows.append(row)
    return rows


def _row(name: str, dates: FileDates) -> Row:
    added, added_offset = _columns(dates.added)
    if dates.edited is None:
        return name, added, added_offset, None, None
    return name, added, added_offset, *_columns(dates.edited)


def _columns(moment: datetime) -> tuple[int, int]:
    offset = moment.utcoffset()
    assert offset is not None  # git's dates carry their offset
    return int(moment.timestamp()), int(offset.total_seconds())
