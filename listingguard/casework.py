"""Cases in the store: approval, submission, outcomes, re-checks, relistings and statistics.

``takedown.cases`` says which moves are allowed; this module makes them in the store, one
event per change (who, when, why, and the capture that proves a removal), so a case's history
can be shown to a platform or a court. Findings follow their cases: ``reported`` once their
notice is submitted, ``resolved`` once the listing is gone.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from listingguard import store
from listingguard.allowlist import authorised_seller
from listingguard.errors import NotFound
from listingguard.notices import TakedownError, load_platforms
from listingguard.workspace import Workspace
from takedown import cases as lifecycle
from takedown.clock import deadline

FINDING_AFTER = {"submitted": "reported", "removed": "resolved", "rejected": "confirmed"}


def notice_row(ws: Workspace, notice_id: int) -> dict[str, Any]:
    rows = list(ws.db.query("SELECT * FROM notices WHERE id = ?", [notice_id]))
    if not rows:
        raise NotFound(f"no notice {notice_id} (see `listingguard takedown list`)")
    return rows[0]


def _event(
    db: Any,
    case_id: int,
    status: str,
    note: str,
    capture_id: int | None = None,
    at: str | None = None,
) -> None:
    db["case_events"].insert(
        {
            "case_id": case_id,
            "at": at or store.now(),
            "status": status,
            "note": note,
            "capture_id": capture_id,
        }
    )


def _findings_to(db: Any, notice_id: int, status: str, listing_id: int | None = None) -> None:
    sql = (
        "UPDATE findings SET status = ? WHERE id IN (SELECT finding_id FROM notice_findings "
        "WHERE notice_id = ?)"
    )
    args: list[Any] = [status, notice_id]
    if listing_id is not None:
        sql += " AND listing_id = ?"
        args.append(listing_id)
    db.execute(sql, args)


def _reportable(ws: Workspace, notice_id: int) -> None:
    """Every finding of the notice is still confirmed and its seller still not authorised:
    a finding may have been dismissed, or the allowlist grown, since the draft."""
    problems = []
    for r in ws.db.query(
        "SELECT f.id, f.status, l.marketplace, l.url, l.seller_id, l.seller_name, l.seller_url "
        "FROM notice_findings nf JOIN findings f ON f.id = nf.finding_id "
        "JOIN listings l ON l.id = f.listing_id WHERE nf.notice_id = ?",
        [notice_id],
    ):
        allowed = authorised_seller(ws.config, r)
        if allowed:
            problems.append(f"finding {r['id']} is on {allowed.name} ([[authorised]]) now")
        elif r["status"] != "confirmed":
            problems.append(f"finding {r['id']} is {r['status']} now, not confirmed")
    if problems:
        raise TakedownError(
            "\n".join(problems)
            + f"\nnotice {notice_id} cannot go on: discard it and draft again without them"
        )


def approve(ws: Workspace, notice_ids: list[int], by: str) -> list[int]:
    """A person's approval: the only way a draft can go on to be filed."""
    if not by.strip():
        raise TakedownError("--by: name the person who approves the notice")
    for nid in notice_ids:
        row = notice_row(ws, nid)
        _check(lifecycle.NOTICE_FLOW, row["status"], "approved", f"notice {nid}")
        _reportable(ws, nid)
    with store.transaction(ws.db) as db:
        for nid in notice_ids:
            stamp = store.now()
            db["notices"].update(
                nid,
                {
                    "status": "approved",
                    "approved_at": stamp,
                    "approved_by": by,
                    "updated_at": stamp,
                },
            )
    return notice_ids


def _check(flow: dict[str, tuple[str, ...]], current: str, new: str, what: str) -> None:
    try:
        lifecycle.check(flow, current, new, what)
    except lifecycle.TransitionError as exc:
        raise TakedownError(str(exc)) from None


def discard(ws: Workspace, notice_id: int) -> None:
    """Drop a draft (its findings can be drafted again); approved notices are kept."""
    row = notice_row(ws, notice_id)
    if row["status"] != "draft":
        raise TakedownError(f"notice {notice_id} is {row['status']}: only drafts are discarded")
    with store.transaction(ws.db) as db:
        db.execute("DELETE FROM notice_findings WHERE notice_id = ?", [notice_id])
        db.execute("DELETE FROM notices WHERE id = ?", [notice_id])
    for key in ("path", "pack_path"):  # a draft's files go with it (its id may be reused)
        if row[key]:
            Path(row[key]).unlink(missing_ok=True)


