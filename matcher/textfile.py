"""Safe text decoding for product copy and word marks: refuse binary, empty or mis-encoded input with a reason.

A copy text with the wrong encoding would match nothing and fail silently, so it is refused
(with the byte offset) rather than guessed at.
"""

from __future__ import annotations

import unicodedata

DEFAULT_MAX_BYTES = 1_000_000
MAX_MARK_CHARS = 100


class TextRejected(ValueError):
    """A text that cannot be used; ``reason`` is one line a user understands."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _controls(text: str) -> int:
    """Control characters other than tab, newline and carriage return (Unicode category Cc)."""
    return sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r")


def decode_text(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """UTF-8 bytes (a BOM allowed) to text, or TextRejected: empty, too large, binary, not UTF-8."""
    if not data:
        raise TextRejected("empty text (0 bytes)")
    if len(data) > max_bytes:
        raise TextRejected(f"text is {len(data):,} bytes, above the {max_bytes:,} byte limit")
    if b"\x00" in data[:8192]:
        raise TextRejected("binary file (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextRejected(
            f"not UTF-8 text (byte 0x{data[exc.start]:02X} at offset {exc.start}); save it as UTF-8"
        ) from None
    if _controls(text) > max(2, len(text) // 100):
        raise TextRejected("binary file (too many control characters), not text")
    if not text.strip():
        raise TextRejected("the file holds only white space")
    if not _has_letters(text):
        raise TextRejected("the text has no letters or digits")
    return text


# Joiners shape letters in Arabic, Persian and Indic scripts; every other format character
# (zero-width space, bidi overrides, BOM) only hides or reorders what a reader sees.
_ALLOWED_FORMAT = frozenset("\u200c\u200d")


def _has_letters(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def check_mark(text: str) -> str:
    """A word mark as given (command line, config), checked and trimmed; TextRejected if unusable.

    >>> check_mark("  Luma ")
    'Luma'
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TextRejected("mark holds bytes that are not valid UTF-8 text") from None
    mark = unicodedata.normalize("NFC", text).strip()
    if not mark:
        raise TextRejected("empty mark")
    if len(mark) > MAX_MARK_CHARS:
        raise TextRejected(f"mark is {len(mark)} characters, longer than {MAX_MARK_CHARS}")
    if _controls(mark) or "\n" in mark or "\t" in mark:
        raise TextRejected("mark contains control characters or line breaks")
    hidden = [c for c in mark if unicodedata.category(c) == "Cf" and c not in _ALLOWED_FORMAT]
    if hidden:
        raise TextRejected(
            f"mark contains invisible or bidirectional control characters (U+{ord(hidden[0]):04X})"
        )
    if "\ufffd" in mark:
        raise TextRejected("mark contains U+FFFD (text decoded with the wrong encoding)")
    if not _has_letters(mark):
        raise TextRejected("mark has no letters or digits")
    return mark


def mark_identity(text: str) -> str:
    """The form under which two spellings are one mark: NFC, case-folded ("Café" is "CAFE\u0301")."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold()).strip()
