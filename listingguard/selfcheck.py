"""The pre-listing self-check: what in a seller's own listing would get it removed, and why.

The sweep asks "who uses my marks, photos and copy?"; the self-check asks the other way round:
"does my listing use anyone else's?" Each listing gets problems with a severity a pipeline can
act on — ``block`` (do not publish: it gets listings removed and stores suspended), ``warn``
(publish only after a person looked), ``info`` — and a reason a seller understands:

- **third-party marks**: the bundled list of widely known brands, ``selfcheck.extra_brands``
  and marks registered ``--rights third_party``, in plain or disguised spelling; as the brand or
  in the text it blocks, in a nominative mention ("compatible with X") it warns;
- **banned terms**: counterfeit wording ("replica", "1:1", "AAA" beside a brand);
- **photos** whose source is not the seller's (``checkimages``);
- **copied text** from other sellers' listings in the store;
- **platform listing rules** (title length, refused characters, claims that need proof).

The matchers are built once per run (``Checker``), then each listing is checked in turn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

from listingguard import store
from listingguard.allowlist import authorised_seller
from listingguard.checkimages import Photo, look_up
from listingguard.config import is_territory
from listingguard.sheets import Draft
from listingguard.workspace import Workspace
from matcher.banned import BannedTerms
from matcher.brands import KnownBrand, known_brands
from matcher.context import Context
from matcher.copytext import CopyIndex, CopyThresholds, OwnedCopy
from matcher.listingrules import ListingRules
from matcher.marks import MarkMatcher, MarkOptions, MarkSpec, common_words
from matcher.normalize import TOKEN, normalize
from matcher.textfile import mark_identity
from matcher.textresult import TextMatch

Severity = Literal["block", "warn", "info"]
SEVERITIES: tuple[Severity, ...] = ("block", "warn", "info")
TEXT_FIELDS = ("title", "bullets", "description")
MIN_COPIED_WORDS = 12  # fewer copied words are shared phrases ("Digital display"), not copy
MIN_TITLE_WORDS = 6  # a shorter title equal to another is a generic product name
MAIN_LANGUAGES = ("en", "de", "es", "fr", "it", "pt")  # words of these are never taken for brands
MIN_TYPO_LETTERS = 5  # a shorter word one letter off a brand is usually another word
_WORDS = re.compile(r"[^\W_]+")
_BREAK = re.compile(r"[.;!?|\n]")
WHOLE_COPY = 0.8  # share of another listing's text (weighted) that copies it whole
EXPIRY_NOTICE_DAYS = 30
EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
NOMINATIVE = (
    "allowed only as nominative use: your own brand first, {mark} as plain words no more than "
    "needed (never its logo), and nothing suggesting that {mark} makes or endorses your product"
)


@dataclass
class Problem:
    """One thing wrong with a listing, said so that the seller knows what to change."""

    check: str  # third_party_mark, banned_term, image_source, copied_text, listing_rule, input
    severity: Severity
    field: str
    text: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "field": self.field,
            "text": self.text,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass
class Report:
    draft: Draft
    problems: list[Problem]
    photos: list[Photo]
    errors: list[str] = field(default_factory=list)  # what of the listing could not be read
    platform: str = ""  # whose rules it was checked against ("" none)
    territories: tuple[str, ...] = ()  # where it was held to sell

    @property
    def verdict(self) -> str:
        """block, error (the listing could not be read whole), warn or ok."""
        severities = {p.severity for p in self.problems}
        if "block" in severities:
            return "block"
        if self.errors:
            return "error"
        return "warn" if "warn" in severities else "ok"

    def as_dict(self) -> dict[str, Any]:
        d = self.draft
        return {
            "source": d.source,
            "row": d.row,
            "id": d.id,
            "title": d.title,
            "brand": d.brand,
            "platform": self.platform,
            "territories": list(self.territories),
            "verdict": self.verdict,
            "problems": [p.as_dict() for p in self.problems],
            "images": [_photo_json(p) for p in self.photos],
        }


def _photo_json(p: Photo) -> dict[str, Any]:
    out: dict[str, Any] = {"ref": p.ref, "sha256": p.sha256, "source": p.source}
    if p.error:
        out["error"] = p.error
    if p.matches:
        best = p.matches[0]
        out["match"] = {k: v for k, v in best.items() if k != "detail"}
    return out


# -- marks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """Whose a mark is, for the one matcher that holds the seller's and everyone else's."""

    name: str
    whose: Literal["own", "third_party", "known"]
    ambiguous: bool = False
    category: str = ""
    asset: dict[str, Any] | None = None


def _mark_table(ws: Workspace) -> list[tuple[MarkSpec, _Mark]]:
    """The seller's marks (owned, licensed), registered third-party marks, and known brands,
    each spelling once: a known brand that is the seller's own mark is the seller's."""
    config = ws.config
    budgets = {mark_identity(m.text): m.max_edits for m in config.marks}
    out: list[tuple[MarkSpec, _Mark]] = []
    taken: set[str] = set()
    rows = store.list_assets(ws.db, kind="mark")
    for whose in ("own", "third_party"):
        for row in rows:
            if (row["rights"] == "third_party") != (whose == "third_party"):
                continue
            key = mark_identity(row["text"])
            if key in taken:
                continue
            taken.add(key)
            spec = MarkSpec(row["text"], tuple(row["aliases"] or ()), budgets.get(key))
            out.append((spec, _Mark(row["text"], whose, asset=row)))  # type: ignore[arg-type]
    sc = config.selfcheck
    known = [KnownBrand(name, "") for name in sc.extra_brands]
    if sc.known_brands:
        known += known_brands(ignore=sc.ignore_brands, ignore_categories=sc.ignore_categories)
    for b in known:
        key = mark_identity(b.name)
        if key in taken:
            continue
        taken.add(key)
        letters = sum(ch.isalnum() for ch in b.name)
        # A typo of a three-letter brand is another word; brands that are words count only as
        # written (``Checker._mark_problem`` judges the rest).
        budget = 0 if b.ambiguous or letters <= 3 else None
        spec = MarkSpec(b.name, b.aliases, max_edits=budget)
        out.append((spec, _Mark(b.name, "known", b.ambiguous, b.category)))
    return out


# -- licences -------------------------------------------------------------------------------


def _territory(code: str) -> str:
    """A territory code as licences hold them: upper case, "UK" as its ISO code GB."""
    code = code.strip().upper()
    return "GB" if code == "UK" else code


def covers(licensed: Sequence[str], territory: str) -> bool:
    """Whether a licence for ``licensed`` territories covers selling into ``territory``."""
    wanted = {t.upper() for t in licensed}
    return (
        not wanted or territory in wanted or "WO" in wanted or ("EU" in wanted and territory in EU)
    )


def licence_unknowns(licence: dict[str, Any], platform: str, territories: Sequence[str]) -> str:
    """What a licence limits that the check could not hold the listing to (no platform or no
    territory known for it), as a sentence; empty when nothing."""
    unknown = []
    if licence.get("platforms") and not platform:
        unknown.append(f"platforms ({', '.join(licence['platforms'])}): name the platform")
    if licence.get("territories") and not territories:
        unknown.append(f"territories ({', '.join(licence['territories'])}): name the territory")
    if not unknown:
        return ""
    return (
        f"the {describe_licence(licence)} limits "
        + " and ".join(unknown)
        + " (--platform, --territory or [selfcheck]) to check this listing against it"
    )


def licence_problems(
    licence: dict[str, Any], platform: str, territories: Sequence[str], on: dt.date
) -> list[str]:
    """What a listing on ``platform`` selling into ``territories`` on ``on`` does outside the
    licence; empty when it is within it."""
    out = []
    expires = licence.get("expires")
    if expires and dt.date.fromisoformat(expires) < on:
        out.append(f"the licence expired on {expires}")
    platforms = [p.casefold() for p in licence.get("platforms") or ()]
    if platforms and platform and platform.casefold() not in platforms:
        out.append(f"it covers {', '.join(platforms)}, not {platform}")
    outside = [t for t in territories if not covers(licence.get("territories") or (), t)]
    if outside:
        out.append(
            f"it covers {', '.join(licence.get('territories') or ())}, not {', '.join(outside)}"
        )
    return out


def describe_licence(licence: dict[str, Any]) -> str:
    parts = [f"licence from {licence.get('licensor') or 'an unnamed licensor'}"]
    if licence.get("territories"):
        parts.append("for " + ", ".join(licence["territories"]))
    if licence.get("platforms"):
        parts.append("on " + ", ".join(licence["platforms"]))
    if licence.get("expires"):
        parts.append("until " + licence["expires"])
    return " ".join(parts)


# -- the checker ----------------------------------------------------------------------------


class Checker:
    """Every matcher the checks need, built once over what the workspace holds."""

    def __init__(
        self,
        ws: Workspace,
        *,
        platform: str = "",
        territories: Sequence[str] = (),
        on: dt.date | None = None,
    ) -> None:
        config = ws.config
        sc = config.selfcheck
        self.ws = ws
        self.territories = tuple(_territory(t) for t in (territories or sc.territories))
        self.on = on or dt.date.today()
        table = _mark_table(ws)
        self.marks = [m for _, m in table]
        specs = [
            MarkSpec(s.text, s.aliases, s.max_edits, asset_id=i) for i, (s, _) in enumerate(table)
        ]
        text = config.matching.text
        options = MarkOptions(languages=text.languages, common_zipf=text.common_word_zipf)
        self.zipf = text.common_word_zipf
        self.matcher = MarkMatcher(specs, options=options)
        self.languages = tuple(dict.fromkeys((*text.languages, *MAIN_LANGUAGES)))
        self._cues: dict[str, list[tuple[int, str]]] = {}
        self.banned = BannedTerms.default(sc.banned_terms)
        self.rules = ListingRules.default(
            {
                name: {
                    "title_max": r.title_max,
                    "rules": [vars(x) for x in r.rules],
                }
                for name, r in sc.rules.items()
            }
        )
        # A platform the rules do not know is refused by the command; here it means "none".
        self.platform = self.rules.resolve(platform or sc.platform) or ""
        self._copies(ws)

    def _copies(self, ws: Workspace) -> None:
        """The seller's own copy (never "copied"), and the texts of others: other sellers'
        listings in the store and copy registered as third-party."""
        own, theirs = [], []
        for row in store.list_assets(ws.db, kind="copy"):
            if row["text"]:
                item = OwnedCopy(row["name"], row["text"], -row["id"])
                (theirs if row["rights"] == "third_party" else own).append(item)
        self.sources: dict[int, dict[str, Any]] = {}
        self.titles: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        for r in ws.db.query(
            "SELECT id, marketplace, listing_id, url, title, description, seller_id, "
            "seller_name, seller_url FROM listings ORDER BY first_seen, id"
        ):
            if authorised_seller(ws.config, r):
                continue
            info = {k: r[k] for k in ("marketplace", "listing_id", "url", "seller_name", "title")}
            words = " ".join(TOKEN.findall((r["title"] or "").casefold()))
            if len(words.split()) >= MIN_TITLE_WORDS:
                self.titles.setdefault(words, info)
            description = (r["description"] or "").strip()
            if description and description not in seen:
                seen.add(description)
                self.sources[r["id"]] = info
                theirs.append(OwnedCopy(f"{r['marketplace']} listing {r['listing_id']}",
                                        description, r["id"]))  # fmt: skip
        loose = CopyThresholds(min_containment_covered=0.0)  # every copied sentence counts
        self.own_copy = CopyIndex(own, thresholds=loose)
        self.their_copy = CopyIndex(theirs, thresholds=loose)

    # -- a run ----------------------------------------------------------------------------------

    def check_all(
        self, drafts: Sequence[Draft], executor: Executor | None, *, keep_images: bool = False
    ) -> Iterator[Report]:
        """Reports in the order of ``drafts``; photos are looked up for all of them first, so
        that the pool fingerprints them in parallel and each distinct photo once."""
        refs = [(ref, d.base) for d in drafts for ref in d.images]
        photos = look_up(self.ws.db, self.ws.config, refs, executor, keep_data=keep_images)
        for d in drafts:
            yield self.check(d, [photos[(ref, d.base)] for ref in d.images])

    def check(self, d: Draft, photos: list[Photo]) -> Report:
        problems: list[Problem] = []
        errors = [*d.errors, *(f"image {p.ref}: {p.error}" for p in photos if p.error)]
        platform = self.platform
        if d.platform:
            platform = self.rules.resolve(d.platform) or ""
            if not platform:
                errors.append(
                    f"platform {d.platform!r} is none of {', '.join(self.rules.names())}: "
                    "only the rules for every platform were applied"
                )
        territories = tuple(map(_territory, d.territories)) or self.territories
        bad = [t for t in territories if not is_territory(t)]
        if bad:
            errors.append(f"territory {bad[0]!r} is not an ISO country code (e.g. US, DE, GB)")
        fields = {"title": [d.title], "bullets": list(d.bullets), "description": [d.description]}
        brand_spans: dict[tuple[str, int], list[tuple[tuple[int, int], str]]] = {}
        problems += self._brand_field(d, platform, territories)
        for name in TEXT_FIELDS:
            for i, text in enumerate(fields[name]):
                if text:
                    found, spans = self._marks_in(text, name, platform, territories)
                    problems += found
                    brand_spans[(name, i)] = spans
        for name in TEXT_FIELDS:
            for i, text in enumerate(fields[name]):
                for hit in self.banned.find(
                    text, platform=platform, brands=brand_spans.get((name, i), ())
                ):
                    problems.append(_banned_problem(hit, name))
        problems += self._photos(photos, platform, territories)
        problems += self._copied(d)
        for hit in self.rules.check(platform, {k: [t for t in v if t] for k, v in fields.items()}):
            problems.append(
                Problem("listing_rule", hit.rule.severity, hit.field, hit.shown, hit.rule.reason,
                        {"rule": hit.rule.id, "platform": hit.rule.platform, **hit.detail})
            )  # fmt: skip
        problems += [Problem("input", "warn", "", "", e) for e in errors]
        if not d.brand and d.title:
            problems.append(
                Problem("listing_rule", "info", "brand", "",
                        "no brand given: most platforms want your brand (or 'Generic')")
            )  # fmt: skip
        order = {s: i for i, s in enumerate(SEVERITIES)}
        problems.sort(key=lambda p: order[p.severity])
        return Report(d, problems, photos, errors, platform, tuple(territories))

    # -- marks ------------------------------------------------------------------------------

    def _brand_field(self, d: Draft, platform: str, territories: Sequence[str]) -> list[Problem]:
        if not d.brand:
            return []
        out = []
        for m in self.matcher.find(d.brand):
            mark = self.marks[m.asset_id or 0]
            if m.score < 0.5:
                continue
            if mark.whose == "own":
                out += self._licensed_mark(mark, d.brand, "brand", platform, territories)
                continue
            if mark.ambiguous and m.detail["how"] != "exact":
                continue
            out.append(
                Problem(
                    "third_party_mark",
                    "block",
                    "brand",
                    m.detail["matched"],
                    f"the brand field names {mark.name}, someone else's brand"
                    f"{_disguise_text(m)}: listing a product under another owner's brand gets "
                    "it removed and the store suspended unless you hold a licence (register it "
                    "with assets add --kind mark --rights licensed)",
                    _mark_detail(m, mark),
                )
            )
        return out

    def _marks_in(
        self, text: str, field_name: str, platform: str, territories: Sequence[str]
    ) -> tuple[list[Problem], list[tuple[tuple[int, int], str]]]:
        out: list[Problem] = []
        spans: list[tuple[tuple[int, int], str]] = []
        for m in self.matcher.find(text):
            mark = self.marks[m.asset_id or 0]
            if m.score < 0.5:
                continue
            if mark.whose == "own":
                out += self._licensed_mark(mark, m.detail["matched"], field_name, platform,
                                           territories)  # fmt: skip
                continue
            if m.kind == "trademark" and not m.detail.get("disguise"):
                cue = "" if m.detail.get("signals") else self._after_mention(text, m.span[0])
                if cue:
                    m.detail["mention"] = {"phrase": cue, "language": ""}
                    m = dataclasses.replace(m, kind="mention")
            problem = self._mark_problem(m, mark, field_name)
            if problem is not None:
                out.append(problem)
                spans.append((m.span, mark.name))
        return out, spans

    def _mark_problem(self, m: TextMatch, mark: _Mark, field_name: str) -> Problem | None:
        how, shown = m.detail["how"], m.detail["matched"]
        disguised = bool(m.detail.get("disguise")) and how == "exact"
        # "ring binder", "shell case": a brand that is a word counts as written by the brand.
        if mark.ambiguous and (how != "exact" or (shown.islower() and not mark.name.islower())):
            return None
        if self._ordinary_words(m, mark):
            return None
        detail = _mark_detail(m, mark)
        whose = (
            "a mark registered as someone else's"
            if mark.whose == "third_party"
            else ("a widely known brand")
        )
        if m.kind == "mention" and not disguised:
            phrase = m.detail.get("mention", {}).get("phrase", "")
            return Problem(
                "third_party_mark",
                "warn",
                field_name,
                shown,
                f'names {mark.name} ({whose}) after "{phrase}": '
                + NOMINATIVE.format(mark=mark.name),
                detail,
            )
        if disguised:
            return Problem(
                "third_party_mark",
                "block",
                field_name,
                shown,
                f'"{shown}" is {mark.name} ({whose}){_disguise_text(m)}: a disguised brand name '
                "marks a listing as counterfeit on every platform",
                detail,
            )
        if how in ("phonetic", "embedded") or mark.ambiguous:
            return Problem(
                "third_party_mark",
                "warn",
                field_name,
                shown,
                f'"{shown}" looks like {mark.name} ({whose}); if it is not meant as that brand, '
                "make sure nothing else in the listing suggests it",
                detail,
            )
        return Problem(
            "third_party_mark",
            "block",
            field_name,
            shown,
            f'"{shown}" is {mark.name} ({whose}){_disguise_text(m)}, used as if it were your '
            'product\'s brand: write what your product is for with "compatible with" if it is '
            "an accessory, otherwise remove it",
            detail,
        )

    def _is_word(self, word: str) -> bool:
        """A common word of the main selling languages (and the configured ones)."""
        letters = "".join(ch for ch in word if ch.isalnum()).casefold()
        return any(letters in common_words(lang, self.zipf) for lang in self.languages)

    def _ordinary_words(self, m: TextMatch, mark: _Mark) -> bool:
        """Whether a known brand's match is ordinary words rather than the brand: a typo that
        is short or a word ("Stil" is no STIHL, "intl" no Intel), or words that only the brand
        joins ("snap on" is not Snap-on, "one touch" not OneTouch, "lining" not Li-Ning)."""
        if mark.whose != "known":
            return False  # a mark the user registered is looked for however it is written
        shown = m.detail["matched"]
        words = _WORDS.findall(shown)
        if m.detail["how"] in ("typo", "phonetic"):
            return sum(len(w) for w in words) < MIN_TYPO_LETTERS or any(map(self._is_word, words))
        if not set(m.detail.get("disguise") or ()) <= {"glued", "split"}:
            return False  # hidden on purpose (leet, look-alikes, invisible characters)
        if any(len(w) > 1 for w in words) and all(len(w) <= 1 or self._is_word(w) for w in words):
            return shown.casefold() != mark.name.casefold()
        return False

    def _after_mention(self, text: str, start: int) -> str:
        """The mention phrase ("for", "compatible with") earlier in the same sentence as the
        mark at ``start``: a list of devices after one "for" names them all."""
        if text not in self._cues:
            n = normalize(text)
            ctx = Context(n)
            self._cues = {
                text: [
                    (n.original_span(p.start, p.end)[1], p.text)
                    for kind in ("strong", "weak")
                    for p in ctx.phrases(kind)
                ]
            }
        before = [(end, phrase) for end, phrase in self._cues[text] if end <= start]
        for end, phrase in sorted(before, reverse=True):
            if not _BREAK.search(text[end:start]):
                return phrase
        return ""

    def _licensed_mark(
        self, mark: _Mark, shown: str, field_name: str, platform: str, territories: Sequence[str]
    ) -> list[Problem]:
        row = mark.asset or {}
        if row.get("rights") != "licensed":
            return []
        licence = {
            "licensor": row.get("licensor"),
            "territories": row.get("territories") or [],
            "platforms": row.get("platforms") or [],
            "expires": row.get("licence_expires"),
        }
        wrong = licence_problems(licence, platform, territories, self.on)
        if not wrong:
            unknown = licence_unknowns(licence, platform, territories)
            info = {"mark": mark.name, "licence": licence}
            return (
                [Problem("third_party_mark", "info", field_name, shown, unknown, info)]
                if (unknown)
                else []
            )
        return [
            Problem(
                "third_party_mark",
                "block",
                field_name,
                shown,
                f"{mark.name} is used under a {describe_licence(licence)}, but " + "; ".join(wrong),
                {"mark": mark.name, "licence": licence},
            )
        ]

    # -- photos -----------------------------------------------------------------------------

    def _photos(
        self, photos: list[Photo], platform: str, territories: Sequence[str]
    ) -> list[Problem]:
        out = []
        for p in photos:
            if p.error:
                continue  # an input error of the listing
            best = p.matches[0] if p.matches else None
            if p.source == "unknown" or best is None:
                out.append(
                    Problem("image_source", "warn", "images", p.ref,
                            "unknown source: this photo matches none of your registered photos; "
                            "keep the proof that you may use it (your own shoot, a supplier's "
                            "written permission), or register it with assets add")
                )  # fmt: skip
            elif p.source == "third_party":
                out.append(
                    Problem("image_source", "block", "images", p.ref,
                            f"this photo is {best['asset']}, registered as someone else's "
                            f"(match {best['score']:.2f}): using it invites a copyright "
                            "complaint", {"asset": best["asset"], "score": best["score"]})
                )  # fmt: skip
            elif p.source == "captured":
                listing = best["listing"]
                seller = listing.get("seller_name") or listing.get("seller_id") or "another seller"
                out.append(
                    Problem("image_source", "block", "images", p.ref,
                            f"this photo was taken from {seller}'s listing on "
                            f"{listing['marketplace']} ({listing['url']}, match "
                            f"{best['score']:.2f}): using another seller's photo invites a "
                            "copyright complaint", {"listing": listing, "score": best["score"]})
                )  # fmt: skip
            elif p.source == "licensed":
                licence = best["licence"] or {}
                wrong = licence_problems(licence, platform, territories, self.on)
                if wrong:
                    out.append(
                        Problem("image_source", "block", "images", p.ref,
                                f"this photo is {best['asset']}, used under a "
                                f"{describe_licence(licence)}, but " + "; ".join(wrong),
                                {"asset": best["asset"], "licence": licence})
                    )  # fmt: skip
                    continue
                unknown = licence_unknowns(licence, platform, territories)
                if unknown:
                    out.append(Problem("image_source", "info", "images", p.ref, unknown,
                                       {"asset": best["asset"], "licence": licence}))  # fmt: skip
                if licence.get("expires"):
                    left = (dt.date.fromisoformat(licence["expires"]) - self.on).days
                    if left <= EXPIRY_NOTICE_DAYS:
                        out.append(
                            Problem("image_source", "info", "images", p.ref,
                                    f"the {describe_licence(licence)} ends in {left} days: "
                                    "renew it or replace the photo", {"asset": best["asset"]})
                        )  # fmt: skip
        return out

    # -- copied text ------------------------------------------------------------------------

    def _copied(self, d: Draft) -> list[Problem]:
        out = []
        words = " ".join(TOKEN.findall(d.title.casefold()))
        same = self.titles.get(words) if d.title else None
        if same:
            out.append(
                Problem("copied_text", "warn", "title", d.title,
                        f"the same title as {same['seller_name'] or 'another seller'}'s listing "
                        f"on {same['marketplace']} ({same['url']}): write your own",
                        {"listing": same})
            )  # fmt: skip
        for name, text in (("description", d.description), ("bullets", "\n".join(d.bullets))):
            if text.strip() and len(self.their_copy):
                out += self._copied_in(text, name)
        return out

    def _copied_in(self, text: str, field_name: str) -> list[Problem]:
        """Sentences of ``text`` copied from another seller's listing (the best source), less
        those of the seller's own registered copy; the share of the field copied decides."""
        own_spans = [
            tuple(s["span"])
            for m in self.own_copy.find(text, min_score=0.0)
            for s in m.detail["sentences"]
        ]
        total = len(TOKEN.findall(text)) or 1
        for m in self.their_copy.find(text, min_score=0.0):
            # A sentence that is mostly the seller's own registered copy is not copied from them
            # (a two-word bullet of the owner's, "Hand pump.", inside it is not enough).
            sentences = [s for s in m.detail["sentences"] if not _mostly_in(s["span"], own_spans)]
            copied = sum(len(TOKEN.findall(text[s["span"][0] : s["span"][1]])) for s in sentences)
            if copied < MIN_COPIED_WORDS:
                continue
            share = copied / total
            # One sentence is a quote; several that make up much of the text, or nearly all of
            # the other listing's text, are its copy.
            whole = m.detail["containment"] >= WHOLE_COPY
            much = share >= self.ws.config.selfcheck.copied_share_block and len(sentences) > 1
            severity: Severity = "block" if whole or much else "warn"
            source = self.sources.get(m.asset_id or 0)
            where = (
                f"{source['seller_name'] or 'another seller'}'s listing on {source['marketplace']} "
                f"({source['url']})"
                if source
                else f"{m.asset}, registered as someone else's copy"
            )
            shown = [text[s["span"][0] : s["span"][1]] for s in sentences]
            return [
                Problem("copied_text", severity, field_name, shown[0][:200],
                        f"{len(sentences)} sentence(s), {copied} of the {total} words of your "
                        f"{field_name} ({share:.0%}), copied from {where}: copied text invites a "
                        "copyright complaint; write your own",
                        {"source": source or {"asset": m.asset}, "share": round(share, 3),
                         "sentences": shown})
            ]  # fmt: skip
        return []


