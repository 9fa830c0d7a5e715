"""``sitemap.xml`` (sitemaps.org protocol 0.9) and ``robots.txt``, as bytes. Pure.

The sitemap lists the front page, the other index pages and every article page, each
with its Last-Modified as ``lastmod``. The protocol allows 50,000 URLs a file: past
that, ``sitemap.xml`` is a sitemap index of parts ``sitemap-1.xml``, ``sitemap-2.xml``...
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from feedsvc.config import Settings
from feedsvc.escaping import xml_text
from feedsvc.urls import SITEMAP_PATH, sitemap_part_path

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# sitemaps.org: "no more than 50,000 URLs and must be no larger than 50MB" (a URL of
# feedsvc's takes about 150 bytes, so the count is the limit reached first).
URLS_PER_SITEMAP = 50_000
_HEAD = b"<?xml version='1.0' encoding='UTF-8'?>\n"

Location = tuple[str, datetime]  # a site path and its page's Last-Modified


def w3c_datetime(moment: datetime) -> str:
    """Return ``moment`` as a W3C datetime in UTC to the second, as HTTP dates count."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _entries(tag: bytes, settings: Settings, locations: Sequence[Location]) -> list[bytes]:
    return [
        b"  <%s><loc>%s</loc><lastmod>%s</lastmod></%s>\n"
        % (tag, xml_text(settings.url(path)), w3c_datetime(moment).encode(), tag)
        for path, moment in locations
    ]


def render_urlset(settings: Settings, locations: Sequence[Location]) -> bytes:
    """Return a sitemap (``<urlset>``) of ``locations``."""
    rows = _entries(b"url", settings, locations)
    return b"".join([_HEAD, b'<urlset xmlns="%s">\n' % SITEMAP_NS.encode(), *rows, b"</urlset>\n"])


def render_index(settings: Settings, parts: Sequence[Location]) -> bytes:
    """Return a sitemap index (``<sitemapindex>``) of the sitemaps at ``parts``."""
    rows = _entries(b"sitemap", settings, parts)
    start = b'<sitemapindex xmlns="%s">\n' % SITEMAP_NS.encode()
    return b"".join([_HEAD, start, *rows, b"</sitemapindex>\n"])


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