def _listings(ws: Workspace, notice_id: int) -> list[int]:
    return [
        r[0]
        for r in ws.db.execute(
            "SELECT DISTINCT f.listing_id FROM notice_findings nf JOIN findings f "
            "ON f.id = nf.finding_id WHERE nf.notice_id = ? ORDER BY 1",
            [notice_id],
        )
    ]


def _on(on: dt.date | None, after: str | None = None) -> tuple[dt.date, str]:
    """The day an event happened and its timestamp; never in the future, never before
    ``after`` (the case was opened then), or the statistics would be nonsense."""
    today = dt.datetime.now(dt.UTC).date()
    if on is not None and on > today:
        raise TakedownError(f"--on {on}: that is in the future")
    if on is not None and after and on < dt.date.fromisoformat(after[:10]):
        raise TakedownError(f"--on {on}: before the case was opened ({after[:10]})")
    day = on or today
    stamp = store.now() if on is None else f"{day.isoformat()}T12:00:00Z"
    return day, stamp


def submit(
    ws: Workspace, notice_id: int, reference: str = "", on: dt.date | None = None
) -> list[int]:
    """The person filed the approved notice: one case per listing, with the seller's window
    as the first deadline where the platform gives the seller one."""
    row = notice_row(ws, notice_id)
    _check(lifecycle.NOTICE_FLOW, row["status"], "submitted", f"notice {notice_id}")
    _reportable(ws, notice_id)
    platform = load_platforms(ws.config).get(row["platform"])
    clock = platform.clock(row["legal_basis"]) if platform else None
    day, stamp = _on(on)
    due = (
        deadline(day, clock).isoformat()
        if clock and clock.party == "respondent" and clock.days
        else None
    )
    created = []
    with store.transaction(ws.db) as db:
        db["notices"].update(
            notice_id,
            {
                "status": "submitted",
                "submitted_at": stamp,
                "updated_at": stamp,
                "reference": reference or None,
            },
        )
        for listing in _listings(ws, notice_id):
            case_id = (
                db["cases"]
                .insert(
                    {
                        "notice_id": notice_id,
                        "listing_id": listing,
                        "status": "submitted",
                        "opened_at": stamp,
                        "deadline": due,
                        "relisted_from": _relisted_from(db, listing),
                    }
                )
                .last_pk
            )
            note = f"filed with {row['platform']}" + (
                f" (reference {reference})" if reference else ""
            )
            if due:
                note += f"; the seller's window closes {due}"
            _event(db, case_id, "submitted", note, at=stamp)
            created.append(case_id)
        _findings_to(db, notice_id, FINDING_AFTER["submitted"])
    return created


def _relisted_from(db: Any, listing_id: int) -> int | None:
    row = db.execute(
        "SELECT case_id FROM relistings WHERE listing_id = ? ORDER BY found_at LIMIT 1",
        [listing_id],
    ).fetchone()
    return row[0] if row else None


