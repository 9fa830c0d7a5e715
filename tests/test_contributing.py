"""A new entry field, added the way the README's "Contributing" section says, reaches
every format; and the sample articles never leave the compiled fast path unannounced."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import feedparser
import lxml.html
import pytest

import feedsvc
from feedsvc import feeds
from feedsvc.config import Settings
from feedsvc.entries import Entry
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from tests.conftest import BASE_URL

# The contributor's change: (file, anchor, replacement). A category list whose length
# varies from article to article (0, 1 or 2 values): the case that a template compiled
# from one sample entry would drop for some articles.
CATEGORIES = [
    (
        "articles.py",
        "    def summary(self) -> Summary:",
        "    @property\n"
        "    def categories(self) -> tuple[str, ...]:\n"
        '        return tuple(f"tag {n} & <{self.id}>" for n in range(self.number % 3))\n\n'
        "    def summary(self) -> Summary:",
    ),
    (
        "entries.py",
        "    content: str\n",
        "    content: str\n    categories: tuple[str, ...]\n",
    ),
    (
        "entries.py",
        '    "summary": ("summary", True),\n',
        '    "summary": ("summary", True),\n    "categories": ("tags", True),\n',
    ),
    (
        "entries.py",
        "        content_html(article),\n    )",
        "        content_html(article),\n        article.categories,\n    )",
    ),
    (
        "feeds.py",
        '    fe.content(entry.content, type="html")\n',
        '    fe.content(entry.content, type="html")\n'
        "    for term in entry.categories:\n"
        "        fe.category(term=term)\n",
    ),
    (
        "templates/article.html",
        "</article>",
        '{% for c in article.categories %}<span class="category">{{ c }}</span>{% endfor %}\n'
        "</article>",
    ),
]


def patched_package(tmp_path: Path) -> Path:
    """Return a folder holding a copy of the feedsvc package with CATEGORIES applied."""
    root = tmp_path / "src"
    package = root / "feedsvc"
    shutil.copytree(Path(feedsvc.__file__).parent, package, ignore=shutil.ignore_patterns("*.pyc"))
    for name, anchor, replacement in CATEGORIES:
        path = package / name
        text = path.read_text(encoding="utf-8")
        assert text.count(anchor) == 1, f"{name} no longer has {anchor!r}: update the README too"
        path.write_text(text.replace(anchor, replacement), encoding="utf-8")
    return root


def run_patched(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python on the patched copy: ``-S`` keeps the installed feedsvc's import hook
    (an editable install's) out, the dependencies come from this environment's paths."""
    paths = [str(source), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return subprocess.run(
        [sys.executable, "-S", *args],
        cwd=source,  # the current folder comes first on the path
        env={"PYTHONPATH": os.pathsep.join(paths), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def expected_categories(file_name: str) -> list[str]:
    number, article_id = file_name.removesuffix(".txt").split("_")
    return [f"tag {n} & <{article_id}>" for n in range(int(number) % 3)]


def test_a_new_list_field_reaches_every_format(tmp_path: Path, articles_dir: Path) -> None:
    source = patched_package(tmp_path)
    out = tmp_path / "public"
    done = run_patched(
        source,
        *("-m", "feedsvc", "build", "--articles", str(articles_dir), "--out", str(out)),
        *("--base-url", BASE_URL, "--cache-dir", str(tmp_path / "cache")),
    )
    # The feeds come from the compiled templates, derived from the new Entry: no fallback.
    assert "reference writer" not in done.stderr
    # The page template uses a field the compiled pages cannot know: Jinja renders it, and says so.
    assert "pages rendered by Jinja" in done.stderr
    names = sorted(path.name for path in articles_dir.glob("*.txt"))
    want = {name.split("_")[1].removesuffix(".txt"): expected_categories(name) for name in names}
    assert sum(map(len, want.values())) > 0 and [] in want.values()
    for feed in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((out / feed).read_bytes())
        assert not parsed.bozo
        got = {
            entry.link.rstrip("/").rsplit("/", 1)[1]: [tag.term for tag in entry.get("tags", [])]
            for entry in parsed.entries
        }
        assert got == want, feed
    items = json.loads((out / "feed.json").read_bytes())["items"]
    assert {
        item["url"].rstrip("/").rsplit("/", 1)[1]: item.get("tags", []) for item in items
    } == want
    for article_id, categories in want.items():
        page = lxml.html.fromstring((out / "articles" / article_id / "index.html").read_bytes())
        assert [span.text for span in page.cssselect(".category")] == categories


def test_the_new_field_is_written_as_feedgen_writes_it(tmp_path: Path, articles_dir: Path) -> None:
    source = patched_package(tmp_path)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from feedsvc import feeds\n"
        "from feedsvc.config import Settings\n"
        "from feedsvc.repository import load_corpus\n"
        "settings = Settings(articles=Path(sys.argv[1]))\n"
        "corpus = load_corpus(settings)\n"
        "articles = corpus.full_articles(corpus.articles)\n"
        "page = feeds.FeedPage()\n"
        "assert feeds.build_rss(articles, settings) == feeds._feedgen_rss(articles, settings)\n"
        "assert feeds.build_atom(articles, settings) == feeds._feedgen_atom(articles, settings)\n"
        "assert feeds.build_rss(articles, settings).count(b'<category>') == 6\n"
    )
    run_patched(source, "-c", script, str(articles_dir))


def test_sample_articles_use_the_compiled_path(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = load_corpus(settings)
    with caplog.at_level(logging.WARNING, logger="feedsvc"):
        render_site(corpus, settings)
    assert not [
        r for r in caplog.records if "reference writer" in r.message or "Jinja" in r.message
    ]
    articles = corpus.full_articles(corpus.articles)
    assert feeds.build_rss(articles, settings) == feeds._feedgen_rss(articles, settings)


def test_a_shape_that_does_not_compile_is_announced_and_written_whole(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A writer step the templates cannot express (a value transformed on its way in).
    plain_add_entry = feeds.add_entry

    def shouting(fg: object, entry: Entry) -> None:
        plain_add_entry(fg, entry._replace(title=entry.title.upper()))

    monkeypatch.setattr(feeds, "add_entry", shouting)
    odd = Settings(articles=settings.articles, title="A site of its own")  # not compiled yet
    articles = load_corpus(odd).full_articles(load_corpus(odd).articles)
    with caplog.at_level(logging.WARNING, logger="feedsvc"):
        body = feeds.build_rss(articles, odd)
    assert any("reference writer" in record.message for record in caplog.records)
    titles = [entry.title for entry in feedparser.parse(body).entries]
    assert titles == [article.title.upper() for article in articles]
