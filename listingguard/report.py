"""The sweep report: one self-contained HTML page of what a sweep crawled, found and blocked, and
where the takedowns stand.

The page stands alone (thumbnails are ``data:`` URIs, the style and the charts are inline, its
Content-Security-Policy lets nothing load or run), so it can be mailed or archived with a sweep.
Everything scraped is hostile: it reaches the page only as autoescaped template variables, its
invisible characters shown as code points, and a URL is a link only when it is http(s).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, PackageLoader
from jinja2.sandbox import SandboxedEnvironment
from sqlite_utils import Database

from listingguard import __version__, casework
from listingguard.charts import Chart, acceptance_chart, days_chart, findings_chart
from listingguard.links import http_url
from listingguard.packs import evidence_views
from listingguard.workspace import Workspace
from takedown import packhtml
from takedown.cases import PlatformStats

MAX_FINDINGS = 200  # findings shown with their evidence; past it the report says how many more
MAX_BLOCKED = 500
THUMB_SIDE = 480
VIEW_BATCH = 25  # findings whose evidence is held in memory at once (their JPEGs are dropped)
SEVERITY_ORDER = (
    "CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END"
)


@functools.cache
def environment() -> SandboxedEnvironment:
    """``listingguard/templates`` with the pack templates behind them, so the report marks
    listing text with the very macro the evidence pack uses (``pack-macros.html.j2``)."""
    return packhtml.environment(
        ChoiceLoader(
            [PackageLoader("listingguard", "templates"), PackageLoader("takedown", "templates")]
        )
    )


def shown(text: str | None) -> list[packhtml.Segment]:
    """Scraped text as segments for the ``segments`` macro: invisible characters (a bidi
    override that would reorder the page, a zero-width space) shown as code points."""
    return packhtml.highlight(text or "", [])


# -- what the store says of the sweep -------------------------------------------------------------


def sweep_ids(summary: dict[str, Any]) -> list[int]:
    """The sweep ids of a sweep summary, one per marketplace, in order."""
    return list(dict.fromkeys(int(m["sweep"]) for m in summary.get("marketplaces", [])))


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" for _ in ids) or "NULL"


def _sweeps(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = db.query(f"SELECT * FROM sweeps WHERE id IN ({_marks(ids)})", list(ids))
    return {r["id"]: r for r in rows}


def when(stamp: str | None) -> str:
    """A stored UTC time as a reader wants it: ``2026-11-16 09:30:05``.

    >>> when("2026-11-16T09:30:05.123456Z")
    '2026-11-16 09:30:05'
    """
    return (stamp or "")[:19].replace("T", " ")


def _duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    try:
        a = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = int((b - a).total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


COUNTS = ("pages", "listings", "images", "blocked", "new_findings", "errors", "robots_forbidden",
          "refused")  # fmt: skip


STAGE = ("images_fingerprinted", "images_refused", "listings_matched", "new_findings",
         "updated_findings", "authorised_findings")  # fmt: skip


def marketplace_rows(
    summary: dict[str, Any], sweeps: dict[int, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The summary's marketplaces with their sweep's times, and the totals."""
    rows = []
    for m in summary.get("marketplaces", []):
        row = sweeps.get(int(m["sweep"]), {})
        rows.append(
            {
                "marketplace": str(m["marketplace"]),
                "sweep": int(m["sweep"]),
                "status": str(m.get("status") or row.get("status") or "unknown"),
                "resumed": bool(m.get("resumed")),
                **{k: int(m.get(k) or 0) for k in COUNTS},
                "started_at": when(row.get("started_at")),
                "finished_at": when(row.get("finished_at")),
                "duration": _duration(row.get("started_at"), row.get("finished_at")),
                "log": str(m.get("log") or ""),
            }
        )
    return rows, {k: sum(r[k] for r in rows) for k in COUNTS}


def new_findings(db: Database, ids: Sequence[int]) -> list[int]:
    """The ids of the sweep's findings still awaiting review, best first: severity, then score."""
    return [
        r[0]
        for r in db.execute(
            f"SELECT f.id FROM findings f WHERE f.sweep_id IN ({_marks(ids)}) "
            f"AND f.status = 'new' ORDER BY {SEVERITY_ORDER}, f.score DESC, f.id",
            list(ids),
        )
    ]


