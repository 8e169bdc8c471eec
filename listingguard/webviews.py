"""The review page's queue: findings with their evidence, confirmed, dismissed or reopened, and
sellers allowed. Routes of the ``review`` app (``listingguard.web``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from listingguard import findings as findings_mod
from listingguard import notices, packs, weballow
from listingguard.allowlist import authorised_seller
from listingguard.web import TEMPLATES, workspace
from listingguard.workspace import Workspace

views = Blueprint("review", __name__)

TABS = ("new", "confirmed", "dismissed")
PER_PAGE = 20
THUMB_SIDE = 560  # pixels: the registered photo and the listing image side by side
FLASH_LINES = 6
MOVES = {"confirmed": "Confirmed", "dismissed": "Dismissed", "new": "Reopened"}


def finding_ids() -> list[int]:
    """The finding ids a form sent (its ``id`` fields)."""
    try:
        return [int(v) for v in request.form.getlist("id")]
    except ValueError:
        abort(400, "finding ids are numbers")


def flash_problems(lines: list[str]) -> None:
    """Problems as messages, a few at most: they travel in the session cookie, which a browser
    drops (and the CSRF token with it) past 4 KB."""
    for line in lines[:FLASH_LINES]:
        flash(line[:300], "problem")
    if len(lines) > FLASH_LINES:
        flash(f"… and {len(lines) - FLASH_LINES} more problems.", "problem")


def _back(default: str) -> str:
    """Where a form asked to return to: a path on this site only, never another host."""
    target = request.form.get("next", "")
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in target):
        return default  # a browser drops tabs and newlines: "/\t/evil.example" is "//evil..."
    parts = urlsplit(target)
    ok = target.startswith("/") and not target.startswith("//") and not parts.netloc
    return target if ok and not parts.scheme else default


def _counts(ws: Workspace) -> dict[str, int]:
    return dict(ws.db.execute("SELECT status, COUNT(*) FROM findings GROUP BY status").fetchall())


def _extras(ws: Workspace, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the queue shows beside a finding's evidence: the listing image's address, the open
    notice it is in, the listing's seller fields (for the allowlist)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = ws.db.query(
        "SELECT f.id, f.detail, l.marketplace, l.url, l.seller_id, l.seller_name, l.seller_url, "
        "(SELECT n.id FROM notice_findings nf JOIN notices n ON n.id = nf.notice_id "
        " WHERE nf.finding_id = f.id AND n.status IN ('draft', 'approved', 'submitted') "
        " ORDER BY n.id DESC LIMIT 1) AS notice "
        f"FROM findings f JOIN listings l ON l.id = f.listing_id WHERE f.id IN ({marks})",
        ids,
    )
    out = {}
    for r in rows:
        detail = json.loads(r["detail"] or "{}")
        sha = detail.get("image_sha256") if isinstance(detail, dict) else None
        image = ws.db.execute("SELECT url FROM images WHERE sha256 = ?", [sha]).fetchone()
        out[r["id"]] = {**r, "image_url": image[0] if image else None}
    return out


def _platforms(ws: Workspace, marketplaces: set[str]) -> tuple[list[str], dict[str, str | None]]:
    """The platform names, and each marketplace's default platform (None if it has none)."""
    known = notices.load_platforms(ws.config)
    defaults: dict[str, str | None] = {}
    for m in marketplaces:
        try:
            defaults[m] = notices.platform_name(ws.config, known, m)
        except notices.TakedownError:
            defaults[m] = None
    return sorted(known), defaults


@views.get("/")
def queue() -> str:
    status = request.args.get("status", "new")
    if status not in TABS:
        abort(404, f"no tab {status!r}: one of {', '.join(TABS)}")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    ws = workspace()
    rows = list(findings_mod.iter_findings(ws.db, status))
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = min(page, pages)
    shown = rows[(page - 1) * PER_PAGE : page * PER_PAGE]
    ids = [r["id"] for r in shown]
    evidence = {v["id"]: v for v in packs.evidence_views(ws, ids, max_side=THUMB_SIDE)}
    extras = _extras(ws, ids)
    names, defaults = _platforms(ws, {r["marketplace"] for r in shown})
    items = [
        {**evidence[r["id"]], **extras[r["id"]], "row": r, "platform": defaults[r["marketplace"]]}
        for r in shown
    ]
    return render_template(
        "queue.html.j2",
        status=status,
        tabs=TABS,
        counts=_counts(ws),
        items=items,
        page=page,
        pages=pages,
        total=len(rows),
        platforms=names,
        here=request.full_path.rstrip("?"),
    )


@views.post("/findings/review")
def review() -> Response:
    """Confirm, dismiss or reopen the findings named; nothing changes if any cannot move."""
    status = request.form.get("status", "")
    if status not in MOVES:
        abort(400, f"status: one of {', '.join(MOVES)}")
    ids = finding_ids()
    if not ids:
        flash("Select at least one finding.", "problem")
        return redirect(_back(url_for("review.queue")), code=303)
    ws = workspace()
    problems = findings_mod.review(ws.db, ws.config, ids, status)
    flash_problems(problems)
    if not problems:
        shown = ", ".join(map(str, ids))
        flash(f"{MOVES[status]} finding{'s' if len(ids) > 1 else ''} {shown}.", "done")
    return redirect(_back(url_for("review.queue")), code=303)


def _listing_of(ws: Workspace, finding_id: int) -> dict[str, Any]:
    rows = list(
        ws.db.query(
            "SELECT l.*, f.id AS finding_id, f.status AS finding_status FROM findings f "
            "JOIN listings l ON l.id = f.listing_id WHERE f.id = ?",
            [finding_id],
        )
    )
    if not rows:
        abort(404, f"no finding {finding_id}")
    return rows[0]


@views.get("/findings/<int:finding_id>/allow")
def allow_form(finding_id: int) -> str:
    """What allowing this seller would add to config.toml, and the button that adds it."""
    ws = workspace()
    listing = _listing_of(ws, finding_id)
    try:
        entry = weballow.entry_for(listing)
    except weballow.AllowError as exc:
        abort(400, str(exc))
    block = weballow.entry_toml(entry, weballow.note_for(finding_id))
    return render_template(
        "allow.html.j2",
        listing=listing,
        entry=entry,
        block=block.strip("\n"),
        already=authorised_seller(ws.config, listing),
        config_path=str(ws.config.path),
    )


@views.post("/findings/<int:finding_id>/allow")
def allow(finding_id: int) -> Response:
    ws = workspace()
    listing = _listing_of(ws, finding_id)
    try:
        done = weballow.allow_seller(ws.db, ws.config, listing, weballow.note_for(finding_id))
    except weballow.AllowError as exc:
        flash(str(exc), "problem")
        return redirect(url_for("review.queue"), code=303)
    n = len(done.findings)
    flash(
        f"Added {done.entry.name} ({listing['marketplace']}) to the allowlist in "
        f"{ws.config.path.name}; {n} open finding{'' if n == 1 else 's'} marked authorised.",
        "done",
    )
    for nid in done.in_notices:
        flash(f"Notice {nid} covers this seller: discard it, it will not be filed.", "problem")
    return redirect(_back(url_for("review.queue")), code=303)


@views.get("/review.css")
def stylesheet() -> Response:
    return send_file(TEMPLATES / "review.css", mimetype="text/css", max_age=0)
