"""Feed documents from byte templates compiled out of the reference writer's own output.

feedgen costs about 48 µs an entry against 6.8 µs here (``benchmarks/feeds.py``), and
every article sits in an RSS and an Atom archive: most of a cold build of a large site.
So the reference writer (feedgen, in feeds.py) writes, once per writer and shape, a
document whose values are sentinels; cut at the sentinels, it is a template whose slots
take each record's values, escaped as lxml escapes them. Nothing here knows a field by
name: the slots come from the record type's fields (``Entry``, ``Frame``) and their
types (``field_kinds``), so a new field is compiled like the others, and a type the
templates cannot carry stops the build (TypeError). A template is used only once it has
written a probe record of awkward text exactly as the writer does; a shape that does not
compile is written by the writer itself, with one warning, never with a field less.
"""

from __future__ import annotations

import enum
import functools
import html
import logging
import operator
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

from feedsvc.entries import AS_HTML
from feedsvc.escaping import xml_attribute, xml_text

log = logging.getLogger("feedsvc")


class Kind(enum.Enum):
    """How a record field is carried by a template."""

    TEXT = "text"  # str: a slot, XML-escaped; "" leaves it out
    HTML = "html"  # Annotated[str, AS_HTML]: plain text carried as escaped HTML
    DATE = "date"  # datetime: a slot in the writer's date format
    TEXTS = "texts"  # tuple[str, ...]: a slot per value
    SHAPE = "shape"  # bool or Annotated[..., SHAPE]: changes the markup, no slot


SHAPE = "shape"  # the Annotated marker of a field that selects markup rather than fills it
_KINDS: dict[object, Kind] = {
    str: Kind.TEXT,
    typing.Annotated[str, AS_HTML]: Kind.HTML,
    datetime: Kind.DATE,
    tuple[str, ...]: Kind.TEXTS,
    bool: Kind.SHAPE,
    typing.Annotated[tuple[str, ...], SHAPE]: Kind.SHAPE,
}

Record = Any  # a NamedTuple instance: Entry or Frame
RecordType = type[tuple[Any, ...]]  # its type
Shape = tuple[object, ...]


class Writer(Protocol):
    """The reference writer of one kind of document (feeds.FeedgenWriter); hashable, as
    compiled templates are remembered by writer."""

    def __hash__(self) -> int: ...

    @property
    def entry_tag(self) -> bytes: ...

    @property
    def entry_type(self) -> RecordType: ...

    def document(self, frame: Record, entries: Sequence[Record]) -> bytes:
        """Return the whole document, as the reference library writes it."""

    def date(self, moment: datetime) -> str:
        """Return ``moment`` as the document writes dates."""

    def empty_frame(self) -> Record:
        """Return the frame of an empty subscription document (to compile entries in)."""


def _field_names(record_type: RecordType) -> tuple[str, ...]:
    """Return a NamedTuple type's field names."""
    return typing.cast(tuple[str, ...], getattr(record_type, "_fields"))  # noqa: B009


@functools.cache
def field_kinds(record_type: RecordType) -> tuple[Kind, ...]:
    """Return the Kind of each field of a NamedTuple type; TypeError for an unknown type."""
    hints = typing.get_type_hints(record_type, include_extras=True)
    kinds = []
    for name in _field_names(record_type):
        kind = _KINDS.get(hints[name])
        if kind is None:
            raise TypeError(
                f"{record_type.__name__}.{name}: feed templates cannot carry {hints[name]!r};"
                " use str, Annotated[str, AS_HTML], datetime or tuple[str, ...]"
            )
        kinds.append(kind)
    return tuple(kinds)


def _type_of(record: Record) -> RecordType:
    return typing.cast(RecordType, type(record))


def shape_of(record: Record) -> Shape:
    """Return what of ``record`` changes the markup: which texts are empty, list lengths."""
    shape: list[object] = []
    for kind, value in zip(field_kinds(_type_of(record)), record, strict=True):
        if kind is Kind.TEXT or kind is Kind.HTML:
            shape.append(value != "")
        elif kind is Kind.TEXTS:
            shape.append(len(value))
        elif kind is Kind.SHAPE:
            shape.append(value)
        else:
            shape.append(None)
    return tuple(shape)


def text_values(record: Record) -> list[bytes]:
    """Return the escaped text slots' values of ``record``: the same in every writer."""
    values: list[bytes] = []
    for kind, value in zip(field_kinds(_type_of(record)), record, strict=True):
        if kind is Kind.TEXT:
            if value:
                values.append(xml_text(value))
        elif kind is Kind.HTML:
            if value:
                values.append(xml_text(html.escape(value)))
        elif kind is Kind.TEXTS:
            values += map(xml_text, value)
    return values


