"""The cache folder of an articles folder: where it is, made private, and its locks.

The shell. ``cache.ParseCache`` keeps its database there, ``store.BlobStore`` the bodies.
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from feedsvc.config import Settings
from feedsvc.errors import ConfigError
from feedsvc.filesystem import FileLock, open_private_file, private_folder

log = logging.getLogger("feedsvc")

DATABASE = "parse.sqlite3"
LOCK = "lock"
START_LOCK = "start.lock"


def site_folder(settings: Settings) -> Path | None:
    """Return the cache folder of ``settings.articles``, or None when caching is off."""
    if settings.cache_dir is None:
        return None
    name = hashlib.sha256(str(settings.articles.resolve()).encode("utf-8")).hexdigest()[:16]
    return settings.cache_dir / name


def lock_beside(database: Path, name: str = LOCK) -> FileLock:
    """Open the lock file ``name`` beside ``database``, never through a link; OSError when
    it cannot be made."""
    return FileLock(open_private_file(database.parent / name))


def make_site_folder(settings: Settings) -> Path | None:
    """Create the cache folder and its folder for ``settings.articles``, private; return the latter.

    None when caching is off, or when the folders cannot be made (a warning: the cache
    only saves time). Raises ConfigError when either is not private (``private_folder``):
    whoever else can write it could make this process read, write or serve any file.
    """
    folder = site_folder(settings)
    if folder is None or settings.cache_dir is None:
        return None
    try:
        for path, follow in ((settings.cache_dir, True), (folder, False)):
            problem = private_folder(path, follow)
            if problem is not None:
                raise ConfigError(
                    f"{path}: the cache folder {problem}; it must be yours and private "
                    "(chmod 700), or choose another cache_dir"
                )
    except OSError as exc:
        log.warning("%s: cannot create the cache folder (%s); running without it", folder, exc)
        return None
    return folder


def first_start(settings: Settings) -> AbstractContextManager[None]:
    """Return a lock the server workers of one host take in turn for their first render.

    The first to get it reads and renders everything into the cache; the others then
    find it all there and render nothing, instead of all doing the same work at once.
    Nothing to lock without a cache folder, or when the lock file cannot be made.
    Raises ConfigError like ``make_site_folder``.
    """
    folder = make_site_folder(settings)
    if folder is None:
        return nullcontext()
    try:
        return lock_beside(folder / DATABASE, START_LOCK)
    except OSError:
        return nullcontext()


def make_private(database: Path) -> None:
    """Make the database a private file before SQLite opens it, and no journal a link.

    SQLite opens them by name, following links, and gives its journals the database's
    mode: created here (mode 600, never through a link), they stay private.
    Raises OSError.
    """
    os.close(open_private_file(database))
    for suffix in ("-wal", "-shm", "-journal"):
        journal = database.with_name(database.name + suffix)
        if journal.is_symlink():
            journal.unlink()
