"""The error types feedsvc raises, each with its own message and exit code."""

from __future__ import annotations

from pathlib import Path


class FeedsvcError(Exception):
    """Base of every error feedsvc reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
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
