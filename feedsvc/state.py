"""The site a server process serves: rendered at start, then again on each change of the
articles folder, replaced whole by each complete, successful render."""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import cast

import watchfiles

from feedsvc.cache import ParseCache
from feedsvc.cachefolder import first_start, site_folder
from feedsvc.config import Settings
from feedsvc.errors import FeedsvcError
from feedsvc.frontload import load_front
from feedsvc.pace import Pace
from feedsvc.repository import (
    Corpus,
    FileKey,
    file_key,
    folder_keys,
    is_candidate,
    list_article_names,
    load_corpus,
)
from feedsvc.site import Site, render_front, render_site
from feedsvc.store import FOLDER as BODIES
from feedsvc.store import BlobStore
from feedsvc.websub import announce_changes

log = logging.getLogger("feedsvc")
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not a line per change
# A first start serves the front first when the cache holds rows for fewer of the files.
WARM_SHARE = 0.9

# Without inotify events (a network file system) a full check still runs this often.
SAFETY_CHECKS = 15  # times reload_interval


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        return cast(Callable[[int], int], ctypes.CDLL(None).malloc_trim)
    except (AttributeError, OSError):  # not glibc
        return None


_MALLOC_TRIM = _find_malloc_trim()


def return_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    A render frees most of what it allocated (the bodies it wrote to the cache folder,
    the rows it read), but glibc keeps freed pages below the top of its heap: after a
    first start at 100,000 articles, 15 MB of a worker's resident memory
    (``benchmarks/scale.py``, a worker's memory after start).
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class SiteState:
    """The site being served; replaced whole, only by a complete, successful rebuild.

    With a cache folder, parsed articles and rendered bodies are kept there: a restart
    reads and renders only what changed, and a worker holds in memory the headers of
    every resource but the bodies of the feeds, the front page and the 404 page only.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.site: Site | None = None
        self._keys: dict[str, FileKey | None] | None = None
        self._corpus: Corpus | None = None
        self._cache: ParseCache | None = None
        self._store: BlobStore | None = None
        self._store_tried = False
        self._lock = threading.Lock()
        self._lost: set[str] = set()  # ETags of stored bodies found missing
        self._lost_lock = threading.Lock()
        # The first complete render's pace, for Retry-After.
        try:
            self._pace = Pace(site_folder(settings))
        except (OSError, RuntimeError):  # a loop of links: reported by the first load
            self._pace = Pace(None)

    def _open_cache(self, store: bool = True) -> ParseCache:
        """Open the parse cache, and with ``store`` the rendered bodies beside it.

        The bodies' store reads what is rendered when it opens: only a worker's first
        complete render opens it (in turn, ``first_start``), never the front, or a worker
        waiting its turn would miss all that the first one rendered meanwhile.
        """
        if self._cache is None:
            self._cache = ParseCache.for_settings(self.settings)
        folder = site_folder(self.settings)
        if store and not self._store_tried and self._cache.enabled and folder is not None:
            self._store_tried = True
            try:
                self._store = BlobStore(folder / BODIES, self._cache)
            except OSError as exc:
                log.warning("%s: cannot keep rendered pages there (%s)", folder, exc)
        return self._cache

    def _listing(self, changed: set[str] | None) -> dict[str, FileKey | None]:
        if changed is None or self._keys is None:
            return folder_keys(self.settings.articles)
        keys = dict(self._keys)
        for name in changed:
            key = file_key(self.settings.articles / name)
            if key is None:
                keys.pop(name, None)
            elif is_candidate(name):
                keys[name] = key
        return keys

    def serve_front(self) -> None:
        """On a first start with a cold cache, serve the feeds and the front page first.

        Renders them from the articles' date lines (``load_front``, ``render_front``):
        a fraction of the work of the complete site, which ``refresh`` renders next,
        answering 503 with Retry-After for the other paths meanwhile. Does nothing when
        a site is served or the cache holds most files (the complete load is quick then).
        """
        with self._lock:
            if self.site is not None:
                return
            # Not in turn (``first_start``): each worker reads its own, all at once.
            try:
                cache = self._open_cache(store=False)
                # Names only (no stat): a warm restart goes on at once.
                names = list_article_names(self.settings.articles)
                if cache.count() >= WARM_SHARE * len(names):
                    return
                keys = folder_keys(self.settings.articles)
                corpus = load_front(self.settings, keys, cache)
                self.site = render_front(corpus, self.settings, published=cache.moved())
            except (FeedsvcError, OSError) as exc:
                log.warning("cannot serve the feeds first (%s); rendering everything", exc)
                return
            log.info("feeds of %d articles ready; rendering the rest", len(corpus.articles))

    def retry_after(self) -> int:
        """Seconds until the complete site is likely served (``Pace``)."""
        return self._pace.retry_after()

    def refresh(self, changed: set[str] | None = None) -> bool:
        """Rebuild if the articles changed; return True when a new site is being served.

        ``changed``: the names of the files known to have changed (from inotify); the
        others keep their last keys. None: look at every file. A failed rebuild is
        logged and the last good site stays in place.
        """
        with self._lock:
            # Workers start together: the first reads and renders into the cache
            # folder, the others wait and then take it from there.
            first = self.site is None or not self.site.complete
            try:
                with first_start(self.settings) if first else nullcontext():
                    rendered = self._render(changed, first)
            except (FeedsvcError, OSError) as exc:
                log.error("rebuild failed, still serving the last good site: %s", exc)
                return False
            if rendered is None:
                return False
            self._serve(*rendered, first)
        return_free_memory()
        return True

    def _render(self, changed: set[str] | None, first: bool) -> tuple[Corpus, Site] | None:
        """Load the articles and render the site; None when no file changed."""
        keys = self._listing(changed)
        if keys == self._keys:
            return None
        self._open_cache()
        # Files loaded, then article pages rendered: the pace of Retry-After.
        advance = None
        if first:
            self._pace.start(2 * len(keys))
            advance = self._pace.advance
        corpus = load_corpus(
            self.settings, self._corpus, self._cache, keep_bodies=False, keys=keys, progress=advance
        )
        # Only resources whose inputs changed are rendered.
        published = self._cache.moved() if self._cache and first else None
        site = render_site(
            corpus,
            self.settings,
            previous=self.site,
            progress=advance,
            store=self._store,
            published=published,
        )
        self._pace.finish()
        return corpus, site

    def _serve(self, corpus: Corpus, site: Site, first: bool) -> None:
        """Serve ``site`` from now on; keep what the next refresh and restart start from."""
        for problem in corpus.problems:
            log.warning("%s", problem)
        log.info("serving %d articles (%d problems)", len(corpus.articles), len(corpus.problems))
        previous, self.site = self.site, site
        if self._cache is not None and (previous is None or previous.moved != site.moved):
            self._cache.replace_moved(site.moved)
        if first and self._cache is not None and self._store is not None:
            stored = site.resources.values()
            self._cache.keep_rendered(r.signature for r in stored if r.store is not None)
        # The keys of the corpus, not of the listing: equal, and each kept once.
        self._keys = {name: parsed.key for name, parsed in corpus.parsed.items()}
        self._corpus = corpus
        announce_changes(previous, site, self.settings)  # in the background, never blocks

    def lost(self, etag: str) -> None:
        """A stored body could not be read (its file was deleted): render it again now."""
        log.error("rendered body %s is missing from the cache folder; rendering it again", etag)
        with self._lost_lock:
            first = not self._lost
            self._lost.add(etag)
        if first:
            threading.Thread(target=self._recover, name="feedsvc-recover", daemon=True).start()

    def _recover(self) -> None:
        with self._lock:
            with self._lost_lock:
                lost, self._lost = self._lost, set()
            if self._store is not None:
                for etag in lost:
                    self._store.forget(etag)
            site = self.site
            if site is not None:  # without them, the rebuild renders the lost bodies again
                kept = {p: r for p, r in site.resources.items() if r.etag not in lost}
                self.site = Site(kept, site.not_found, site.problems)
            self._keys = None
        self.refresh()

    def poll(self, stop: threading.Event) -> None:
        """Watch the folder until ``stop`` is set; rebuild on each change.

        inotify (through watchfiles) reports changes as they happen; a full check
        still runs every SAFETY_CHECKS reload intervals, and every interval where
        inotify is not available.
        """
        self.refresh()
        interval = self.settings.reload_interval
        try:
            watching = watchfiles.watch(
                self.settings.articles,
                watch_filter=None,
                recursive=False,
                debounce=int(interval * 1000),
                step=20,
                stop_event=stop,
                rust_timeout=int(interval * SAFETY_CHECKS * 1000),
                yield_on_timeout=True,
                raise_interrupt=False,
            )
            for changes in watching:
                self.refresh({Path(path).name for _, path in changes} if changes else None)
        except (OSError, RuntimeError) as exc:  # no inotify, folder gone
            if not stop.is_set():
                log.warning(
                    "cannot watch %s (%s); checking every %ss",
                    self.settings.articles,
                    exc,
                    interval,
                )
        while not stop.wait(interval):
            self.refresh()
