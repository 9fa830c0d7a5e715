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
from tests.conftest import LiveServer, require_tool, running_server

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


# Records every Content-Security-Policy violation the page reports, from its first byte.
CSP_LISTENER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
ICON = Path(__file__).parent / "data" / "icon.png"


@pytest.fixture
def icon_server(articles_dir: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """``feedsvc serve`` with the site icon set through the environment."""
    env = {"FEEDSVC_TITLE": "Example News", "FEEDSVC_ICON": str(ICON)}
    with running_server(articles_dir, tmp_path / "server.log", env=env) as server:
        yield server


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_front_page_and_article_with_icon_and_subscribe_block(
    icon_server: LiveServer, browser_page: Page, tmp_path: Path, width: int
) -> None:
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    page.add_init_script(CSP_LISTENER)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    slug = load_corpus(Settings(articles=icon_server.articles)).articles[0].slug
    for name, path in (("front", ""), ("article", f"articles/{slug}/")):
        response = page.goto(icon_server.url + path)
        assert response is not None and response.status == 200
        page.wait_for_load_state("load")
        # The icon in the header has loaded (a broken image has no natural width).
        header_icon = page.locator("header.site img")
        assert header_icon.evaluate("img => img.complete && img.naturalWidth") == 64
        href = page.locator('head link[rel="icon"]').get_attribute("href")
        assert href == header_icon.get_attribute("src") and href is not None
        assert href.startswith(icon_server.url + "icon-")
        icon = page.request.get(href)
        assert icon.status == 200 and icon.body() == ICON.read_bytes()
        assert icon.headers["content-type"] == "image/png"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
        assert page.evaluate("window.__violations") == [], name
        page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
        if name == "front":
            block = page.locator("section.subscribe")
            assert block.is_visible() and block.locator("h2").inner_text() == "Subscribe"
            links = block.locator("a").evaluate_all(
                "links => links.map(l => [l.type, l.href, l.getBoundingClientRect().right])"
            )
            assert [(kind, url) for kind, url, _ in links] == [
                ("application/rss+xml", icon_server.url + "feed.xml"),
                ("application/atom+xml", icon_server.url + "atom.xml"),
                ("application/feed+json", icon_server.url + "feed.json"),
            ]
            assert all(right <= width for _, _, right in links)
            shown = block.locator("code").all_inner_texts()
            assert shown == [url for _, url, _ in links]
        else:
            assert page.locator('script[type="application/ld+json"]').count() == 1
    assert not [m for m in messages if "Content Security Policy" in m or m.startswith("error")]
    assert (tmp_path / f"front-{width}.png").stat().st_size > 0
    # The listener does hear violations: an inline style attribute is one under this policy.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("window.__violations.length > 0")