def _mostly_in(span: Sequence[int], spans: Sequence[Sequence[int]]) -> bool:
    """Whether at least half of ``span`` lies inside ``spans``."""
    start, end = span
    inside = sum(max(0, min(end, b) - max(start, a)) for a, b in spans)
    return end > start and inside * 2 >= end - start


def _disguise_text(m: TextMatch) -> str:
    disguise = [d.replace("_", " ") for d in m.detail.get("disguise") or ()]
    return f", spelled with {', '.join(disguise)}" if disguise else ""


def _mark_detail(m: TextMatch, mark: _Mark) -> dict[str, Any]:
    detail = {
        "mark": mark.name,
        "whose": mark.whose,
        "how": m.detail["how"],
        "disguise": m.detail.get("disguise") or [],
        "score": round(m.score, 4),
        "span": list(m.span),
    }
    if mark.category:
        detail["category"] = mark.category
    if m.detail.get("mention"):
        detail["mention"] = m.detail["mention"]
    return detail


def _banned_problem(hit: Any, field_name: str) -> Problem:
    term = hit.term
    if term.near_brand and hit.brand:
        reason = (f'"{hit.shown}" beside "{hit.brand}" says the product imitates another: '
                  "counterfeit wording gets listings removed")  # fmt: skip
    elif term.near_brand:
        reason = (f'"{hit.shown}" often introduces an imitation; read the listing as a '
                  "platform would, and reword it if it compares your product with another")  # fmt: skip
    elif term.platform:
        reason = term.reason or f"{term.platform} bans this wording"
    else:
        reason = term.reason or (
            f'"{hit.shown}" is counterfeit wording: every platform removes listings that offer '
            "replicas, copies or dupes, with or without a brand name"
        )
    return Problem("banned_term", hit.severity, field_name, hit.shown, reason,
                   {"term": term.text, "language": term.language, "platform": term.platform,
                    "beside": hit.brand, "span": list(hit.span)})  # fmt: skip


def summary(reports: Iterable[Report]) -> dict[str, int]:
    """Listings by verdict, and ``unread``: those with input errors whatever their verdict (a
    blocked listing may also have a photo that could not be read; exit code 2 then)."""
    counts = {"listings": 0, "block": 0, "warn": 0, "ok": 0, "error": 0, "unread": 0}
    for r in reports:
        counts["listings"] += 1
        counts[r.verdict] += 1
        counts["unread"] += bool(r.errors)
    return counts


def exit_code(reports: Sequence[Report]) -> int:
    """2 when some input could not be read (the check is incomplete), else 1 when something
    blocks, else 0."""
    if any(r.errors for r in reports):
        return 2
    return 1 if any(r.verdict == "block" for r in reports) else 0
