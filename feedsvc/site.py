"""Every URL path of the site as a ready-to-send Resource. Serving and the static build share it.

Pure: the articles' text comes in through ``Source.full``, which the shell's Corpus
reads from the articles folder; nothing here reads a file, the clock or the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from feedsvc.articles import Article, Summary
from feedsvc.config import Settings
from feedsvc.feeds import (
    EMPTY_FEED_TIME,
    FeedPage,
    archive_chunks,
    build_documents,
    feed_updated,
)
from feedsvc.jsonfeed import build_json
from feedsvc.ordering import Validators, keep_in_order
from feedsvc.pages import IndexPage, render_article_page, render_index_page, render_not_found
from feedsvc.resources import (
    ARCHIVE_CACHE_CONTROL,
    HTML,
    MEDIA_TYPES,
    Renderer,
    Resource,
    Store,
)
from feedsvc.signatures import Signer
from feedsvc.sitemaps import emit_sitemaps
from feedsvc.urls import (
    FEED_PATHS,
    NOT_FOUND_FILE,
    index_page_count,
    index_path,
)

if TYPE_CHECKING:
    from feedsvc.repository import Problem


class Source(Protocol):
    """The articles to render (newest first, without their text) and the problems met
    reading them; ``full`` gives an article with its text (repository.Corpus reads it)."""

    @property
    def articles(self) -> tuple[Summary, ...]: ...

    @property
    def problems(self) -> tuple[Problem, ...]: ...

    @property
    def deleted(self) -> datetime | None:
        """The time of the newest deletion of an article (None: none known)."""

    def full(self, summary: Summary) -> Article:
        """Return the article of ``summary`` with its text."""

    def full_articles(self, summaries: Iterable[Summary]) -> list[Article]:
        """Return ``full`` of each summary."""


@dataclass(frozen=True, slots=True)
class Site:
    """All resources by URL path (``/``, ``/feed.xml``, ``/articles/<slug>/``), and the problems."""

    resources: Mapping[str, Resource]
    not_found: Resource
    problems: tuple[Problem, ...]
    # By article id: the summary its page was signed for, the signature and the path, so
    # the next render signs again only the articles whose summary is another object.
    pages: Mapping[str, tuple[Summary, str, str]] = field(default_factory=dict)
    # By path: the ETag and Last-Modified of the resources whose Last-Modified is not the
    # one their inputs give (``in_order``), to be kept across restarts (see ``render_site``).
    moved: Mapping[str, Validators] = field(default_factory=dict)
    # False for the front of a first start (``render_front``): every path it lacks is
    # still being rendered, not missing.
    complete: bool = True


def site_updated(source: Source) -> datetime:
    """Return the site's update time: the newest change of any article, deletions
    included (``feeds.feed_updated``, and ``source.deleted``); never the build time."""
    updated = feed_updated(source.articles)
    return updated if source.deleted is None else max(updated, source.deleted)


def cache_policy(settings: Settings) -> str:
    """Return the Cache-Control value of the site's resources (RSS ``<ttl>`` states the same)."""
    return f"public, max-age={settings.max_age}"


def feed_links(settings: Settings, path: str) -> tuple[str, ...]:
    """Return the Link header values of a subscription feed: each WebSub hub, then itself.

    WebSub section 4 discovery; URLs percent-encoded so that nothing ends a header.
    """

    def target(url: str) -> str:
        return "<" + quote(url, safe="!#$%&'()*+,/:;=?@[]~") + ">"

    hubs = tuple(f'{target(hub)}; rel="hub"' for hub in settings.hubs)
    return (*hubs, f'{target(settings.url(path))}; rel="self"')


Pages = dict[str, tuple[Summary, str, str]]


def render_site(
    source: Source,
    settings: Settings,
    compress: bool = True,
    previous: Site | None = None,
    progress: Callable[[int], None] | None = None,
    store: Store | None = None,
    published: Mapping[str, Validators] | None = None,
) -> Site:
    """Render every feed and page of ``source``. Reads no clock or environment.

    Each resource has a signature of what it is made from; one whose signature is that
    of the same path in ``previous`` (a site rendered before) or of a body in ``store``
    is not rendered again. Without ``store`` every body stays in memory; with one,
    bodies go to it (the feeds and the front page stay in memory too). Article pages
    come first, then archives, index pages and the feeds, so that a store writing
    into a live folder never publishes a link before its target. ``compress`` adds
    gzip variants (for serving). ``progress`` is called with 1 after each article page.
    Only the articles being rendered are read in full (``source.full``).

    Each resource's Last-Modified follows what the same path sent before (``in_order``):
    the resources of ``previous``, else ``published`` (a restart: the ``moved`` of the
    site served before it, kept in the cache folder).
    """
    updated = site_updated(source)  # the newest change: not always the newest article's
    previous_resources = previous.resources if previous is not None else {}
    run = Renderer(Signer(settings), compress, previous_resources, store)
    _render_icon(run, settings)
    pages = _render_article_pages(run, source, settings, previous, progress)
    archives = _render_archives(run, source, settings, pages)
    _render_index_pages(run, source, settings, updated, pages)
    _render_feeds(run, source, settings, updated, archives, pages)
    _render_sitemaps(run, source, settings, updated, pages)
    not_found = _render_not_found(run, settings, updated)
    if store is not None:
        store.flush()
    moved = _keep_in_order(run.resources, previous, published or {})
    return Site(run.resources, not_found, source.problems, pages, moved)


