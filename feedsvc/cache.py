"""The parse cache: what each article file gave, kept on disk between runs (SQLite).

A restart or a rebuild reads again only the files whose size, times or inode changed;
the others come from here, without their paragraphs (only the articles being rendered
need those, and they are read from their files). The cache is an optimization and is
never trusted more than the files: a row whose key no longer matches is ignored, a
cache written by another format or other settings is emptied, and a cache that cannot
be read is deleted and rebuilt. Deleting the cache folder at any time is safe.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from feedsvc.articles import Summary
from feedsvc.config import Settings

log = logging.getLogger("feedsvc")

# Bump when the meaning of a row changes; the parser's own source is part of the
# fingerprint too, so a change to how files are read empties the cache by itself.
FORMAT = 1
DATABASE = "parse.sqlite3"
LOCK = "lock"
START_LOCK = "start.lock"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER,
    id TEXT, published TEXT, zone TEXT, digest TEXT,
    number INTEGER, problems TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rendered (
    signature TEXT PRIMARY KEY, etag TEXT NOT NULL, size INTEGER NOT NULL, gzip_size INTEGER
);
"""

FileKey = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Rendered = tuple[str, int, int | None]  # ETag, size, gzip size


class Entry(NamedTuple):  # a tuple: 100,000 of them are made per start-up
    """One file's row: its key when read, the article's summary (None: skipped), problems.

    ``problems`` are ``(reason, skipped)`` pairs.
    """

    key: FileKey
    summary: Summary | None
    problems: tuple[tuple[str, bool], ...]


def site_folder(settings: Settings) -> Path | None:
    """Return the cache folder of ``settings.articles``, or None when caching is off."""
    if settings.cache_dir is None:
        return None
    name = hashlib.sha256(str(settings.articles.resolve()).encode("utf-8")).hexdigest()[:16]
    return settings.cache_dir / name


def fingerprint(settings: Settings) -> str:
    """Return what the rows depend on besides the files: format, parser and its settings."""
    digest = hashlib.sha256(f"{FORMAT}\n".encode())
    for module in ("articles.py", "repository.py", "reading.py", "cache.py"):
        digest.update(files("feedsvc").joinpath(module).read_bytes())
    parts = (
        str(settings.articles.resolve()),
        settings.timezone,
        json.dumps(settings.chrome_lines),
        str(settings.max_file_bytes),
    )
    digest.update("\n".join(parts).encode("utf-8"))
    return digest.hexdigest()


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


