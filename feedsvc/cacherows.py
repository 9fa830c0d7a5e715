"""A row of the parse cache: what one file gave, written out and read back, checked.

Nothing read from the cache is used before it is checked against what it must look
like and against the file it describes: a row that fails is left out and its file is
read again (the cache folder is private, but a row is still no reason to trust a path).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from feedsvc.articles import FileName, Summary, parse_file_name
from feedsvc.dating import DELETED, EditRecord
from feedsvc.filesystem import FileKey, key_fields, make_key

Rendered = tuple[str, int, int | None]  # ETag, size, gzip size


class Entry(NamedTuple):  # a tuple: 100,000 of them are made per start-up
    """One file's row: its key when read, the article's summary (None: skipped), problems.

    ``problems`` are ``(reason, skipped)`` pairs.
    """

    key: FileKey
    summary: Summary | None
    problems: tuple[tuple[str, bool], ...]


@lru_cache(maxsize=64)
def _zone(key: str) -> tzinfo:
    return ZoneInfo(key)


def _stored_time(moment: datetime) -> tuple[str, str]:
    """Return text and zone name that give ``moment`` back exactly (``_loaded_time``).

    In a named zone the wall time, fold included, is kept with the zone: the same object
    comes back even for a time the zone skips (a clock change), which converting an
    offset back to the zone would move.
    """
    zone = getattr(moment.tzinfo, "key", "") or ""
    if zone:
        return moment.replace(tzinfo=None).isoformat() + ("/1" if moment.fold else ""), zone
    return moment.isoformat(), ""


def _loaded_time(text: str, zone: str) -> datetime:
    if zone:
        wall, fold = (text[:-2], 1) if text.endswith("/1") else (text, 0)
        moment = datetime.fromisoformat(wall)
        if moment.tzinfo is not None:
            raise ValueError("time with an offset in a named zone")
        return moment.replace(tzinfo=_zone(zone), fold=fold)
    moment = datetime.fromisoformat(text)
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("naive time")
    return moment.replace(tzinfo=UTC if offset == timedelta(0) else timezone(offset))


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and not text.strip(_HEX_DIGITS)


_HEX_DIGITS = "0123456789abcdef"
_ETAG_LENGTH = 34  # a quoted SHA-256 prefix of 32 hex digits (``resources.make_etag``)


def is_etag(value: object) -> bool:
    """Tell whether ``value`` is an ETag as ``resources.make_etag`` writes them."""
    return (
        type(value) is str
        and len(value) == _ETAG_LENGTH
        and value[0] == value[-1] == '"'
        and _is_hex(value[1:-1], _ETAG_LENGTH - 2)
    )


def read_rendered(row: tuple[Any, ...]) -> Rendered | None:
    """Return a rendered row's ETag and sizes, or None when it is not as written.

    The ETag names a file of the bodies folder: anything but the quoted hex digits
    ``resources.make_etag`` gives (``"../../etc/passwd"``) is refused.
    """
    etag, size, gzip_size = row
    if type(etag) is not str or type(size) is not int or size < 0:
        return None
    if len(etag) != _ETAG_LENGTH or etag[0] != '"' or etag[-1] != '"':
        return None
    if not _is_hex(etag[1:-1], _ETAG_LENGTH - 2):
        return None
    if gzip_size is not None and (type(gzip_size) is not int or gzip_size < 0):
        return None
    return (etag, size, gzip_size)


def write_row(name: str, entry: Entry) -> tuple[object, ...]:
    summary = entry.summary
    article: tuple[object, ...] = (None,) * 5
    if summary is not None:
        published, zone = _stored_time(summary.published)
        article = (summary.id, published, zone, summary.digest)
        article += (summary.number,)
    return (name, *key_fields(entry.key), *article, json.dumps(entry.problems))


WHOLE_ROWS = """
SELECT * FROM files
WHERE typeof(name) = 'text' AND typeof(size) = 'integer' AND typeof(mtime_ns) = 'integer'
  AND typeof(ctime_ns) = 'integer' AND typeof(ino) = 'integer' AND typeof(problems) = 'text'
  AND (id IS NULL OR (typeof(id) = 'text' AND typeof(published) = 'text'
       AND typeof(zone) = 'text' AND typeof(digest) = 'text' AND typeof(number) = 'integer'))
"""


def _names_article(name: str, ident: str, number: int) -> bool:
    """Tell whether a row's id and number are those its file name gives.

    The id becomes a URL and a file path of the build (``articles/<id>/``): a row's id
    is only ever the one ``parse_file_name`` gives. Most names are ``NNN_<16 hex>.txt``,
    checked without its cost (100,000 rows are read per start-up).
    """
    match = _STANDARD_NAME(name)
    if match is not None:
        return match[2] == ident and int(match[1]) == number
    return parse_file_name(name) == FileName(ident, number)


# ``articles.FILE_NAME`` in lower case: one match checks id and number of most rows.
_STANDARD_NAME = re.compile(r"(\d+)_([0-9a-f]{16})\.txt").fullmatch


def read_entry(row: tuple[Any, ...]) -> Entry | None:
    """Return the Entry a row of ``WHOLE_ROWS`` stands for, or None when its text is not
    as written."""
    name, size, mtime, ctime, ino, ident, published, zone, digest, number, bad = row
    try:
        problems: tuple[tuple[str, bool], ...] = ()
        if bad != "[]":
            problems = tuple((str(reason), bool(skipped)) for reason, skipped in json.loads(bad))
        if ident is None:
            # A file gives an article or a problem: a row with neither is not as written.
            return Entry(make_key(size, mtime, ctime, ino), None, problems) if problems else None
        moment = _loaded_time(published, zone)
    except (ValueError, TypeError, KeyError):
        return None
    if len(digest) != 32 or digest.strip(_HEX_DIGITS) or not _names_article(name, ident, number):
        return None
    summary = Summary(ident, name, moment, digest=digest, number=number)
    return Entry(make_key(size, mtime, ctime, ino), summary, problems)


def write_edit(record: EditRecord) -> tuple[str, str | None, str | None]:
    """Return the ``content, edited, zone`` columns of a noticed-edit record."""
    if record.edited is None:
        return record.content, None, None
    return (record.content, *_stored_time(record.edited))


def read_edit(row: tuple[Any, ...]) -> EditRecord | None:
    """Return the record of an ``edits`` row's ``content, edited, zone``; None if it does
    not read back whole."""
    content, edited, zone = row
    if not isinstance(content, str) or not (_is_hex(content, 32) or content == DELETED):
        return None
    if edited is None:
        return None if content == DELETED else EditRecord(content, None)
    try:
        return EditRecord(content, _loaded_time(edited, zone or ""))
    except (TypeError, ValueError, KeyError, OSError):
        return None