def render_front(
    source: Source,
    settings: Settings,
    compress: bool = True,
    published: Mapping[str, Validators] | None = None,
) -> Site:
    """Render the feeds, the front page, the icon and the 404 page of ``source`` only,
    each as ``render_site`` renders it (the same functions, the same bytes), without
    rendering a single article page or archive (``Site.complete`` is False).

    A server's first start with a cold cache serves this while it renders the rest.
    Only the articles these show are read in full.
    """
    articles = source.articles
    updated = site_updated(source)
    run = Renderer(Signer(settings), compress, {}, None)
    _render_icon(run, settings)
    shown = articles[: max(settings.item_limit, settings.page_size)]
    pages: Pages = {}
    for article in shown:  # signed, not rendered
        path, signature = run.sign.page(article)
        pages[article.id] = (article, signature, path)
    archives = len(archive_chunks(articles, settings.item_limit))
    _render_index_pages(run, source, settings, updated, pages, last=1)
    _render_feeds(run, source, settings, updated, archives, pages)
    not_found = _render_not_found(run, settings, updated)
    moved = _keep_in_order(run.resources, None, published or {})
    return Site(run.resources, not_found, source.problems, {}, moved, complete=False)


def _render_not_found(run: Renderer, settings: Settings, updated: datetime) -> Resource:
    """Render the 404 page: the site's resource for a path it does not have."""
    not_found = run.emit(
        "/" + NOT_FOUND_FILE,
        run.sign(NOT_FOUND_FILE, updated.isoformat()),
        lambda: render_not_found(settings),
        HTML,
        updated,
        "no-cache",
        hot=True,
    )
    del run.resources["/" + NOT_FOUND_FILE]
    return not_found


def render_part(
    source: Source,
    settings: Settings,
    paths: Container[str],
    progress: Callable[[int], None] | None,
    store: Store,
) -> tuple[dict[str, Resource], Pages]:
    """Render the article, archive and index pages of ``paths`` into ``store`` (parallel.py);
    return them and ``Site.pages``, which ``render_site`` reuses given both as ``previous``."""
    run = Renderer(Signer(settings), False, {}, store, paths)
    pages = _render_article_pages(run, source, settings, None, progress)
    _render_archives(run, source, settings, pages)
    _render_index_pages(run, source, settings, site_updated(source), pages)
    store.flush()
    return run.resources, pages


def _keep_in_order(
    resources: dict[str, Resource], previous: Site | None, published: Mapping[str, Validators]
) -> dict[str, Validators]:
    """``ordering.keep_in_order`` after what each path sent before: ``previous``'s
    resources, else ``published`` (a restart); both for a first start's front."""
    before: Mapping[str, Validators] = published
    kept = previous.moved if previous is not None else published
    if previous is not None:
        before = {p: (r.etag, r.last_modified) for p, r in previous.resources.items()}
        if not previous.complete:  # a first start's front: the rest as published before
            before, kept = {**published, **before}, {**published, **kept}
    return keep_in_order(resources, before, kept)


def _render_article_pages(
    run: Renderer,
    source: Source,
    settings: Settings,
    previous: Site | None,
    progress: Callable[[int], None] | None,
) -> Pages:
    """Add every article page; return the pages by article id (``Site.pages``).

    Each page's signature stands for its article in the signatures of the archives,
    index pages and feeds that show it.
    """
    policy = cache_policy(settings)
    memo = previous.pages if previous is not None else {}
    pages: Pages = {}
    for summary in source.articles:
        known = memo.get(summary.id)
        if known is not None and known[0] is summary:
            _, signature, path = known
        else:
            path, signature = run.sign.page(summary)
        pages[summary.id] = (summary, signature, path)
        if run.skips(path):
            continue
        if run.reuse(path, signature, HTML, summary.updated, policy) is None:
            body = render_article_page(source.full(summary), settings)
            run.add(path, signature, body, HTML, summary.updated, policy)
        if progress is not None:
            progress(1)
    return pages


