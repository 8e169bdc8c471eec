"""Small horizontal bar charts for the sweep report, drawn by its template as inline SVG.

A chart is data (bars of parts, a scale, a dashed target line); the template turns it into SVG
elements, so the report needs no script and no chart library, and nothing scraped can reach the
SVG except as escaped text labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from listingguard.packs import KIND_LABELS
from takedown.cases import ACCEPTANCE_FLOOR, PlatformStats

KINDS = ("image_copy", "text_copy", "trademark", "signal")  # the charts' order and colours


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart: its parts (class, value) laid end to end."""

    label: str
    text: str  # the value as the chart prints it beside the bar
    parts: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart the template draws as inline SVG; ``scale`` is the value of a
    full-width bar, ``rule`` a value marked by a dashed line (a target)."""

    title: str
    bars: tuple[Bar, ...]
    scale: float
    legend: tuple[tuple[str, str], ...] = ()  # (class, label)
    rule: float | None = None
    rule_label: str = ""
    width: int = 520
    label_width: int = 150
    value_width: int = 90
    row: int = 24

    @property
    def plot(self) -> int:
        return self.width - self.label_width - self.value_width

    @property
    def height(self) -> int:
        return self.row * len(self.bars) + (18 if self.rule is not None else 6)

    def x(self, value: float) -> float:
        """The length of ``value`` on the plot, in SVG units."""
        return round(self.plot * value / self.scale, 1) if self.scale else 0.0

    def segments(self, bar: Bar) -> list[dict[str, Any]]:
        """Where each part of ``bar`` starts and how long it is."""
        out, start = [], 0.0
        for cls, value in bar.parts:
            length = self.x(value)
            if length > 0:
                out.append({"cls": cls, "x": round(self.label_width + start, 1), "w": length})
                start += length
        return out


def _label(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def findings_chart(rows: Sequence[dict[str, Any]], by_kind: dict[str, dict[str, int]]) -> Chart:
    """New findings per marketplace, split by kind."""
    bars = []
    for r in rows:
        kinds = by_kind.get(r["marketplace"], {})
        total = sum(kinds.values())
        bars.append(
            Bar(_label(r["marketplace"]), str(total), tuple((k, kinds.get(k, 0)) for k in KINDS))
        )
    present = [k for k in KINDS if any(by_kind.get(r["marketplace"], {}).get(k) for r in rows)]
    scale = max((sum(v for _, v in b.parts) for b in bars), default=0)
    legend = tuple((k, KIND_LABELS.get(k, k)) for k in present)
    return Chart("New findings per marketplace", tuple(bars), scale, legend)


def acceptance_chart(stats: Sequence[PlatformStats]) -> Chart:
    """The share of decided cases each platform acted on, against the floor platforms hold
    reporters to."""
    bars = tuple(
        Bar(
            _label(s.platform),
            f"{s.acceptance:.0%} of {s.decided}" if s.acceptance is not None else "undecided",
            (("ok" if s.acceptance >= ACCEPTANCE_FLOOR else "low", s.acceptance),)
            if s.acceptance is not None
            else (),
        )
        for s in stats
    )
    floor = f"{ACCEPTANCE_FLOOR:.0%} floor"
    return Chart("Acceptance per platform", bars, 1.0, rule=ACCEPTANCE_FLOOR, rule_label=floor)


def days_chart(stats: Sequence[PlatformStats]) -> Chart:
    """The median days from submission to removal per platform."""
    bars = tuple(
        Bar(
            _label(s.platform),
            f"{s.median_days:g} d (n={len(s.days_to_removal)})"
            if s.median_days is not None
            else "none removed",
            (("days", s.median_days),) if s.median_days is not None else (),
        )
        for s in stats
    )
    scale = max((s.median_days or 0 for s in stats), default=0)
    return Chart("Median days to removal", bars, scale)
