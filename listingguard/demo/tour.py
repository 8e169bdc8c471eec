"""The demo's sweep: start the demo market, point the demo workspace at it, sweep, and grade.

The market knows the truth of every listing it serves (``DemoMarket.truth``), so the demo shows
not just what the sweep found but how that compares: counterfeits found, and genuine listings,
mentions and unrelated products left alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from listingguard import config as config_mod
from listingguard import jobs, sweep
from listingguard.demo.market import DemoMarket
from listingguard.workspace import Workspace

_LOCAL_URL = re.compile(r"http://127\.0\.0\.1:\d+")


def point_at(config_path: Path, base_url: str) -> None:
    """Rewrite the demo marketplaces' start URLs to the market's port (random at each start)."""
    text = config_path.read_text("utf-8")
    config_path.write_text(_LOCAL_URL.sub(base_url, text), "utf-8")


def _where(url: str) -> str:
    """A demo URL without its host and port, which change each time the market starts."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def set_marketplace_key(text: str, marketplace: str, key: str, value: str) -> str:
    """config.toml text with ``key = value`` in the table of ``marketplace`` (set or replaced),
    for tests and benchmarks that sweep part of the demo market."""
    header = f"[marketplaces.{marketplace}]\n"
    start = text.index(header) + len(header)
    end = text.find("\n[", start)
    end = len(text) if end < 0 else end
    lines = [ln for ln in text[start:end].split("\n") if not ln.startswith(f"{key} =")]
    return text[:start] + f"{key} = {value}\n" + "\n".join(lines) + text[end:]


REPORTABLE = frozenset({"new", "confirmed", "reported", "resolved"})
"""Finding statuses that mean "this listing is (to be) reported"; authorised and dismissed don't."""


def grade(db: Any, truth: list[Any]) -> dict[str, Any]:
    """The sweep's findings against the market's ground truth, listing by listing (by URL)."""
    kinds: dict[str, set[str]] = defaultdict(set)
    statuses: dict[str, set[str]] = defaultdict(set)
    for url, kind, status in db.execute(
        "SELECT l.url, f.kind, f.status FROM findings f JOIN listings l ON l.id = f.listing_id"
    ):
        kinds[_where(url)].add(kind)
        statuses[_where(url)].add(status)
    blocked = {_where(r[0]) for r in db.execute("SELECT url FROM captures WHERE kind = 'blocked'")}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"listings": 0, "right": 0})
    misses = []
    for t in truth:
        where = _where(t.url)
        if t.label == "counterfeit":
            right = bool(REPORTABLE & statuses[where]) and t.expect <= kinds[where]
        elif t.label == "genuine":
            right = not REPORTABLE & statuses[where]
        elif t.label == "blocked":
            right = where in blocked
        else:  # mention, unrelated: nothing to report
            right = not kinds[where]
        counts[t.label]["listings"] += 1
        counts[t.label]["right"] += right
        if not right:
            misses.append(
                {"label": t.label, "url": t.url, "expected": sorted(t.expect),
                 "found": sorted(kinds[where]), "note": t.note}
            )  # fmt: skip
    return {"labels": dict(counts), "misses": misses}


def run(workspace: Workspace, catalogue: Path, display: sweep.Display | None = None) -> dict:
    """Sweep the demo market with the demo workspace; the sweep summary and its grade."""
    with DemoMarket(catalogue) as market:
        point_at(workspace.config.path, market.base_url)
        config = config_mod.load(workspace.config.path)
        result = sweep.run(config, workspace.db, None, display)
        summary = jobs.after_sweep(Workspace(config, workspace.db), result.summary())
        return {
            "market": market.base_url,
            "sweep": summary,
            "grade": grade(workspace.db, market.truth),
        }
