"""A rendered response body with the headers that describe it (``Resource``), and where
bodies are kept when not in memory (``Store``). Pure: no I/O."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple, Protocol

import werkzeug.http

from feedsvc.signatures import Signer

HTML = "text/html; charset=utf-8"
MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
ARCHIVE_CACHE_CONTROL = "public, max-age=31536000, immutable"


class Stored(NamedTuple):
    """A stored body: its ETag, its size and its gzip variant's (None: none)."""

    etag: str
    size: int
    gzip_size: int | None


class Store(Protocol):
    """Where rendered bodies live when not in memory (a folder of blobs, the build output)."""

    def known(self, signature: str, hot: bool) -> Stored | None:
        """Return the body rendered from ``signature`` if it is stored; None if it is not.

        ``hot``: a resource whose body a server keeps in memory (feeds, front page, 404).
        """

    def put(self, path: str, resource: Resource, hot: bool) -> Resource:
        """Take ``resource`` with its bodies; return what to keep in memory (bodies or not)."""

    def read(self, etag: str, gzipped: bool) -> bytes:
        """Return a stored body (its gzip variant with ``gzipped``); OSError if it is gone."""

    def flush(self) -> None:
        """Make what was put durable for the next run."""


@dataclass(slots=True)
class Resource:
    """One response body with the headers that describe it, and its gzip variant.

    A body is in memory (``body``) or in ``store``, read per request by its ETag.
    ``signature`` fingerprints everything the body and headers were made from.
    Never changed once made; not a frozen dataclass only because a build or a server
    start makes one per resource (109,000 for 100,000 articles) and a frozen one took
    five times as long to make (1.09 against 0.20 µs).
    """

    body: bytes | None
    media_type: str
    last_modified: datetime
    cache_control: str
    etag: str
    size: int
    gzip_body: bytes | None
    gzip_size: int | None  # None: no gzip variant
    links: tuple[str, ...] = ()  # HTTP Link header values (RFC 8288), one header each
    signature: str = ""
    store: Store | None = None

    @property
    def http_last_modified(self) -> str:
        """Last-Modified as sent (formatted on use, remembered for the most asked)."""
        return http_date(self.last_modified)

    @property
    def gzip_etag(self) -> str:
        """The gzip variant's ETag, derived from the plain body's (see ``make_resource``)."""
        return self.etag[:-1] + '-gzip"'

    def without_bodies(self, store: Store | None = None) -> Resource:
        """Return this resource with its bodies left to ``store`` (or to its own store)."""
        return Resource(
            None,
            self.media_type,
            self.last_modified,
            self.cache_control,
            self.etag,
            self.size,
            None,
            self.gzip_size,
            self.links,
            self.signature,
            store if store is not None else self.store,
        )

    def content(self, gzipped: bool = False) -> bytes:
        """Return the body (or its gzip variant): from memory, else from the store."""
        body = self.gzip_body if gzipped else self.body
        if body is not None:
            return body
        if self.store is None:
            raise LookupError(f"body of {self.etag} is neither in memory nor stored")
        return self.store.read(self.etag, gzipped)


@lru_cache(maxsize=4096)
def http_date(moment: datetime) -> str:
    """Return the IMF-fixdate of ``moment`` (RFC 9110 5.6.7), whatever the process locale
    (remembered: every response of a resource sends the same one)."""
    return werkzeug.http.http_date(moment)


