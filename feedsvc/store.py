"""Rendered bodies kept as files in the cache folder, so a server holds only their headers.

Files are named by ETag (content-addressed), written once to a temporary name and
renamed into place: any number of workers may write the same body at the same time.
What signature gave which ETag is kept in the parse cache, so a restart finds the
bodies it rendered before without rendering them again.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from feedsvc.cache import ParseCache, Rendered
from feedsvc.resources import Resource, Stored

FOLDER = "bodies"


def _name(etag: str, gzipped: bool) -> str:
    return etag.strip('"') + (".gz" if gzipped else "")


class BlobStore:
    """A folder of bodies by ETag; see the module documentation."""

    def __init__(self, folder: Path, cache: ParseCache) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._cache = cache
        # All ETags by signature while a server starts; then the rows are looked up one
        # by one (a rebuild finds almost everything in the site it replaces).
        self._known: dict[str, Rendered] | None = cache.rendered()
        self._new: list[tuple[str, Rendered]] = []

    def known(self, signature: str, hot: bool) -> Stored | None:
        if hot:
            return None  # rendered again: kept in memory, never read from a file
        if self._known is not None:
            found = self._known.get(signature)
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
        return resource.without_bodies(self)

    def _write(self, name: str, body: bytes | None) -> None:
        if body is None or os.path.exists(self.folder / name):
            return
        self.folder.mkdir(parents=True, exist_ok=True)  # again, if the folder was deleted
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(body)
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, etag: str, gzipped: bool) -> bytes:
        with open(self.folder / _name(etag, gzipped), "rb") as file:
            return file.read()

    def forget(self, etag: str) -> None:
        """Drop a body found missing, so that the next rebuild renders it again."""
        self._cache.forget_rendered(etag)

    def flush(self) -> None:
        self._cache.add_rendered(self._new)
        self._new.clear()
        self._known = None
