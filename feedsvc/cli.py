"""The ``feedsvc`` command: ``build``, ``check`` and ``serve``."""

from __future__ import annotations

import functools
import gc
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from feedsvc import authoring, websub
from feedsvc.authoring import next_number
from feedsvc.cache import ParseCache
from feedsvc.cachefolder import make_site_folder
from feedsvc.checks import check_built, read_documents
from feedsvc.comparison import compare_documents, compare_feeds, present_entry_ids
from feedsvc.config import Settings, load_settings
from feedsvc.dating import SOURCES
from feedsvc.errors import ArticlesDirError, ConfigError, FeedsvcError, escape_unprintable
from feedsvc.output import build_site, check_out_folder
from feedsvc.parallel import Builder, build_jobs
from feedsvc.repository import (
    Corpus,
    has_article_files,
    list_article_files,
    list_article_names,
    load_corpus,
)
from feedsvc.site import Site, render_site
from feedsvc.urls import file_path

PROGRESS_LINES_FROM = 1000  # without a terminal, only builds this large log progress
NEW_ATTEMPTS = 100  # file names feedsvc new tries before giving up


class _Group(click.Group):
    """Turns a FeedsvcError into its one-line message and exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FeedsvcError as exc:
            click.echo(f"feedsvc: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def settings_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options every command shares and pass ``settings`` instead of them."""

    @click.option(
        "--config", type=click.Path(path_type=Path), help="Settings file (default ./feedsvc.toml)."
    )
    @click.option("--articles", type=click.Path(path_type=Path), help="Folder of article files.")
    @click.option("--base-url", help="Absolute URL the site is published at.")
    @click.option("--title", help="Site and feed title.")
    @click.option("--timezone", help="IANA zone for dates written without one.")
    @click.option("--item-limit", type=int, help="Entries per feed (newest first).")
    @click.option("--hub", multiple=True, help="WebSub hub URL (repeat for several hubs).")
    @click.option(
        "--cache-dir",
        type=click.Path(path_type=Path),
        help="Cache of parsed articles and rendered pages (default ~/.cache/feedsvc).",
    )
    @click.option("--icon", type=click.Path(), help="PNG, SVG or ICO file: the site's icon.")
    @click.option(
        "--updated-from",
        type=click.Choice(SOURCES),
        help="What dates article edits: git history, noticed file changes, or both (auto).",
    )
    @functools.wraps(function)
    def wrapper(config: Path | None, **options: Any) -> Any:
        names = (
            "articles", "base_url", "title", "timezone", "item_limit", "cache_dir", "icon",
            "updated_from",
        )  # fmt: skip
        overrides = {name: options.pop(name) for name in names}
        extra: dict[str, Any] = {n: options.pop(n) for n in ("out", "jobs") if n in options}
        extra["hub"] = options.pop("hub") or None  # no --hub: the file or environment decides
        # serve links to where it listens unless a base_url is set (file, environment, flag).
        defaults = (
            {"base_url": local_url(options["host"], options["port"])} if "port" in options else {}
        )
        settings = load_settings(config, os.environ, {**overrides, **extra}, defaults)
        return function(settings=settings, **options)

    return wrapper


def local_url(host: str, port: int) -> str:
    """Return the URL of a server listening on ``host``:``port``, as this machine reaches it."""
    address = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{address}]:{port}/" if ":" in address else f"http://{address}:{port}/"


def require_articles(settings: Settings) -> None:
    """Fail at start-up (exit code 2) when the articles folder is missing, unreadable or empty."""
    if not has_article_files(settings.articles):
        raise ArticlesDirError(f"{settings.articles}: no article files (*.txt) in the folder")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector: a build makes a few objects per article and frees them by
    reference counting, and the collector would walk every live one again and again
    (a build after one edit of 100,000 articles: 3.2 s with it, 2.9 s without).

    The objects still alive at the end are frozen (``gc.freeze``) before the collector
    runs again, else its first pass walks them all at once (0.07 s at 100,000 articles,
    just before the process exits). They are freed by reference counting as ever.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


