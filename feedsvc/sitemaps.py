"""``sitemap.xml`` (sitemaps.org protocol 0.9) and ``robots.txt``, as bytes, and as the
site's resources (``emit_sitemaps``). Pure.

The sitemap lists the front page, the other index pages and every article page, each
with its Last-Modified as ``lastmod``. The protocol allows 50,000 URLs a file: past
that, ``sitemap.xml`` is a sitemap index of parts ``sitemap-1.xml``, ``sitemap-2.xml``...
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from feedsvc.config import Settings
from feedsvc.escaping import xml_text
from feedsvc.resources import Renderer
from feedsvc.urls import ROBOTS_PATH, SITEMAP_PATH, sitemap_part_path

XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# sitemaps.org: "no more than 50,000 URLs and must be no larger than 50MB" (a URL of
# feedsvc's takes about 150 bytes, so the count is the limit reached first).
URLS_PER_SITEMAP = 50_000
_HEAD = b"<?xml version='1.0' encoding='UTF-8'?>\n"

Location = tuple[str, datetime]  # a site path ("/" first or not) and its page's Last-Modified


_MARKUP = re.compile("[&<>\r]")
_W3C_LENGTH = len("2005-05-10T17:33:30+08:00")


def w3c_datetime(moment: datetime) -> str:
    """Return ``moment`` as a W3C datetime to the second, as HTTP dates count: in its own
    offset, or in UTC when the offset has seconds (local mean time), which W3C lacks."""
    text = moment.isoformat(timespec="seconds")
    if len(text) == _W3C_LENGTH:
        return text
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _document(tag: str, settings: Settings, locations: Sequence[Location]) -> bytes:
    """Return the sitemap or sitemap index (``tag``: ``url`` or ``sitemap``) of ``locations``.

    Written into one buffer an entry at a time: a sitemap of 50,000 URLs is 6 MB, and
    its entries as a list of strings, joined, then encoded took three times that at the
    end of a server's first render, its largest worker's peak (``benchmarks/scale.py``).
    """
    # Escaped once for the base URL; a site path needs escaping only if it has markup.
    base = xml_text(settings.base_url).decode()
    root = "urlset" if tag == "url" else "sitemapindex"
    out = io.BytesIO()
    out.write(_HEAD + f'<{root} xmlns="{SITEMAP_NS}">\n'.encode())
    for path, moment in locations:
        where = _path(path.lstrip("/"))
        entry = f"  <{tag}><loc>{base}{where}</loc><lastmod>{w3c_datetime(moment)}</lastmod>"
        out.write(f"{entry}</{tag}>\n".encode())
    out.write(f"</{root}>\n".encode())
    return out.getvalue()


def _path(path: str) -> str:
    return xml_text(path).decode() if _MARKUP.search(path) else path


def render_urlset(settings: Settings, locations: Sequence[Location]) -> bytes:
    """Return a sitemap (``<urlset>``) of ``locations``."""
    return _document("url", settings, locations)


def render_index(settings: Settings, parts: Sequence[Location]) -> bytes:
    """Return a sitemap index (``<sitemapindex>``) of the sitemaps at ``parts``."""
    return _document("sitemap", settings, parts)


def split(locations: Sequence[Location], limit: int = URLS_PER_SITEMAP) -> list[Sequence[Location]]:
    """Return the sitemap parts of ``locations``: one part when they fit in one sitemap."""
    return [locations[start : start + limit] for start in range(0, len(locations), limit)] or [
        locations
    ]


def part_paths(count: int) -> list[str]:
    """Return the site paths of ``count`` sitemap parts: ``sitemap.xml`` alone for one."""
    return [SITEMAP_PATH] if count == 1 else [sitemap_part_path(n) for n in range(1, count + 1)]


def render_robots(settings: Settings) -> bytes:
    """Return ``robots.txt`` (RFC 9309): everything may be crawled; where the sitemap is."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {settings.url(SITEMAP_PATH)}\n".encode()


def emit_sitemaps(
    run: Renderer,
    settings: Settings,
    locations: list[Location],
    updated: datetime,
    policy: str,
) -> None:
    """Add ``sitemap.xml`` listing ``locations`` (a sitemap index past its URL limit, with
    its parts) and ``robots.txt``, which points to it, to the resources of ``run``."""
    parts = split(locations, URLS_PER_SITEMAP)
    index: list[Location] = []
    for path, part in zip(part_paths(len(parts)), parts, strict=True):
        render = lambda part=part: render_urlset(settings, part)  # noqa: E731
        index.append((path, _emit_sitemap(run, "/" + path, part, render, policy)))
    if len(parts) > 1:
        render_parts = lambda: render_index(settings, index)  # noqa: E731
        _emit_sitemap(run, "/" + SITEMAP_PATH, index, render_parts, policy)
    robots = "/" + ROBOTS_PATH
    # Dated like the 404 page: by the newest article, which its signature includes.
    signature = run.sign(robots, updated.isoformat())
    run.emit(robots, signature, lambda: render_robots(settings), TEXT, updated, policy)


def _emit_sitemap(
    run: Renderer,
    path: str,
    locations: Sequence[Location],
    render: Callable[[], bytes],
    policy: str,
) -> datetime:
    """Add a sitemap or sitemap index listing ``locations``; return its Last-Modified,
    that of the newest page it lists."""
    # Hashed a location at a time: joined first, 50,000 of them took 15 MB.
    stamps = hashlib.sha256()
    for where, moment in locations:
        stamps.update(f"{where}\0{moment.isoformat()}\n".encode())
    newest = max(moment for _, moment in locations)
    run.emit(path, run.sign(path, stamps.hexdigest()), render, XML, newest, policy)
    return newest
