"""Every URL path of the site as a ready-to-send Resource. Serving and the static build share it."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import NamedTuple, Protocol
from urllib.parse import quote

from feedsvc.articles import Article, Summary
from feedsvc.config import Settings
from feedsvc.feeds import (
    FEED_PATHS,
    FeedPage,
    archive_chunks,
    article_path,
    build_atom,
    build_json,
    build_rss,
    feed_updated,
)
from feedsvc.pages import IndexPage, render_article_page, render_index_page, render_not_found
from feedsvc.repository import Corpus, Problem

HTML = "text/html; charset=utf-8"
MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
NOT_FOUND_FILE = "404.html"
# Paths readers and people try, answered 301 to the canonical resource (by site path),
# by feedsvc serve and by the static hosting files alike.
REDIRECTS = {
    "/rss": "feed.xml",
    "/rss.xml": "feed.xml",
    "/feed": "feed.xml",
    "/index.xml": "feed.xml",
    "/atom": "atom.xml",
    "/page/1/": "",
}


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


@dataclass(frozen=True, slots=True)
class Site:
    """All resources by URL path (``/``, ``/feed.xml``, ``/articles/<slug>/``), and the problems."""

    resources: Mapping[str, Resource]
    not_found: Resource
    problems: tuple[Problem, ...]
    # By article id: the summary its page was signed for, the signature and the path, so
    # the next render signs again only the articles whose summary is another object.
    pages: Mapping[str, tuple[Summary, str, str]] = field(default_factory=dict)


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=4096)
def http_date(moment: datetime) -> str:
    """Return the IMF-fixdate of ``moment`` (RFC 9110 5.6.7), whatever the process locale."""
    u = moment.astimezone(UTC)
    return (
        f"{_DAY_NAMES[u.weekday()]}, {u.day:02d} {_MONTH_NAMES[u.month - 1]} {u.year:04d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} GMT"
    )


def make_etag(body: bytes) -> str:
    """Return a strong ETag of ``body``: the same on every machine and in every release."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def cache_policy(settings: Settings) -> str:
    """Return the Cache-Control value of the site's resources (RSS ``<ttl>`` states the same)."""
    return f"public, max-age={settings.max_age}"


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


ARCHIVE_CACHE_CONTROL = "public, max-age=31536000, immutable"


def feed_links(settings: Settings, path: str) -> tuple[str, ...]:
    """Return the Link header values of a subscription feed: each WebSub hub, then itself.

    WebSub section 4 discovery; URLs percent-encoded so that nothing ends a header.
    """

    def target(url: str) -> str:
        return "<" + quote(url, safe="!#$%&'()*+,/:;=?@[]~") + ">"

    hubs = tuple(f'{target(hub)}; rel="hub"' for hub in settings.hubs)
    return (*hubs, f'{target(settings.url(path))}; rel="self"')


# The files whose code decides what is rendered: a change to any of them changes every
# signature, so nothing rendered by another version is reused.
_RENDERING_CODE = ("site.py", "feeds.py", "pages.py", "hosting.py", "templates")
# Settings that do not change a rendered byte or header.
_NOT_RENDERED = frozenset({"articles", "out", "reload_interval", "cache_dir", "max_file_bytes"})


@lru_cache(maxsize=16)
def render_fingerprint(settings: Settings) -> bytes:
    """Return the digest of the rendering code and of the settings rendering depends on."""
    digest = hashlib.sha256()
    root = files("feedsvc")
    for name in _RENDERING_CODE:
        item = root.joinpath(name)
        children = sorted(item.iterdir(), key=lambda c: c.name) if item.is_dir() else [item]
        for child in children:
            digest.update(child.name.encode() + b"\0" + child.read_bytes())
    for spec in fields(settings):
        if spec.name not in _NOT_RENDERED:
            digest.update(f"{spec.name}={getattr(settings, spec.name)!r}\n".encode())
    return digest.digest()


class _Signer:
    """Signatures: 128 bits of SHA-256 over the fingerprint, the path and the inputs."""

    def __init__(self, settings: Settings) -> None:
        self._base = hashlib.sha256(render_fingerprint(settings))

    def __call__(self, path: str, *parts: str) -> str:
        """Sign ``path`` made from ``parts``, which must include its Last-Modified."""
        digest = self._base.copy()
        digest.update("\0".join((path, *parts)).encode())
        return digest.hexdigest()[:32]

    def page(self, article: Summary) -> tuple[str, str]:
        """Return the path and the signature of ``article``'s page, made in one step (a
        build signs every page). The signature stands for the article in those of the
        archives, index pages and feeds that show it: its id, its date (the page's
        Last-Modified) and the digest of its title, standfirst and paragraphs, so an
        index row is rendered again even for a change it does not show.
        """
        path = "/" + article_path(article)
        digest = self._base.copy()
        iso = article.published.isoformat()
        digest.update(f"{path}\0{article.id}:{article.digest}:{iso}".encode())
        return path, digest.hexdigest()[:32]


class _Renderer:
    """Renders the resources whose signature is new; the others come from before or a store."""

    def __init__(
        self,
        settings: Settings,
        compress: bool,
        previous: Site | None,
        store: Store | None,
    ) -> None:
        self.compress = compress
        self.previous = previous.resources if previous is not None else {}
        self.store = store
        self.sign = _Signer(settings)
        self.resources: dict[str, Resource] = {}

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


