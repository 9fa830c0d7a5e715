"""Every URL path of the site as a ready-to-send Resource. Serving and the static build share it."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import quote

from feedsvc.articles import Article
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
from feedsvc.pages import render_article_page, render_index_pages, render_not_found
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


@dataclass(frozen=True, slots=True)
class Resource:
    """One response body with the headers that describe it, and its gzip variant."""

    body: bytes
    media_type: str
    last_modified: datetime
    http_last_modified: str
    cache_control: str
    etag: str
    gzip_body: bytes | None
    gzip_etag: str
    links: tuple[str, ...] = ()  # HTTP Link header values (RFC 8288), one header each


@dataclass(frozen=True, slots=True)
class Site:
    """All resources by URL path (``/``, ``/feed.xml``, ``/articles/<slug>/``), and the problems."""

    resources: Mapping[str, Resource]
    not_found: Resource
    problems: tuple[Problem, ...]
    # What each article page and archive was rendered from, so that a rebuild can
    # keep the resources whose inputs did not change.
    sources: Mapping[str, object] = field(default_factory=dict)


def make_etag(body: bytes) -> str:
    """Return a strong ETag of ``body``: the same on every machine and in every release."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def cache_policy(settings: Settings) -> str:
    """Return the Cache-Control value of the site's resources (RSS ``<ttl>`` states the same)."""
    return f"public, max-age={settings.max_age}"


def make_resource(
    body: bytes,
    media_type: str,
    last_modified: datetime,
    cache_control: str,
    compress: bool = True,
) -> Resource:
    """Return a Resource with its ETag and (with ``compress``) its gzip variant, computed once.

    ``last_modified`` is cut to whole seconds, as HTTP dates are.
    The gzip ETag derives from the plain body's hash, not the compressed bytes, so
    machines whose zlib compresses differently still agree on it. Static files need
    no gzip variant (the web server compresses), so the build skips the work.
    """
    etag = make_etag(body)
    last_modified = last_modified.replace(microsecond=0)
    return Resource(
        body=body,
        media_type=media_type,
        last_modified=last_modified,
        http_last_modified=format_datetime(last_modified.astimezone(UTC), usegmt=True),
        cache_control=cache_control,
        etag=etag,
        gzip_body=gzip.compress(body, compresslevel=6, mtime=0) if compress else None,
        gzip_etag=etag[:-1] + '-gzip"',
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


def render_feeds(
    articles: tuple[Article, ...],
    settings: Settings,
    compress: bool = True,
    previous: Site | None = None,
) -> tuple[dict[str, Resource], dict[str, object]]:
    """Return the subscription feeds (the newest ``item_limit``) and their RFC 5005 archives.

    Also returns what each archive was rendered from; an archive of ``previous`` whose
    entries and links are unchanged is kept as it was, not rendered again.
    """
    chunks = archive_chunks(articles, settings.item_limit)
    newest = articles[: settings.item_limit]
    updated = feed_updated(articles)
    policy = cache_policy(settings)
    current = FeedPage(0, len(chunks))
    resources = {
        "/" + FEED_PATHS["rss"]: make_resource(
            build_rss(newest, settings, current), MEDIA_TYPES["rss"], updated, policy, compress
        ),
        "/" + FEED_PATHS["atom"]: make_resource(
            build_atom(newest, settings, current), MEDIA_TYPES["atom"], updated, policy, compress
        ),
        "/" + FEED_PATHS["json"]: make_resource(
            build_json(newest, settings), MEDIA_TYPES["json"], updated, policy, compress
        ),
    }
    if settings.hubs:  # only subscription feeds are WebSub topics; archives never change
        for path, resource in list(resources.items()):
            resources[path] = replace(resource, links=feed_links(settings, path))
    sources: dict[str, object] = {}
    for number, chunk in enumerate(chunks, start=1):
        page = FeedPage(number, len(chunks))
        # An archive's entries never change, so caches may keep it for good.
        newest_in_chunk = feed_updated(chunk)
        for kind, build in (("rss", build_rss), ("atom", build_atom)):
            path = "/" + page.path(kind)
            sources[path] = source = (chunk, page.links(kind))
            kept = _unchanged(previous, path, source)
            resources[path] = kept or make_resource(
                build(chunk, settings, page),
                MEDIA_TYPES[kind],
                newest_in_chunk,
                ARCHIVE_CACHE_CONTROL,
                compress,
            )
    return resources, sources


def _unchanged(previous: Site | None, path: str, source: object) -> Resource | None:
    if previous is None or previous.sources.get(path) != source:
        return None
    return previous.resources.get(path)


def render_site(
    corpus: Corpus,
    settings: Settings,
    compress: bool = True,
    previous: Site | None = None,
    progress: Callable[[int], None] | None = None,
) -> Site:
    """Render every feed and page of ``corpus``. Pure: reads no file, clock or environment.

    ``compress`` adds gzip variants (for serving). ``previous``, a site rendered with the
    same settings, lends the article pages and archives whose inputs did not change.
    ``progress`` is called with 1 after each article page.
    """
    articles = corpus.articles
    updated = feed_updated(articles)
    policy = cache_policy(settings)
    resources, sources = render_feeds(articles, settings, compress, previous)
    for path, body in render_index_pages(articles, settings):
        resources["/" + path] = make_resource(body, HTML, updated, policy, compress)
    for article in articles:
        path = "/" + article_path(article)
        sources[path] = article
        resources[path] = _unchanged(previous, path, article) or make_resource(
            render_article_page(article, settings), HTML, article.updated, policy, compress
        )
        if progress is not None:
            progress(1)
    not_found = make_resource(render_not_found(settings), HTML, updated, "no-cache", compress)
    return Site(resources, not_found, corpus.problems, sources)


def file_path(url_path: str) -> str:
    """Return the relative file name a URL path is written to: ``/a/`` -> ``a/index.html``."""
    relative = url_path.lstrip("/")
    return relative + "index.html" if relative.endswith("/") or not relative else relative
