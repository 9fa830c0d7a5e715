"""Checks of built feeds: well-formed, the elements each spec requires, dates, URLs, ids.

The core is pure: ``check_document`` takes bytes (``feedreading.read_feed`` reads them);
``check_built`` only adds reading files. Problems are ``path: reason`` lines.
``comparison`` compares new feeds with published ones on top of ``read_feed``.
"""

from __future__ import annotations

from pathlib import Path

from feedsvc.config import Settings
from feedsvc.feedreading import Entry as Entry
from feedsvc.feedreading import Feed as Feed
from feedsvc.feedreading import NotWellFormed as NotWellFormed
from feedsvc.feedreading import is_absolute_url as is_absolute_url
from feedsvc.feedreading import parse_rfc822 as parse_rfc822
from feedsvc.feedreading import parse_rfc3339 as parse_rfc3339
from feedsvc.feedreading import read_feed as read_feed
from feedsvc.urls import FEED_PATHS

KIND_NAMES = {"rss": "an RSS 2.0 feed", "atom": "an Atom feed", "json": "a JSON Feed"}
SELF_LINKS = {"rss": '<atom:link rel="self">', "atom": '<link rel="self">', "json": "feed_url"}
DOCUMENT_SUFFIXES = (".xml", ".json")


def check_document(name: str, data: bytes, self_url: str) -> list[str]:
    """Return the problems of the document published at site path ``name`` (no ``path:``).

    ``feed.xml``, ``atom.xml`` and ``feed.json`` must be RSS, Atom and JSON Feed; other
    documents are checked when they are feeds. A feed's self link must be ``self_url``.
    """
    expected = {path: kind for kind, path in FEED_PATHS.items()}.get(name)
    try:
        feed = read_feed(data, name)
    except NotWellFormed as exc:
        return [exc.reason]
    if feed is None:
        return [f"is not {KIND_NAMES[expected]}"] if expected else []
    reasons = list(feed.problems)
    if expected and feed.kind != expected:
        reasons.insert(0, f"is {KIND_NAMES[feed.kind]}, not {KIND_NAMES[expected]}")
    if feed.self_link is None:
        reasons.append(f"has no self link ({SELF_LINKS[feed.kind]})")
    elif feed.self_link != self_url:
        reasons.append(f"self link {feed.self_link} is not {self_url} (base_url + path)")
    return reasons


def read_documents(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """Read the feed-like documents (``*.xml``, ``*.json``) of a folder, or one file.

    Returns them by path relative to the folder (a file: its name), and the
    ``path: reason`` lines of those that cannot be read. Hidden files are left out.
    """
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.suffix in DOCUMENT_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        names = [p.relative_to(path).as_posix() for p in files]
    else:
        files, names = [path], [path.name]
    documents, problems = {}, []
    for name, file in zip(names, files, strict=True):
        try:
            documents[name] = file.read_bytes()
        except OSError as exc:
            problems.append(f"{file}: cannot read: {exc.strerror}")
    return documents, problems


def check_built(folder: Path, settings: Settings) -> list[str]:
    """Check the output of ``feedsvc build`` in ``folder`` without network access.

    Every ``*.xml`` and ``*.json`` feed is checked: well-formed, the elements RSS 2.0,
    RFC 4287 and JSON Feed 1.1 require, RFC 822 / RFC 3339 dates with zones, absolute
    http(s) URLs, unique ids, and a self link equal to ``settings.base_url`` + its path.
    Returns the problems as ``path: reason`` lines, path being the file.
    """
    if not folder.is_dir():
        return [f"{folder}: not a folder of built output"]
    documents, problems = read_documents(folder)
    for name in sorted(set(FEED_PATHS.values()) - documents.keys()):
        problems.append(f"{folder / name}: missing; feedsvc build writes it")
    for name, data in documents.items():
        problems += [
            f"{folder / name}: {reason}"
            for reason in check_document(name, data, settings.url(name))
        ]
    return problems
