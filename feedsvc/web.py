"""The Flask app: serves the rendered Site from memory with RFC 9110 caching semantics."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException, NotFound

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from feedsvc.config import Settings, load_settings
from feedsvc.errors import FeedsvcError
from feedsvc.repository import Corpus, FileKey, file_key, list_article_files, load_corpus
from feedsvc.responses import Answer, answer, answer_not_found
from feedsvc.site import REDIRECTS, Resource, Site, render_site
from feedsvc.websub import announce_changes

log = logging.getLogger("feedsvc")
RETRY_AFTER_SECONDS = 5

Signature = tuple[tuple[str, FileKey | None], ...]


def folder_signature(settings: Settings) -> Signature:
    """Return the names and keys (size, times, inode) of the article files.

    Cheap, and different after any edit, addition, removal, rename or chmod.
    """
    return tuple((path.name, file_key(path)) for path in list_article_files(settings.articles))


class SiteState:
    """The site being served; replaced whole, only by a complete, successful rebuild."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.site: Site | None = None
        self._signature: Signature | None = None
        self._corpus: Corpus | None = None
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Rebuild if the articles changed; return True when a new site is being served.

        A failed rebuild is logged and the last good site stays in place.
        """
        with self._lock:
            try:
                signature = folder_signature(self.settings)
                if signature == self._signature:
                    return False
                corpus = load_corpus(self.settings, previous=self._corpus)  # reads what changed
                # Pages and archives of unchanged articles are kept, not rendered again.
                site = render_site(corpus, self.settings, previous=self.site)
            except (FeedsvcError, OSError) as exc:
                log.error("rebuild failed, still serving the last good site: %s", exc)
                return False
            for problem in corpus.problems:
                log.warning("%s", problem)
            log.info(
                "serving %d articles (%d problems)", len(corpus.articles), len(corpus.problems)
            )
            previous, self.site, self._signature = self.site, site, signature
            self._corpus = corpus
            announce_changes(previous, site, self.settings)  # in the background, never blocks
            return True

    def poll(self, stop: threading.Event) -> None:
        """Check for changes every ``reload_interval`` seconds until ``stop`` is set."""
        self.refresh()
        while not stop.wait(self.settings.reload_interval):
            self.refresh()


def _to_response(result: Answer) -> Response:
    return Response(result.body, status=result.status, headers=result.headers)


def _answer_request(resource: Resource, environ: WSGIEnvironment) -> Answer:
    return answer(
        resource,
        environ.get("HTTP_ACCEPT_ENCODING"),
        environ.get("HTTP_IF_NONE_MATCH"),
        environ.get("HTTP_IF_MODIFIED_SINCE"),
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
                result = _answer_request(resource, environ)
                start_response(result.status, result.headers)
                return [result.body] if method == "GET" else []
        return self.app(environ, start_response)


def _starting_up() -> Response:
    return Response(
        "Starting up, try again shortly.\n",
        503,
        {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        content_type="text/plain; charset=utf-8",
    )


def _register_routes(app: Flask, state: SiteState, settings: Settings) -> None:
    def resource_view(**_: object) -> Response:
        site = state.site
        if site is None:
            return _starting_up()
        resource = site.resources.get(request.path)
        if resource is None:
            if request.path + "/" in site.resources:  # /articles/x -> /articles/x/
                return redirect(settings.url(request.path + "/"), code=301)  # type: ignore[return-value]
            raise NotFound()  # the 404 page, from http_error below
        # Reached only when a new site with this path was swapped in after FastPath looked.
        return _to_response(_answer_request(resource, request.environ))

    def redirect_view(**_: object) -> Response:
        return redirect(settings.url(REDIRECTS[request.path]), code=301)  # type: ignore[return-value]

    def health_view() -> Response:
        ready = state.site is not None
        return Response(
            "ok\n" if ready else "starting\n",
            200 if ready else 503,
            content_type="text/plain; charset=utf-8",
        )

    methods = ["GET"]  # Flask adds HEAD; OPTIONS is switched off below
    rules: list[tuple[str, Callable[..., Response]]] = [
        ("/", resource_view),
        ("/feed.xml", resource_view),
        ("/atom.xml", resource_view),
        ("/feed.json", resource_view),
        ("/archive/<int:number>/feed.xml", resource_view),
        ("/archive/<int:number>/atom.xml", resource_view),
        ("/page/<int:number>/", resource_view),
        ("/page/<int:number>", resource_view),
        ("/articles/<slug>/", resource_view),
        ("/articles/<slug>", resource_view),
        ("/healthz", health_view),
        *((path, redirect_view) for path in REDIRECTS),
    ]
    for rule, view in rules:
        app.add_url_rule(
            rule, f"{view.__name__}:{rule}", view, methods=methods, provide_automatic_options=False
        )


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