def date_values(record: Record, date: Callable[[datetime], str]) -> list[bytes]:
    """Return the date slots' values of ``record`` in a writer's date format."""
    values: list[bytes] = []
    last: tuple[object, bytes] = (None, b"")
    for kind, value in zip(field_kinds(_type_of(record)), record, strict=True):
        if kind is Kind.DATE:
            if value is not last[0]:  # published and updated are often one object
                last = (value, date(value).encode())
            values.append(last[1])
    return values


def _slot_names(record_type: RecordType, shape: Shape) -> tuple[str, ...]:
    """Return the slots' names in the order of ``text_values`` then ``date_values``."""
    texts: list[str] = []
    dates: list[str] = []
    kinds = field_kinds(record_type)
    for name, kind, part in zip(_field_names(record_type), kinds, shape, strict=True):
        if kind in (Kind.TEXT, Kind.HTML) and part:
            texts.append(name)
        elif kind is Kind.TEXTS:
            texts += (f"{name}.{index}" for index in range(typing.cast(int, part)))
        elif kind is Kind.DATE:
            dates.append(name)
    return (*texts, *dates)


# Private-use characters around a slot name. Values are filled by position, so text
# holding these characters is no trouble; a settings text holding a frame slot's
# sentinel makes a slot too many, which the frame's probe finds.
_SLOT = re.compile("\ue000([a-z0-9_.]+)\ue001")
_PROBE_TEXT = "Fish & <b>chips</b> \"x\" 'y' ]]> 100% \t\r\n caf\u00e9 \U0001f4f0 \ue000id\ue001"


def _sentinel_date(index: int) -> datetime:
    zone = timezone(timedelta(hours=7, minutes=8 + index))
    return datetime(2001 + index, 2, 3, 4, 5, 6, tzinfo=zone)


def _probe_date(index: int) -> datetime:
    # Before year 1000 and with seconds in the offset: where date formatters differ.
    return datetime(999 - index, 12, 31, 23, 59, 58, 7, timezone(timedelta(seconds=-5415)))


def _record(record_type: RecordType, shape: Shape, probe: bool) -> Record:
    """Return a record of ``shape``: sentinels in its slots, or (``probe``) awkward text."""

    def text(name: str) -> str:
        return _PROBE_TEXT + name if probe else f"\ue000{name}\ue001"

    values: list[object] = []
    dates = 0
    kinds = field_kinds(record_type)
    for name, kind, part in zip(_field_names(record_type), kinds, shape, strict=True):
        if kind in (Kind.TEXT, Kind.HTML):
            values.append(text(name) if part else "")
        elif kind is Kind.TEXTS:
            values.append(tuple(text(f"{name}.{i}") for i in range(typing.cast(int, part))))
        elif kind is Kind.DATE:
            values.append(_probe_date(dates) if probe else _sentinel_date(dates))
            dates += 1
        else:
            values.append(part)
    return typing.cast(Any, record_type)(*values)


@dataclass(frozen=True, slots=True)
class Template:
    """Markup at the even places of ``pieces`` and b"" at its slots' places."""

    pieces: tuple[bytes, ...]
    pick: Callable[[Sequence[bytes]], Sequence[bytes]]  # the slots' values of all values
    attributes: tuple[int, ...]  # the slots that are attribute values

    def fill(self, parts: list[bytes], values: Sequence[bytes]) -> None:
        """Append the markup filled with ``values`` to ``parts`` (values by reference)."""
        picked = self.pick(values)
        if self.attributes:
            picked = list(picked)
            for at in self.attributes:
                picked[at] = xml_attribute(picked[at])
        filled = list(self.pieces)
        filled[1::2] = picked
        parts += filled


def _template(markup: str, names: tuple[str, ...]) -> Template | None:
    """Return the template of sentinel ``markup`` whose values come in ``names`` order."""
    pieces = _SLOT.split(markup)
    literals, slots = pieces[::2], pieces[1::2]
    if not set(slots) <= set(names):
        return None
    # A slot after an unclosed "<" is an attribute value (values hold no "<" or ">").
    attributes = tuple(
        index
        for index in range(len(slots))
        if (before := "".join(literals[: index + 1])).rfind("<") > before.rfind(">")
    )
    parts: list[bytes] = []
    for literal in literals[:-1]:
        parts += (literal.encode(), b"")
    parts.append(literals[-1].encode())
    return Template(tuple(parts), _picker([names.index(slot) for slot in slots]), attributes)


