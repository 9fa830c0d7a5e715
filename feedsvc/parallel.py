"""A cold build on several cores (setting ``jobs``): build processes read a share of the
article files each, then render a share of the pages and archives into the staging folder.

The one-process build stays the only definition of what is written. The processes run
its own steps: ``repository.read_parsed`` on their files, then ``site.render_part``
(``render_site``'s steps, restricted to their paths) through a ``FolderStore`` like this
process's. This process takes what they read in the order a one-process load does
(``load_corpus`` with a ``reader``: the same problems, duplicates, dates and cache rows),
then runs ``render_site`` with their resources and page signatures as ``previous``: it
renders only what no process did (feeds, sitemaps, robots.txt, the 404 page, the icon),
and the site, its manifest, every file's bytes and mtime are those of one process.

The processes are forked: they start with the package imported and the settings and
their share of the file names in memory, and the articles they read stay in them (their
text is most of what a build holds), so only summaries and headers are pickled, as tuples
(``packing``).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from feedsvc.articles import Article, Summary
from feedsvc.cache import ParseCache
from feedsvc.config import Settings
from feedsvc.errors import BuildError
from feedsvc.feeds import EMPTY_FEED_TIME, FeedPage, archive_chunks
from feedsvc.filesystem import FileKey, file_key
from feedsvc.manifest import MARKER
from feedsvc.output import FolderStore
from feedsvc.packing import Row, pack, unpack
from feedsvc.pages import IndexPage
from feedsvc.repository import Corpus, Fresh, Parsed, load_corpus, read_parsed
from feedsvc.resources import HTML, Resource, describe
from feedsvc.site import Site, render_part, render_site
from feedsvc.urls import article_path, index_page_count

Progress = Callable[[int], None] | None
# What a build process rendered: resources by path (bodies left out), (signature, path)
# of its article pages by id, and the number of files it wrote.
Answer = tuple[dict[str, Resource], dict[str, tuple[str, str]], int]
# What it sends of them: the paths, then the resources packed (``packing.pack``).
Rendered = tuple[list[str], list[Row | None], dict[str, tuple[str, str]], int]
PROGRESS_BATCH = 100  # pages a build process renders between two reports of its progress

# render_site reads the resources, pages and moved of ``previous``, never its 404 page.
_NO_PAGE = describe('""', 0, HTML, EMPTY_FEED_TIME, "no-cache", None)


def build_jobs(settings: Settings, full: bool) -> int:
    """Return the processes a build of ``settings.out`` runs in.

    ``settings.jobs`` for a cold or ``full`` build; 1 for a build on an earlier output,
    which reads and renders only what changed. 1 where processes cannot be forked, or
    not safely: a child of a threaded process may find a lock held forever.
    """
    if settings.jobs == 1 or (not full and (settings.out / MARKER).is_file()):
        return 1
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return settings.jobs


class Builder:
    """Loads and renders one build, in this process only (``jobs`` 1) or with ``jobs``
    build processes; a context manager that stops the processes it started."""

    def __init__(self, settings: Settings, jobs: int) -> None:
        self.settings = settings
        self.jobs = jobs
        self._workers: list[_Worker] = []
        self._owners: dict[str, int] = {}  # by file name: the process that read it
        self._cache: ParseCache | None = None  # its rows are written while they render

    def __enter__(self) -> Builder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def load(self, cache: ParseCache | None) -> Corpus:
        """Return the corpus ``load_corpus`` returns, the files read by the build processes.

        With processes, the rows ``cache`` learns are written once they render (``render``).
        """
        if self.jobs == 1:
            return load_corpus(self.settings, cache=cache)
        if cache is not None:
            cache.hold_writes()
            self._cache = cache
        return load_corpus(self.settings, cache=cache, reader=self._read)

    def render(self, corpus: Corpus, store: FolderStore, progress: Progress) -> Site:
        """Render ``corpus`` into ``store`` (``output.build_site``'s ``render``); return the
        site ``render_site`` returns. Raises BuildError when a build process fails or dies."""
        if self.jobs == 1 or store.previous is not None:
            return render_site(corpus, self.settings, False, None, progress, store)
        if not self._workers:  # every file came from the parse cache
            self._read(self.settings.articles.resolve(), [])
        packed = pack(Summary, corpus.articles)
        payload = pickle.dumps((packed, corpus.deleted), pickle.HIGHEST_PROTOCOL)
        shares = share_paths(corpus.articles, self._owners, self.jobs, self.settings)
        for worker, paths in zip(self._workers, shares, strict=True):
            worker.conn.send_bytes(payload)
            worker.conn.send((paths, (store.folder, store.live, store.published)))
        if self._cache is not None:
            self._cache.write_held()
        answers = [_unpack_rendered(sent) for sent in self._gather("rendered", progress)]
        store.written += sum(written for _, _, written in answers)
        previous = merge_parts(corpus.articles, answers)
        return render_site(corpus, self.settings, False, previous, None, store)

    def close(self) -> None:
        """Stop the build processes (each done, or killed) and wait for them."""
        for worker in self._workers:
            worker.conn.close()  # a process waiting for work then ends
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers = []

    def _read(self, root: Path, items: Sequence[tuple[str, FileKey | None]]) -> dict[str, Fresh]:
        """``load_corpus``'s reader: start the build processes, each reading a run of
        ``items``; return what each file gave (its article stays in the process)."""
        context = multiprocessing.get_context("fork")
        for number in range(self.jobs):
            block = items[number * len(items) // self.jobs : (number + 1) * len(items) // self.jobs]
            ours, theirs = context.Pipe()
            args = (theirs, self.settings, root, block)
            process = context.Process(target=_work, args=args, name=f"feedsvc build {number + 1}")
            process.daemon = True
            process.start()
            theirs.close()  # the process's end: ours sees EOF when it dies
            self._workers.append(_Worker(number, process, ours))
            self._owners.update((name, number) for name, _ in block)
        fresh: dict[str, Fresh] = {}
        for names, keys, summaries, problems, contents in self._gather("read", None):
            columns = (names, keys, unpack(Summary, summaries), problems, contents)
            for name, key, summary, found, content in zip(*columns, strict=True):
                fresh[name] = (Parsed(key, summary, found), None, content)
        return fresh

    def _gather(self, kind: str, progress: Progress) -> list[Any]:
        """Return each process's answer ``kind``, in order, passing on its progress.

        Raises BuildError, after stopping every process, when one fails or dies first.
        """
        answers: dict[int, Any] = {}
        waiting = {worker.conn: worker for worker in self._workers}
        try:
            while waiting:
                for conn in wait(list(waiting)):
                    worker = waiting[conn]  # type: ignore[index]
                    try:
                        tag, value = worker.conn.recv()
                    except (EOFError, OSError):
                        tag, value = "died", None
                    if tag == "progress" and progress is not None:
                        progress(value)
                    elif tag == kind:
                        answers[worker.number] = value
                        del waiting[worker.conn]
                    elif tag != "progress":
                        raise BuildError(self._failure(worker, value))
        except BaseException:
            # None may write on into a staging folder that is being removed.
            self._kill()
            raise
        return [answers[worker.number] for worker in self._workers]

    def _failure(self, worker: _Worker, reason: str | None) -> str:
        """Return the message of a process that failed (``reason``) or died."""
        if reason is None:
            worker.process.join()
            reason = _ending(worker.process.exitcode)
        name = f"build process {worker.number + 1} of {self.jobs}"
        return f"{name} {reason}; nothing written, the previous output is kept"

    def _kill(self) -> None:
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.kill()
        self.close()


class _Worker:
    """A build process: its number (from 0), the process and this end of its pipe."""

    def __init__(self, number: int, process: BaseProcess, conn: Connection) -> None:
        self.number, self.process, self.conn = number, process, conn


def _ending(code: int | None) -> str:
    """Say how a process that sent no answer ended (its exit code)."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        return f"was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    return f"ended with status {code} before it answered"


def share_paths(
    articles: Sequence[Summary], owners: dict[str, int], jobs: int, settings: Settings
) -> list[frozenset[str]]:
    """Return the paths each of ``jobs`` processes renders: the pages of the articles
    whose files it read (where the text is; else a run of positions), and each archive
    and index page with its middle article."""
    count = len(articles)
    owner = [owners.get(a.source, i * jobs // count) for i, a in enumerate(articles)]
    owner_of = {a.id: number for a, number in zip(articles, owner, strict=True)}
    shares: list[set[str]] = [set() for _ in range(jobs)]
    for article, number in zip(articles, owner, strict=True):
        shares[number].add("/" + article_path(article))
    chunks = archive_chunks(articles, settings.item_limit)
    for number, chunk in enumerate(chunks, start=1):
        page = FeedPage(number, len(chunks))
        middle = owner_of[chunk[len(chunk) // 2].id]
        shares[middle].update("/" + page.path(kind) for kind in ("rss", "atom"))
    size = settings.page_size
    pages = index_page_count(count, size)
    for number in range(1, pages + 1):
        rows = range((number - 1) * size, min(number * size, count))
        middle = owner[rows[len(rows) // 2]] if rows else 0
        shares[middle].add("/" + IndexPage(number, pages).path)
    return [frozenset(share) for share in shares]


def merge_parts(articles: Sequence[Summary], answers: Sequence[Answer]) -> Site:
    """Return the site ``render_site`` takes as ``previous`` to reuse the parts rendered
    (``render_part``'s resources, page signatures and paths by article id, files written)."""
    resources: dict[str, Resource] = {}
    signed: dict[str, tuple[str, str]] = {}
    for found, pages, _ in answers:
        resources.update(found)
        signed.update(pages)
    # Signed from a copy of the same summary: what render_site would sign it with.
    memo = {a.id: (a, *signed[a.id]) for a in articles if a.id in signed}
    return Site(resources, _NO_PAGE, (), memo)


def _unpack_rendered(sent: Rendered) -> Answer:
    paths, rows, signed, written = sent
    resources = unpack(Resource, rows)
    return {p: r for p, r in zip(paths, resources, strict=True) if r is not None}, signed, written


def _work(
    conn: Connection, settings: Settings, root: Path, block: Sequence[tuple[str, FileKey | None]]
) -> None:
    """A build process: read ``block``, send what each file gave; render the paths sent
    into the folder sent, send their resources (bodies left out) and page signatures."""
    try:
        bodies: dict[str, Article] = {}  # by file name
        results: list[Parsed] = []
        contents: list[str | None] = []
        for name, key in block:
            path = os.path.join(settings.articles, name)
            parsed, article, content = read_parsed(path, root, settings, key or file_key(path))
            if article is not None:
                bodies[name] = article
            results.append(parsed)
            contents.append(content)
        summaries = pack(Summary, (parsed.article for parsed in results))
        problems = [parsed.problems for parsed in results]
        keys = [parsed.key for parsed in results]
        conn.send(("read", ([name for name, _ in block], keys, summaries, problems, contents)))
        try:
            rows, deleted = pickle.loads(conn.recv_bytes())
            paths, (folder, live, published) = conn.recv()
        except EOFError:  # no rendering here: a build on an earlier output, or a failed one
            return
        # A duplicate id's file was read too: an article's text is that of its own file.
        articles = tuple(a for a in unpack(Summary, rows) if a is not None)
        kept = {a.id: bodies[a.source] for a in articles if a.source in bodies}
        corpus = Corpus(articles, (), settings=settings, bodies=kept, deleted=deleted)
        report = _Reporter(conn)
        store = FolderStore(folder, None, None, live, published)
        resources, pages = render_part(corpus, settings, paths, report, store)
        report.flush()
        signed = {key: (signature, path) for key, (_, signature, path) in pages.items()}
        mine = {key: value for key, value in signed.items() if value[1] in paths}
        packed = pack(Resource, resources.values())
        conn.send(("rendered", (list(resources), packed, mine, store.written)))
    except BaseException as exc:  # the parent reports it, in one line, and stops the build
        _send_failure(conn, exc)
        sys.exit(1)


def _send_failure(conn: Connection, exc: BaseException) -> None:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    try:
        conn.send(("failed", f"failed: {type(exc).__name__}: {exc}{where}"))
    except OSError:
        pass  # the parent has gone


class _Reporter:
    """A build process's progress, sent to the parent every PROGRESS_BATCH pages."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending = 0

    def __call__(self, count: int) -> None:
        self.pending += count
        if self.pending >= PROGRESS_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.conn.send(("progress", self.pending))
            self.pending = 0
