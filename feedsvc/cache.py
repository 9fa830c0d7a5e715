"""The parse cache: what each article file gave, kept on disk between runs (SQLite).

A restart or a rebuild reads again only the files whose size, times or inode changed;
the others come from here, without their paragraphs (only the articles being rendered
need those, and they are read from their files). The cache is an optimization and is
never trusted more than the files: a row whose key no longer matches is ignored, a
cache written by another format or other settings is emptied, and a cache that cannot
be read is deleted and rebuilt. Deleting the cache folder at any time is safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from feedsvc.cachefolder import DATABASE, lock_beside, make_private, make_site_folder
from feedsvc.cacherows import (
    WHOLE_ROWS,
    Rendered,
    is_etag,
    read_edit,
    read_entry,
    read_rendered,
    write_edit,
    write_row,
)
from feedsvc.cacherows import Entry as Entry
from feedsvc.config import Settings
from feedsvc.dating import EditRecord
from feedsvc.history import History
from feedsvc.historyrows import READ, TABLE, WRITE, read_history, write_history

log = logging.getLogger("feedsvc")
Statements = tuple[tuple[str, Sequence[Sequence[object]]], ...]  # what ``_write`` runs

# Bump when the meaning of a row changes; the parser's own source is part of the
# fingerprint too, so a change to how files are read empties the cache by itself.
# 2: the edits table, filled as every file is read again; 3: the git history; 4: deletions
FORMAT = 4
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
# The edits feedsvc noticed (dating.py): kept when the fingerprint changes, since a new
# parser changes no file's bytes; forgotten only with the database itself.
_EDITS = """
CREATE TABLE IF NOT EXISTS edits (
    name TEXT PRIMARY KEY, content TEXT NOT NULL, edited TEXT, zone TEXT
)
"""
# What a server sent with a Last-Modified other than its inputs' (site.Site.moved): kept,
# like the edits, whatever the fingerprint, so that a restart keeps Last-Modified in order.
_MOVED = """
CREATE TABLE IF NOT EXISTS moved (path TEXT PRIMARY KEY, etag TEXT NOT NULL, moment TEXT)
"""


# What reads a file and makes or reads its row: a change to any of them empties the cache.
_PARSER_MODULES = (
    "articles.py", "repository.py", "reading.py", "cache.py", "cacherows.py",
    "history.py", "historyrows.py",
)  # fmt: skip


def fingerprint(settings: Settings) -> str:
    """Return what the rows depend on besides the files: format, parser and its settings."""
    digest = hashlib.sha256(f"{FORMAT}\n".encode())
    for module in _PARSER_MODULES:
        digest.update(files("feedsvc").joinpath(module).read_bytes())
    parts = (
        str(settings.articles.resolve()),
        settings.timezone,
        json.dumps(settings.chrome_lines),
        str(settings.max_file_bytes),
    )
    digest.update("\n".join(parts).encode("utf-8"))
    return digest.hexdigest()


class ParseCache:
    """The rows of one articles folder; every method degrades to "nothing cached" on error."""

    def __init__(self, folder: Path | None, settings: Settings) -> None:
        """Open the cache in ``folder`` (made by ``make_site_folder``; None: no cache)."""
        self.path = folder / DATABASE if folder is not None else None
        self._fingerprint = fingerprint(settings) if folder is not None else ""
        self._db: sqlite3.Connection | None = None
        self._held: list[Callable[[], Statements]] | None = None  # see ``hold_writes``
        if self.path is not None:
            self._db = self._open(self.path)

    @classmethod
    def for_settings(cls, settings: Settings) -> ParseCache:
        """Open the cache of ``settings``; raises ConfigError like ``make_site_folder``."""
        return cls(make_site_folder(settings), settings)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _open(self, path: Path) -> sqlite3.Connection | None:
        try:
            lock = lock_beside(path)
            make_private(path)
        except OSError as exc:
            log.warning("%s: cannot use the cache folder (%s); running without it", path, exc)
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
            db.execute(_EDITS)
            db.execute(_MOVED)
            db.execute(TABLE)  # a database written without it still works
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != self._fingerprint:
                # Another format, parser or settings: start again from empty tables.
                db.execute("BEGIN IMMEDIATE")
                for table in ("files", "rendered", "git_history"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(TABLE)  # the git history's rules are the parser's: it goes too
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
        """Delete the database and its journals (a link is deleted, never followed)."""
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
                lock = lock_beside(self.path)
            except OSError:
                return
            with lock:
                self._delete(self.path)

    def _rows(self, query: str, parameters: tuple[object, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Yield the rows of ``query``, one at a time (a list of a restart's 109,000 rendered
        rows took 9 MB); none when the cache is off, no more when it fails (then it is off)."""
        if self._db is None:
            return
        try:
            yield from self._db.execute(query, parameters)
        except sqlite3.Error as exc:
            self._failed(exc)

    def _write(self, *statements: tuple[str, Iterable[Sequence[object]]]) -> None:
        """Run each ``(statement, rows)`` with executemany, all in one transaction (rows
        may be an iterator, never empty then)."""
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
        for row in self._rows(WHOLE_ROWS):
            entry = read_entry(row)
            if entry is not None:
                result[row[0]] = entry
        return result

    def count(self) -> int:
        """Return how many files have a row (0 when the cache is off or fails)."""
        rows = list(self._rows("SELECT COUNT(*) FROM files"))
        return int(rows[0][0]) if rows else 0

    def hold_writes(self) -> None:
        """Keep the rows ``update`` and ``update_edits`` are given from now on, unwritten,
        until ``write_held`` or ``close``: a parallel build writes them while its
        processes render, not while they wait (``benchmarks/scale.py``, cold ``--jobs 2``)."""
        self._held = []

    def write_held(self) -> None:
        """Write the rows held since ``hold_writes``; write at once from now on."""
        held, self._held = self._held or [], None
        for statements in held:
            self._write(*statements())

    def update(self, changed: Mapping[str, Entry], removed: Iterable[str]) -> None:
        """Store the rows of ``changed`` files and forget ``removed`` ones, in one transaction."""
        insert = "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        forget = ("DELETE FROM files WHERE name = ?", [(name,) for name in removed])
        self._later(lambda: ((insert, [write_row(n, e) for n, e in changed.items()]), forget))

    def _later(self, statements: Callable[[], Statements]) -> None:
        if self._held is None:
            self._write(*statements())
        else:
            self._held.append(statements)

    def edit_records(self) -> dict[str, EditRecord]:
        """Return the noticed-edit record of each file, by name; rows that do not read
        back whole are left out (their files then count as seen for the first time)."""
        rows = self._rows("SELECT name, content, edited, zone FROM edits")
        return {row[0]: record for row in rows if (record := read_edit(row[1:])) is not None}

    def update_edits(self, changed: Mapping[str, EditRecord]) -> None:
        """Store the records of ``changed`` files (those of deleted files included)."""
        insert = "INSERT OR REPLACE INTO edits VALUES (?, ?, ?, ?)"
        self._later(lambda: ((insert, [(n, *write_edit(r)) for n, r in changed.items()]),))

    def moved(self) -> dict[str, tuple[str, datetime]]:
        """Return the ETag and Last-Modified of each path in ``moved``; a row that does not
        read back whole is left out (its path then takes its inputs' Last-Modified)."""
        result = {}
        for path, etag, moment in self._rows("SELECT path, etag, moment FROM moved"):
            try:
                stamp = datetime.fromisoformat(moment)
            except (TypeError, ValueError):
                continue
            if isinstance(path, str) and is_etag(etag) and stamp.tzinfo is not None:
                result[path] = (etag, stamp)
        return result

    def replace_moved(self, rows: Mapping[str, tuple[str, datetime]]) -> None:
        """Keep ``rows`` as the only paths in ``moved``."""
        values = [(path, etag, moment.isoformat()) for path, (etag, moment) in rows.items()]
        self._write(
            ("DELETE FROM moved", [()]),
            ("INSERT OR REPLACE INTO moved VALUES (?, ?, ?)", values),
        )

    def history(self) -> History | None:
        """Return the git history stored by ``update_history``; None when there is none, or
        when it does not read back whole (``historyrows.read_history``)."""
        return read_history(list(self._rows(READ)))

    def update_history(self, history: History) -> None:
        """Store ``history`` in place of the one stored before."""
        self._write(("DELETE FROM git_history", [()]), (WRITE, [write_history(history)]))

    def rendered(self) -> dict[str, Rendered]:
        """Return the ETag and sizes of rendered bodies by the signature of their inputs."""
        rows = self._rows("SELECT signature, etag, size, gzip_size FROM rendered")
        return {row[0]: found for row in rows if (found := read_rendered(row[1:])) is not None}

    def rendered_one(self, signature: str) -> Rendered | None:
        """Return the ETag and sizes of the body rendered from ``signature``, if known."""
        query = "SELECT etag, size, gzip_size FROM rendered WHERE signature = ?"
        rows = list(self._rows(query, (signature,)))
        return read_rendered(rows[0]) if rows else None

    def forget_rendered(self, etag: str) -> None:
        """Forget the bodies with ``etag`` (found missing from the folder)."""
        self._write(("DELETE FROM rendered WHERE etag = ?", [(etag,)]))

    def add_rendered(self, rows: Iterable[tuple[str, Rendered]]) -> None:
        """Remember the ETag and sizes of newly rendered bodies by signature."""
        values = [(signature, *rendered) for signature, rendered in rows]
        self._write(("INSERT OR REPLACE INTO rendered VALUES (?, ?, ?, ?)", values))

    def keep_rendered(self, signatures: Iterable[str]) -> None:
        """Forget the rendered bodies of every signature but ``signatures`` (a complete
        site's): each edit and each release leaves rows no path asks for any more, which
        a restart would read into memory all the same."""
        keep = "INSERT OR IGNORE INTO temp.keep VALUES (?)"
        self._write(
            ("CREATE TEMP TABLE IF NOT EXISTS keep (signature TEXT PRIMARY KEY)", [()]),
            ("DELETE FROM temp.keep", [()]),
            (keep, ((signature,) for signature in signatures)),  # no list of 109,000
            ("DELETE FROM rendered WHERE signature NOT IN (SELECT signature FROM keep)", [()]),
            ("DELETE FROM temp.keep", [()]),
        )

    def close(self) -> None:
        """Write what is held (``hold_writes``) and close the database."""
        self.write_held()
        if self._db is not None:
            self._db.close()
            self._db = None