def _picker(indices: list[int]) -> Callable[[Sequence[bytes]], Sequence[bytes]]:
    """Return a function giving the values at ``indices`` of a sequence, as a sequence."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)  # for one index it gives a value, not a tuple
    return lambda values: [values[index] for index in indices]


def _values(record: Record, writer: Writer) -> list[bytes]:
    return text_values(record) + date_values(record, writer.date)


def _marked(markup: bytes, record_type: RecordType, writer: Writer) -> str:
    """Return ``markup`` with each sentinel date written as its slot's mark."""
    text = markup.decode()
    dates = [
        name
        for name, kind in zip(_field_names(record_type), field_kinds(record_type), strict=True)
        if kind is Kind.DATE
    ]
    for index, name in enumerate(dates):
        text = text.replace(writer.date(_sentinel_date(index)), f"\ue000{name}\ue001")
    return text


class Cut(NamedTuple):
    head: bytes
    entry: bytes
    tail: bytes


def cut(document: bytes, tag: bytes) -> Cut | None:
    """Split a document with one entry into what precedes it, the entry and what follows."""
    # Markup characters in text are escaped, so "<item>" is the entry's start tag.
    start = document.find(b"<" + tag + b">")
    end = document.find(b"</" + tag + b">\n", start)
    if start < 0 or end < 0:
        return None
    start = document.rfind(b"\n", 0, start) + 1  # from the start of its line
    end += len(tag) + 4
    return Cut(document[:start], document[start:end], document[end:])


@functools.lru_cache(maxsize=16)
def document_tail(writer: Writer) -> bytes | None:
    """Return what follows the entries of the writer's documents; None if it varies."""
    frame = writer.empty_frame()
    record_type = writer.entry_type
    full = tuple(
        {Kind.TEXTS: 1, Kind.DATE: None, Kind.SHAPE: False}.get(kind, True)
        for kind in field_kinds(record_type)
    )
    parts = cut(writer.document(frame, [_record(record_type, full, False)]), writer.entry_tag)
    if parts is None or parts.head + parts.tail != writer.document(frame, []):
        return None
    return parts.tail


@functools.lru_cache(maxsize=256)
def entry_template(writer: Writer, shape: Shape) -> Template | None:
    """Return the template of entries of ``shape``; None (with a warning) if it does not
    write a probe as the writer does."""
    record_type = writer.entry_type
    frame = writer.empty_frame()
    parts = cut(writer.document(frame, [_record(record_type, shape, False)]), writer.entry_tag)
    names = _slot_names(record_type, shape)
    template = None
    if parts is not None:
        template = _template(_marked(parts.entry, record_type, writer), names)
    if template is not None:
        probe = _record(record_type, shape, True)
        expected = cut(writer.document(frame, [probe]), writer.entry_tag)
        filled: list[bytes] = []
        template.fill(filled, _values(probe, writer))
        if expected is None or b"".join(filled) != expected.entry:
            template = None
    if template is None:
        log.warning("%s: entries of shape %s are written by the reference writer", writer, shape)
    return template


@functools.lru_cache(maxsize=256)
def frame_template(writer: Writer, frame_type: RecordType, shape: Shape) -> Template | None:
    """Return the template of a document's frame (all but its entries) of ``shape``."""
    tail = document_tail(writer)
    if tail is None:
        return None

    def head(frame: Record) -> bytes | None:
        document = writer.document(frame, [])
        return document[: len(document) - len(tail)] if document.endswith(tail) else None

    sentinels = head(_record(frame_type, shape, False))
    if sentinels is None:
        return None
    template = _template(_marked(sentinels, frame_type, writer), _slot_names(frame_type, shape))
    if template is not None:
        probe = _record(frame_type, shape, True)
        filled: list[bytes] = []
        template.fill(filled, _values(probe, writer))
        if b"".join(filled) != head(probe):
            template = None
    if template is None:
        log.warning("%s: frames of shape %s are written by the reference writer", writer, shape)
    return template


def write_document(
    writer: Writer,
    frame: Record,
    entries: Sequence[Record],
    texts: Sequence[list[bytes]] | None = None,
) -> bytes:
    """Return ``writer.document(frame, entries)`` byte for byte, from templates.

    ``texts`` are the entries' ``text_values`` when already made (for another writer).
    """
    tail = document_tail(writer)
    frame_compiled = frame_template(writer, _type_of(frame), shape_of(frame))
    shapes = [shape_of(entry) for entry in entries]
    templates = {shape: entry_template(writer, shape) for shape in set(shapes)}
    if tail is None or frame_compiled is None or None in templates.values():
        return writer.document(frame, entries)
    parts: list[bytes] = []
    frame_compiled.fill(parts, _values(frame, writer))
    if texts is None:
        texts = [text_values(entry) for entry in entries]
    date = writer.date
    for entry, shape, entry_texts in zip(entries, shapes, texts, strict=True):
        typing.cast(Template, templates[shape]).fill(parts, entry_texts + date_values(entry, date))
    parts.append(tail)
    return b"".join(parts)
