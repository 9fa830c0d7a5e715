"""The XML character check on bytes agrees with the check on text.

``needs_cleaning_utf8`` is written for speed; ``needs_cleaning``, a regular expression
over the text, is the reading of XML 1.0 it must match exactly.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedsvc.articles import needs_cleaning, needs_cleaning_utf8

# --- The XML 1.0 character check on UTF-8 bytes -----------------------------------------------

# The ranges _NOT_XML matches, surrogates aside: strict UTF-8 cannot carry them.
FORBIDDEN = [(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xFDD0, 0xFDEF),
             (0xFFFE, 0xFFFF)]  # fmt: skip
# Characters sharing a forbidden one's leading UTF-8 bytes (U+00A0-U+00BF: C2 A0-BF;
# U+FDC0-U+FDFF: EF B7; U+FFF0-U+FFFD: EF BF), a byte order mark, and the edges of
# the encoded lengths.
NEIGHBOURS = [0x09, 0x0A, 0x0D, 0x20, 0x7E, 0xA0, 0xAB, 0xBF, 0xC2, 0xEF, 0x7FF, 0x800, 0xFDC0,
              0xFDCF, 0xFDF0, 0xFDFF, 0xFEFF, 0xFFF0, 0xFFFD, 0x10000, 0x10FFFF]  # fmt: skip
EDGES = sorted(
    {c for lo, hi in FORBIDDEN for c in (lo - 1, lo, lo + 1, hi - 1, hi, hi + 1) if c >= 0}
    | set(NEIGHBOURS)
)
NOT_SURROGATES = st.characters(exclude_categories=["Cs"])  # UTF-8 cannot carry them
XML_TEXT = st.text(
    st.one_of(
        st.sampled_from([chr(c) for c in EDGES]),
        st.integers(0, len(FORBIDDEN) - 1).flatmap(lambda i: st.integers(*FORBIDDEN[i]).map(chr)),
        NOT_SURROGATES,
    ),
    max_size=40,
)


@settings(max_examples=2000)
@example("")
@example("\ufeffplain text, “quoted” – naïve")
@example("\u00a0\u00bf\ufdcf\ufdf0\ufffd")
@given(XML_TEXT)
def test_utf8_check_agrees_with_the_text_check(text: str) -> None:
    assert needs_cleaning_utf8(text.encode("utf-8")) == needs_cleaning(text)


def test_utf8_check_finds_each_forbidden_character_alone() -> None:
    for lo, hi in FORBIDDEN:
        for code in range(lo, hi + 1):
            data = f"a{chr(code)}b".encode()
            assert needs_cleaning_utf8(data), hex(code)
    for code in range(0x80, 0x10000):
        if not 0xD800 <= code <= 0xDFFF:
            text = f"a{chr(code)}b"
            assert needs_cleaning_utf8(text.encode()) == needs_cleaning(text), hex(code)


@settings(max_examples=500)
@given(st.binary(max_size=60))
def test_utf8_check_agrees_on_any_valid_utf8_bytes(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert needs_cleaning_utf8(data) == needs_cleaning(text)
