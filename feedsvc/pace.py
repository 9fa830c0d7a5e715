"""How far a server's first complete render has got, for an honest Retry-After.

The worker that renders writes its pace to a small file in the cache folder, so that the
workers waiting their turn (``cache.first_start``) answer with the same estimate. The file
is read like everything in the cache folder: never through a link, and checked.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from feedsvc.filesystem import write_atomically

FILE = "pace"
DEFAULT_SECONDS = 5  # while nothing says how long the render will take
LONGEST_SECONDS = 300
_WRITE_EVERY = 1.0  # seconds between writes of the file


class Pace:
    """The work units done of a render's total, and since when (``time.time``)."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / FILE if folder is not None else None
        self.started = 0.0
        self.done = 0
        self.total = 0
        self._written = 0.0

    def start(self, total: int) -> None:
        self.started, self.done, self.total = time.time(), 0, total
        self._write()

    def advance(self, count: int) -> None:
        self.done += count
        if time.monotonic() - self._written >= _WRITE_EVERY:
            self._write()

    def finish(self) -> None:
        self.total = 0
        if self.path is not None:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass

    def retry_after(self) -> int:
        """Seconds until the render is likely done: from this process's pace, else from
        the file of the worker rendering, else DEFAULT_SECONDS."""
        pace = (self.started, self.done, self.total) if self.total else self._read()
        if pace is None or pace[1] <= 0 or pace[2] <= 0:
            return DEFAULT_SECONDS
        started, done, total = pace
        remaining = max(time.time() - started, 0.0) * max(total - done, 0) / done
        return max(1, min(LONGEST_SECONDS, math.ceil(remaining)))

    def _write(self) -> None:
        self._written = time.monotonic()
        if self.path is not None:
            try:
                write_atomically(self.path, f"{self.started} {self.done} {self.total}\n".encode())
            except OSError:
                pass  # only an estimate

    def _read(self) -> tuple[float, int, int] | None:
        if self.path is None:
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                text = os.read(fd, 100).decode("ascii")
            finally:
                os.close(fd)
            started, done, total = text.split()
            pace = float(started), int(done), int(total)
        except (OSError, ValueError):
            return None
        return pace if math.isfinite(pace[0]) and 0 <= pace[1] <= pace[2] else None
