"""HTTP answers for rendered resources: RFC 9110 conditional requests and gzip variants.

Sans-I/O: takes header values, returns status, headers and body. Both the Flask views and
the WSGI fast path in ``web.py`` answer through it, so they cannot disagree. Header values
are parsed with Werkzeug and the results memoized (bounded): polling clients send the same
few values again and again, and nothing on the request path should parse twice.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from werkzeug.http import parse_accept_header, parse_date, parse_etags, unquote_etag

from feedsvc.pages import CONTENT_SECURITY_POLICY
from feedsvc.resources import HTML, Resource

OK = "200 OK"
NOT_MODIFIED = "304 Not Modified"
NOT_FOUND = "404 Not Found"
_MEMO = 512


@dataclass(frozen=True, slots=True)
class Answer:
    """A status line, headers and body ready for WSGI."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


@lru_cache(maxsize=_MEMO)
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Tell whether an ``Accept-Encoding`` value admits gzip (``q=0`` refuses it)."""
    if not accept_encoding:
        return False
    return parse_accept_header(accept_encoding)["gzip"] > 0


@lru_cache(maxsize=_MEMO)
def etag_matches(if_none_match: str, etag: str) -> bool:
    """Compare ``etag`` weakly with an ``If-None-Match`` list, ``*`` too (RFC 9110 13.1.2)."""
    etags = parse_etags(if_none_match)
    return etags.star_tag or etags.contains_weak(unquote_etag(etag)[0])


@lru_cache(maxsize=_MEMO)
def http_date_value(value: str) -> datetime | None:
    """Parse an HTTP date; None for a malformed one, which is then ignored."""
    return parse_date(value)


def not_modified(
    etag: str, last_modified: datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """Evaluate the preconditions of a GET or HEAD (RFC 9110 13.2.2).

    If-None-Match decides when present; If-Modified-Since counts only without it.
    """
    if if_none_match is not None:
        return if_none_match == etag or etag_matches(if_none_match, etag)
    if if_modified_since is None:
        return False
    since = http_date_value(if_modified_since)
    return since is not None and last_modified <= since


def _variant(resource: Resource, accept_encoding: str | None) -> tuple[int, str, bool]:
    """Return the size and ETag of the body to send, and whether it is the gzip variant."""
    if resource.gzip_size is not None and accepts_gzip(accept_encoding):
        return resource.gzip_size, resource.gzip_etag, True
    return resource.size, resource.etag, False


def answer(
    resource: Resource,
    accept_encoding: str | None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    with_body: bool = True,
) -> Answer:
    """Return the 200 or 304 answer to a GET of ``resource``.

    ``with_body`` False leaves the body out (HEAD, headers only): a stored body is then
    not read. Raises OSError when a stored body cannot be read or is not the size it
    must be.
    """
    size, etag, gzipped = _variant(resource, accept_encoding)
    headers = [
        ("ETag", etag),
        ("Last-Modified", resource.http_last_modified),
        ("Cache-Control", resource.cache_control),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if resource.media_type == HTML:
        headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
    # Before the 304 check: a conditional poll discovers the hubs too (WebSub section 4).
    headers += [("Link", value) for value in resource.links]
    if not_modified(etag, resource.last_modified, if_none_match, if_modified_since):
        return Answer(NOT_MODIFIED, headers, b"")
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    headers += [("Content-Type", resource.media_type), ("Content-Length", str(size))]
    body = resource.content(gzipped) if with_body else b""
    if with_body and len(body) != size:
        # A stored body file that is not the one rendered (cut, replaced): sent with the
        # length its row gave, it would end the response early or run into the next one.
        raise OSError(errno.EIO, f"stored body is {len(body)} bytes, not {size}", etag)
    return Answer(OK, headers, body)


def answer_not_found(page: Resource, accept_encoding: str | None, with_body: bool = True) -> Answer:
    """Return the 404 answer: the HTML page, never cached long, no validators."""
    size, _, gzipped = _variant(page, accept_encoding)
    body = page.content(gzipped) if with_body else b""
    headers = [
        ("Cache-Control", page.cache_control),  # no-cache: a missing article may appear any time
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("Content-Type", page.media_type),
        ("Content-Length", str(size)),
    ]
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    return Answer(NOT_FOUND, headers, body)
