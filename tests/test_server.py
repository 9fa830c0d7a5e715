"""``feedsvc serve`` for real: gunicorn on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import gzip

import feedparser

from tests.conftest import LiveServer, http_get, wait_until


def test_serves_feeds_with_conditional_get(live_server: LiveServer) -> None:
    for path in ("feed.xml", "atom.xml", "feed.json"):
        status, headers, body = http_get(live_server.url + path)
        assert status == 200
        if path.endswith(".xml"):
            parsed = feedparser.parse(body)
            assert not parsed.bozo and parsed.entries
            assert all(entry.link.startswith(live_server.url) for entry in parsed.entries)
        again = http_get(live_server.url + path, {"If-None-Match": headers["etag"]})
        assert (again[0], again[2], again[1]["etag"]) == (304, b"", headers["etag"])
        since = http_get(live_server.url + path, {"If-Modified-Since": headers["last-modified"]})
        assert since[0] == 304
        packed = http_get(live_server.url + path, {"Accept-Encoding": "gzip"})
        assert packed[1]["content-encoding"] == "gzip"
        assert gzip.decompress(packed[2]) == body


def test_all_workers_agree_on_bytes_and_etags(live_server: LiveServer) -> None:
    answers = {http_get(live_server.url + "feed.xml")[1]["etag"] for _ in range(20)}
    assert len(answers) == 1


def _titles(live_server: LiveServer) -> list[str]:
    status, _, body = http_get(live_server.url + "feed.xml")
    assert status == 200
    return [entry.title for entry in feedparser.parse(body).entries]


def test_added_and_removed_articles_appear_and_go(live_server: LiveServer) -> None:
    path = live_server.articles / "990_feedfacecafebeef.txt"
    path.write_text(
        "2040-01-02\n\nArrived while serving\n\nStandfirst\n\nA paragraph.\n", encoding="utf-8"
    )
    # Two workers watch the folder on their own: every answer must show the change.
    wait_until(
        lambda: all(_titles(live_server)[0] == "Arrived while serving" for _ in range(6)),
        15,
        "the new article in /feed.xml",
    )
    page = http_get(live_server.url + "articles/feedfacecafebeef/")
    assert page[0] == 200
    path.unlink()
    wait_until(
        lambda: all("Arrived while serving" not in _titles(live_server) for _ in range(6)),
        15,
        "the removed article to leave /feed.xml",
    )
    assert http_get(live_server.url + "articles/feedfacecafebeef/")[0] == 404


def test_index_and_errors_over_http(live_server: LiveServer) -> None:
    status, headers, body = http_get(live_server.url)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'rel="alternate"' in body
    assert http_get(live_server.url + "no/such/page")[0] == 404
    server = headers.get("server", "")
    assert "/" not in server, f"version banner: {server}"
