"""The error types feedsvc raises, each with its own message and exit code."""

from __future__ import annotations

import logging
from pathlib import Path


def escape_unprintable(text: str) -> str:
    """Return ``text`` with every character Python does not print escaped as in a literal.

    Newlines, other control characters, bidirectional controls (U+202E ...) and undecodable
    bytes of a file name (surrogates) become ``\\n``, ``\\u202e``, ``\\udcff``: a file name
    can neither forge a line of output nor reorder the text around it.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class PrintableRecords(logging.Filter):
    """Escapes each log message with ``escape_unprintable`` (tracebacks stay whole)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = escape_unprintable(record.getMessage()), None
        return True


# Every feedsvc module logs through this logger; its lines may carry file names.
logging.getLogger("feedsvc").addFilter(PrintableRecords())


class FeedsvcError(Exception):
    """Base of every error feedsvc reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        message = escape_unprintable(message)  # one line, whatever file name it carries
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(FeedsvcError):
    """A setting is missing or has a bad value; the message says how to fix it."""

    exit_code = 2


class ArticleError(FeedsvcError):
    """One article file cannot be published; prints as ``path: reason``."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ArticlesDirError(FeedsvcError):
    """The articles folder itself is missing, unreadable or not a folder."""

    exit_code = 2


class BuildError(FeedsvcError):
    """Writing the static output failed; the previous output is left as it was."""


class HistoryError(FeedsvcError):
    """git could not read the history of the articles folder (a broken repository)."""


class ListenError(FeedsvcError):
    """The server cannot listen on its address: the port is taken, privileged or foreign."""
