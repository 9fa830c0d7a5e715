"""A new article file for ``feedsvc new``: its name and its text, in the article format.

Pure: the shell (cli.py) lists the folder, reads the clock and the random id, and
creates the file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from feedsvc.articles import FILE_NAME, MAX_TITLE_CHARS, parse_article
from feedsvc.errors import ArticleError, FeedsvcError
from feedsvc.metadata import human_date

PLACEHOLDER_STANDFIRST = "One sentence that says what the article is about."
PLACEHOLDER_PARAGRAPH = "Write the article here, one paragraph per block of lines."


class NewArticleError(FeedsvcError):
    """A title or standfirst that cannot make an article: a usage error."""

    exit_code = 2


def checked_line(what: str, text: str, limit: int) -> str:
    """Return ``text`` stripped; raise NewArticleError if it is empty, long or not one line."""
    line = text.strip()
    if not line:
        raise NewArticleError(f"the {what} is empty")
    if len(line.splitlines()) > 1:
        raise NewArticleError(f"the {what} must be one line")
    if any(unicodedata.category(c) == "Cc" for c in line):
        raise NewArticleError(f"the {what} has a control character")
    if len(line) > limit:
        raise NewArticleError(f"the {what} is {len(line)} characters long (at most {limit})")
    return line


def next_number(names: Iterable[str]) -> int:
    """Return the number after the highest ``NNN`` of the article file names ``names``."""
    numbers = [int(m["number"]) for name in names if (m := FILE_NAME.match(name))]
    return max(numbers, default=0) + 1


def file_name(number: int, article_id: str) -> str:
    """Return ``NNN_<16 hex>.txt``, the number at least three digits wide."""
    return f"{number:03d}_{article_id}.txt"


def article_text(
    name: str,
    title: str,
    standfirst: str | None,
    day: date,
    zone: ZoneInfo,
    chrome_lines: tuple[str, ...],
) -> str:
    """Return the text of a new article file named ``name``.

    The date line, the title, the standfirst (a placeholder when None) and a placeholder
    paragraph. Raises NewArticleError for a title or standfirst that is empty, too long,
    more than one line or has a control character.
    """
    title = checked_line("title", title, MAX_TITLE_CHARS)
    standfirst = checked_line(
        "standfirst", PLACEHOLDER_STANDFIRST if standfirst is None else standfirst, 2000
    )
    text = (
        f"{human_date(datetime.combine(day, time()))}\n\n{title}\n\n{standfirst}\n\n"
        f"{PLACEHOLDER_PARAGRAPH}\n"
    )
    try:
        parse_article(name, text, zone, chrome_lines)  # what feedsvc check will read
    except ArticleError as exc:
        raise NewArticleError(str(exc)) from None
    return text