def render_site(
    corpus: Corpus,
    settings: Settings,
    compress: bool = True,
    previous: Site | None = None,
    progress: Callable[[int], None] | None = None,
    store: Store | None = None,
) -> Site:
    """Render every feed and page of ``corpus``. Reads no clock or environment.

    Each resource has a signature of what it is made from; one whose signature is that
    of the same path in ``previous`` (a site rendered before) or of a body in ``store``
    is not rendered again. Without ``store`` every body stays in memory; with one,
    bodies go to it (the feeds and the front page stay in memory too). Article pages
    come first, then archives, index pages and the feeds, so that a store writing
    into a live folder never publishes a link before its target. ``compress`` adds
    gzip variants (for serving). ``progress`` is called with 1 after each article page.
    Only the articles being rendered are read in full (``corpus.full``).
    """
    articles = corpus.articles
    # Newest first: the first article is the newest (feed_updated, without a scan).
    updated = articles[0].updated if articles else feed_updated(articles)
    stamp = updated.isoformat()
    policy = cache_policy(settings)
    run = _Renderer(settings, compress, previous, store)
    sign = run.sign
    # Each article page's signature stands for the article in the signatures of the
    # archives, index pages and feeds that show it.
    memo = previous.pages if previous is not None else {}
    pages: dict[str, tuple[Summary, str, str]] = {}
    for summary in articles:
        known = memo.get(summary.id)
        if known is not None and known[0] is summary:
            _, signature, path = known
        else:
            path, signature = sign.page(summary)
        pages[summary.id] = (summary, signature, path)
        if run.reuse(path, signature, HTML, summary.updated, policy) is None:
            body = render_article_page(corpus.full(summary), settings)
            run.add(path, signature, body, HTML, summary.updated, policy)
        if progress is not None:
            progress(1)
    chunks = archive_chunks(articles, settings.item_limit)
    for number, chunk in enumerate(chunks, start=1):
        page = FeedPage(number, len(chunks))
        # An archive's entries never change, so caches may keep it for good; its
        # links depend on whether a newer archive exists, not on how many do.
        newest_in_chunk = feed_updated(chunk)
        for kind, build in (("rss", build_rss), ("atom", build_atom)):
            path = "/" + page.path(kind)
            run.emit(
                path,
                sign(path, str(number < len(chunks)), *(pages[a.id][1] for a in chunk)),
                lambda chunk=chunk, build=build, page=page: build(  # type: ignore[misc]
                    corpus.full_articles(chunk), settings, page
                ),
                MEDIA_TYPES[kind],
                newest_in_chunk,
                ARCHIVE_CACHE_CONTROL,
            )
    size = settings.page_size
    count = max(1, -(-len(articles) // size))
    for number in range(1, count + 1):
        rows = articles[(number - 1) * size : number * size]
        index = IndexPage(number, count)
        path = "/" + index.path
        run.emit(
            path,
            sign(path, stamp, str(count), *(pages[row.id][1] for row in rows)),
            lambda rows=rows, index=index: render_index_page(  # type: ignore[misc]
                corpus.full_articles(rows), settings, index
            ),
            HTML,
            updated,
            policy,
            hot=number == 1,
        )
    _render_feeds(run, corpus, settings, updated, len(chunks), pages)
    not_found = run.emit(
        "/" + NOT_FOUND_FILE,
        sign(NOT_FOUND_FILE, stamp),
        lambda: render_not_found(settings),
        HTML,
        updated,
        "no-cache",
        hot=True,
    )
    del run.resources["/" + NOT_FOUND_FILE]
    if store is not None:
        store.flush()
    return Site(run.resources, not_found, corpus.problems, pages)


def _render_feeds(
    run: _Renderer,
    corpus: Corpus,
    settings: Settings,
    updated: datetime,
    archives: int,
    pages: Mapping[str, tuple[Summary, str, str]],
) -> None:
    """Add the subscription feeds: the newest ``item_limit`` articles, in full."""
    newest = corpus.articles[: settings.item_limit]
    current = FeedPage(0, archives)
    parts = (str(archives), *(pages[article.id][1] for article in newest))
    full: list[Article] = []

    def entries() -> list[Article]:
        if not full:
            full.extend(corpus.full_articles(newest))
        return full

    for kind in ("rss", "atom", "json"):
        path = "/" + FEED_PATHS[kind]

        def render(kind: str = kind) -> bytes:
            if kind == "rss":
                return build_rss(entries(), settings, current)
            if kind == "atom":
                return build_atom(entries(), settings, current)
            return build_json(entries(), settings)

        run.emit(
            path,
            run.sign(path, updated.isoformat(), *parts),
            render,
            MEDIA_TYPES[kind],
            updated,
            cache_policy(settings),
            links=feed_links(settings, path) if settings.hubs else (),
            hot=True,
        )


def file_path(url_path: str) -> str:
    """Return the relative file name a URL path is written to: ``/a/`` -> ``a/index.html``."""
    relative = url_path.lstrip("/")
    return relative + "index.html" if relative.endswith("/") or not relative else relative
