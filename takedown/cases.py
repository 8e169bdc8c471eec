"""The life of a notice and of each listing it reports, and what the history says about accuracy.

A notice is ``draft`` until a person approves it, ``approved`` until that person says it was
filed (listingguard never sends anything), then ``submitted``. From submission each listing is
a case: ``removed``, ``rejected`` (with the platform's reason) or ``countered`` (the seller
answered; a deadline runs on the platform's clock), then ``restored`` (back up after a counter
stood) or ``relisted`` (the same seller put the same thing up again).

Platforms score reporters: Alibaba's good-faith programme drops accounts under 90% success or
over 5% successful counter-notices over three months, Amazon revokes reporting after inaccurate
notices. ``stats`` measures both per platform so a team sees the risk before the platform does.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NOTICE_FLOW: dict[str, tuple[str, ...]] = {
    "draft": ("approved",),
    "approved": ("submitted", "draft"),
}
CASE_FLOW: dict[str, tuple[str, ...]] = {
    "submitted": ("removed", "rejected", "countered"),
    "countered": ("removed", "restored", "rejected"),
    "removed": ("relisted", "restored"),
    "restored": ("removed", "relisted"),
    "rejected": ("submitted",),
    "relisted": (),
}
CASE_STATUSES = tuple(CASE_FLOW)
CLOSED = ("removed", "rejected", "restored", "relisted")
ACCEPTANCE_FLOOR = 0.90
COUNTER_CEILING = 0.05


class TransitionError(ValueError):
    """A status change the lifecycle does not allow; says what is allowed from here."""


def check(flow: dict[str, tuple[str, ...]], current: str, new: str, what: str) -> None:
    allowed = flow.get(current, ())
    if new not in allowed:
        options = ", ".join(allowed) or "nothing (it is final)"
        raise TransitionError(f"{what} is {current}: it can move to {options}, not {new}")


def notice_status(case_statuses: Iterable[str], current: str) -> str:
    """A submitted notice reads as its cases once they agree (all removed: removed)."""
    statuses = set(case_statuses)
    if current in ("draft", "approved") or not statuses:
        return current
    if len(statuses) == 1:
        return next(iter(statuses))
    return "submitted"


@dataclass
class PlatformStats:
    platform: str
    notices: int = 0
    cases: int = 0
    open: int = 0
    removed: int = 0
    rejected: int = 0
    countered: int = 0
    restored: int = 0
    relisted: int = 0
    days_to_removal: list[float] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.removed + self.rejected + self.restored + self.relisted

    @property
    def acceptance(self) -> float | None:
        """Share of decided cases the platform acted on (relisted ones were removed first)."""
        return (self.removed + self.relisted) / self.decided if self.decided else None

    @property
    def counter_rate(self) -> float | None:
        """Share of cases where the seller's counter-notice stood (the listing came back):
        the figure Alibaba's good-faith programme caps at 5%."""
        return self.restored / self.cases if self.cases else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_removal) if self.days_to_removal else None

    def warnings(self) -> list[str]:
        out = []
        if self.acceptance is not None and self.acceptance < ACCEPTANCE_FLOOR:
            out.append(
                f"acceptance {self.acceptance:.0%} is under {ACCEPTANCE_FLOOR:.0%}: platforms "
                "withdraw reporting privileges from inaccurate reporters"
            )
        if self.counter_rate is not None and self.counter_rate > COUNTER_CEILING:
            out.append(
                f"successful counter-notices on {self.counter_rate:.0%} of cases (over "
                f"{COUNTER_CEILING:.0%}): review what is being reported"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "notices": self.notices,
            "cases": self.cases,
            "open": self.open,
            "removed": self.removed,
            "rejected": self.rejected,
            "countered": self.countered,
            "restored": self.restored,
            "relisted": self.relisted,
            "acceptance_rate": self.acceptance,
            "counter_rate": self.counter_rate,
            "median_days_to_removal": self.median_days,
            "warnings": self.warnings(),
        }


def _days(start: str, end: str) -> float:
    a = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    return round((b - a).total_seconds() / 86400, 2)


def stats(
    notices: Iterable[dict[str, Any]], cases: Iterable[dict[str, Any]]
) -> list[PlatformStats]:
    """Per-platform figures from notice rows (platform) and case rows (platform, status,
    opened_at, removed_at: when it was first marked removed, ever_countered)."""
    by: dict[str, PlatformStats] = defaultdict(lambda: PlatformStats(""))
    for n in notices:
        s = by[n["platform"]]
        s.platform = n["platform"]
        s.notices += 1
    for c in cases:
        s = by[c["platform"]]
        s.platform = c["platform"]
        s.cases += 1
        status = c["status"]
        if status in ("submitted", "countered"):
            s.open += 1
        if status in ("removed", "rejected", "restored", "relisted"):
            setattr(s, status, getattr(s, status) + 1)
        if c.get("ever_countered"):
            s.countered += 1
        if c.get("removed_at"):
            s.days_to_removal.append(_days(c["opened_at"], c["removed_at"]))
    return sorted(by.values(), key=lambda s: s.platform)
