"""The canonical notice: one model of who complains, about which right, against which listings.

Every platform asks for the same facts under different labels and limits (the research notes'
union of their fields). Drafting fills this model once from the store and the configuration;
each platform definition then picks, labels and checks the fields it wants. Nothing here knows
about a platform or a file format.

Scraped values (titles, seller names) sit in ``Target`` as plain strings. They are data for the
templates, never template source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

LegalBasis = Literal["trademark", "copyright", "design"]
Location = Literal["product", "packaging", "image", "text"]
Role = Literal["owner", "agent"]

BASIS_OF_KIND: dict[str, LegalBasis] = {
    "trademark": "trademark",
    "image_copy": "copyright",
    "text_copy": "copyright",
}
"""Which legal basis a finding kind is reported under: a mark misused is a trademark claim;
copied photos and copy are copyright claims (the owner's own works)."""

LOCATION_OF_KIND: dict[str, Location] = {
    "trademark": "text",
    "image_copy": "image",
    "text_copy": "text",
}
"""Where in a listing a finding's kind sits. A mark in the listing's text is "text" (eBay 2.1,
unlawful use of a mark) unless counterfeit signals make it the product itself ("product":
eBay 1.1, counterfeit); the glue decides that per finding."""


@dataclass(frozen=True)
class Reporter:
    """Who files the notice, and for whom (an agent names the rights owner and its authority)."""

    name: str
    email: str
    company: str = ""
    address: str = ""
    phone: str = ""
    title: str = ""
    role: Role = "owner"
    rights_owner: str = ""
    authorisation: str = ""
    website: str = ""
    signature: str = ""


@dataclass(frozen=True)
class Right:
    """The right infringed: a registered mark, or a copyrighted work and where it is published."""

    basis: LegalBasis
    name: str
    owner: str
    registration_number: str = ""
    office: str = ""
    jurisdictions: tuple[str, ...] = ()
    classes: tuple[int, ...] = ()
    registered: dt.date | None = None
    work_description: str = ""
    original_url: str = ""
    first_published: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Evidence:
    """One piece of proof for one target: what was seen, where, when, with what hash."""

    kind: str
    description: str
    score: float
    url: str = ""
    captured_at: str = ""
    sha256: str = ""
    finding_id: int = 0


@dataclass(frozen=True)
class Target:
    """One listing reported: where it is, who sells it, where in it the right is infringed."""

    marketplace: str
    url: str
    listing_id: str
    listing_row: int
    title: str = ""
    seller_id: str = ""
    seller_name: str = ""
    seller_url: str = ""
    price: str = ""
    locations: tuple[Location, ...] = ()
    reason: str = ""
    reason_code: str = ""
    evidence: tuple[Evidence, ...] = ()
    finding_ids: tuple[int, ...] = ()
    rights: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """One complaint to one platform on one legal basis, for at most the platform's limit of
    targets. ``part``/``parts`` say where it sits when a batch was split at that limit."""

    platform: str
    basis: LegalBasis
    reporter: Reporter
    rights: tuple[Right, ...]
    targets: tuple[Target, ...]
    date: dt.date
    statements: tuple[str, ...] = ()
    recipient: str = ""
    pack: str = ""
    part: int = 1
    parts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finding_ids(self) -> tuple[int, ...]:
        return tuple(i for t in self.targets for i in t.finding_ids)

    def as_dict(self) -> dict[str, Any]:
        """The model as plain data (templates, JSON output, golden files)."""
        data = dataclasses.asdict(self)
        data["finding_ids"] = list(self.finding_ids)
        return data


def lookup(notice: Notice, path: str) -> Any:
    """The value at a dotted path such as ``reporter.address`` or ``rights.registration_number``.

    A path through ``rights`` or ``targets`` gives the list of that field over every item, so a
    platform can require "every right has a registration number" with one path.
    """
    head, _, rest = path.partition(".")
    value: Any = getattr(notice, head)
    if not rest:
        return value
    if isinstance(value, tuple):
        return [_attr(v, rest) for v in value]
    return _attr(value, rest)


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def is_empty(value: Any) -> bool:
    """Whether a required value is missing; for a list, whether any item is."""
    if isinstance(value, list):
        return not value or any(is_empty(v) for v in value)
    return value is None or value == "" or value == ()