class _FolderLock:
    """An exclusive lock on the cache folder's lock file, across processes (flock)."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def __enter__(self) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._descriptor)  # releases the lock


def _lock(database: Path, name: str = LOCK) -> _FolderLock:
    """Open the lock file ``name`` beside ``database``; OSError when it cannot be made."""
    return _FolderLock(os.open(database.parent / name, os.O_RDWR | os.O_CREAT, 0o644))


def first_start(settings: Settings) -> AbstractContextManager[None]:
    """Return a lock the server workers of one host take in turn for their first render.

    The first to get it reads and renders everything into the cache; the others then
    find it all there and render nothing, instead of all doing the same work at once.
    Nothing to lock without a cache folder, or when the lock file cannot be made.
    """
    folder = site_folder(settings)
    if folder is None:
        return nullcontext()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _lock(folder / DATABASE, START_LOCK)
    except OSError:
        return nullcontext()


class ParseCache:
    """The rows of one articles folder; every method degrades to "nothing cached" on error."""

    def __init__(self, folder: Path | None, settings: Settings) -> None:
        self.path = folder / DATABASE if folder is not None else None
        self._fingerprint = fingerprint(settings) if folder is not None else ""
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self._db = self._open(self.path)

    @classmethod
    def for_settings(cls, settings: Settings) -> ParseCache:
        return cls(site_folder(settings), settings)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _open(self, path: Path) -> sqlite3.Connection | None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = _lock(path)
        except OSError as exc:
            log.warning("%s: cannot create the cache folder (%s); running without it", path, exc)
            return None
        # Server workers start together: one at a time checks, empties or deletes the
        # database, so none deletes what another is creating.
        with lock:
            for attempt in (1, 2):
                try:
                    return self._connect(path)
                except sqlite3.OperationalError as exc:  # busy, locked, read-only: not damage
                    log.warning("%s: cannot use the cache (%s); running without it", path, exc)
                    return None
                except sqlite3.DatabaseError as exc:
                    if attempt == 2:
                        log.warning("%s: cannot use the cache (%s); running without it", path, exc)
                        return None
                    log.warning("%s: cache unreadable (%s); deleting and rebuilding it", path, exc)
                    self._delete(path)
            return None

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != self._fingerprint:
                # Another format, parser or settings: start again from empty tables.
                db.execute("BEGIN IMMEDIATE")
                db.execute("DROP TABLE IF EXISTS files")
                db.execute("DROP TABLE IF EXISTS rendered")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self._fingerprint,)
                )
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _delete(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                path.with_name(path.name + suffix).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("%s: cannot delete (%s)", path, exc)

    def _failed(self, exc: sqlite3.Error) -> None:
        """Stop using a cache that failed; a corrupt one is deleted so the next run rebuilds."""
        assert self.path is not None
        log.warning("%s: cache failed (%s); running without it", self.path, exc)
        if self._db is not None:
            self._db.close()
            self._db = None
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            try:
                lock = _lock(self.path)
            except OSError:
                return
            with lock:
                self._delete(self.path)

    def _rows(self, query: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Return the rows of ``query``; none when the cache is off or fails (then it is off)."""
        if self._db is None:
            return []
        try:
            return self._db.execute(query, parameters).fetchall()
        except sqlite3.Error as exc:
            self._failed(exc)
            return []

    def _write(self, *statements: tuple[str, Sequence[Sequence[object]]]) -> None:
        """Run each ``(statement, rows)`` with executemany, all in one transaction."""
        if self._db is None or not any(rows for _, rows in statements):
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement, rows in statements:
                    self._db.executemany(statement, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._failed(exc)

    def entries(self) -> dict[str, Entry]:
        """Return every row that reads back whole, by file name; rows that do not are left out."""
        result: dict[str, Entry] = {}
        # SQLite leaves out the rows whose columns have the wrong types (100,000 rows
        # are read per start); what is left can still hold text that does not parse.
        for row in self._rows(_WHOLE_ROWS):
            entry = _entry(row)
            if entry is not None:
                result[row[0]] = entry
        return result

    def update(self, changed: Mapping[str, Entry], removed: Iterable[str]) -> None:
        """Store the rows of ``changed`` files and forget ``removed`` ones, in one transaction."""
        self._write(
            (
                "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [_row(name, entry) for name, entry in changed.items()],
            ),
            ("DELETE FROM files WHERE name = ?", [(name,) for name in removed]),
        )

    def rendered(self) -> dict[str, Rendered]:
        """Return the ETag and sizes of rendered bodies by the signature of their inputs."""
        rows = self._rows("SELECT signature, etag, size, gzip_size FROM rendered")
        return {row[0]: found for row in rows if (found := _rendered(row[1:])) is not None}

    def rendered_one(self, signature: str) -> Rendered | None:
        """Return the ETag and sizes of the body rendered from ``signature``, if known."""
        query = "SELECT etag, size, gzip_size FROM rendered WHERE signature = ?"
        rows = self._rows(query, (signature,))
        return _rendered(rows[0]) if rows else None

    def forget_rendered(self, etag: str) -> None:
        """Forget the bodies with ``etag`` (found missing from the folder)."""
        self._write(("DELETE FROM rendered WHERE etag = ?", [(etag,)]))

    def add_rendered(self, rows: Iterable[tuple[str, Rendered]]) -> None:
        """Remember the ETag and sizes of newly rendered bodies by signature."""
        values = [(signature, *rendered) for signature, rendered in rows]
        self._write(("INSERT OR REPLACE INTO rendered VALUES (?, ?, ?, ?)", values))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _rendered(row: tuple[Any, ...]) -> Rendered | None:
    """Return a rendered row's ETag and sizes, or None when it is not as written."""
    etag, size, gzip_size = row
    if type(etag) is not str or type(size) is not int:
        return None
    if gzip_size is not None and type(gzip_size) is not int:
        return None
    return (etag, size, gzip_size)


def _row(name: str, entry: Entry) -> tuple[object, ...]:
    summary = entry.summary
    article: tuple[object, ...] = (None,) * 5
    if summary is not None:
        published, zone = _stored_time(summary.published)
        article = (summary.id, published, zone, summary.digest)
        article += (summary.number,)
    return (name, *entry.key, *article, json.dumps(entry.problems))


_WHOLE_ROWS = """
SELECT * FROM files
WHERE typeof(name) = 'text' AND typeof(size) = 'integer' AND typeof(mtime_ns) = 'integer'
  AND typeof(ctime_ns) = 'integer' AND typeof(ino) = 'integer' AND typeof(problems) = 'text'
  AND (id IS NULL OR (typeof(id) = 'text' AND typeof(published) = 'text'
       AND typeof(zone) = 'text' AND typeof(digest) = 'text' AND typeof(number) = 'integer'))
"""


def _entry(row: tuple[Any, ...]) -> Entry | None:
    """Return the Entry a row of ``_WHOLE_ROWS`` stands for, or None when its text is not
    as written."""
    name, size, mtime, ctime, ino, ident, published, zone, digest, number, bad = row
    try:
        problems: tuple[tuple[str, bool], ...] = ()
        if bad != "[]":
            problems = tuple((str(reason), bool(skipped)) for reason, skipped in json.loads(bad))
        if ident is None:
            # A file gives an article or a problem: a row with neither is not as written.
            return Entry((size, mtime, ctime, ino), None, problems) if problems else None
        moment = _loaded_time(published, zone)
    except (ValueError, TypeError, KeyError):
        return None
    summary = Summary(ident, name, moment, digest=digest, number=number)
    return Entry((size, mtime, ctime, ino), summary, problems)
