"""What a server's first start reads: every article's date line, not its text
(``load_front``), to order and date the articles and serve the feeds within seconds.

The shell, like repository.py, whose loading it shares.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path

from feedsvc.articles import Summary, clean_text, parse_date_line
from feedsvc.cache import ParseCache
from feedsvc.config import Settings
from feedsvc.dating import content_hash
from feedsvc.edits import EditLedger, load_git_history
from feedsvc.errors import ArticleError
from feedsvc.filesystem import FileKey
from feedsvc.reading import read_article_bytes
from feedsvc.repository import Corpus, Fresh, Parsed, Problem, _Loading, _resolved


def _read_head(name: str, settings: Settings, root: Path, hashed: bool) -> Fresh:
    """``read_parsed`` of the date line only (``head_summary``); the content's hash when
    ``hashed`` (a file with a record of noticed edits). Its result has no key: never
    to be taken for a parse of the whole file."""
    path = os.path.join(settings.articles, name)
    try:
        data = read_article_bytes(path, root, settings.max_file_bytes)
        summary = head_summary(name, data, settings.zone)
    except ArticleError as exc:
        return Parsed(None, None, (Problem(path, exc.reason),)), None, None
    return Parsed(None, summary, ()), None, content_hash(data) if hashed else None


_HEAD = 512  # bytes of a file that hold its date line, but for a long run of blank lines


def head_summary(name: str, data: bytes, zone: tzinfo) -> Summary:
    """Return the id, number and date of the file ``name`` whose bytes are ``data``, read
    from its first bytes as ``read_article`` reads them (decoded, cleaned, the first
    non-blank line: ``parse_date_line``). Raises ArticleError for a wrong date line."""

    def text(part: bytes) -> str:
        return clean_text(part.decode("utf-8", "replace"))[0]

    head = text(data[:_HEAD])
    if len(data) > _HEAD and not any(end in head.lstrip() for end in "\n\r"):
        head = text(data)  # the date line may go on past the first bytes
    return parse_date_line(name, head, zone)


def load_front(
    settings: Settings, keys: Mapping[str, FileKey | None], cache: ParseCache | None = None
) -> Corpus:
    """Return the articles of ``keys`` (``folder_keys``) ordered and dated from their date
    lines alone, for a server's first start: no text (``Corpus.full`` reads the articles
    shown), no digests, no rows written to ``cache`` (its records of noticed edits are
    read; git's history is stored, for the complete load next), at a third of the cost
    per file of ``load_corpus``.

    The same articles in the same order with the same dates as ``load_corpus`` gives,
    but for a file whose date line is right and whose text is not (no title, not UTF-8):
    this takes it, ``load_corpus`` skips it.
    """
    root = _resolved(settings)
    records = cache.edit_records() if cache is not None else {}
    loading = _Loading(settings, root, {}, {}, False, EditLedger(records, settings))
    for name in sorted(keys):
        loading.add(name, keys[name], _read_head(name, settings, root, name in records))
    history, warnings = load_git_history(settings, None, cache)
    return loading.corpus(history, [Problem(path, reason, False) for path, reason in warnings])
