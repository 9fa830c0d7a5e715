"""The HTML site in a real browser: Debian's chromium, headless, driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from feedsvc.config import Settings
from feedsvc.repository import load_corpus
from tests.conftest import LiveServer, require_tool

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing but loopback resolves: the pages must need no outside asset.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Page]:
    executable = require_tool(shutil.which("chromium"), "chromium")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            outside: list[str] = []

            def guard(route: Route) -> None:
                request = route.request
                if urlsplit(request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    outside.append(request.url)
                    route.abort()

            page.route("**/*", guard)
            yield page
            assert outside == [], "pages asked for outside resources"
        finally:
            browser.close()


def test_index_and_article_in_a_real_browser(
    live_server: LiveServer, browser_page: Page, tmp_path: Path
) -> None:
    page = browser_page
    settings = Settings(articles=live_server.articles)
    corpus = load_corpus(settings)
    articles = corpus.full_articles(corpus.articles)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    response = page.goto(live_server.url)
    assert response is not None and response.status == 200
    titles = page.locator("ol.articles h2 a").all_inner_texts()
    assert titles == [a.title for a in articles][: len(titles)] and titles
    feeds = page.locator('head link[rel="alternate"]')
    assert sorted(feeds.evaluate_all("links => links.map(l => l.type)")) == [
        "application/atom+xml",
        "application/feed+json",
        "application/rss+xml",
    ]
    # The page fits a phone's width: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert (tmp_path / "index.png").stat().st_size > 0

    page.locator("ol.articles h2 a").first.click()
    page.wait_for_load_state()
    assert page.url == live_server.url + f"articles/{articles[0].slug}/"
    assert page.locator("article h1").inner_text() == articles[0].title
    paragraphs = page.locator("article > p:not(.standfirst)").all_inner_texts()
    assert paragraphs == list(articles[0].paragraphs)
    # The inline style is allowed by the Content-Security-Policy hash, so it applies.
    assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"
    assert errors == [], errors
