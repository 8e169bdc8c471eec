"""Counter-notice clocks: a deadline ``days`` after an event, in calendar or business days.

The DMCA's 10-14 days, eBay's 5 and Alibaba's 3 are business days; PRC Art. 43's 15 and
Mercado Libre's 4 are calendar days. Business days here skip Saturdays and Sundays only:
public holidays differ by country and platform, so a deadline is a floor to check, not a
promise (the case list says "business days, weekends skipped").
"""

from __future__ import annotations

import datetime as dt

from takedown.platforms import Clock


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` business days after ``start`` (the start day itself is not counted)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def deadline(start: dt.date, clock: Clock) -> dt.date:
    """When the window opened at ``start`` closes under ``clock``."""
    if clock.business:
        return add_business_days(start, clock.days)
    return start + dt.timedelta(days=clock.days)


def describe(clock: Clock, *, short: bool = False) -> str:
    """ "10-14 business days (complainant): RULE"; ``short`` leaves the rule out (tables)."""
    unit = "business days" if clock.business else "days"
    span = f"{clock.days}-{clock.max_days}" if clock.max_days else str(clock.days)
    head = f"{span} {unit} ({clock.party})"
    return head if short else f"{head}: {clock.rule}"
