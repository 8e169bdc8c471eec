"""From confirmed findings to notices: group, merge per listing, split at the platform's limit,
and say which required field is missing.

Platforms take one legal basis per notice (Amazon: "one IP type per notice"), and a trademark
notice cites one mark (eBay's NOCI: one reason code per page; Alibaba counts its 300 listings
per IPR document), so findings are grouped by platform, basis and — for marks — the mark.
Copied photos and copy go into one copyright notice: the DMCA allows a representative list of
works at one site. A listing with several findings on one basis becomes one target that lists
every location (image, text, product) and every piece of evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from takedown.model import (
    BASIS_OF_KIND,
    LOCATION_OF_KIND,
    Evidence,
    LegalBasis,
    Notice,
    Reporter,
    Right,
    Target,
    is_empty,
    lookup,
)
from takedown.platforms import Platform


@dataclass(frozen=True)
class Finding:
    """What drafting needs to know about one confirmed finding (the glue reads it from the store)."""

    id: int
    kind: str
    score: float
    explanation: str
    marketplace: str
    listing_row: int
    listing_id: str
    url: str
    title: str
    rights: tuple[Right, ...]
    evidence: tuple[Evidence, ...] = ()
    seller_id: str = ""
    seller_name: str = ""
    seller_url: str = ""
    price: str = ""
    location: str = ""

    @property
    def basis(self) -> LegalBasis:
        return BASIS_OF_KIND[self.kind]


@dataclass(frozen=True)
class Batch:
    """Findings bound for one platform on one basis (and, for marks, one mark)."""

    platform: str
    basis: LegalBasis
    right: str
    findings: tuple[Finding, ...]


def batches(findings: Iterable[Finding], platform_of: Callable[[Finding], str]) -> list[Batch]:
    """Group findings by platform, legal basis and (for trademark claims) the mark."""
    groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        right = f.rights[0].name if f.basis == "trademark" and f.rights else ""
        groups[(platform_of(f), f.basis, right)].append(f)
    return [
        Batch(platform, basis, right, tuple(sorted(fs, key=lambda f: f.id)))  # type: ignore[arg-type]
        for (platform, basis, right), fs in sorted(groups.items())
    ]


def _targets(findings: Iterable[Finding], platform: Platform, basis: str) -> list[Target]:
    by_listing: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        by_listing[f.listing_row].append(f)
    codes = platform.bases[basis].reason_codes
    targets = []
    for row, fs in sorted(by_listing.items()):
        first = fs[0]
        locations = tuple(dict.fromkeys(f.location or LOCATION_OF_KIND[f.kind] for f in fs))
        code = "; ".join(dict.fromkeys(codes[loc] for loc in locations if loc in codes))
        code = code or codes.get("default", "")
        targets.append(
            Target(
                marketplace=first.marketplace,
                url=first.url,
                listing_id=first.listing_id,
                listing_row=row,
                title=first.title,
                seller_id=first.seller_id,
                seller_name=first.seller_name,
                seller_url=first.seller_url,
                price=first.price,
                locations=locations,
                reason="; ".join(dict.fromkeys(f.explanation for f in fs)),
                reason_code=code,
                evidence=tuple(
                    {(e.kind, e.url, e.sha256): e for f in fs for e in f.evidence}.values()
                ),
                finding_ids=tuple(f.id for f in fs),
                rights=tuple(dict.fromkeys(r.name for f in fs for r in f.rights)),
            )
        )
    return targets


def _rights(findings: Iterable[Finding], platform: Platform, basis: str) -> tuple[Right, ...]:
    """Every right the findings cite, once; an office list keeps only registrations there
    (Walmart takes USPTO registrations only), leaving an unregistered stand-in when none is."""
    seen: dict[tuple[str, str, str], Right] = {}
    for f in findings:
        for r in f.rights:
            seen.setdefault((r.name, r.office, r.registration_number), r)
    rights = list(seen.values())
    offices = platform.bases[basis].offices
    if offices and basis == "trademark":
        kept = [r for r in rights if r.office in offices]
        if not kept and rights:
            kept = [replace(rights[0], office="", registration_number="", jurisdictions=())]
        rights = kept
    return tuple(rights)


def notices(
    batch: Batch,
    platform: Platform,
    reporter: Reporter,
    *,
    date: dt.date,
    recipient: str = "",
) -> list[Notice]:
    """The batch's notices, split so that none carries more listings than the platform takes."""
    targets = _targets(batch.findings, platform, batch.basis)
    chunks = [targets[i : i + platform.limit] for i in range(0, len(targets), platform.limit)]
    return [
        Notice(
            platform=platform.name,
            basis=batch.basis,
            reporter=reporter,
            rights=_rights(
                [f for f in batch.findings if f.listing_row in {t.listing_row for t in chunk}],
                platform,
                batch.basis,
            ),
            targets=tuple(chunk),
            date=date,
            recipient=recipient,
            part=i,
            parts=len(chunks),
        )
        for i, chunk in enumerate(chunks, 1)
    ]


def missing(notice: Notice, platform: Platform) -> list[str]:
    """The model paths a notice must fill for this platform but does not, e.g.
    ``reporter.address`` or ``targets[2].seller_name``; the glue names the config key."""
    out = []
    if notice.basis not in platform.bases:
        return [f"basis:{notice.basis}"]
    for path in platform.required_for(notice.basis, notice.reporter.role):
        value = lookup(notice, path)
        if path.startswith("targets.") and isinstance(value, list):
            out += [
                f"targets[{i}].{path.partition('.')[2]}" for i, v in enumerate(value) if is_empty(v)
            ]
        elif is_empty(value):
            out.append(path)
    if platform.channel == "email" and not (notice.recipient or platform.to):
        out.append("recipient")
    if platform.target_url:
        out += [
            f"targets[{i}].url:{t.url}"
            for i, t in enumerate(notice.targets)
            if not re.match(platform.target_url, t.url)
        ]
    pattern = platform.bases[notice.basis].registration_pattern
    if pattern:
        out += [
            f"rights.registration_number:{r.registration_number}"
            for r in notice.rights
            if r.registration_number and not re.fullmatch(pattern, r.registration_number)
        ]
    return list(dict.fromkeys(out))
