"""The other side of a complaint: the seller's own counter-notice, declaration or appeal.

Cross-border sellers lose listings to complaints about photos and copy that are in fact their
own. What wins the answer is proof: the registration of the asset, the earliest capture of the
photo (before the complainant's), the licence. The platform definition says which kind of
answer it takes (a DMCA §512(g)(3) counter-notice, a PRC Art. 43 declaration of
non-infringement with preliminary evidence, or a platform appeal) and within what window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from takedown.clock import add_business_days
from takedown.model import Reporter
from takedown.platforms import Platform

COUNTER_ELEMENTS = ("reporter.signature", "reporter.name", "reporter.address", "reporter.phone")
"""What a §512(g)(3) counter-notice cannot go without besides its fixed statements."""


@dataclass(frozen=True)
class Complaint:
    """The complaint received against one of the seller's own listings."""

    reference: str
    complainant: str
    received: str
    basis: str
    listing_url: str
    listing_title: str = ""
    claim: str = ""


@dataclass(frozen=True)
class Proof:
    """One piece of proof that the seller may use what it listed."""

    kind: str  # registration, earliest_capture, licence, asset
    description: str
    date: str = ""
    sha256: str = ""
    url: str = ""


class ResponseError(ValueError):
    """The answer cannot be drafted; names what is missing."""


def deadline(platform: Platform, received: dt.date) -> dt.date | None:
    r = platform.response
    if r is None or not r.days:
        return None
    if r.business:
        return add_business_days(received, r.days)
    return received + dt.timedelta(days=r.days)


def missing(platform: Platform, reporter: Reporter) -> list[str]:
    """Reporter fields the answer needs (a counter-notice names the sender in full)."""
    if platform.response is None:
        return []
    needed = ("reporter.name", "reporter.email")
    if platform.response.kind == "dmca-counter":
        needed = (*needed, *COUNTER_ELEMENTS)
    return [p for p in dict.fromkeys(needed) if not getattr(reporter, p.partition(".")[2])]


def render(
    env: SandboxedEnvironment,
    platform: Platform,
    reporter: Reporter,
    complaint: Complaint,
    proofs: list[Proof],
    today: dt.date,
) -> str:
    """The answer's text. Complaint and proof strings are variables, never template source."""
    if platform.response is None:
        raise ResponseError(f"{platform.name} has no [response] in its definition")
    received = dt.date.fromisoformat(complaint.received)
    due = deadline(platform, received)
    context: dict[str, Any] = {
        "platform": platform,
        "reporter": reporter,
        "complaint": complaint,
        "proofs": proofs,
        "date": today.isoformat(),
        "deadline": due.isoformat() if due else "",
    }
    return env.get_template(platform.response.template).render(context)