def kinds_by_marketplace(db: Database, ids: Sequence[int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for market, kind, n in db.execute(
        "SELECT l.marketplace, f.kind, COUNT(*) FROM findings f JOIN listings l "
        f"ON l.id = f.listing_id WHERE f.sweep_id IN ({_marks(ids)}) AND f.status = 'new' "
        "GROUP BY 1, 2",
        list(ids),
    ):
        out.setdefault(market, {})[kind] = n
    return out


def evidence(ws: Workspace, ids: Sequence[int], since: str) -> list[dict[str, Any]]:
    """Each finding as the evidence pack would show it, with its link (http(s) only) and
    whether this sweep saw it first; the JPEG bytes are dropped once made a thumbnail."""
    views = []
    for start in range(0, len(ids), VIEW_BATCH):
        for v in evidence_views(ws, list(ids[start : start + VIEW_BATCH]), max_side=THUMB_SIDE):
            v.pop("jpeg", None)
            views.append(
                {
                    **v,
                    "href": http_url(v["url"]),
                    "seen": when(v.get("first_seen")),
                    "last": when(v.get("last_seen")),
                    "fresh": bool(since) and (v.get("first_seen") or "") >= since,
                    "title_shown": shown(v["title"] or "(no title)"),
                    "seller_shown": shown(v["seller"]),
                    "url_shown": shown(v["url"]),
                    "explanation_shown": shown(v["explanation"]),
                }
            )
    return views


def blocked_pages(db: Database, ids: Sequence[int], limit: int) -> tuple[list[dict[str, Any]], int]:
    """The bot walls this sweep met (the crawler keeps each as a capture of kind 'blocked',
    its note naming the provider and the rule that fired), at most ``limit``; and how many."""
    where = f"c.kind = 'blocked' AND c.sweep_id IN ({_marks(ids)})"
    total = db.execute(f"SELECT COUNT(*) FROM captures c WHERE {where}", list(ids)).fetchone()[0]
    rows = db.query(
        "SELECT c.url, c.http_status, c.captured_at, c.note, s.marketplace FROM captures c "
        f"LEFT JOIN sweeps s ON s.id = c.sweep_id WHERE {where} ORDER BY c.captured_at, c.id "
        "LIMIT ?",
        [*ids, limit],
    )
    return [
        {
            **r,
            "captured_at": when(r["captured_at"]),
            "href": http_url(r["url"]),
            "url_shown": shown(r["url"]),
            "note_shown": shown(r["note"]),
        }
        for r in rows
    ], total


def overall(stats: Iterable[PlatformStats]) -> PlatformStats:
    """Every platform's figures added up, as one."""
    total = PlatformStats("all platforms")
    for s in stats:
        for name in ("notices", "cases", "open", "removed", "rejected", "countered", "restored",
                     "relisted"):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(s, name))
        total.days_to_removal += s.days_to_removal
    return total


def relistings_found(db: Database, ids: Sequence[int]) -> int:
    """Relistings of reported listings among the listings this sweep stored."""
    return db.execute(
        "SELECT COUNT(*) FROM relistings r JOIN listings l ON l.id = r.listing_id "
        f"WHERE l.sweep_id IN ({_marks(ids)})",
        list(ids),
    ).fetchone()[0]


def _stat_row(s: PlatformStats) -> dict[str, Any]:
    return {
        **s.as_dict(),
        "acceptance": f"{s.acceptance:.0%}" if s.acceptance is not None else "—",
        "counter": f"{s.counter_rate:.0%}" if s.counter_rate is not None else "—",
        "median": f"{s.median_days:g}" if s.median_days is not None else "—",
    }


@dataclass
class Takedowns:
    """The takedown figures the report shows."""

    platforms: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] | None = None
    charts: list[Chart] = field(default_factory=list)
    relistings: int = 0