def make_etag(body: bytes) -> str:
    """Return a strong ETag of ``body``: the same on every machine and in every release."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def describe(
    etag: str,
    size: int,
    media_type: str,
    last_modified: datetime,
    cache_control: str,
    gzip_size: int | None,
    *,
    links: tuple[str, ...] = (),
    signature: str = "",
    store: Store | None = None,
    body: bytes | None = None,
    gzip_body: bytes | None = None,
) -> Resource:
    """Return a Resource without bodies (unless given): the headers of ``size`` bytes."""
    if last_modified.microsecond:
        last_modified = last_modified.replace(microsecond=0)
    # Positional: a build describes every resource of the site, 109,000 at 100,000 articles.
    return Resource(
        body,
        media_type,
        last_modified,
        cache_control,
        etag,
        size,
        gzip_body,
        gzip_size,
        links,
        signature,
        store,
    )


def make_resource(
    body: bytes,
    media_type: str,
    last_modified: datetime,
    cache_control: str,
    compress: bool = True,
    *,
    links: tuple[str, ...] = (),
    signature: str = "",
) -> Resource:
    """Return a Resource with its ETag and (with ``compress``) its gzip variant, computed once.

    ``last_modified`` is cut to whole seconds, as HTTP dates are.
    The gzip ETag derives from the plain body's hash, not the compressed bytes, so
    machines whose zlib compresses differently still agree on it. Static files need
    no gzip variant (the web server compresses), so the build skips the work.
    """
    packed = gzip.compress(body, compresslevel=6, mtime=0) if compress else None
    return describe(
        make_etag(body),
        len(body),
        media_type,
        last_modified,
        cache_control,
        len(packed) if packed is not None else None,
        links=links,
        signature=signature,
        body=body,
        gzip_body=packed,
    )


class Renderer:
    """Renders the resources whose signature is new; the others come from before or a store."""

    def __init__(
        self,
        sign: Signer,
        compress: bool,
        previous: Mapping[str, Resource],
        store: Store | None,
        only: Container[str] | None = None,
    ) -> None:
        self.sign = sign
        self.compress = compress
        self.previous = previous
        self.store = store
        self.only = only  # the paths to render (None: all); see ``skips``
        self.resources: dict[str, Resource] = {}

    def skips(self, path: str) -> bool:
        """Whether ``path`` is left to another renderer: not in ``only``, when given."""
        return self.only is not None and path not in self.only

    def reuse(
        self,
        path: str,
        signature: str,
        media_type: str,
        last_modified: datetime,
        cache_control: str,
        links: tuple[str, ...] = (),
        hot: bool = False,
    ) -> Resource | None:
        """Add the resource at ``path`` from the previous site or the store when either
        has ``signature``; return it, or None when it must be rendered (``add``).

        ``hot`` resources (the feeds, the front page) always keep their bodies in memory.
        """
        old = self.previous.get(path)
        if old is not None and old.signature == signature:
            self.resources[path] = old
            return old
        store = self.store
        stored = store.known(signature, hot) if store is not None else None
        if stored is None:
            return None
        resource = describe(
            stored.etag,
            stored.size,
            media_type,
            last_modified,
            cache_control,
            stored.gzip_size,
            links=links,
            signature=signature,
            store=store,
        )
        self.resources[path] = resource
        return resource

    def add(
        self,
        path: str,
        signature: str,
        body: bytes,
        media_type: str,
        last_modified: datetime,
        cache_control: str,
        links: tuple[str, ...] = (),
        hot: bool = False,
    ) -> Resource:
        """Add the resource at ``path`` with its newly rendered ``body``."""
        resource = make_resource(
            body,
            media_type,
            last_modified,
            cache_control,
            self.compress,
            links=links,
            signature=signature,
        )
        if self.store is not None:
            resource = self.store.put(path, resource, hot)
        self.resources[path] = resource
        return resource

    def emit(
        self,
        path: str,
        signature: str,
        render: Callable[[], bytes],
        media_type: str,
        last_modified: datetime,
        cache_control: str,
        links: tuple[str, ...] = (),
        hot: bool = False,
    ) -> Resource:
        """Add the resource at ``path``, calling ``render`` only when nothing has its
        signature (``reuse``, else ``add``)."""
        head = (media_type, last_modified, cache_control, links, hot)
        found = self.reuse(path, signature, *head)
        return found if found is not None else self.add(path, signature, render(), *head)