def _render_archives(run: Renderer, source: Source, settings: Settings, pages: Pages) -> int:
    """Add the RSS and Atom archives (RFC 5005); return how many there are of each."""
    chunks = archive_chunks(source.articles, settings.item_limit)
    for number, chunk in enumerate(chunks, start=1):
        page = FeedPage(number, len(chunks))
        # An archive's entries never change, so caches may keep it for good; its
        # links depend on whether a newer archive exists, not on how many do.
        newest_in_chunk = feed_updated(chunk)
        parts = (str(number < len(chunks)), *(pages[a.id][1] for a in chunk))
        paths = {kind: "/" + page.path(kind) for kind in ("rss", "atom")}
        if all(map(run.skips, paths.values())):
            continue
        signatures = {kind: run.sign(path, *parts) for kind, path in paths.items()}
        head = (ARCHIVE_CACHE_CONTROL, ())
        missing = [
            kind
            for kind, path in paths.items()
            if run.reuse(path, signatures[kind], MEDIA_TYPES[kind], newest_in_chunk, *head) is None
        ]
        if not missing:
            continue
        # Both kinds are written from one escaping of the entries' texts.
        bodies = build_documents(source.full_articles(chunk), settings, page, missing)
        for kind, body in zip(missing, bodies, strict=True):
            media_type = MEDIA_TYPES[kind]
            run.add(paths[kind], signatures[kind], body, media_type, newest_in_chunk, *head)
    return len(chunks)


def _render_index_pages(
    run: Renderer,
    source: Source,
    settings: Settings,
    updated: datetime,
    pages: Pages,
    last: int | None = None,
) -> None:
    """Add the paginated index, newest articles on the first page (up to page ``last``)."""
    articles, size = source.articles, settings.page_size
    count = index_page_count(len(articles), size)
    stamp, policy = updated.isoformat(), cache_policy(settings)
    for number in range(1, min(count, last or count) + 1):
        rows = articles[(number - 1) * size : number * size]
        index = IndexPage(number, count)
        path = "/" + index.path
        if run.skips(path):
            continue
        run.emit(
            path,
            run.sign(path, stamp, str(count), *(pages[row.id][1] for row in rows)),
            lambda rows=rows, index=index: render_index_page(  # type: ignore[misc]
                source.full_articles(rows), settings, index
            ),
            HTML,
            updated,
            policy,
            hot=number == 1,
        )


def _render_feeds(
    run: Renderer,
    source: Source,
    settings: Settings,
    updated: datetime,
    archives: int,
    pages: Pages,
) -> None:
    """Add the subscription feeds: the newest ``item_limit`` articles, in full."""
    newest = source.articles[: settings.item_limit]
    current = FeedPage(0, archives)
    parts = (str(archives), *(pages[article.id][1] for article in newest))
    full: list[Article] = []

    def entries() -> Sequence[Article]:
        if not full:
            full.extend(source.full_articles(newest))
        return full

    for kind in ("rss", "atom", "json"):
        path = "/" + FEED_PATHS[kind]

        def render(kind: str = kind) -> bytes:
            if kind == "json":
                return build_json(entries(), settings)
            return build_documents(entries(), settings, current, (kind,), updated)[0]

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


def _render_sitemaps(
    run: Renderer, source: Source, settings: Settings, updated: datetime, pages: Pages
) -> None:
    """Add ``sitemap.xml`` and ``robots.txt`` (``sitemaps.emit_sitemaps``), after every
    page they list."""
    # Articles oldest first, then the index pages: a new article changes the last part
    # only, so the others are not rendered again (their signatures stay the same).
    locations = [(pages[a.id][2], a.updated) for a in reversed(source.articles)]
    count = index_page_count(len(source.articles), settings.page_size)
    locations += [(index_path(number), updated) for number in range(1, count + 1)]
    emit_sitemaps(run, settings, locations, updated, cache_policy(settings))


def _render_icon(run: Renderer, settings: Settings) -> None:
    """Add the site's icon under its content-addressed path, cached for good: another icon
    has another path. Its Last-Modified is fixed, as its bytes never change."""
    icon = settings.icon
    if icon is not None:
        path = "/" + icon.path
        signature = run.sign(path, icon.digest)
        head = (icon.media_type, EMPTY_FEED_TIME, ARCHIVE_CACHE_CONTROL)
        run.emit(path, signature, lambda: icon.data, *head)
