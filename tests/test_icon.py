"""The ``icon`` setting: checked by its bytes, served and built under a content-addressed
name, and pointed to by every feed format and every page."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import feedparser
import lxml.html
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from feedsvc import feeds, pages
from feedsvc.cli import cli
from feedsvc.config import MAX_ICON_BYTES, Settings, load_settings
from feedsvc.feeds import FeedPage
from feedsvc.repository import load_corpus
from feedsvc.web import create_app
from tests.conftest import BASE_URL

DATA = Path(__file__).parent / "data"
KINDS = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "ico": "image/vnd.microsoft.icon",
}
IMMUTABLE = "public, max-age=31536000, immutable"


def with_icon(settings: Settings, icon: Path) -> Settings:
    """``settings`` with the icon read from ``icon`` as the setting reads it."""
    read = load_settings(None, {}, {"icon": icon, "articles": settings.articles})
    assert read.icon is not None
    return Settings(**{**{f: getattr(settings, f) for f in settings.__slots__}, "icon": read.icon})


def icon_url(client: FlaskClient) -> str:
    """The icon URL the front page links to (``<link rel="icon">``)."""
    page = lxml.html.fromstring(client.get("/").data)
    (href,) = page.xpath('//head/link[@rel="icon"]/@href')
    return str(href)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_icon_is_served_and_built_by_its_content(
    settings: Settings, runner: CliRunner, tmp_path: Path, kind: str
) -> None:
    source = DATA / f"icon.{kind}"
    client = create_app(with_icon(settings, source)).test_client()
    url = icon_url(client)
    assert url.startswith(f"{BASE_URL}icon-") and url.endswith(f".{kind}")
    served = client.get(url.removeprefix(BASE_URL.rstrip("/")))
    assert served.status_code == 200
    assert served.data == source.read_bytes()
    assert served.headers["Content-Type"] == KINDS[kind]
    assert served.headers["Cache-Control"] == IMMUTABLE
    out = tmp_path / "built"
    args = ["build", "--articles", str(settings.articles), "--out", str(out)]
    result = runner.invoke(cli, [*args, "--base-url", BASE_URL, "--icon", str(source)])
    assert result.exit_code == 0, result.output
    assert (out / url.removeprefix(BASE_URL)).read_bytes() == source.read_bytes()
    headers = (out / "_headers").read_text("utf-8")
    block = headers[headers.index("/" + url.removeprefix(BASE_URL)) :].split("\n\n")[0]
    assert f"Content-Type: {KINDS[kind]}" in block and f"Cache-Control: {IMMUTABLE}" in block


def test_every_format_and_page_points_to_the_icon(settings: Settings) -> None:
    client = create_app(with_icon(settings, DATA / "icon.png")).test_client()
    url = icon_url(client)
    rss = feedparser.parse(client.get("/feed.xml").data)
    assert (rss.feed.image.href, rss.feed.image.title, rss.feed.image.link) == (
        url,
        settings.title,
        BASE_URL,
    )
    atom = feedparser.parse(client.get("/atom.xml").data)
    assert (atom.feed.icon, atom.feed.logo) == (url, url)
    assert not rss.bozo and not atom.bozo
    document = json.loads(client.get("/feed.json").data)
    assert (document["icon"], document["favicon"]) == (url, url)
    corpus = load_corpus(settings)
    paths = ["/", "/page/2/", *(f"/articles/{a.slug}/" for a in corpus.articles)]
    for path in paths:
        page = client.get(path)
        if page.status_code == 404 and path == "/page/2/":
            continue
        html = lxml.html.fromstring(page.data)
        assert html.xpath('//head/link[@rel="icon"]/@href') == [url], path
        assert html.xpath('//head/link[@rel="icon"]/@type') == ["image/png"], path


@pytest.mark.parametrize("kind", ["svg", "ico"])
def test_rss_has_no_image_but_png(settings: Settings, kind: str) -> None:
    # RSS 2.0 <image> is a GIF, JPEG or PNG; Atom's <icon> and <logo> may be any image.
    client = create_app(with_icon(settings, DATA / f"icon.{kind}")).test_client()
    url = icon_url(client)
    assert "image" not in feedparser.parse(client.get("/feed.xml").data).feed
    atom = feedparser.parse(client.get("/atom.xml").data)
    assert (atom.feed.icon, atom.feed.logo) == (url, url)
    document = json.loads(client.get("/feed.json").data)
    assert (document["icon"], document["favicon"]) == (url, url)


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_feeds_with_an_icon_are_feedgens_bytes(settings: Settings, kind: str) -> None:
    config = with_icon(settings, DATA / f"icon.{kind}")
    corpus = load_corpus(config)
    articles = corpus.full_articles(corpus.articles)
    for page in (FeedPage(0, 1), FeedPage(1, 1)):
        assert feeds.build_rss(articles, config, page) == feeds._feedgen_rss(articles, config, page)
        assert feeds.build_atom(articles, config, page) == feeds._feedgen_atom(
            articles, config, page
        )


def test_a_changed_icon_renders_again(
    runner: CliRunner, articles_dir: Path, tmp_path: Path
) -> None:
    icon, out = tmp_path / "icon.png", tmp_path / "built"
    args = ["build", "--articles", str(articles_dir), "--out", str(out), "--icon", str(icon)]
    names = {}
    for source in ("icon.png", "icon-red.png"):  # the same file name, other bytes
        icon.write_bytes((DATA / source).read_bytes())
        result = runner.invoke(cli, [*args, "--base-url", BASE_URL])
        assert result.exit_code == 0, result.output
        names[source] = next(p.name for p in out.iterdir() if p.name.startswith("icon-"))
    old, new = names["icon.png"], names["icon-red.png"]
    assert old != new and not (out / old).exists()
    assert (out / new).read_bytes() == icon.read_bytes()
    slug = load_corpus(Settings(articles=articles_dir)).articles[0].slug
    for name in ("index.html", "feed.xml", "atom.xml", "feed.json", f"articles/{slug}/index.html"):
        body = (out / name).read_text("utf-8")
        assert BASE_URL + new in body and old not in body, name


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_ICONS: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "missing": (lambda t: t / "none.png", "cannot be read: No such file or directory"),
    "folder": (lambda t: t, "cannot be read: Is a directory"),
    "too-large": (
        lambda t: write(t, "big.png", (DATA / "icon.png").read_bytes() + b"\0" * MAX_ICON_BYTES),
        f"is larger than {MAX_ICON_BYTES} bytes",
    ),
    "gif": (
        lambda t: write(t, "icon.png", b"GIF89a\x01\x00\x01\x00"),
        "is not a PNG, SVG or ICO image",
    ),
    "text-named-png": (lambda t: write(t, "icon.png", b"hello"), "is not a PNG, SVG or ICO image"),
    "empty": (lambda t: write(t, "icon.ico", b""), "is not a PNG, SVG or ICO image"),
    "html-not-svg": (
        lambda t: write(t, "icon.svg", b"<html><body/></html>"),
        "is not a PNG, SVG or ICO image",
    ),
    "svg-without-namespace": (
        lambda t: write(t, "icon.svg", b"<svg/>"),
        "is not a PNG, SVG or ICO image",
    ),
    "svg-with-script": (
        lambda t: write(
            t,
            "icon.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        "is an SVG with scripts or event handlers; remove them",
    ),
    "svg-with-handler": (
        lambda t: write(t, "icon.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>'),
        "is an SVG with scripts or event handlers; remove them",
    ),
    "svg-external-entity": (
        lambda t: write(
            t,
            "icon.svg",
            b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
        ),
        None,  # accepted as it is: the entity is never read
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ICONS), ids=sorted(BAD_ICONS))
def test_a_bad_icon_is_one_line_and_exit_2(
    runner: CliRunner, articles_dir: Path, tmp_path: Path, case: str
) -> None:
    make, reason = BAD_ICONS[case]
    icon = make(tmp_path)
    result = runner.invoke(cli, ["check", "--articles", str(articles_dir), "--icon", str(icon)])
    if reason is None:
        assert result.exit_code == 0, result.output
        read = load_settings(None, {}, {"icon": icon})
        assert read.icon is not None and b"root:" not in read.icon.data
        return
    assert result.exit_code == 2
    assert result.stderr == (
        f"feedsvc: error: setting icon from the command line: {str(icon)!r} {reason}\n"
    )


def test_icon_from_the_environment_and_the_settings_file(tmp_path: Path) -> None:
    icon = DATA / "icon.svg"
    from_env = load_settings(None, {"FEEDSVC_ICON": str(icon)})
    config = write(tmp_path, "feedsvc.toml", f"icon = {json.dumps(str(icon))}\n".encode())
    from_file = load_settings(config, {})
    assert from_env.icon == from_file.icon and from_env.icon is not None
    assert from_env.icon.media_type == "image/svg+xml"
    assert from_env.icon.data == icon.read_bytes()


def test_pages_with_an_icon_are_jinjas_bytes(settings: Settings) -> None:
    config = with_icon(settings, DATA / "icon.ico")
    corpus = load_corpus(config)
    articles = corpus.full_articles(corpus.articles)
    for article in articles:
        assert pages.render_article_page(article, config) == pages._jinja_article_page(
            article, config
        )
    index = pages.IndexPage(1, 1)
    assert pages.render_index_page(articles, config, index) == pages._jinja_index_page(
        articles, config, index
    )
