"""The git history of the articles folder as the parse cache keeps it, written out and
read back, checked.

A build after a new commit moves the stored history on (``history.load_history``) instead
of reading all of git's. It is one row, quick to read back at 100,000 files: the distinct
pairs of dates once (JSON: seconds since 1970 and UTC offset of the add and of the newest
edit), the file names joined by NUL bytes, per name the index of its pair (32-bit
integers), and the newest deletion (JSON: seconds and offset, or NULL). Nothing read back
is used unless all of it is as written: a column of another type, a date that is not one,
an index out of range, counts that do not match, or a commit id that is not one, and the
whole history is ignored (git's is read again), since a file left out would silently lose
its dates.
"""

from __future__ import annotations

import json
import re
import sys
from array import array
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from feedsvc.history import FileDates, History

TABLE = """
CREATE TABLE IF NOT EXISTS git_history (
    head TEXT, folder TEXT, shallow INTEGER, dates TEXT, names TEXT, pairs BLOB, deleted TEXT
)
"""
READ = "SELECT head, folder, shallow, dates, names, pairs, deleted FROM git_history"
WRITE = "INSERT INTO git_history VALUES (?, ?, ?, ?, ?, ?, ?)"
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256; "": no commit
Pair = tuple[int, int, int | None, int | None]  # seconds and offset of the add, of the edit


def read_history(rows: list[tuple[Any, ...]]) -> History | None:
    """Return the stored History (its ``dirty`` empty), or None unless it reads back whole."""
    if len(rows) != 1:
        return None
    head, folder, shallow, dates, names, pairs, deleted = rows[0]
    if type(head) is not str or (head and _COMMIT_ID.fullmatch(head) is None):
        return None
    if type(folder) is not str or shallow not in (0, 1) or type(shallow) is not int:
        return None
    if type(dates) is not str or type(names) is not str or type(pairs) is not bytes:
        return None
    if deleted is not None and type(deleted) is not str:
        return None
    try:
        files = _files(json.loads(dates), names, pairs)
        newest = None if deleted is None else _moment(*json.loads(deleted))
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        return None
    if files is None:
        return None
    return History(Path(folder), head, bool(shallow), files, deleted=newest)


def _files(dates: object, names: str, pairs: bytes) -> dict[str, FileDates] | None:
    """Raises TypeError, ValueError (OverflowError, OSError, IndexError) on columns not as
    written: not a list of four, bytes cut short (ValueError), an index out of range, more
    or fewer names than indices (ValueError)."""
    if type(dates) is not list:
        return None
    shared = [_dates(*pair) for pair in dates]
    indices = _indices()
    indices.frombytes(pairs)
    if sys.byteorder == "big":
        indices.byteswap()
    listed = names.split("\0") if names else []
    files = dict(zip(listed, map(shared.__getitem__, indices), strict=True))
    return files if len(files) == len(listed) else None  # a name twice


def _indices() -> array[int]:
    """An empty array of unsigned 32-bit integers."""
    return array("I") if array("I").itemsize == 4 else array("L")


def _dates(added: object, added_offset: object, edited: object, edited_offset: object) -> FileDates:
    if edited is None and edited_offset is None:
        return FileDates(_moment(added, added_offset), None)
    return FileDates(_moment(added, added_offset), _moment(edited, edited_offset))


def _moment(seconds: object, offset: object) -> datetime:
    if type(seconds) is not int or type(offset) is not int:
        raise TypeError("not an integer")
    zone = UTC if offset == 0 else timezone(timedelta(seconds=offset))  # ValueError past 24 h
    return datetime.fromtimestamp(seconds, zone)


def write_history(history: History) -> tuple[object, ...]:
    """Return the row that stores ``history`` (``WRITE``)."""
    pairs, indices = _pairs(history.files)
    if sys.byteorder == "big":
        indices.byteswap()
    return (
        history.head,
        str(history.folder),
        int(history.shallow),
        json.dumps(pairs, separators=(",", ":")),
        "\0".join(history.files),
        indices.tobytes(),
        None if history.deleted is None else json.dumps(_columns(history.deleted)),
    )


def _pairs(files: Mapping[str, FileDates]) -> tuple[list[Pair], array[int]]:
    """Return the distinct pairs of dates of ``files`` and, per file, the index of its own."""
    pairs: list[Pair] = []
    index_of: dict[Pair, int] = {}
    by_object: dict[int, int] = {}  # most files share their FileDates (parse_log)
    indices = _indices()
    for dates in files.values():
        index = by_object.get(id(dates))
        if index is None:
            pair = (*_columns(dates.added), *_edit_columns(dates.edited))
            index = index_of.setdefault(pair, len(pairs))
            if index == len(pairs):
                pairs.append(pair)
            by_object[id(dates)] = index
        indices.append(index)
    return pairs, indices


def _columns(moment: datetime) -> tuple[int, int]:
    offset = moment.utcoffset()
    assert offset is not None  # git's dates carry their offset
    return int(moment.timestamp()), int(offset.total_seconds())


def _edit_columns(moment: datetime | None) -> tuple[int | None, int | None]:
    return (None, None) if moment is None else _columns(moment)
