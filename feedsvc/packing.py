"""Dataclass instances as plain tuples of their fields, and back: what the processes of a
parallel build (parallel.py) send each other.

Pickling a dataclass goes through its ``__reduce_ex__`` and a dict of its state per
object; a tuple of the same values takes a third of the time to pickle and a fifth to
load (100,000 summaries: 0.21 against 0.59 s, then 0.15 against 0.39 s with the objects
made again; ``benchmarks/scale.py``, the cold ``--jobs 2`` build). The fields come from
``dataclasses.fields``, so a new field travels too.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")
Row = tuple[Any, ...]


def _names(kind: type[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the names of ``kind``'s positional fields, then of its keyword-only ones.

    Raises TypeError for a class whose instances could not be made from them again.
    """
    specs = fields(kind)
    if len(specs) < 2 or not all(spec.init for spec in specs):
        raise TypeError(f"{kind.__name__}: only fields given to __init__, two or more, pack")
    positional = tuple(spec.name for spec in specs if not spec.kw_only)
    return positional, tuple(spec.name for spec in specs if spec.kw_only)


def pack(kind: type[T], items: Iterable[T | None]) -> list[Row | None]:
    """Return each of ``items`` as the tuple of its field values, None as None (``unpack``
    reverses it).

    Raises TypeError for an item of another class, a subclass included: its own fields
    would be lost.
    """
    positional, keywords = _names(kind)
    values = operator.attrgetter(*positional, *keywords)
    rows: list[Row | None] = []
    for item in items:
        if item is not None and type(item) is not kind:
            raise TypeError(f"{type(item).__name__} packed as {kind.__name__}")
        rows.append(None if item is None else values(item))
    return rows


def unpack(kind: type[T], rows: Iterable[Row | None]) -> list[T | None]:
    """Return the instances of ``kind`` (None for None) that ``pack`` gave ``rows`` of."""
    positional, keywords = _names(kind)
    count = len(positional)
    return [
        None if row is None else kind(*row[:count], **dict(zip(keywords, row[count:], strict=True)))
        for row in rows
    ]