@contextmanager
def progress_of(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Show progress of long work: a bar on a terminal, a line every 10% in a log."""
    if sys.stderr.isatty():
        # Updated about 200 times: per article, formatting the bar took 0.2 s per 100,000.
        steps = max(1, total // 200)
        with click.progressbar(
            length=total, label=label, file=sys.stderr, update_min_steps=steps
        ) as bar:
            yield bar.update
        return
    if total < PROGRESS_LINES_FROM:
        yield lambda _: None
        return
    done, step = 0, max(1, total // 10)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if done % step == 0 or done == total:
            click.echo(f"{label}: {done}/{total}", err=True)

    yield advance


def report(corpus: Corpus) -> None:
    """Print each problem as ``path: reason`` on standard error."""
    for problem in corpus.problems:
        say(str(problem), err=True)


def say(line: str, err: bool = False) -> None:
    """Print one line; a file name in it cannot break it (control characters escaped)."""
    click.echo(escape_unprintable(line), err=err)


def counted(count: int, noun: str) -> str:
    """Return "1 article", "2 articles"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@click.group(cls=_Group)
@click.version_option(package_name="feedsvc")
def cli() -> None:
    """Publish a folder of plain-text articles as RSS, Atom and JSON Feed."""


@cli.command()
@settings_options
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default public).")
@click.option("--strict", is_flag=True, help="Exit 1 without writing when any file has a problem.")
@click.option("--ping", is_flag=True, help="Notify the WebSub hubs of the feeds that changed.")
@click.option("--full", is_flag=True, help="Write every file and replace the output in one step.")
@click.option(
    "--jobs",
    metavar="N",
    help="Processes a cold build parses and renders with (default: the CPUs it may use).",
)
def build(settings: Settings, strict: bool, ping: bool, full: bool) -> None:
    """Write the feeds and pages as static files.

    The first build (and --full) writes a new folder that replaces the output in one
    step; later builds rewrite only the files that changed, each replaced atomically.
    """
    if ping and not settings.hubs:
        raise ConfigError("--ping needs a WebSub hub: --hub URL, FEEDSVC_HUB or the hub setting")
    require_articles(settings)
    check_out_folder(settings.out, settings.articles)
    with (
        collector_paused(),
        Builder(settings, build_jobs(settings, full)) as builder,
        closing(ParseCache.for_settings(settings)) as cache,
    ):
        corpus = builder.load(cache)
        report(corpus)
        if strict and corpus.problems:
            click.echo(f"{len(corpus.problems)} problem(s); nothing written (--strict)", err=True)
            raise SystemExit(1)
        published = websub.published_etags(settings.out) if ping else {}  # read before writing
        with progress_of("rendering pages", len(corpus.articles)) as advance:
            site, count = build_site(
                # No gzip: static hosts compress themselves.
                lambda store: builder.render(corpus, store, advance),
                settings.out,
                full,
            )
    say(
        f"wrote {counted(count, 'file')} to {settings.out} "
        f"({counted(len(corpus.articles), 'article')}); {len(corpus.problems)} problem(s)"
    )
    if ping:
        notify_hubs(published, site, settings)


def notify_hubs(published: dict[str, str], site: Site, settings: Settings) -> None:
    """Ping the hubs for the feeds that differ from ``published``; wait a bounded time."""
    changed = websub.changed_feeds(published, websub.site_etags(site), settings)
    if not changed:
        click.echo("no feed changed; no WebSub hub notified")
        return
    click.echo(f"notifying {len(settings.hubs)} WebSub hub(s) of {', '.join(changed)}")
    pings = websub.publish_in_background(settings.hubs, changed)
    websub.wait_pending(pings)  # at most websub.EXIT_WAIT seconds; a failure is logged, not fatal


def articles_present(settings: Settings) -> set[str] | None:
    """Return the feed entry ids of the article files there are; None without any."""
    try:
        files = list_article_files(settings.articles)
    except ArticlesDirError:
        return None
    return present_entry_ids(path.name for path in files) if files else None


