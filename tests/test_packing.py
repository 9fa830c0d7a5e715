"""Dataclasses as tuples of their fields and back (``packing``): what the processes of a
parallel build send each other."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feedsvc.articles import Article, Summary
from feedsvc.packing import pack, unpack
from feedsvc.resources import HTML, Resource, describe

PARIS = ZoneInfo("Europe/Paris")


def summaries() -> list[Summary | None]:
    published = datetime(2024, 3, 31, 2, 30, tzinfo=PARIS)
    edited = datetime(2024, 4, 1, 9, 0, 5, tzinfo=UTC)
    return [
        Summary("0000000000000001", "001_0000000000000001.txt", published),
        None,
        Summary(
            "0000000000000002",
            "002_0000000000000002.txt",
            published,
            digest="ab" * 16,
            number=2,
            edited=edited,
        ),
    ]


def test_summaries_come_back_equal_through_pickle() -> None:
    items = summaries()
    rows = pickle.loads(pickle.dumps(pack(Summary, items), pickle.HIGHEST_PROTOCOL))
    back = unpack(Summary, rows)
    assert back == items
    assert [type(item) for item in back] == [type(item) for item in items]


def test_resources_come_back_equal() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    items: list[Resource | None] = [
        describe('"' + "0" * 32 + '"', 12, HTML, moment, "no-cache", None),
        describe('"' + "1" * 32 + '"', 3, HTML, moment, "public", 2, links=("<x>",), body=b"abc"),
    ]
    assert unpack(Resource, pack(Resource, items)) == items


def test_a_subclass_is_refused_not_cut_down() -> None:
    article = Article("id", "001_id.txt", datetime(2024, 1, 1, tzinfo=UTC), title="Title")
    with pytest.raises(TypeError, match="Article packed as Summary"):
        pack(Summary, [article])


@dataclass
class Derived:
    value: int
    twice: int = 0

    def __post_init__(self) -> None:
        self.twice = 2 * self.value


def test_a_new_field_travels_too() -> None:
    assert unpack(Derived, pack(Derived, [Derived(3)])) == [Derived(3)]


@dataclass
class Alone:
    value: int


def test_a_class_of_one_field_is_refused() -> None:
    with pytest.raises(TypeError, match="two or more"):
        pack(Alone, [Alone(1)])
