"""The Flask app: serves the rendered Site from memory with RFC 9110 caching semantics."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles
from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Rule

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from feedsvc.cache import ParseCache, first_start, site_folder
from feedsvc.config import Settings, load_settings
from feedsvc.errors import FeedsvcError
from feedsvc.repository import Corpus, FileKey, file_key, folder_keys, is_candidate, load_corpus
from feedsvc.resources import Resource
from feedsvc.responses import Answer, answer, answer_not_found
from feedsvc.site import Site, cache_policy, render_site
from feedsvc.store import FOLDER as BODIES
from feedsvc.store import BlobStore
from feedsvc.urls import REDIRECTS
from feedsvc.websub import announce_changes

log = logging.getLogger("feedsvc")
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not a line per change
RETRY_AFTER_SECONDS = 5

# Without inotify events (a network file system) a full check still runs this often.
SAFETY_CHECKS = 15  # times reload_interval


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
        self._lock = threading.Lock()
        self._lost: set[str] = set()  # ETags of stored bodies found missing
        self._lost_lock = threading.Lock()

    def _open_cache(self) -> None:
        if self._cache is not None:
            return
        self._cache = ParseCache.for_settings(self.settings)
        folder = site_folder(self.settings)
        if self._cache.enabled and folder is not None:
            try:
                self._store = BlobStore(folder / BODIES, self._cache)
            except OSError as exc:
                log.warning("%s: cannot keep rendered pages there (%s)", folder, exc)

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

    def refresh(self, changed: set[str] | None = None) -> bool:
        """Rebuild if the articles changed; return True when a new site is being served.

        ``changed``: the names of the files known to have changed (from inotify); the
        others keep their last keys. None: look at every file. A failed rebuild is
        logged and the last good site stays in place.
        """
        with self._lock:
            try:
                # Workers start together: the first reads and renders into the cache
                # folder, the others wait and then take it from there.
                with first_start(self.settings) if self.site is None else nullcontext():
                    keys = self._listing(changed)
                    if keys == self._keys:
                        return False
                    self._open_cache()
                    corpus = load_corpus(
                        self.settings, self._corpus, self._cache, keep_bodies=False, keys=keys
                    )
                    # Only resources whose inputs changed are rendered.
                    published = self._cache.moved() if self._cache and not self.site else None
                    site = render_site(
                        corpus,
                        self.settings,
                        previous=self.site,
                        store=self._store,
                        published=published,
                    )
            except (FeedsvcError, OSError) as exc:
                log.error("rebuild failed, still serving the last good site: %s", exc)
                return False
            for problem in corpus.problems:
                log.warning("%s", problem)
            log.info(
                "serving %d articles (%d problems)", len(corpus.articles), len(corpus.problems)
            )
            # The keys of the corpus, not of the listing: equal, and the tuples kept once.
            previous, self.site = self.site, site
            if self._cache is not None and (previous is None or previous.moved != site.moved):
                self._cache.replace_moved(site.moved)
            self._keys = {name: parsed.key for name, parsed in corpus.parsed.items()}
            self._corpus = corpus
            announce_changes(previous, site, self.settings)  # in the background, never blocks
            return True

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


def _to_response(result: Answer) -> Response:
    return Response(result.body, status=result.status, headers=result.headers)


def _answer_request(resource: Resource, environ: WSGIEnvironment, with_body: bool = True) -> Answer:
    return answer(
        resource,
        environ.get("HTTP_ACCEPT_ENCODING"),
        environ.get("HTTP_IF_NONE_MATCH"),
        environ.get("HTTP_IF_MODIFIED_SINCE"),
        with_body,
    )


class FastPath:
    """WSGI middleware: GET and HEAD of a rendered resource skip Flask's routing and objects.

    Everything else (redirects, 404, 405, health, start-up) goes on to the Flask app.
    The answer comes from ``responses.answer``, the same function the Flask view uses.
    """

    def __init__(self, app: WSGIApplication, state: SiteState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        site = self.state.site
        if site is not None and (method == "GET" or method == "HEAD"):
            resource = site.resources.get(environ.get("PATH_INFO", ""))
            if resource is not None:
                try:
                    result = _answer_request(resource, environ, method == "GET")
                except OSError:
                    # The cache folder lost a body (deleted by hand): render it again.
                    self.state.lost(resource.etag)
                    return _starting_up()(environ, start_response)
                start_response(result.status, result.headers)
                return [result.body]
        return self.app(environ, start_response)


def _starting_up() -> Response:
    return Response(
        "Starting up, try again shortly.\n",
        503,
        {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        content_type="text/plain; charset=utf-8",
    )


def _register_routes(app: Flask, state: SiteState, settings: Settings) -> None:
    def moved(path: str) -> Response:
        # To base_url, never to the request's Host; cached no longer than the pages.
        response = redirect(settings.url(path), code=301)
        response.headers["Cache-Control"] = cache_policy(settings)
        return response  # type: ignore[return-value]

    def resource_view() -> Response:
        site = state.site
        if site is None:
            return _starting_up()
        resource = site.resources.get(request.path)
        if resource is None:
            if request.path + "/" in site.resources:  # /articles/x -> /articles/x/
                return moved(request.path + "/")
            raise NotFound()  # the 404 page, from http_error below
        # Reached only when a new site with this path was swapped in after FastPath looked.
        try:
            return _to_response(_answer_request(resource, request.environ))
        except OSError:
            state.lost(resource.etag)
            return _starting_up()

    def health_view() -> Response:
        ready = state.site is not None
        return Response(
            "ok\n" if ready else "starting\n",
            200 if ready else 503,
            content_type="text/plain; charset=utf-8",
        )

    def site_view(path: str = "") -> Response:
        # The paths served are the site's own and nothing kept beside it: its resources
        # (and each folder path without its slash), the 301 aliases, /healthz.
        full, site = "/" + path, state.site
        known = (
            full == "/healthz"
            or full in REDIRECTS
            or (site is not None and (full in site.resources or full + "/" in site.resources))
        )
        if request.method not in ("GET", "HEAD") and (known or site is None):
            raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
        if full == "/healthz":
            return health_view()
        if full in REDIRECTS:
            return moved(REDIRECTS[full])
        return resource_view()

    # Werkzeug would answer "//" in a path with a 308 to the request's Host: a 404 instead.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    # Rules of any method (methods=None): site_view answers 405 itself, with its own Allow.
    app.url_map.add(Rule("/", endpoint="site"))
    app.url_map.add(Rule("/<path:path>", endpoint="site"))
    app.view_functions["site"] = site_view


def create_app(settings: Settings | None = None) -> Flask:
    """Create the app serving ``settings`` (read from file and environment when None).

    With ``reload_interval`` above 0, a background thread renders the site and then
    watches the articles folder; until the first site is ready every request gets 503
    with Retry-After, never an empty or partial feed. With 0 (no watching), the site is
    rendered before this returns.
    """
    settings = settings or load_settings()
    app = Flask(__name__)
    state = SiteState(settings)
    app.extensions["feedsvc"] = state
    if settings.reload_interval == 0:
        state.refresh()
    _register_routes(app, state, settings)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        site = state.site
        if error.code == 404:
            if site is None:
                return _starting_up()
            accept = request.headers.get("Accept-Encoding")
            return _to_response(answer_not_found(site.not_found, accept))
        response = Response(status=error.code, headers=error.get_headers())
        response.set_data(f"{error.code} {error.name}\n")
        response.content_type = "text/plain; charset=utf-8"
        return response

    @app.after_request
    def common_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.wsgi_app = FastPath(app.wsgi_app, state)  # type: ignore[method-assign]
    if settings.reload_interval > 0:
        stop = threading.Event()
        app.extensions["feedsvc.stop"] = stop
        threading.Thread(target=state.poll, args=(stop,), name="feedsvc-watch", daemon=True).start()
    log.debug("app created in process %d", os.getpid())
    return app
