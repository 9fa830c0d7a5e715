"""Signatures: what a resource is made from, hashed, so that a build or a restart renders
only what changed. Pure: reads the package's own files, nothing else."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import fields
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from feedsvc.articles import Summary
from feedsvc.config import Settings
from feedsvc.urls import article_path

# Settings that do not change a rendered byte or header.
_NOT_RENDERED = frozenset(
    {"articles", "out", "reload_interval", "cache_dir", "max_file_bytes", "jobs"}
)


def _package_files(folder: Traversable) -> Iterable[Traversable]:
    """Yield the package's source and template files, sorted, below ``folder``."""
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if item.is_dir():
            if item.name != "__pycache__":
                yield from _package_files(item)
        elif item.name.endswith((".py", ".html", ".css")):
            yield item


@lru_cache(maxsize=16)
def render_fingerprint(settings: Settings) -> bytes:
    """Return the digest of the package's code and of the settings rendering depends on.

    All of the package's code and templates count, so that no list kept by hand can miss
    a module that rendering uses: nothing rendered by another version is reused.
    """
    digest = hashlib.sha256()
    for item in _package_files(files("feedsvc")):
        digest.update(item.name.encode() + b"\0" + item.read_bytes())
    # The icon counts by the SHA-256 of its bytes (config.Icon prints as its digest), so
    # another icon renders every page and feed that links to it again.
    for spec in fields(settings):
        if spec.name not in _NOT_RENDERED:
            digest.update(f"{spec.name}={getattr(settings, spec.name)!r}\n".encode())
    return digest.digest()


class Signer:
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
        archives, index pages and feeds that show it: its id, its dates (its update time
        is the page's Last-Modified) and the digest of its title, standfirst and
        paragraphs, so an index row is rendered again even for a change it does not show.
        """
        path = "/" + article_path(article)
        digest = self._base.copy()
        dates = f"{article.published.isoformat()}:{article.updated.isoformat()}"
        digest.update(f"{path}\0{article.id}:{article.digest}:{dates}".encode())
        return path, digest.hexdigest()[:32]
