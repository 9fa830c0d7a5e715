"""What clients read around the entries: the order of a feed's links, article and front
page metadata (canonical, Open Graph, JSON-LD), compared with the feeds."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from flask.testing import FlaskClient
from lxml import etree
from pyld import jsonld

from feedsvc import metadata
from feedsvc.config import Settings, load_settings
from feedsvc.repository import load_corpus
from feedsvc.web import create_app
from tests.conftest import BASE_URL

NS = {"atom": "http://www.w3.org/2005/Atom"}


def test_atom_links_home_page_first_and_rss_self_first(client: FlaskClient) -> None:
    # @extractus/feed-extractor takes the first Atom <link> as the site's address;
    # rss-parser takes the first atom:link of RSS as the feed's own URL.
    atom = etree.fromstring(client.get("/atom.xml").data)
    links = [(link.get("rel"), link.get("href")) for link in atom.findall("atom:link", NS)]
    assert links[:2] == [("alternate", BASE_URL), ("self", BASE_URL + "atom.xml")]
    rss = etree.fromstring(client.get("/feed.xml").data)
    rss_links = rss.findall("channel/atom:link", NS)
    assert (rss_links[0].get("rel"), rss_links[0].get("href")) == ("self", BASE_URL + "feed.xml")
    assert rss.findtext("channel/link") == BASE_URL


# --- Article pages: Open Graph and JSON-LD, compared with the feeds ----------------------------

SCHEMA = "http://schema.org/"
CONTEXT = json.loads((Path(__file__).parent / "data" / "schemaorg-context.jsonld").read_text())


def load_document(url: str, options: object = None) -> dict[str, object]:
    """pyld's document loader: the schema.org context from tests/data, nothing from the network."""
    if url.rstrip("/") not in ("https://schema.org", "http://schema.org"):
        raise AssertionError(f"JSON-LD asked for {url}")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": CONTEXT}  # fmt: skip


def json_ld(page: lxml.html.HtmlElement) -> dict[str, Any]:
    """The page's one JSON-LD script, expanded by pyld: full schema.org IRIs as keys."""
    (script,) = page.cssselect('script[type="application/ld+json"]')
    (node,) = jsonld.expand(json.loads(script.text), {"documentLoader": load_document})
    return dict(node)


def value(node: dict[str, Any], name: str) -> Any:
    (item,) = node[SCHEMA + name]
    return item.get("@value", item.get("@id", item))


def open_graph(page: lxml.html.HtmlElement) -> dict[str, str]:
    """``property`` -> ``content`` of the page's Open Graph meta elements, each once."""
    found = [(m.get("property"), m.get("content")) for m in page.cssselect("head meta[property]")]
    assert len(found) == len(dict(found)), found
    return dict(found)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def with_icon(settings: Settings) -> Settings:
    icon = load_settings(None, {}, {"icon": Path(__file__).parent / "data" / "icon.png"}).icon
    return dataclasses.replace(settings, icon=icon)


@pytest.mark.parametrize("icon", [False, True], ids=["no-icon", "icon"])
def test_article_metadata_agrees_with_the_feeds(settings: Settings, icon: bool) -> None:
    config = with_icon(settings) if icon else settings
    client = create_app(config).test_client()
    items = json.loads(client.get("/feed.json").data)["items"]
    atom = {e.id: e for e in feedparser.parse(client.get("/atom.xml").data).entries}
    icon_url = config.url(config.icon.path) if config.icon is not None else None
    assert items
    for item in items:
        page = lxml.html.fromstring(client.get(item["url"].removeprefix(BASE_URL[:-1])).data)
        assert page.cssselect('link[rel="canonical"]')[0].get("href") == item["url"]
        og = open_graph(page)
        expected = {
            "og:type": "article",
            "og:title": item["title"],
            "og:url": item["url"],
            "og:site_name": settings.title,
            "article:published_time": item["date_published"],
            "article:modified_time": item["date_modified"],
        }
        if "summary" in item:
            expected["og:description"] = item["summary"]
        if icon_url is not None:
            expected["og:image"] = icon_url
        assert og == expected
        node = json_ld(page)
        assert node["@type"] == [SCHEMA + "NewsArticle"]
        assert value(node, "headline") == item["title"]
        assert value(node, "description") == item["summary"]
        assert value(node, "datePublished") == item["date_published"]
        assert value(node, "dateModified") == item["date_modified"]
        assert value(node, "url") == item["url"] == value(node, "mainEntityOfPage")
        publisher = value(node, "publisher")
        assert publisher["@type"] == [SCHEMA + "Organization"]
        assert value(publisher, "name") == settings.title
        if icon_url is not None:
            assert value(node, "image") == icon_url
            assert value(value(publisher, "logo"), "url") == icon_url
        else:
            assert SCHEMA + "image" not in node
        entry = atom[item["id"]]  # the same instants as Atom too
        assert instant(entry.published) == instant(value(node, "datePublished"))
        assert instant(entry.updated) == instant(value(node, "dateModified"))
        assert entry.title == value(node, "headline")


def test_json_ld_survives_text_that_could_end_the_script(settings: Settings) -> None:
    nasty = '</script><script>alert("x")</script> & <!-- \u2028 '
    article = settings.articles / "900_00000000000000aa.txt"
    article.write_text(f"2030-01-01\n\n{nasty}title\n\n{nasty}standfirst\n\nBody.\n", "utf-8")
    body = create_app(settings).test_client().get("/articles/00000000000000aa/").data
    assert body.count(b"<script") == 1 and b"</script><script>" not in body
    page = lxml.html.fromstring(body)
    node = json_ld(page)
    assert value(node, "headline") == f"{nasty}title"
    assert value(node, "description") == f"{nasty}standfirst"
    assert open_graph(page)["og:title"] == f"{nasty}title"


def test_front_page_has_canonical_and_site_open_graph(settings: Settings) -> None:
    config = with_icon(settings)
    page = lxml.html.fromstring(create_app(config).test_client().get("/").data)
    assert page.cssselect('link[rel="canonical"]')[0].get("href") == BASE_URL
    assert open_graph(page) == {
        "og:type": "website",
        "og:title": settings.title,
        "og:description": settings.description,
        "og:url": BASE_URL,
        "og:site_name": settings.title,
        "og:image": config.url(config.icon.path),  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("icon", [False, True], ids=["no-icon", "icon"])
def test_json_ld_is_the_news_article_encoded(settings: Settings, icon: bool) -> None:
    config = with_icon(settings) if icon else settings
    (settings.articles / "900_00000000000000ac.txt").write_text(
        '2030-01-01\n\n</script> & "é" \\ \u2028 <b>\n\nBody.\n', "utf-8"
    )
    corpus = load_corpus(config)
    for article in corpus.full_articles(corpus.articles):
        text = metadata.json_ld(article, config)
        assert json.loads(text) == metadata.news_article(article, config)
        assert not {"<", ">", "&"} & set(text)
