"""Platform listing rules that commonly get a listing suppressed or removed: title length,
characters a platform refuses, promotional phrases, claims that need proof (medical, pesticide,
"FDA approved").

The rules are data (``matcher/data/listing-rules.toml``), per platform plus ``all`` for every
platform; a user's config adds rules or changes a title limit. A rule is either phrases (whole
words, after normalisation), a regular expression, or one of the checks written here
(``repeated-word``, ``all-caps``).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from matcher.normalize import normalize
from matcher.phrases import PhraseSet

FIELDS = ("title", "bullets", "description")
CHECKS = ("repeated-word", "all-caps")
REPEATS_ALLOWED = 2
_WORD = re.compile(r"[^\W_]+")
# Articles, prepositions and conjunctions may repeat (Amazon's title rule excepts them).
_SMALL = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "for",
        "of",
        "with",
        "in",
        "on",
        "to",
        "by",
        "at",
        "from",
        "&",
        "+",
        "x",
        "y",
        "e",
        "o",
        "de",
        "la",
        "el",
        "le",
        "les",
        "der",
        "die",
        "das",
        "und",
        "et",
        "per",
        "con",
        "para",
        "pour",
        "für",
    ]
)


@dataclass(frozen=True)
class Rule:
    id: str
    platform: str
    reason: str
    field: str = "any"  # title, bullets, description, any
    severity: str = "warn"
    phrases: tuple[str, ...] = ()
    pattern: str = ""
    check: str = ""


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    field: str
    span: tuple[int, int]
    shown: str
    detail: dict[str, Any] = field(default_factory=dict)


@functools.cache
def bundled() -> dict[str, Any]:
    return tomllib.loads(
        (resources.files("matcher") / "data" / "listing-rules.toml").read_text("utf-8")
    )


@dataclass
class Platform:
    name: str
    display: str
    title_max: int | None
    rules: dict[str, Rule]


def _rule(platform: str, raw: Mapping[str, Any]) -> Rule:
    return Rule(
        id=raw["id"],
        platform=platform,
        reason=raw["reason"],
        field=raw.get("field", "any"),
        severity=raw.get("severity", "warn"),
        phrases=tuple(raw.get("phrases", ())),
        pattern=raw.get("pattern", ""),
        check=raw.get("check", ""),
    )


class ListingRules:
    """The bundled rules merged with the user's; ``check`` applies one platform's and ``all``."""

    def __init__(
        self, data: Mapping[str, Any], extra: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.platforms: dict[str, Platform] = {}
        for name, table in data.get("platforms", {}).items():
            rules = {r["id"]: _rule(name, r) for r in table.get("rules", ())}
            self.platforms[name] = Platform(
                name, table.get("name", name), table.get("title_max"), rules
            )
        for name, table in (extra or {}).items():
            platform = self.platforms.setdefault(name, Platform(name, name, None, {}))
            if table.get("title_max") is not None:
                platform.title_max = table["title_max"]
            for r in table.get("rules", ()):
                platform.rules[r["id"]] = _rule(name, r)
        self._patterns: dict[tuple[str, str], re.Pattern[str]] = {}
        self._phrases: dict[str, PhraseSet] = {}
        for p in self.platforms.values():
            for r in p.rules.values():
                if r.pattern:
                    self._patterns[(p.name, r.id)] = re.compile(r.pattern, re.IGNORECASE)
            self._phrases[p.name] = PhraseSet(
                (phrase, r) for r in p.rules.values() for phrase in r.phrases
            )

    @classmethod
    def default(cls, extra: Mapping[str, Mapping[str, Any]] | None = None) -> ListingRules:
        return cls(bundled(), extra)

    def names(self) -> list[str]:
        return sorted(n for n in self.platforms if n != "all")

    def resolve(self, name: str) -> str | None:
        """The platform a seller's name for it means ("Amazon.de", "TikTok Shop", "ebay_uk"
        are amazon, tiktok-shop, ebay), or None when it is none of them."""
        squashed = "".join(ch for ch in name.casefold() if ch.isalnum())
        by_squash = {"".join(ch for ch in n if ch.isalnum()): n for n in self.names()}
        if squashed in by_squash:
            return by_squash[squashed]
        head = re.split(r"[\W_]+", name.casefold().strip())[0] if name.strip() else ""
        return by_squash.get(head)

    def check(self, platform: str, fields: Mapping[str, Iterable[str]]) -> list[RuleHit]:
        """Every rule of ``platform`` (and of all platforms) that the listing's texts break."""
        hits: list[RuleHit] = []
        own = self.platforms.get(platform) if platform != "all" else None
        # A platform's rule with the id of a rule for all platforms is its stricter version
        # (medical claims warn everywhere, block on Amazon): only that one applies there.
        overridden = set(own.rules) if own else set()
        for p in (self.platforms.get("all"), own):
            if p is None:
                continue
            skip = overridden if p.name == "all" else set()
            for field_name, texts in fields.items():
                for text in texts:
                    hits += self._check_text(p, field_name, text, skip)
            title = " ".join(fields.get("title", ()))
            if p.title_max and len(title) > p.title_max:
                rule = Rule(
                    "title-length",
                    p.name,
                    f"{p.display} titles may have at most {p.title_max} characters "
                    f"(this one has {len(title)}); longer titles are cut or refused",
                    "title",
                )
                hits.append(
                    RuleHit(rule, "title", (p.title_max, len(title)), title[p.title_max :],
                            {"length": len(title), "max": p.title_max})
                )  # fmt: skip
        return hits

    def _check_text(self, p: Platform, field_name: str, text: str, skip: set[str]) -> list[RuleHit]:
        hits: list[RuleHit] = []
        applies = [
            r for r in p.rules.values() if r.field in ("any", field_name) and r.id not in skip
        ]
        if not applies or not text:
            return hits
        wanted = {r.id for r in applies}
        done: set[str] = set()
        if any(r.phrases for r in applies):
            n = normalize(text)
            for hit in self._phrases[p.name].find(n):
                for rule in hit.payloads:
                    if rule.id in wanted and rule.id not in done:
                        start, end = n.original_span(hit.start, hit.end)
                        hits.append(RuleHit(rule, field_name, (start, end), text[start:end]))
                        done.add(rule.id)
        for rule in applies:
            if rule.id in done:
                continue
            if rule.pattern:
                m = self._patterns[(p.name, rule.id)].search(text)
                if m:
                    hits.append(RuleHit(rule, field_name, m.span(), m.group(0)))
            elif rule.check == "repeated-word":
                counts = Counter(
                    w.casefold()
                    for w in _WORD.findall(text)
                    if len(w) > 1 and w.casefold() not in _SMALL
                )
                over = [w for w, c in counts.items() if c > REPEATS_ALLOWED and not w.isdigit()]
                if over:
                    hits.append(RuleHit(rule, field_name, (0, 0), over[0],
                                        {"word": over[0], "times": counts[over[0]]}))  # fmt: skip
            elif rule.check == "all-caps":
                letters = [c for c in text if c.isalpha() and c.isascii()]
                if len(letters) >= 12 and all(c.isupper() for c in letters):
                    hits.append(RuleHit(rule, field_name, (0, len(text)), text[:40]))
        return hits
