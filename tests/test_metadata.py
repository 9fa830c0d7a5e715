"""What clients read around the entries: the order of a feed's links, article and front
page metadata (canonical, Open Graph, JSON-LD), compared with the feeds."""

from __future__ import annotations

from flask.testing import FlaskClient
from lxml import etree

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
