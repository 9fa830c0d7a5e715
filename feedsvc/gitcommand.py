"""Running git for the history: a fixed environment, and the user's settings that change
what git prints overridden (history.py explains why the result depends on nothing else).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from feedsvc.errors import HistoryError

# Every setting of the user's (global or repository) config that changes what the commands
# below print: the root commit's files must be listed, '.' must not be followed as one path,
# no signature check, names unquoted, paths from the top of the repository, and a file whose
# only change is its executable bit is not dirty (its text is the committed one).
_CONFIG = (
    "log.showRoot=true",
    "log.follow=false",
    "log.showSignature=false",
    "log.diffMerges=first-parent",
    "diff.relative=false",
    "core.quotePath=false",
    "core.fileMode=false",
)
_GIT = ("git", "--no-pager", "--no-replace-objects", "--no-optional-locks")
_PASSED_ON = ("PATH", "HOME", "XDG_CONFIG_HOME", "SYSTEMROOT")


def run_git(folder: Path, args: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C folder args``. Raises FileNotFoundError when git is not installed."""
    command = [*_GIT, "-C", str(folder)]
    for setting in _CONFIG:
        command += ["-c", setting]
    try:
        return subprocess.run(
            [*command, *args], capture_output=True, env=git_environment(), check=False
        )
    except FileNotFoundError:
        raise
    except OSError as error:
        raise HistoryError(f"{folder}: cannot run git: {error.strerror}") from None


def git_output(
    folder: Path, args: Sequence[str], done: subprocess.CompletedProcess[bytes] | None = None
) -> bytes:
    """Return what ``git -C folder args`` printed (``done``, or run now).

    Raises HistoryError with git's message when it failed or cannot be run.
    """
    if done is None:
        try:
            done = run_git(folder, args)
        except FileNotFoundError:
            raise HistoryError(f"{folder}: cannot run git: not found") from None
    if done.returncode == 0:
        return done.stdout
    message = os.fsdecode(done.stderr).splitlines()
    detail = "; ".join(line.strip() for line in message if line.strip()) or "no message"
    raise HistoryError(
        f"{folder}: cannot read the git history: git {args[0]} failed"
        f" (exit {done.returncode}): {detail}"
    )


def git_environment() -> dict[str, str]:
    """The environment git runs with: fixed locale and zone, nothing else of the caller's."""
    environment = {name: os.environ[name] for name in _PASSED_ON if name in os.environ}
    environment.update(LC_ALL="C", TZ="UTC", GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    return environment
