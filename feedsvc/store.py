"""Rendered bodies kept as files in the cache folder, so a server holds only their headers.

Files are named by ETag (content-addressed), written once to a temporary name and
renamed into place: any number of workers may write the same body at the same time.
What signature gave which ETag is kept in the parse cache, so a restart finds the
bodies it rendered before without rendering them again.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from feedsvc.cache import ParseCache
from feedsvc.cacherows import Rendered
from feedsvc.filesystem import private_folder, write_atomically
from feedsvc.resources import Resource, Stored

FOLDER = "bodies"
# Rows of new bodies a store holds before it writes them to the cache: a first start
# renders 109,000 bodies at 100,000 articles, whose rows held to the end took 28 MB of
# the worker's peak (``benchmarks/scale.py``, the first start's largest worker).
ROWS_HELD = 1000


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _name(etag: str, gzipped: bool) -> str:
    return etag.strip('"') + (".gz" if gzipped else "")


def _make_folder(folder: Path) -> None:
    """Create the bodies folder, private; OSError when it cannot be or is a link."""
    problem = private_folder(folder)
    if problem is not None:
        raise PermissionError(errno.EPERM, f"bodies folder {problem}", str(folder))


class BlobStore:
    """A folder of bodies by ETag; see the module documentation."""

    def __init__(self, folder: Path, cache: ParseCache) -> None:
        self.folder = folder
        # Body files are named as strings: a Path of each would intern its name (two an
        # article) for the life of the process.
        self._prefix = os.path.join(folder, "")
        _make_folder(folder)
        self._cache = cache
        # All ETags by signature while a server starts; then the rows are looked up one
        # by one (a rebuild finds almost everything in the site it replaces). Each row is
        # dropped once used (a path's signature is its own): the rows go as the site's
        # resources come (a warm load at 10,000 articles peaked at 20.8 MB of Python
        # objects, against 22.2 MB with the rows kept to the end).
        self._known: dict[str, Rendered] | None = cache.rendered()
        self._new: list[tuple[str, Rendered]] = []

    def known(self, signature: str, hot: bool) -> Stored | None:
        if hot:
            return None  # rendered again: kept in memory, never read from a file
        if self._known is not None:
            found = self._known.pop(signature, None)
        else:
            found = self._cache.rendered_one(signature)
        # Trusted without looking at the folder: a body found missing when it is read
        # is forgotten (``forget``) and rendered again.
        return Stored(*found) if found is not None else None

    def put(self, path: str, resource: Resource, hot: bool) -> Resource:
        if hot:
            return resource
        self._write(_name(resource.etag, False), resource.body)
        self._write(_name(resource.etag, True), resource.gzip_body)
        self._new.append((resource.signature, (resource.etag, resource.size, resource.gzip_size)))
        if len(self._new) >= ROWS_HELD:
            self._save()
        return resource.without_bodies(self)

    def _write(self, name: str, body: bytes | None) -> None:
        if body is None:
            return
        try:
            if stat.S_ISREG(os.lstat(self._prefix + name).st_mode):
                return  # content-addressed: already there (anything else is replaced)
        except FileNotFoundError:
            _make_folder(self.folder)  # again, if the folder was deleted
        write_atomically(self._prefix + name, body)

    def read(self, etag: str, gzipped: bool) -> bytes:
        """Return the whole of the body file, never through a link.

        Exactly the bytes of the file opened, as many as its size then: the caller
        checks them against the size it sends. Raises OSError.
        """
        fd = os.open(self._prefix + _name(etag, gzipped), _READ_FLAGS)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", etag)
            body = os.read(fd, info.st_size)
            while len(body) < info.st_size and (more := os.read(fd, info.st_size - len(body))):
                body += more
            return body
        finally:
            os.close(fd)

    def forget(self, etag: str) -> None:
        """Drop a body found missing, so that the next rebuild renders it again."""
        self._cache.forget_rendered(etag)

    def _save(self) -> None:
        self._cache.add_rendered(self._new)
        self._new.clear()

    def flush(self) -> None:
        self._save()
        self._known = None
