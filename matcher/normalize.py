"""Comparison keys for mark matching: what a text spells once its disguises are undone.

A counterfeit title hides a mark behind characters a reader does not notice: fullwidth or
mathematical letters (NFKC undoes them), Cyrillic and Greek look-alikes (the Unicode TR39
confusable skeleton), accents, zero-width and bidi controls, leetspeak ("N1ke"), and letters
spread out with spaces or dots ("N.I.K.E"). ``normalize`` turns a text into a key string and its
tokens, and keeps the way back to the text as given, so evidence quotes exactly what the listing
shows. Keys are for comparison only, never for display (TR39's own advice).

The character key is one ``str.translate`` table built once: NFKC, then accents stripped from
Latin, Greek and Cyrillic letters, then case folding, then the TR39 prototype of every non-ASCII
character. ASCII letters and digits map to themselves, so "m" stays "m" (TR39 would make it
"rn") and "0" stays a digit until ``fold`` decides, per token, whether it is leetspeak.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from importlib import resources
from itertools import accumulate

# Symbols whose compatibility form is letters ("™" is "TM"): glued to a word they would change it.
_SPACED_SYMBOLS = frozenset("™℠℡℗®©")
# Kept as token characters so that "n!ke" and "$ony" stay one token for ``fold``.
LEET_SYMBOLS = "@$|!€"
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "|": "i", "!": "i", "€": "e"}
)  # fmt: skip
# Look-alike letter pairs a reader confuses at a glance; folded on both sides of a comparison.
_LEET_SPLIT = re.compile(f"[{re.escape(LEET_SYMBOLS)}]")
_LOOKALIKE = (("rn", "m"), ("vv", "w"))  # and "l" -> "i", in ``fold`` only

CJK_RANGES = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
# A word: a run of CJK characters, or of other letters and digits (with leetspeak symbols
# inside), so "适用于Samsung" is two words, as a reader sees it.
TOKEN = re.compile(
    rf"[{CJK_RANGES}]+|[@$]?[^\W_{CJK_RANGES}]+(?:[@$|!€]+[^\W_{CJK_RANGES}]+)*[$@]?"
)
# Between letters spread out to hide a mark ("N.I.K.E", "N i k e", "N-I-K-E").
SEPARATORS = r"\s.\-_*·•/+~'&|,"  # what may stand between the letters or words of a mark
_SPREAD_GAP = re.compile(f"[{SEPARATORS}]{{1,3}}")
_CJK = re.compile(f"[{CJK_RANGES}]")


@functools.cache
def _confusables() -> dict[str, str]:
    """TR39 confusables.txt (Unicode 13.0, vendored with its licence): character -> prototype."""
    table: dict[str, str] = {}
    text = (resources.files("matcher") / "data" / "confusables.txt").read_text("utf-8-sig")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target, *_ = (part.strip() for part in line.split(";"))
        if " " in source:
            continue
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def _strip_accents(s: str) -> str:
    """Drop combining marks from Latin, Greek and Cyrillic letters; keep kana voicing and others."""
    decomposed = unicodedata.normalize("NFD", s)
    if not any(unicodedata.category(ch) in ("Mn", "Me") for ch in decomposed):
        return s
    out = []
    for ch in decomposed:
        if unicodedata.category(ch) in ("Mn", "Me"):
            base = out[-1] if out else ""
            if base and (ord(base) < 0x0530 or 0x1E00 <= ord(base) < 0x2000):
                continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


# Latin letter variants a reader takes for the plain letter: small capitals, script, open,
# dotless, long, with hooks, bars and tails; the same letters enclosed in squares or circles.
_LATIN_NAME = re.compile(
    r"LATIN (?:SMALL |CAPITAL )?LETTER "
    r"(?:SMALL CAPITAL |SCRIPT |OPEN |DOTLESS |LONG |REVERSED )?([A-Z])\b"
)  # "R WITH FISHHOOK" is an r too
# Look-alikes TR39 maps elsewhere or not at all: Cyrillic "м" is a small capital M to a reader
# (TR39: a turned w), wynn "ƿ" a p (TR39: thorn), eng "ŋ" an n.
_EXTRA = {"ĸ": "k", "ß": "ss", "ı": "i", "ȷ": "j", "ꞓ": "e", "ŋ": "n", "ə": "e", "ƿ": "p",
          "ʉ": "u", "м": "m", "М": "m", "ƅ": "b"}  # fmt: skip
# Characters that show as nothing or as blank space although they are letters or symbols.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


def _latin_letter(ch: str) -> str:
    """A Latin letter variant (small capital, script, ...) as its plain letter, by its name."""
    if ch in _EXTRA:
        return _EXTRA[ch]
    m = _LATIN_NAME.search(unicodedata.name(ch, ""))
    return m[1].lower() if m else ch


def _skeleton(s: str) -> str:
    """TR39 prototypes of non-ASCII characters; CJK and kana are left alone (their prototypes
    cross into other CJK scripts, which would make a Japanese alias match Chinese text)."""
    conf = _confusables()
    out = []
    for ch in s:
        if ch.isascii() or is_cjk(ch):
            out.append(ch)
            continue
        # A Latin letter variant is read as its letter ("ᴍ" is m), whatever TR39 says it is.
        own = _latin_letter(ch)
        proto = own if own != ch else conf.get(ch, ch)
        out.append("".join(c if c.isascii() else _latin_letter(c) for c in proto))
    return "".join(out)


def char_key(c: str) -> str:
    """The comparison key of one character (see the module docstring for the steps)."""
    if c in _SPACED_SYMBOLS:
        return " "
    if is_invisible(c):
        return ""  # zero-width and bidi controls, fillers, braille blank, variation selectors
    category = unicodedata.category(c)
    if category in ("Mn", "Me"):
        return ""  # stray combining marks
    if category in ("Cc", "Zs", "Zl", "Zp"):
        return " "
    s = unicodedata.normalize("NFKC", c)
    if len(s) == 3 and s[0] == "(" and s[2] == ")" and s[1].isalnum():
        s = s[1]  # parenthesised letters and digits: "⒩" is "n"
    best = ""
    # As written first: a disguise is drawn in the case it is shown ("ΝΙΚΕ" is N, not nu's v).
    for candidate in (s, s.casefold()):
        key = _strip_accents(_skeleton(_strip_accents(candidate))).casefold()
        key = _strip_accents(unicodedata.normalize("NFKC", key))
        if key.isascii():
            return key
        best = best or key
    return best


@functools.cache
def key_table() -> dict[int, str]:
    """The translate table of ``char_key`` for every character whose key is not itself.

    Built over the Basic Multilingual Plane and the other planes' letter-like and invisible
    blocks (mathematical alphanumerics, enclosed and regional-indicator letters, tags, variation
    selectors); about 0.3 s, once per process.
    """
    table: dict[int, str] = {}
    # Unified CJK ideographs and Hangul syllables are their own keys: skipped for speed.
    ranges = [
        range(0x3400),
        range(0xA000, 0xAC00),
        range(0xD7A4, 0xD800),
        range(0xE000, 0x10000),
        range(0x1D400, 0x1D800),
        range(0x1F100, 0x1F200),
        range(0xE0000, 0xE0080),  # tag characters: invisible
        range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
    for r in ranges:
        for cp in r:
            c = chr(cp)
            k = char_key(c)
            if k != c:
                table[cp] = k
    for i, cp in enumerate(range(0x1F1E6, 0x1F200)):  # regional indicator letters 🇦..🇿
        table[cp] = chr(ord("a") + i)
    return table


def fold(token: str) -> str:
    """A token's key with leetspeak and look-alike letters undone, for exact comparison.

    Leetspeak is undone only in tokens of three characters or more with at least as many
    letters as digits: "n1ke" is a disguise; "4k", "n13" and "gx301" are sizes and model
    numbers, and digit-only tokens stay digits.

    >>> fold("n1ke"), fold("s0ny"), fold("6"), fold("arnazon"), fold("gx301")
    ('nike', 'sony', '6', 'amazon', 'gx301')
    """
    return _folds(token)[0]


def soft_fold(token: str) -> str:
    """``fold`` without "l" -> "i": typo distances are measured on this, since folding l and i
    together would make "igo" one edit from "lego".

    >>> soft_fold("l3go"), soft_fold("1ego")
    ('lego', 'iego')
    """
    return _folds(token)[1]


_FOLDS: dict[str, tuple[str, str]] = {}


def _folds(token: str) -> tuple[str, str]:
    cached = _FOLDS.get(token)
    if cached is not None:
        return cached
    word = token
    parts = _LEET_SPLIT.split(word)
    if len(parts) >= 3 and all(len(p) == 1 for p in parts):
        word = "".join(parts)  # "N|I|K|E": the symbols separate letters, not replace them
    soft = unleet(word)
    for a, b in _LOOKALIKE:
        soft = soft.replace(a, b)
    result = (soft.replace("l", "i"), soft)
    if len(_FOLDS) > 500_000:
        _FOLDS.clear()
    _FOLDS[token] = result
    return result


def unleet(token: str) -> str:
    """Leetspeak undone but letters kept as typed (for the common-word lookup), by the rule of
    ``fold``: in words of three characters or more with at least as many letters as digits.

    >>> unleet("n1ke"), unleet("4k"), unleet("gx301")
    ('nike', '4k', 'gx301')
    """
    letters = sum(ch.isalpha() for ch in token)
    if letters and len(token) >= 3 and letters >= len(token) - letters:
        return token.translate(_LEET)
    return token


def is_invisible(ch: str) -> bool:
    """A character that shows as nothing: format controls, fillers, variation selectors."""
    return (
        unicodedata.category(ch) == "Cf"
        or ch in _BLANK
        or 0xFE00 <= ord(ch) <= 0xFE0F
        or 0xE0100 <= ord(ch) <= 0xE01EF
    )


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


class Normalized:
    """A text's key, its words, and the way back from key offsets to the text as given.

    The words are parallel lists — ``words`` (their keys), ``starts`` and ``ends`` (offsets in
    the key), ``folded`` (``fold``) and ``soft`` (``soft_fold``) — because matching a title
    touches each of them a few times, and a list index is several times cheaper than building
    an object per word.
    """

    __slots__ = ("_ends", "_runs", "ends", "folded", "identity", "key", "original", "soft",
                 "starts", "words")  # fmt: skip

    def __init__(self, original: str, key: str, identity: bool) -> None:
        self.original = original
        self.key = key
        self.identity = identity  # every character is its own key's one character (ASCII)
        self.words: list[str] = TOKEN.findall(key)
        # Each word is found again from where the last ended: what lies between words holds
        # no word character, so the next occurrence is the word itself (cheaper than finditer).
        starts, ends, pos, find = [], [], 0, key.find
        for w in self.words:
            pos = find(w, pos)
            starts.append(pos)
            pos += len(w)
            ends.append(pos)
        self.starts, self.ends = starts, ends
        folds = [_FOLDS.get(w) or _folds(w) for w in self.words]
        self.folded = [f[0] for f in folds]
        self.soft = [f[1] for f in folds]
        self._ends: list[int] | None = None
        self._runs: list[tuple[int, int]] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced key[start:end]."""
        if self.identity:
            return start, end
        if self._ends is None:
            table = key_table()
            self._ends = list(accumulate(len(table.get(ord(ch), ch)) for ch in self.original))
        ends = self._ends
        # The first original character whose key reaches past ``start``, the last up to ``end``.
        lo = bisect.bisect_right(ends, start)
        if end <= start:
            return lo, lo
        return lo, min(len(self.original), bisect.bisect_right(ends, end - 1) + 1)


