"""The Flask app: serves the rendered Site from memory with RFC 9110 caching semantics."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Rule

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from feedsvc.config import Settings, load_settings
from feedsvc.pace import DEFAULT_SECONDS as RETRY_AFTER_SECONDS
from feedsvc.resources import Resource
from feedsvc.responses import Answer, answer, answer_not_found
from feedsvc.site import cache_policy
from feedsvc.state import SiteState
from feedsvc.urls import REDIRECTS

log = logging.getLogger("feedsvc")


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


def _starting_up(retry_after: int = RETRY_AFTER_SECONDS) -> Response:
    return Response(
        "Starting up, try again shortly.\n",
        503,
        {"Retry-After": str(retry_after), "Cache-Control": "no-store"},
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
            return _starting_up(state.retry_after())
        resource = site.resources.get(request.path)
        if resource is None:
            if request.path + "/" in site.resources:  # /articles/x -> /articles/x/
                return moved(request.path + "/")
            if not site.complete:  # a first start serving its feeds: not rendered yet
                return _starting_up(state.retry_after())
            raise NotFound()  # the 404 page, from http_error below
        # Reached only when a new site with this path was swapped in after FastPath looked.
        try:
            return _to_response(_answer_request(resource, request.environ))
        except OSError:
            state.lost(resource.etag)
            return _starting_up()

    def health_view() -> Response:
        # Ready for traffic once the feeds are served, the rest possibly still rendering.
        site = state.site
        body = "starting\n" if site is None else "ok\n" if site.complete else "ok, rendering\n"
        return Response(
            body, 503 if site is None else 200, content_type="text/plain; charset=utf-8"
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
        starting = site is None or not site.complete
        if request.method not in ("GET", "HEAD") and (known or starting):
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
    with Retry-After, never an empty or partial feed. With a cold cache, the feeds, the
    front page and the 404 page are rendered before this returns (``serve_front``), and
    only the other paths answer 503 meanwhile. With 0 (no watching), the whole site is
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
        # Before this returns: a server worker takes requests once its feeds are ready.
        state.serve_front()
        stop = threading.Event()
        app.extensions["feedsvc.stop"] = stop
        threading.Thread(target=state.poll, args=(stop,), name="feedsvc-watch", daemon=True).start()
    log.debug("app created in process %d", os.getpid())
    return app
