"""WebSub publishing: tell the hubs which feeds changed, without ever delaying or failing a build.

A publish request is ``POST hub`` with the form ``hub.mode=publish&hub.url=<feed URL>``
(the PubSubHubbub 0.4 convention WebSub hubs accept; W3C WebSub section 7 leaves the
mechanism to publisher and hub). feedsvc sends one request per feed URL and hub rather than
one with repeated ``hub.url``: many hubs read only the first ``hub.url``, and one request per
topic makes every retry and every log line about exactly one feed.
"""

from __future__ import annotations

import enum
import http.client
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from feedsvc import __version__
from feedsvc.config import Settings
from feedsvc.resources import make_etag
from feedsvc.site import Site
from feedsvc.urls import FEED_PATHS, file_path

log = logging.getLogger("feedsvc")

# Read when a background ping starts, so tests can shorten them.
DEFAULT_TIMEOUT = 5.0  # seconds per request
DEFAULT_RETRIES = 3  # further attempts after the first
DEFAULT_BACKOFF = 0.5  # seconds before the first retry, doubled before each next one
EXIT_WAIT = 10.0  # seconds the CLI waits for pending pings before it exits
MAX_RETRY_AFTER = 60.0  # a hub's Retry-After is honoured up to this many seconds
USER_AGENT = f"feedsvc/{__version__} (WebSub publisher)"

THREAD_NAME = "feedsvc-websub"  # every ping thread's, so that they can be found


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would follow a 302 to a POST with a GET, dropping the form."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def subscription_paths() -> tuple[str, ...]:
    """Return the URL paths of the subscription feeds, the WebSub topics (archives never change)."""
    return tuple("/" + path for path in FEED_PATHS.values())


def changed_feeds(
    before: Mapping[str, str], after: Mapping[str, str], settings: Settings
) -> tuple[str, ...]:
    """Return the absolute URLs of the subscription feeds whose ETag differs.

    ``before`` and ``after`` map URL paths to ETags; a feed missing from ``before``
    counts as changed.
    """
    return tuple(
        settings.url(path)
        for path in subscription_paths()
        if path in after and before.get(path) != after[path]
    )


def site_etags(site: Site) -> dict[str, str]:
    """Return the ETags of the subscription feeds of a rendered site, by URL path."""
    resources = site.resources
    return {path: resources[path].etag for path in subscription_paths() if path in resources}


def published_etags(folder: Path) -> dict[str, str]:
    """Return the ETags of the subscription feed files a previous build left in ``folder``.

    A file that is missing or unreadable is left out, so its feed counts as changed.
    """
    etags = {}
    for path in subscription_paths():
        try:
            etags[path] = make_etag((folder / file_path(path)).read_bytes())
        except OSError:
            continue
    return etags


def _post(hub: str, feed_url: str, timeout: float) -> tuple[int, str | None]:
    """POST one publish notification; return the status and the Retry-After value."""
    form = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode("ascii")
    request = urllib.request.Request(
        hub,
        data=form,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status, None
    except urllib.error.HTTPError as error:  # 3xx, 4xx, 5xx: the hub answered
        with error:
            return error.code, error.headers.get("Retry-After")


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0  # an HTTP date: the exponential back-off stands in for it


class _Outcome(enum.Enum):
    SENT = "sent"
    REFUSED = "refused"  # the hub answered, but not with 2xx
    UNREACHABLE = "unreachable"  # no answer: refused connection, timeout, reset


def _notify(hub: str, feed_url: str, timeout: float, retries: int, backoff: float) -> _Outcome:
    """Notify ``hub`` of ``feed_url``, retrying network errors, 5xx and 429; log a failure."""
    problem, delay, attempt, outcome = "", 0.0, 0, _Outcome.UNREACHABLE
    while attempt <= max(retries, 0):
        if attempt:
            time.sleep(max(delay, backoff * 2 ** (attempt - 1)))
        attempt, delay = attempt + 1, 0.0
        try:
            status, retry_after = _post(hub, feed_url, timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"  # refused, reset, timed out, bad answer
            outcome = _Outcome.UNREACHABLE
            continue
        if 200 <= status < 300:
            return _Outcome.SENT
        problem, outcome = f"HTTP {status}", _Outcome.REFUSED
        if status != 429 and status < 500:
            break  # the hub refused this request; asking again gets the same answer
        delay = _retry_after(retry_after)
    log.warning(
        "WebSub hub %s was not notified that %s changed (%s after %d attempt(s)); "
        "subscribers will see the change when they next poll",
        hub,
        feed_url,
        problem,
        attempt,
    )
    return outcome


def publish(
    hubs: Iterable[str],
    feed_urls: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
) -> tuple[tuple[str, str], ...]:
    """Tell each hub that each of ``feed_urls`` changed; one form POST per hub and feed.

    Each request has ``timeout`` seconds; network errors, 5xx and 429 answers are tried
    again up to ``retries`` times after ``backoff``, 2 * ``backoff``, ... seconds.
    A hub that cannot be reached after all attempts for one feed is not tried for the
    others: it is down, and trying would only hold up the bounded wait of a build.
    Returns the ``(hub, feed URL)`` pairs that failed, all logged. Never raises.
    """
    failed = []
    for hub in hubs:
        for index, feed_url in enumerate(feed_urls):
            outcome = _notify(hub, feed_url, timeout, retries, backoff)
            if outcome is not _Outcome.SENT:
                failed.append((hub, feed_url))
            skipped = feed_urls[index + 1 :]
            if outcome is _Outcome.UNREACHABLE and skipped:
                failed += [(hub, url) for url in skipped]
                log.warning(
                    "WebSub hub %s is unreachable; not notified either that %s changed",
                    hub,
                    ", ".join(skipped),
                )
                break
    return tuple(failed)


def _run(hub: str, feed_urls: Sequence[str]) -> None:
    publish([hub], feed_urls, DEFAULT_TIMEOUT, DEFAULT_RETRIES, DEFAULT_BACKOFF)


def publish_in_background(hubs: Iterable[str], feed_urls: Sequence[str]) -> list[threading.Thread]:
    """Start :func:`publish` in one daemon thread per hub and return the threads at once.

    A hub that is slow or down delays neither the caller nor the other hubs, and a
    daemon thread never keeps the process alive.
    """
    threads: list[threading.Thread] = []
    if not feed_urls:
        return threads
    for hub in hubs:
        thread = threading.Thread(
            target=_run, args=(hub, tuple(feed_urls)), name=THREAD_NAME, daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def announce_changes(
    before: Site | None, after: Site, settings: Settings
) -> list[threading.Thread]:
    """Ping the hubs in the background for the subscription feeds that differ between two sites.

    Nothing without hubs, and nothing for the first site a process serves (``before`` is
    None): a restart changes no feed. Returns the ping threads.
    """
    if before is None or not settings.hubs:
        return []
    changed = changed_feeds(site_etags(before), site_etags(after), settings)
    return publish_in_background(settings.hubs, changed)


def wait_pending(threads: Iterable[threading.Thread], timeout: float | None = None) -> bool:
    """Wait up to ``timeout`` seconds (default EXIT_WAIT) for the ping ``threads`` to finish.

    Returns True when none is left; otherwise logs that they were abandoned.
    """
    limit = EXIT_WAIT if timeout is None else timeout
    deadline = time.monotonic() + limit
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    pending = [thread for thread in threads if thread.is_alive()]
    if pending:
        log.warning(
            "gave up waiting for %d WebSub hub notification(s) after %g s; "
            "subscribers of those hubs will see the change when they next poll",
            len(pending),
            limit,
        )
    return not pending