def normalize(text: str) -> Normalized:
    """Key text and words of ``text``.

    >>> n = normalize("Ｎｉｋｅ Аir\u200b Max")
    >>> n.key, n.words
    ('nike air max', ['nike', 'air', 'max'])
    >>> n.original_span(5, 8)
    (5, 8)
    """
    identity = text.isascii() and text.isprintable()
    return Normalized(text, text.lower() if identity else text.translate(key_table()), identity)


def spread_runs(n: Normalized, *, min_letters: int = 3) -> list[tuple[int, int]]:
    """Runs of single characters spread out to hide a word: (first token, last token + 1).

    >>> n = normalize("Genuine N.I.K.E shoes, size 9")
    >>> [(n.words[a], n.words[b - 1]) for a, b in spread_runs(n)]
    [('n', 'e')]
    """
    if n._runs is not None and min_letters == 3:
        return n._runs
    runs: list[tuple[int, int]] = []
    if min_letters == 3:
        n._runs = runs
    words, starts, ends = n.words, n.starts, n.ends
    single = [len(w) == 1 for w in words]
    if sum(single) < min_letters:
        return runs
    i, count = 0, len(words)
    while i < count:
        j = i
        while (
            j + 1 < count
            and single[j]
            and single[j + 1]
            and _SPREAD_GAP.fullmatch(n.key, ends[j], starts[j + 1])
        ):
            j += 1
        if j - i + 1 >= min_letters and sum(words[k].isalpha() for k in range(i, j + 1)) >= 2:
            runs.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    return runs


def scripts(s: str) -> set[str]:
    """The scripts of the letters of ``s`` (LATIN, CYRILLIC, GREEK, ...), by character name."""
    found = set()
    for ch in s:
        if not ch.isalpha():
            continue
        ch = unicodedata.normalize("NFKC", ch)[:1] or ch
        name = unicodedata.name(ch, "")
        for script in ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"):
            if script in name:
                found.add(script)
                break
        else:
            found.add(name.split(" ")[0] if name else "UNKNOWN")
    return found
