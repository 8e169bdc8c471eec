"""Alerts: what a sweep found, and the daily digest, sent by email and to a JSON webhook.

An alert is built from the store (``sweep_alert``, ``digest_alert``) as plain data, then
``send`` delivers it on every enabled channel. Scraped text (titles, sellers) is hostile: it is
stripped of control characters before it is shown, escaped in HTML, and never put in a header.
Delivery never raises: a sweep must not fail because the mail server is down.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from listingguard.config import Config
from listingguard.links import http_url

logger = logging.getLogger(__name__)

TOP = 10  # findings an alert lists; the report has the rest
DUE_DAYS = 3  # a case deadline this close (or past) is called out in the digest
TIMEOUT_S = 30.0
MAX_FIELD = 300  # characters of one scraped string an alert shows
SEVERITIES = ("low", "medium", "high")
RANK = {s: i for i, s in enumerate(SEVERITIES)}
OUTCOMES = ("removed", "rejected", "countered", "restored", "relisted")
# A severity other than medium or high (or none) ranks as low.
_RANK_SQL = "(CASE f.severity WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END)"
_BIDI = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_FINDINGS_SQL = (
    f"SELECT f.id, f.kind, {_RANK_SQL} AS rank, f.score, f.explanation, l.title, l.url, "
    "l.marketplace, COALESCE(NULLIF(l.seller_name, ''), l.seller_id) AS seller "
    "FROM findings f JOIN listings l ON l.id = f.listing_id"
)


def clean(value: object) -> str:
    """Scraped text made safe to show: no control characters (terminal escapes, the CR/LF that
    would forge a header line), no bidi overrides, whitespace collapsed, at most MAX_FIELD long.

    >>> clean("Bag\\r\\nBcc: x@evil\\x1b[2J")
    'Bag Bcc: x@evil[2J'
    """
    text = "" if value is None else str(value)[: MAX_FIELD * 4]
    text = "".join(
        (" " if c.isspace() else "") if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in text.translate(_BIDI)
    )
    text = " ".join(text.split())
    return text if len(text) <= MAX_FIELD else text[: MAX_FIELD - 1] + "…"


def _plain(value: object) -> str:
    """Clean text that chat tools will not act on: no Slack ``<!here>`` or ``<url|link>``, no
    ``@channel`` mention, no Markdown link or tracking image (``![x](http://...)``)."""
    text = clean(value).replace("<", "‹").replace(">", "›").replace("](", "] (")
    return text.replace("@", "@\u200b")


def _finding(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "severity": SEVERITIES[row["rank"]],
        "score": row["score"],
        "title": clean(row["title"]),
        "url": clean(row["url"]),
        "marketplace": clean(row["marketplace"]),
        "seller": clean(row["seller"]),
        "explanation": clean(row["explanation"]),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _by_severity(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts.get(s))


def _link(url: object, title: object) -> str:
    """An escaped link to a listing; a URL that is not http(s) (``javascript:``) is not linked."""
    text = html.escape(clean(title) or clean(url))
    href = http_url(clean(url))
    if href is None:
        return text
    return f'<a href="{html.escape(href)}">{text}</a>'


@dataclass(frozen=True)
class Alert:
    """What to tell the team, as plain data; ``text`` and ``html`` render it."""

    kind: str  # "sweep" or "digest"
    subject: str
    counts: dict[str, Any]
    findings: list[dict[str, Any]]  # the top findings, at most TOP
    report: str | None

    def _summary(self) -> list[str]:
        c = self.counts
        if self.kind == "sweep":
            lines = [f"New findings at or above {c['min_severity']} severity, by marketplace:"]
            for m in c["marketplaces"]:
                lines.append(
                    f"  {_plain(m['marketplace'])} (sweep {m['sweep']}): {m['new_findings']} new"
                    f" - {m['pages']} pages, {m['listings']} listings, {m['blocked']} blocked,"
                    f" {m['errors']} errors, {_plain(m['status'])}"
                )
            return lines
        since = c["since"] or "the first sweep"
        new = f"Since {since}: {_plural(c['new_findings'], 'new finding')}"
        if c["new_findings"]:
            new += f" ({_by_severity(c['by_severity'])})"
        due = f"Open cases: {c['open_cases']}; due within {DUE_DAYS} days or past:"
        lines = [new, f"Awaiting review: {c['awaiting_review']}", due]
        for d in c["cases_due"]:
            lines.append(
                f"  case {d['case']} (notice {d['notice']}, {_plain(d['platform'])},"
                f" {d['status']}): deadline {d['deadline']}{' (past)' if d['overdue'] else ''}"
            )
        if not c["cases_due"]:
            lines[-1] += " none"
        outcomes = ", ".join(f"{s} {n}" for s, n in c["outcomes"].items())
        lines.append(f"Takedown outcomes since {since}: {outcomes or 'none'}")
        return lines

    def text(self) -> str:
        """The plain-text body (also the webhook's ``text``)."""
        lines = [clean(self.subject), "", *self._summary()]
        if self.findings:
            lines += ["", "Top findings:"]
        for i, f in enumerate(self.findings, 1):
            lines += [
                f"{i:>3}. [{f['severity']}] {f['kind']} {f['score']:.2f} (finding {f['id']}):"
                f" {_plain(f['title'])}",
                f"     {_plain(f['marketplace'])}, seller {_plain(f['seller']) or '-'}",
                f"     {_plain(f['url'])}",
                f"     {_plain(f['explanation'])}",
            ]
        if self.report:
            lines += ["", f"Report: {_plain(self.report)}"]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """The HTML alternative of an email: the summary, then the findings as a table; every
        string escaped."""
        esc = html.escape
        summary = "<br>\n".join(esc(line) for line in self._summary())
        rows = "".join(
            f"<tr><td>{esc(f['severity'])}</td><td>{esc(f['kind'])}</td>"
            f"<td>{f['score']:.2f}</td><td>{_link(f['url'], f['title'])}</td>"
            f"<td>{esc(clean(f['marketplace']))}</td><td>{esc(clean(f['seller']))}</td>"
            f"<td>{esc(clean(f['explanation']))}</td></tr>\n"
            for f in self.findings
        )
        table = (
            "<table><tr><th>Severity</th><th>Kind</th><th>Score</th><th>Listing</th>"
            f"<th>Marketplace</th><th>Seller</th><th>Why</th></tr>\n{rows}</table>\n"
            if rows
            else ""
        )
        report = f"<p>Report: {_link(self.report, self.report)}</p>\n" if self.report else ""
        return (
            f"<html><body><h2>{esc(clean(self.subject))}</h2>\n<p>{summary}</p>\n"
            f"{table}{report}</body></html>\n"
        )

    def as_json(self) -> dict[str, Any]:
        """The webhook payload; ``text`` first, which Slack-style incoming webhooks show."""
        return {
            "text": self.text(),
            "kind": self.kind,
            "subject": self.subject,
            "counts": self.counts,
            "findings": self.findings,
            "report": self.report,
        }


def sweep_alert(
    db: Database, config: Config, summary: dict[str, Any], report: str | None
) -> Alert | None:
    """The findings this sweep found first (still ``new``) at or above
    ``alerts.min_severity``; None when there are none, so nothing is sent.

    A finding's ``sweep_id`` moves to every sweep that matches its listing again (a seller
    changing the price), so "of this sweep" is also "first seen since this sweep started":
    findings waiting for review since an earlier sweep are the digest's, not alerted again.
    """
    markets = [m for m in summary.get("marketplaces", []) if m.get("sweep") is not None]
    if not markets:
        return None
    floor = RANK[config.alerts.min_severity]
    ids = [m["sweep"] for m in markets]
    where = (
        f"f.status = 'new' AND f.sweep_id IN ({', '.join('?' * len(ids))}) AND {_RANK_SQL} >= ? "
        "AND f.first_seen >= (SELECT s.started_at FROM sweeps s WHERE s.id = f.sweep_id)"
    )
    per: dict[int, int] = {}
    by_severity = dict.fromkeys(SEVERITIES[floor:][::-1], 0)
    for sweep_id, rank, n in db.execute(
        f"SELECT f.sweep_id, {_RANK_SQL}, COUNT(*) FROM findings f WHERE {where} GROUP BY 1, 2",
        [*ids, floor],
    ):
        per[sweep_id] = per.get(sweep_id, 0) + n
        by_severity[SEVERITIES[rank]] += n
    total = sum(per.values())
    if not total:
        return None
    top = db.query(
        f"{_FINDINGS_SQL} WHERE {where} ORDER BY rank DESC, f.score DESC, f.id LIMIT {TOP}",
        [*ids, floor],
    )
    counts = {
        "new_findings": total,
        "by_severity": by_severity,
        "min_severity": config.alerts.min_severity,
        "marketplaces": [
            {
                "marketplace": m["marketplace"],
                "sweep": m["sweep"],
                "new_findings": per.get(m["sweep"], 0),
                **{k: m.get(k, 0) for k in ("pages", "listings", "blocked", "errors")},
                "status": m.get("status", ""),
            }
            for m in markets
        ],
    }
    with_some = sum(1 for m in counts["marketplaces"] if m["new_findings"])
    subject = (
        f"listingguard: {_plural(total, 'new finding')} ({_by_severity(by_severity)})"
        f" on {_plural(with_some, 'marketplace')}"
    )
    return Alert("sweep", subject, counts, [_finding(r) for r in top], report)


def digest_alert(
    db: Database,
    config: Config,
    since: str | None,
    report: str | None,
    *,
    until: str | None = None,
    today: dt.date | None = None,
) -> Alert | None:
    """The daily digest; None when there is nothing to say.

    Counts every finding first seen since ``since`` (an ISO UTC time as ``store.now()`` writes
    it; None: ever) but the authorised ones, by severity, and lists the top of those still
    ``new`` at or above ``alerts.min_severity``; then the findings awaiting review, the open
    cases and those whose deadline is within DUE_DAYS of ``today`` (UTC) or past, and the
    takedown outcomes recorded since ``since``. With ``until`` only what happened before it
    counts: the digest job takes it before it looks, and the next digest starts there.
    """
    since = None if since is None else _store_time(since)
    until = None if until is None else _store_time(until)
    from listingguard import casework  # cases need the takedown side; sweep alerts do not
    from listingguard.workspace import Workspace

    bounds = [(">=", since), ("<", until)]
    after = "".join(f" AND f.first_seen {op} ?" for op, t in bounds if t)
    args = [t for _, t in bounds if t]
    by_severity = dict.fromkeys(reversed(SEVERITIES), 0)
    for rank, n in db.execute(
        f"SELECT {_RANK_SQL}, COUNT(*) FROM findings f WHERE f.status != 'authorised' {after} "
        "GROUP BY 1",
        args,
    ):
        by_severity[SEVERITIES[rank]] = n
    floor = RANK[config.alerts.min_severity]
    top = db.query(
        f"{_FINDINGS_SQL} WHERE f.status = 'new' AND {_RANK_SQL} >= ? {after} "
        f"ORDER BY rank DESC, f.score DESC, f.id LIMIT {TOP}",
        [floor, *args],
    )
    findings = [_finding(r) for r in top]
    awaiting = db.execute("SELECT COUNT(*) FROM findings WHERE status = 'new'").fetchone()[0]
    ws = Workspace(config, db)
    open_ids = {c["id"] for c in casework.open_cases(ws)}
    day = today or dt.datetime.now(dt.UTC).date()
    horizon = (day + dt.timedelta(days=DUE_DAYS)).isoformat()
    due = [
        {
            "case": c["id"],
            "notice": c["notice_id"],
            "platform": clean(c["platform"]),
            "status": c["status"],
            "deadline": c["deadline"][:10],
            "overdue": c["deadline"][:10] < day.isoformat(),
        }
        for c in casework.list_cases(ws)
        if c["id"] in open_ids and c["deadline"] and c["deadline"][:10] <= horizon
    ]
    # An outcome is an event that changed its case's status; a recheck that could not tell
    # records an event with the status unchanged.
    outcomes = dict(
        db.execute(
            "SELECT status, COUNT(*) FROM (SELECT status, at, LAG(status) OVER "
            "(PARTITION BY case_id ORDER BY at, id) AS before FROM case_events) "
            f"WHERE before IS NOT status AND status IN ({', '.join('?' * len(OUTCOMES))}) "
            f"{after.replace('f.first_seen', 'at')} GROUP BY status ORDER BY status",
            [*OUTCOMES, *args],
        ).fetchall()
    )
    new = sum(by_severity.values())
    if not (new or awaiting or open_ids or outcomes):
        return None
    counts = {
        "since": since,
        "new_findings": new,
        "by_severity": by_severity,
        "min_severity": config.alerts.min_severity,
        "awaiting_review": awaiting,
        "open_cases": len(open_ids),
        "cases_due": due,
        "outcomes": outcomes,
    }
    subject = (
        f"listingguard digest: {_plural(new, 'new finding')}, {awaiting} awaiting review, "
        f"{_plural(len(open_ids), 'open case')} ({len(due)} due)"
    )
    return Alert("digest", subject, counts, findings, report)


def _store_time(value: str) -> str:
    """An ISO 8601 time in the store's one format (UTC, with a Z), so that it compares as text
    with the store's timestamps; a time without an offset is taken as UTC."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"since: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
