"""Text escaped as the libraries the outputs come from escape it.

XML text is escaped with xml.sax.saxutils as lxml escapes it (lxml itself escapes only
while serializing a tree). One is written here: ``html_escape_all``, markupsafe's
escaping of many texts in one call on UTF-8 bytes, 1.4 times as fast as markupsafe text
by text (benchmarks/escaping.py). Each use is checked against the library's own output:
the feed templates' probes against lxml, tests/test_templates.py against Jinja.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

# Maps the control characters lxml refuses (all but tab, line feed and carriage return)
# to a non-ASCII byte and every other byte to NUL: bytes.isascii() then finds them fast.
_CARRIAGE_RETURN = {"\r": "&#13;"}
_CONTROLS = bytes(0x80 if c < 0x20 and c not in b"\t\n\r" else 0 for c in range(256))
NOT_XML = (
    "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
)


def xml_text(text: str) -> bytes:
    """Return ``text`` escaped as lxml escapes element text, in UTF-8.

    lxml writes non-ASCII characters and ``]]>`` as they are (``>`` escaped) and a
    carriage return as a reference. Raises ValueError for text lxml refuses, as lxml does.
    """
    # A lone surrogate raises UnicodeEncodeError, as in lxml.
    return checked(escape(text, _CARRIAGE_RETURN).encode(), text)


def xml_attribute(text: bytes) -> bytes:
    """Return XML text (``xml_text``) as lxml escapes it in an attribute value."""
    return text.replace(b'"', b"&quot;").replace(b"\t", b"&#9;").replace(b"\n", b"&#10;")


def checked(data: bytes, text: str) -> bytes:
    """Return ``data``, escaped ``text``; raise ValueError if ``text`` holds what lxml refuses."""
    # Escaping adds no control characters: those left in ``data`` were in ``text``.
    if not data.translate(_CONTROLS).isascii() or "\ufffe" in text or "\uffff" in text:
        raise ValueError(NOT_XML)
    return data


def html_escape(text: str) -> bytes:
    """Return ``text`` in UTF-8, escaped as Jinja's autoescape (``markupsafe.escape``) does.

    The same five replacements (``&#34;`` and ``&#39;``, unlike html.escape), made on
    the UTF-8 bytes, where ASCII bytes never occur inside a multi-byte sequence
    (benchmarks/escaping.py). tests/test_templates.py compares it with markupsafe.
    """
    return (
        text.encode()
        .replace(b"&", b"&amp;")
        .replace(b"<", b"&lt;")
        .replace(b">", b"&gt;")
        .replace(b'"', b"&#34;")
        .replace(b"'", b"&#39;")
    )


def html_escape_all(texts: Sequence[str]) -> list[bytes]:
    """Return each of ``texts`` escaped (html_escape), all in one call over them joined by NUL:
    a call per text costs more than a title's characters do."""
    escaped = html_escape("\0".join(texts)).split(b"\0")
    if len(escaped) != len(texts):  # a text holds NUL itself, or there is none
        return [html_escape(text) for text in texts]
    return escaped