def compare_with_published(settings: Settings, built: Path | None, against: Path) -> list[str]:
    """Compare the feeds of ``built`` (else of the articles, rendered now) with ``against``.

    Rendering from the articles reports their problems too, and names feeds by site path.
    """
    if built is not None:
        return compare_feeds(built, against, articles_present(settings))
    require_articles(settings)
    corpus = load_corpus(settings)
    site = render_site(corpus, settings, compress=False)
    current = {file_path(path): resource.content() for path, resource in site.resources.items()}
    previous, problems = read_documents(against)
    pairs = compare_documents(current, previous, articles_present(settings))
    return [str(p) for p in corpus.problems] + problems + [f"{n}: {r}" for n, r in pairs]


@cli.command()
@settings_options
@click.option(
    "--built",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Check this output of feedsvc build, offline; the articles are not read.",
)
@click.option(
    "--against",
    type=click.Path(path_type=Path, exists=True),
    help="Compare the new feeds with these published ones (a folder, or a feed file).",
)
def check(settings: Settings, built: Path | None, against: Path | None) -> None:
    """Check the articles, built output (--built) or the change from published feeds (--against).

    Prints each problem as `path: reason` on standard error and exits 1 if there is any.
    """
    if built is None and against is None:
        require_articles(settings)
        corpus = load_corpus(settings)
        render_site(corpus, settings)
        report(corpus)
        click.echo(f"{len(corpus.articles)} article(s) ok, {len(corpus.problems)} problem(s)")
        if corpus.problems:
            raise SystemExit(1)
        return
    problems: list[str] = []
    done: list[str] = []
    if built is not None:
        problems += check_built(built, settings)
        done.append(f"checked {built}")
    if against is not None:
        problems += compare_with_published(settings, built, against)
        done.append(f"compared with {against}")
    for problem in problems:
        say(problem, err=True)
    say(f"{', '.join(done)}: {len(problems)} problem(s)")
    if problems:
        raise SystemExit(1)


@cli.command()
@settings_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--server",
    type=click.Choice(["granian", "gunicorn"]),
    default="granian",
    show_default=True,
    help="Production WSGI server: granian, or gunicorn only behind a buffering proxy such as "
    "nginx (examples/nginx-proxy.conf): its threads wait on slow clients with no deadline.",
)
@click.option("--dev", is_flag=True, help="Flask's development server, reloading on code changes.")
def serve(settings: Settings, host: str, port: int, workers: int, server: str, dev: bool) -> None:
    """Serve the site with a production WSGI server (or Flask's development server with --dev)."""
    require_articles(settings)
    make_site_folder(settings)  # a cache folder others could write is refused here (exit 2)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] %(message)s")
    from feedsvc.server import run_dev, run_production

    if dev:
        run_dev(settings, host, port)
        return
    run_production(settings, host, port, workers, server)


# --- feedsvc new ------------------------------------------------------------------------------


@cli.command()
@settings_options
@click.argument("article_title", metavar="TITLE")
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default today)."
)
@click.option("--standfirst", help="The standfirst line (default a placeholder).")
def new(
    settings: Settings, article_title: str, day: datetime | None, standfirst: str | None
) -> None:
    """Write a new article file titled TITLE in the articles folder and print its path.

    The next number, a new random id, today's date in the site's time zone; never
    replaces a file.
    """
    folder = settings.articles
    today = day.date() if day is not None else datetime.now(settings.zone).date()
    number = next_number(list_article_names(folder))
    for attempt in range(NEW_ATTEMPTS):
        name = authoring.file_name(number + attempt, secrets.token_hex(8))
        text = authoring.article_text(
            name, article_title, standfirst, today, settings.zone, settings.chrome_lines
        )
        try:
            descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another writer took the number at the same moment
            continue
        except OSError as exc:
            raise ArticlesDirError(f"{folder / name}: cannot create: {exc.strerror}") from None
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        click.echo(str(folder / name))
        return
    raise ArticlesDirError(f"{folder}: no free article file name after {NEW_ATTEMPTS} attempts")


# --- end of feedsvc new -----------------------------------------------------------------------


def main() -> None:
    """Entry point of the ``feedsvc`` console script."""
    cli(prog_name="feedsvc")