def takedowns(ws: Workspace, ids: Sequence[int]) -> Takedowns:
    stats = [s for s in casework.stats(ws) if s.notices or s.cases]
    found = relistings_found(ws.db, ids)
    if not stats:
        return Takedowns(relistings=found)
    charts = [acceptance_chart(stats)]
    if any(s.days_to_removal for s in stats):
        charts.append(days_chart(stats))
    return Takedowns([_stat_row(s) for s in stats], _stat_row(overall(stats)), charts, found)


# -- the page -------------------------------------------------------------------------------------


def _utc(now: dt.datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M UTC")


def context(ws: Workspace, summary: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Everything the template shows, from the summary and the store."""
    db = ws.db
    ids = sweep_ids(summary)
    sweeps = _sweeps(db, ids)
    rows, totals = marketplace_rows(summary, sweeps)
    started = min((s["started_at"] for s in sweeps.values() if s["started_at"]), default="")
    finished = max((s["finished_at"] or "" for s in sweeps.values()), default="")
    pending = new_findings(db, ids)
    shown_ids = pending[:MAX_FINDINGS]
    views = evidence(ws, shown_ids, started)
    blocked, blocked_total = blocked_pages(db, ids, MAX_BLOCKED)
    by_kind = kinds_by_marketplace(db, ids)
    fresh = (
        db.execute(
            f"SELECT COUNT(*) FROM findings WHERE sweep_id IN ({_marks(ids)}) "
            "AND status = 'new' AND first_seen >= ?",
            [*ids, started],
        ).fetchone()[0]
        if started
        else 0
    )
    owner = ws.config.owner
    return {
        "owner": owner.legal_name,
        "company": owner.company if owner.company and owner.company != owner.legal_name else "",
        "generated": _utc(now),
        "version": __version__,
        "sweep_ids": ids,
        "started": when(started),
        "finished": when(finished),
        "marketplaces": rows,
        "totals": totals,
        "stage": {k: int(summary.get(k) or 0) for k in STAGE},
        "failed": [r for r in rows if r["status"] not in ("finished",)],
        "stopped": bool(summary.get("stopped")),  # asked to stop (the scheduler's SIGTERM)
        "findings": views,
        "pending": len(pending),
        "fresh": fresh,
        "more": len(pending) - len(shown_ids),
        "findings_chart": findings_chart(rows, by_kind) if pending else None,
        "blocked": blocked,
        "blocked_more": blocked_total - len(blocked),
        "takedowns": takedowns(ws, ids),
    }


def render_report(
    ws: Workspace, summary: dict[str, Any], *, now: dt.datetime | None = None
) -> bytes:
    """The sweep report of ``summary`` (``SweepResult.summary()``, or ``sweep --json``)."""
    page = environment().get_template("report.html.j2")
    stamp = now or dt.datetime.now(dt.UTC)
    return page.render(**context(ws, summary, stamp)).encode("utf-8")


def report_folder(reports: Path, ids: Sequence[int], now: dt.datetime) -> Path:
    """A new folder ``sweep-<first id>-<UTC time>`` in ``reports``, made unique there."""
    name = f"sweep-{ids[0]}-" if ids else "sweep-"
    base = reports / (name + now.strftime("%Y%m%dT%H%M%SZ"))
    reports.mkdir(parents=True, exist_ok=True)
    folder, n = base, 2
    while True:
        try:
            folder.mkdir()
        except FileExistsError:
            folder, n = base.with_name(f"{base.name}-{n}"), n + 1
            continue
        return folder


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: a crash leaves the old file or none, never half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            if hasattr(os, "fchmod"):  # mkstemp's 0600 would keep the report from being shared
                os.fchmod(fh.fileno(), 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(ws: Workspace, summary: dict[str, Any], out: Path | None = None) -> Path:
    """Render the sweep report and write it to ``out`` (default: ``report.html`` in a new folder
    ``sweep-<first sweep id>-<UTC time>`` of the workspace's reports folder); its path."""
    now = dt.datetime.now(dt.UTC)
    data = render_report(ws, summary, now=now)
    if out is None:
        out = report_folder(ws.config.workspace.reports, sweep_ids(summary), now) / "report.html"
    _write(out, data)
    return out
