"""The Flask app through its test client: routes, headers and RFC 9110 conditional requests."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from datetime import timedelta
from pathlib import Path

import feedparser
import lxml.html
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import http_date, parse_date

from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.pages import CONTENT_SECURITY_POLICY
from feedsvc.repository import load_corpus
from feedsvc.responses import answer, answer_not_found
from feedsvc.state import SiteState
from feedsvc.web import create_app
from tests.conftest import BASE_URL

FEEDS = {
    "/feed.xml": "application/rss+xml; charset=utf-8",
    "/atom.xml": "application/atom+xml; charset=utf-8",
    "/feed.json": "application/feed+json; charset=utf-8",
}
ALIASES = {
    "/rss": "feed.xml",
    "/rss.xml": "feed.xml",
    "/feed": "feed.xml",
    "/index.xml": "feed.xml",
    "/atom": "atom.xml",
}


def state_of(app: Flask) -> SiteState:
    state = app.extensions["feedsvc"]
    assert isinstance(state, SiteState)
    return state


def article_paths(settings: Settings) -> list[str]:
    return [f"/articles/{a.slug}/" for a in load_corpus(settings).articles]


def write_article(folder: Path, name: str, date: str, title: str, body: str = "Body.") -> Path:
    path = folder / name
    path.write_text(f"{date}\n\n{title}\n\n\nStandfirst of {title}\n\n{body}\n\nLatest stories")
    return path


def test_feeds_are_served_with_their_media_types(client: FlaskClient) -> None:
    for path, media_type in FEEDS.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == media_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def _entry_links(client: FlaskClient, path: str) -> list[str]:
    body = client.get(path).data
    if path.endswith(".json"):  # feedparser 6 reads no JSON Feed
        return [item["url"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return [entry.link for entry in parsed.entries]


@pytest.mark.parametrize("path", sorted(FEEDS))
def test_feed_entries_link_to_served_pages(client: FlaskClient, path: str) -> None:
    links = _entry_links(client, path)
    assert links
    for link in links:
        assert link.startswith(BASE_URL)
        assert client.get("/" + link.removeprefix(BASE_URL)).status_code == 200, link


def test_index_lists_articles_newest_first_with_feed_links(
    client: FlaskClient, settings: Settings
) -> None:
    corpus = load_corpus(settings)
    articles = corpus.full_articles(corpus.articles)
    page = lxml.html.fromstring(client.get("/").data)
    titles = [a.text_content() for a in page.cssselect("ol.articles h2 a")]
    assert titles == [a.title for a in articles[: settings.page_size]]
    alternates = {
        link.get("type"): link.get("href") for link in page.cssselect('head link[rel="alternate"]')
    }
    assert alternates == {
        "application/rss+xml": BASE_URL + "feed.xml",
        "application/atom+xml": BASE_URL + "atom.xml",
        "application/feed+json": BASE_URL + "feed.json",
    }
    footer_links = {a.get("href") for a in page.cssselect("footer a")}
    assert set(alternates.values()) <= footer_links


def test_index_is_paginated(articles_dir: Path, settings: Settings) -> None:
    for number in range(7):
        write_article(articles_dir, f"9{number:02d}_{number:016x}.txt", "2030-01-01", f"T{number}")
    settings = dataclasses.replace(settings, page_size=2)
    client = create_app(settings).test_client()
    corpus = load_corpus(settings)
    articles = corpus.full_articles(corpus.articles)
    pages = -(-len(articles) // 2)
    seen = []
    for number in range(1, pages + 1):
        response = client.get("/" if number == 1 else f"/page/{number}/")
        assert response.status_code == 200, number
        html = lxml.html.fromstring(response.data)
        seen += [a.text_content() for a in html.cssselect("ol.articles h2 a")]
        older = html.cssselect('nav.pages a[rel="next"]')
        assert bool(older) == (number < pages)
    assert seen == [a.title for a in articles]
    assert client.get(f"/page/{pages + 1}/").status_code == 404
    first = client.get("/page/1/")
    assert (first.status_code, first.headers["Location"]) == (301, BASE_URL)


def test_article_page_shows_the_article(client: FlaskClient, settings: Settings) -> None:
    corpus = load_corpus(settings)
    for article in corpus.full_articles(corpus.articles):
        response = client.get(f"/articles/{article.slug}/")
        assert response.status_code == 200
        html = lxml.html.fromstring(response.data)
        assert html.cssselect("article h1")[0].text_content() == article.title
        time = html.cssselect("article time")[0]
        assert time.get("datetime") == article.published.isoformat(timespec="seconds")
        paragraphs = [p.text_content() for p in html.cssselect("article > p:not(.standfirst)")]
        assert paragraphs == list(article.paragraphs)
        assert html.cssselect('nav a[href="' + BASE_URL + '"]')


def test_markup_in_articles_is_shown_as_text(articles_dir: Path, settings: Settings) -> None:
    title = '<script>alert("x")</script> & </p> ]]>'
    body = "<b>bold?</b> 1 < 2 && \"quoted\" 'single'"
    write_article(articles_dir, "950_00000000000000aa.txt", "2031-01-01", title, body)
    client = create_app(settings).test_client()
    html = lxml.html.fromstring(client.get("/articles/00000000000000aa/").data)
    # The one script element is the page's JSON-LD, a data block that never runs.
    scripts = html.cssselect("script")
    assert [s.get("type") for s in scripts] == ["application/ld+json"] and not html.cssselect("b")
    assert html.cssselect("article h1")[0].text_content() == title
    assert body in [p.text_content() for p in html.cssselect("article p")]
    index = lxml.html.fromstring(client.get("/").data)
    assert index.cssselect("ol.articles h2 a")[0].text_content() == title
    assert not index.cssselect("script")


@pytest.mark.parametrize("path", ["/", "/feed.xml", "/atom.xml", "/feed.json"])
def test_validators_and_cache_headers(client: FlaskClient, settings: Settings, path: str) -> None:
    response = client.get(path)
    newest = load_corpus(settings).articles[0]
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert parse_date(response.headers["Last-Modified"]) == newest.updated
    assert response.headers["Cache-Control"] == f"public, max-age={settings.max_age}"
    assert response.headers["Vary"] == "Accept-Encoding"


def test_article_last_modified_is_its_own_date(client: FlaskClient, settings: Settings) -> None:
    corpus = load_corpus(settings)
    for article in corpus.full_articles(corpus.articles):
        response = client.get(f"/articles/{article.slug}/")
        assert parse_date(response.headers["Last-Modified"]) == article.updated


def test_cache_control_agrees_with_rss_ttl(client: FlaskClient) -> None:
    response = client.get("/feed.xml")
    ttl = int(lxml.etree.fromstring(response.data).findtext("channel/ttl"))
    assert response.headers["Cache-Control"] == f"public, max-age={ttl * 60}"


def test_html_pages_have_a_strict_content_security_policy(
    client: FlaskClient, settings: Settings
) -> None:
    for path in ["/", *article_paths(settings), "/no-such-page"]:
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy and "script-src" not in policy
    assert "Content-Security-Policy" not in client.get("/feed.xml").headers


def _conditional_cases(
    etag: str, modified: str, earlier: str
) -> dict[str, tuple[dict[str, str], int]]:
    other = '"0000000000"'
    return {
        "etag-match": ({"If-None-Match": etag}, 304),
        "etag-mismatch": ({"If-None-Match": other}, 200),
        "etag-list": ({"If-None-Match": f"{other}, {etag}"}, 304),
        "etag-star": ({"If-None-Match": "*"}, 304),
        "etag-weak": ({"If-None-Match": "W/" + etag}, 304),
        "since-same": ({"If-Modified-Since": modified}, 304),
        "since-earlier": ({"If-Modified-Since": earlier}, 200),
        "since-malformed": ({"If-Modified-Since": "yesterday-ish"}, 200),
        "both-etag-wins-304": ({"If-None-Match": etag, "If-Modified-Since": earlier}, 304),
        "both-etag-wins-200": ({"If-None-Match": other, "If-Modified-Since": modified}, 200),
    }


CASES = list(_conditional_cases("e", "m", "x"))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml", "/feed.json", "/"])
def test_conditional_requests(client: FlaskClient, path: str, encoding: str, case: str) -> None:
    full = client.get(path, headers={"Accept-Encoding": encoding})
    modified = full.headers["Last-Modified"]
    modified_at = parse_date(modified)
    assert modified_at is not None
    earlier = http_date(modified_at - timedelta(seconds=1))
    headers, status = _conditional_cases(full.headers["ETag"], modified, earlier)[case]
    response = client.get(path, headers={**headers, "Accept-Encoding": encoding})
    assert response.status_code == status
    assert response.headers["ETag"] == full.headers["ETag"]
    for name in ("Cache-Control", "Vary"):
        assert response.headers[name] == full.headers[name]
    if status == 304:
        assert response.data == b""
    else:
        assert response.data == full.data


def test_head_has_the_headers_of_get_and_no_body(client: FlaskClient, settings: Settings) -> None:
    for path in ["/", *FEEDS, *article_paths(settings), "/missing"]:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code
        assert head.data == b""
        assert dict(head.headers) == dict(get.headers), path


def test_gzip_variant(client: FlaskClient) -> None:
    for path in ["/", *FEEDS]:
        plain = client.get(path)
        packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.data) == plain.data
        assert packed.headers["ETag"] != plain.headers["ETag"]
        assert "Content-Encoding" not in plain.headers
        refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "Content-Encoding" not in refused.headers
        assert refused.data == plain.data


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alternative_feed_paths_redirect(client: FlaskClient, alias: str) -> None:
    response = client.get(alias)
    assert response.status_code == 301
    assert response.headers["Location"] == BASE_URL + ALIASES[alias]


def test_article_without_trailing_slash_redirects(client: FlaskClient, settings: Settings) -> None:
    path = article_paths(settings)[0]
    response = client.get(path.rstrip("/"), headers={"Host": "evil.example"})
    assert (response.status_code, response.headers["Location"]) == (301, BASE_URL + path[1:])


@pytest.mark.parametrize(
    "path", ["/nope", "/articles/0000000000000000/", "/feed.xml/x", "/page/0/"]
)
def test_unknown_paths_get_the_404_page(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert lxml.html.fromstring(response.data).cssselect("h1")[0].text_content() == "Not found"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/feed.xml", "/healthz"])
def test_other_methods_get_405_with_allow(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.data) == (200, b"ok\n")


def test_host_header_changes_nothing(client: FlaskClient, settings: Settings) -> None:
    for path in ["/", *FEEDS, *article_paths(settings)]:
        normal = client.get(path).data
        spoofed = client.get(path, headers={"Host": "evil.example:666"}).data
        forwarded = client.get(path, headers={"X-Forwarded-Host": "evil.example"}).data
        assert normal == spoofed == forwarded


def test_served_bytes_equal_the_static_build(client: FlaskClient, settings: Settings) -> None:
    out = settings.out
    result = CliRunner().invoke(
        cli,
        ["build", "--articles", str(settings.articles), "--out", str(out), "--base-url", BASE_URL,
         "--title", settings.title],
        env={"FEEDSVC_DESCRIPTION": settings.description, "FEEDSVC_AUTHOR": settings.author},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hosting = {"_headers", "_redirects", "nginx.conf"}  # for static hosts, not site content
    files = [
        p
        for p in out.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and p.relative_to(out).as_posix() not in hosting
    ]
    assert len(files) >= 6
    for file in files:
        relative = file.relative_to(out).as_posix()
        if relative == "404.html":
            response = client.get("/no-such-page")
            assert response.status_code == 404
        else:
            url = "/" + relative.removesuffix("index.html")
            response = client.get(url)
            assert response.status_code == 200, url
        assert response.data == file.read_bytes(), relative


def test_changes_are_picked_up_and_failures_keep_the_last_site(
    app: Flask, client: FlaskClient, articles_dir: Path
) -> None:
    state = state_of(app)
    assert state.refresh() is False  # nothing changed since start
    added = write_article(articles_dir, "990_0123456789abcdef.txt", "2040-05-05", "Brand new")
    assert state.refresh() is True
    titles = [e.title for e in feedparser.parse(client.get("/feed.xml").data).entries]
    assert titles[0] == "Brand new"
    added.unlink()
    assert state.refresh() is True
    assert "Brand new" not in client.get("/feed.xml").data.decode()
    before = client.get("/atom.xml").data
    shutil.rmtree(articles_dir)
    assert state.refresh() is False
    assert client.get("/atom.xml").data == before


def test_a_rebuild_renders_only_what_changed(
    app: Flask, client: FlaskClient, articles_dir: Path, settings: Settings
) -> None:
    state = state_of(app)
    before = state.site
    assert before is not None
    edited = articles_dir / "003_7ae450fa8aea6a04.txt"
    edited.write_text(edited.read_text("utf-8") + "\n\nA late correction.\n", "utf-8")
    assert state.refresh() is True
    after = state.site
    assert after is not None and after is not before
    for path in article_paths(settings):
        if path == "/articles/7ae450fa8aea6a04/":
            assert after.resources[path] is not before.resources[path]
            assert b"A late correction." in client.get(path).data
        else:
            assert after.resources[path] is before.resources[path], path


@pytest.mark.parametrize("method", ["POST", "PROPFIND", "TRACE"])
def test_any_other_method_on_a_page_gets_405_and_on_no_page_404(
    client: FlaskClient, method: str
) -> None:
    # The routes are the site's own paths: none is kept in a list beside it.
    for path in ("/sitemap.xml", "/articles/cab78a8f5eee25a1/", "/articles/cab78a8f5eee25a1"):
        response = client.open(path, method=method)
        assert response.status_code == 405, path
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert client.open("/no/such/page", method=method).status_code == 404


def lower_headers(headers: object) -> dict[str, str]:
    """Header names lower-cased (HTTP names are case-insensitive), each name once."""
    items = list(headers.items())  # type: ignore[attr-defined]
    names = [name.lower() for name, _ in items]
    assert len(names) == len(set(names)), names
    return {name.lower(): value for name, value in items}


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_404_answer_has_exactly_these_headers(client: FlaskClient, encoding: str) -> None:
    plain = client.get("/no-such-page")
    response = client.get("/no-such-page", headers={"Accept-Encoding": encoding})
    gzipped = encoding == "gzip"
    body = gzip.decompress(response.data) if gzipped else response.data
    assert (response.status, body) == ("404 Not Found", plain.data)
    expected = {
        "cache-control": "no-cache",
        "vary": "Accept-Encoding",
        "x-content-type-options": "nosniff",
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "content-type": "text/html; charset=utf-8",
        "content-length": str(len(response.data)),
    }
    if gzipped:
        expected["content-encoding"] = "gzip"
        assert len(response.data) < len(plain.data)
    assert lower_headers(response.headers) == expected
    head = client.head("/no-such-page", headers={"Accept-Encoding": encoding})
    assert (head.status_code, head.data) == (404, b"")
    assert lower_headers(head.headers) == expected


def test_404_answer_content_length_is_that_of_the_body_sent(app: Flask) -> None:
    page = state_of(app).site.not_found  # type: ignore[union-attr]
    for accept in ("gzip", None):
        full = answer_not_found(page, accept)
        headers = dict(full.headers)
        assert headers["Content-Length"] == str(len(full.body))
        assert (headers.get("Content-Encoding") == "gzip") == (accept == "gzip")
        # Flask's after_request sets it again; the answer must not depend on that.
        assert headers["X-Content-Type-Options"] == "nosniff"
        empty = answer_not_found(page, accept, with_body=False)
        assert (empty.status, empty.headers, empty.body) == ("404 Not Found", full.headers, b"")


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
@pytest.mark.parametrize("path", ["/feed.xml", "/"])
def test_200_and_304_answers_have_exactly_these_headers(
    client: FlaskClient, settings: Settings, encoding: str, path: str
) -> None:
    response = client.get(path, headers={"Accept-Encoding": encoding})
    headers = lower_headers(response.headers)
    expected = {
        "etag": headers["etag"],
        "last-modified": headers["last-modified"],
        "cache-control": f"public, max-age={settings.max_age}",
        "vary": "Accept-Encoding",
        "x-content-type-options": "nosniff",
    }
    if path == "/":
        expected["content-security-policy"] = CONTENT_SECURITY_POLICY
    validators = dict(expected)
    if encoding == "gzip":
        expected["content-encoding"] = "gzip"
    expected["content-type"] = FEEDS.get(path, "text/html; charset=utf-8")
    expected["content-length"] = str(len(response.data))
    assert (response.status, headers) == ("200 OK", expected)
    conditional = {"Accept-Encoding": encoding, "If-None-Match": headers["etag"]}
    again = client.get(path, headers=conditional)
    assert (again.status, again.data) == ("304 Not Modified", b"")
    assert lower_headers(again.headers) == validators


def test_head_of_a_resource_sends_no_body_but_its_length(app: Flask) -> None:
    resource = state_of(app).site.resources["/feed.xml"]  # type: ignore[union-attr]
    full = answer(resource, "gzip")
    head = answer(resource, "gzip", with_body=False)
    assert (head.status, head.headers, head.body) == ("200 OK", full.headers, b"")
    assert dict(full.headers)["Content-Length"] == str(len(full.body))


def test_feeds_name_their_hub_and_themselves_in_link_headers_also_when_not_modified(
    settings: Settings,
) -> None:
    client = create_app(dataclasses.replace(settings, hubs=("https://hub.example/",))).test_client()
    expected = ['<https://hub.example/>; rel="hub"', f'<{BASE_URL}atom.xml>; rel="self"']
    full = client.get("/atom.xml")
    assert full.headers.getlist("Link") == expected
    again = client.get("/atom.xml", headers={"If-None-Match": full.headers["ETag"]})
    assert (again.status_code, again.headers.getlist("Link")) == (304, expected)
    assert client.get("/").headers.getlist("Link") == []
