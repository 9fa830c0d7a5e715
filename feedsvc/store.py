"""Rendered bodies kept as files in the cache folder, so a server holds only their headers.

Files are named by ETag (content-addressed), written once to a temporary name and
renamed into place: any number of workers may write the same body at the same time.
What signature gave which ETag is kept in the parse cache, so a restart finds the
bodies it rendered before without rendering them again.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from feedsvc.cache import ParseCache, Rendered
from feedsvc.site import Resource, Stored

FOLDER = "bodies"


def _name(etag: str, gzipped: bool) -> str:
    return etag.strip('"') + (".gz" if gzipped else "")


class BlobStore:
    """A folder of bodies by ETag; see the module documentation."""

    def __init__(self, folder: Path, cache: ParseCache) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._cache = cache
        self._known = cache.rendered()
        self._present = set(os.listdir(folder))
        self._new: list[tuple[str, Rendered]] = []

    def known(self, signature: str, hot: bool) -> Stored | None:
        if hot:
            return None  # rendered again: kept in memory, never read from a file
        found = self._known.get(signature)
        if found is None:
            return None
        etag, size, gzip_size = found
        if _name(etag, False) not in self._present:
            return None
        if gzip_size is not None and _name(etag, True) not in self._present:
            return None
        return Stored(etag, size, gzip_size)

    def put(self, path: str, resource: Resource, hot: bool) -> Resource:
        if hot:
            return resource
        self._write(_name(resource.etag, False), resource.body)
        self._write(_name(resource.etag, True), resource.gzip_body)
        rendered = (resource.etag, resource.size, resource.gzip_size)
        self._known[resource.signature] = rendered
        self._new.append((resource.signature, rendered))
        return replace(resource, body=None, gzip_body=None, store=self)

    def _write(self, name: str, body: bytes | None) -> None:
        if body is None or name in self._present:
            return
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(body)
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._present.add(name)

    def read(self, etag: str, gzipped: bool) -> bytes:
        with open(self.folder / _name(etag, gzipped), "rb") as file:
            return file.read()

    def forget(self, etag: str) -> None:
        """Drop a body found missing, so that the next rebuild renders it again."""
        self._present.discard(_name(etag, False))
        self._present.discard(_name(etag, True))

    def flush(self) -> None:
        self._cache.add_rendered(self._new)
        self._new.clear()