def case_rows(ws: Workspace, notice_id: int, listing_id: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM cases WHERE notice_id = ?"
    args: list[Any] = [notice_id]
    if listing_id is not None:
        sql += " AND listing_id = ?"
        args.append(listing_id)
    return list(ws.db.query(sql, args))


def mark(
    ws: Workspace,
    notice_id: int,
    status: str,
    *,
    listing_id: int | None = None,
    reason: str = "",
    reference: str = "",
    on: dt.date | None = None,
    capture_id: int | None = None,
) -> list[dict[str, Any]]:
    """Record what the platform did with a notice (or one of its listings)."""
    row = notice_row(ws, notice_id)
    if status == "submitted" and row["status"] in ("draft", "approved"):
        submit(ws, notice_id, reference, on)
        return case_rows(ws, notice_id)
    if status == "rejected" and not reason:
        raise TakedownError("--reason: say why the platform rejected it (it is kept for stats)")
    if row["status"] in ("draft", "approved"):
        raise TakedownError(
            f"notice {notice_id} is {row['status']}: mark it submitted once you have filed it"
        )
    rows = case_rows(ws, notice_id, listing_id)
    if not rows:
        raise NotFound(f"notice {notice_id} has no case for listing {listing_id}")
    for c in rows:
        _check(lifecycle.CASE_FLOW, c["status"], status, f"case {c['id']}")
    # only a counter-notice needs the platform's clock (recheck marks many cases removed)
    platform = load_platforms(ws.config).get(row["platform"]) if status == "countered" else None
    day, stamp = _on(on, max(c["opened_at"] for c in rows))
    with store.transaction(ws.db) as db:
        for c in rows:
            # when a person recorded it (the event's own date may be earlier, with --on)
            change: dict[str, Any] = {"status": status, "last_checked_at": store.now()}
            note = reason
            if status == "countered":
                clock = platform.clock(row["legal_basis"]) if platform else None
                # A respondent's clock ran from submission; the counter-notice starts the
                # complainant's (to sue, or the listing is restored).
                if clock and clock.days and clock.party == "complainant":
                    due = deadline(day, clock)
                    change["deadline"] = due.isoformat()
                    note = (note + "; " if note else "") + (
                        f"counter-notice received {day}; "
                        f"{clock.party} must act by {due} ({clock.rule})"
                    )
            if status in lifecycle.CLOSED:
                change["closed_at"] = stamp
            if status == "submitted":  # refiled after a rejection
                change.update(closed_at=None, reason=None)
                note = note or "filed again" + (f" (reference {reference})" if reference else "")
            if status == "rejected":
                change["reason"] = reason
            db["cases"].update(c["id"], change)
            _event(db, c["id"], status, note, capture_id, at=stamp)
            after = FINDING_AFTER.get(status)
            if after:
                _findings_to(db, notice_id, after, c["listing_id"])
        _sync_notice(db, notice_id)
    return case_rows(ws, notice_id, listing_id)


def _sync_case_notice(db: Any, case_id: int) -> None:
    _sync_notice(
        db, db.execute("SELECT notice_id FROM cases WHERE id = ?", [case_id]).fetchone()[0]
    )


def _sync_notice(db: Any, notice_id: int) -> None:
    current = db.execute("SELECT status FROM notices WHERE id = ?", [notice_id]).fetchone()[0]
    statuses = [
        r[0] for r in db.execute("SELECT status FROM cases WHERE notice_id = ?", [notice_id])
    ]
    db["notices"].update(
        notice_id,
        {"status": lifecycle.notice_status(statuses, current), "updated_at": store.now()},
    )


def open_cases(ws: Workspace) -> list[dict[str, Any]]:
    """Cases whose listing should be looked at again: filed, or countered and waiting."""
    return list(
        ws.db.query(
            "SELECT c.id, c.notice_id, c.listing_id, c.status, l.marketplace, l.url "
            "FROM cases c JOIN listings l ON l.id = c.listing_id "
            "WHERE c.status IN ('submitted', 'countered', 'restored') ORDER BY c.id"
        )
    )


def recheck(ws: Workspace, stop: threading.Event | None = None) -> list[dict[str, Any]]:
    """Re-crawl every open case's listing and record removals (with the capture as proof);
    ``stop`` ends it early (the scheduler's SIGTERM)."""
    from listingguard import recheck as recheck_mod

    cases = open_cases(ws)
    targets = [
        recheck_mod.RecheckTarget(c["listing_id"], c["marketplace"], c["url"]) for c in cases
    ]
    results = recheck_mod.check(ws, targets, stop) if targets else {}
    report = []
    for c in cases:
        r = results.get(c["listing_id"])
        if r is None:
            continue
        entry = {
            "case": c["id"],
            "notice": c["notice_id"],
            "url": c["url"],
            "was": c["status"],
            "result": r.status,
            "reason": r.reason,
        }
        with store.transaction(ws.db) as db:
            db["cases"].update(c["id"], {"last_checked_at": r.checked_at})
        if r.status == "removed" and c["status"] != "removed":
            try:
                mark(
                    ws,
                    c["notice_id"],
                    "removed",
                    listing_id=c["listing_id"],
                    reason=f"recheck: {r.reason}",
                    capture_id=r.capture_id,
                )
            except TakedownError as exc:  # one odd case never stops the others
                entry["reason"] += f" (not recorded: {exc})"
        elif r.status in ("blocked", "error"):
            with store.transaction(ws.db) as db:
                _event(
                    db, c["id"], c["status"], f"recheck could not tell: {r.reason}", r.capture_id
                )
        entry["now"] = ws.db.execute("SELECT status FROM cases WHERE id = ?", [c["id"]]).fetchone()[
            0
        ]
        report.append(entry)
    link_relistings(ws.db)
    return report


def link_relistings(db: Any) -> list[dict[str, Any]]:
    """A new listing by the seller of a removed case, carrying a finding on the same asset,
    continues that case: the old case becomes ``relisted`` and the link is kept. And a removed
    listing that a sweep finds live again at its own URL makes its case ``restored``. Run after
    every sweep and recheck."""
    back_online(db)
    found = list(
        db.query(
            """
            SELECT DISTINCT c.id AS case_id, l2.id AS listing_id, f2.id AS finding_id, l2.url
            FROM cases c
            JOIN listings l1 ON l1.id = c.listing_id
            JOIN notice_findings nf ON nf.notice_id = c.notice_id
            JOIN findings f1 ON f1.id = nf.finding_id AND f1.listing_id = c.listing_id
            JOIN listings l2 ON l2.marketplace = l1.marketplace AND l2.seller_id = l1.seller_id
                 AND l2.id != l1.id AND l2.first_seen >= c.closed_at
            JOIN findings f2 ON f2.listing_id = l2.id AND f2.asset_id = f1.asset_id
                 AND f2.kind = f1.kind
            WHERE c.status = 'removed' AND l1.seller_id IS NOT NULL AND l1.seller_id != ''
              AND NOT EXISTS (SELECT 1 FROM relistings r WHERE r.case_id = c.id
                              AND r.listing_id = l2.id)
              AND NOT EXISTS (SELECT 1 FROM cases c2 WHERE c2.listing_id = l2.id
                              AND c2.notice_id = c.notice_id)
            """
        )
    )
    if not found:
        return []
    with store.transaction(db):
        for r in found:
            db["relistings"].insert(
                {
                    "case_id": r["case_id"],
                    "listing_id": r["listing_id"],
                    "finding_id": r["finding_id"],
                    "found_at": store.now(),
                },
                ignore=True,
            )
            db["cases"].update(r["case_id"], {"status": "relisted"})
            _event(
                db, r["case_id"], "relisted", f"relisted as {r['url']} (finding {r['finding_id']})"
            )
            _sync_case_notice(db, r["case_id"])
    return found


def back_online(db: Any) -> list[int]:
    """Removed cases whose own listing a later sweep saw live again: ``restored``."""
    cases = [
        r[0]
        for r in db.execute(
            "SELECT c.id FROM cases c JOIN listings l ON l.id = c.listing_id "
            "WHERE c.status = 'removed' AND l.status = 'active' AND l.last_seen > c.closed_at "
            "AND l.last_seen > IFNULL(c.last_checked_at, '')"
        )
    ]
    with store.transaction(db):
        for case_id in cases:
            db["cases"].update(case_id, {"status": "restored"})
            _event(db, case_id, "restored", "the listing was seen live again by a sweep")
            _sync_case_notice(db, case_id)
    return cases


def list_notices(ws: Workspace, status: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT n.id, n.platform, n.legal_basis, n.status, n.format, n.path, n.pack_path, "
        "n.created_at, n.approved_by, n.submitted_at, n.reference, "
        "(SELECT COUNT(DISTINCT f.listing_id) FROM notice_findings nf JOIN findings f "
        " ON f.id = nf.finding_id WHERE nf.notice_id = n.id) AS listings, "
        "(SELECT GROUP_CONCAT(finding_id) FROM notice_findings WHERE notice_id = n.id) AS findings, "
        "(SELECT MIN(deadline) FROM cases WHERE notice_id = n.id AND status = 'countered') AS deadline "
        "FROM notices n"
    )
    args = []
    if status:
        sql += " WHERE n.status = ?"
        args.append(status)
    return list(ws.db.query(sql + " ORDER BY n.id", args))


def list_cases(ws: Workspace) -> list[dict[str, Any]]:
    return list(
        ws.db.query(
            "SELECT c.id, c.notice_id, n.platform, c.status, c.deadline, c.reason, c.opened_at, "
            "c.closed_at, c.last_checked_at, c.relisted_from, l.url, l.seller_name "
            "FROM cases c JOIN notices n ON n.id = c.notice_id JOIN listings l ON l.id = c.listing_id "
            "ORDER BY c.id"
        )
    )


def stats(ws: Workspace) -> list[lifecycle.PlatformStats]:
    notices = ws.db.query("SELECT platform FROM notices WHERE status NOT IN ('draft', 'approved')")
    cases = ws.db.query(
        "SELECT n.platform, c.status, c.opened_at, "
        "(SELECT MIN(at) FROM case_events e WHERE e.case_id = c.id AND e.status = 'removed') "
        "AS removed_at, "
        "EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.status = 'countered') "
        "AS ever_countered FROM cases c JOIN notices n ON n.id = c.notice_id"
    )
    return lifecycle.stats(notices, cases)
