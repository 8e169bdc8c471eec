"""The review page's notices and cases: draft from confirmed findings, read, approve, record the
filing, download the notice and its evidence pack, follow the cases' deadlines. Nothing is sent
from here: a person files each notice with the platform. Routes of ``listingguard.web``."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from listingguard import casework, notices, packs
from listingguard.errors import ListingGuardError
from listingguard.web import workspace
from listingguard.webviews import finding_ids, flash_problems
from listingguard.workspace import Workspace
from takedown.cases import CLOSED

views = Blueprint("notices", __name__)

NEAR_DAYS = 3  # a deadline this close is highlighted as near
MEDIA = {
    ".txt": "text/plain",
    ".eml": "message/rfc822",
    ".csv": "text/csv",
    ".zip": "application/zip",
}


def inside(folder: Path, name: str | Path) -> Path | None:
    """The regular file ``name`` names inside ``folder`` (relative to it, or absolute), after
    every symlink and ``..`` is resolved; None for anything that ends up elsewhere."""
    try:
        base = folder.resolve()
        target = (base / name).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def _send(path: Path) -> Response:
    kind = MEDIA.get(path.suffix.lower(), "application/octet-stream")
    return send_file(path, mimetype=kind, as_attachment=True, download_name=path.name)


def _problems(exc: ListingGuardError) -> None:
    flash_problems(str(exc).splitlines())


def _who() -> str:
    """Who the approval form suggests: the login name, as ``takedown approve`` assumes."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


@views.post("/notices/draft")
def draft() -> Response:
    """Draft notices for the confirmed findings selected: per marketplace's platform, or the one
    chosen. Notices and their evidence packs are written as the CLI writes them."""
    ids = finding_ids()
    back = url_for("review.queue", status="confirmed")
    if not ids:
        flash("Select the confirmed findings to put in a notice.", "problem")
        return redirect(back, code=303)
    platform = request.form.get("platform") or None
    try:
        drafted = notices.draft(workspace(), ids, platform)
    except ListingGuardError as exc:
        _problems(exc)
        return redirect(back, code=303)
    for d in drafted:
        flash(
            f"Drafted notice {d.notice_id}: {d.platform}, {d.basis}, {d.listings} listing(s). "
            "Read it, then approve it.",
            "done",
        )
    if len(drafted) == 1:
        return redirect(url_for("notices.notice", notice_id=drafted[0].notice_id), code=303)
    return redirect(url_for("notices.notice_list"), code=303)


@views.get("/notices")
def notice_list() -> str:
    return render_template("notices.html.j2", rows=casework.list_notices(workspace()))


def _covered(ws: Workspace, notice_id: int) -> list[int]:
    return [
        r[0]
        for r in ws.db.execute(
            "SELECT finding_id FROM notice_findings WHERE notice_id = ? ORDER BY 1", [notice_id]
        )
    ]


@views.get("/notices/<int:notice_id>")
def notice(notice_id: int) -> str:
    ws = workspace()
    row = casework.notice_row(ws, notice_id)
    ids = _covered(ws, notice_id)
    covered = ws.db.query(
        "SELECT f.id, f.kind, f.status, l.url, l.title, l.seller_name FROM findings f "
        f"JOIN listings l ON l.id = f.listing_id WHERE f.id IN ({','.join('?' * len(ids))}) "
        "ORDER BY f.id",
        ids,
    )
    return render_template(
        "notice.html.j2",
        notice=row,
        findings=list(covered) if ids else [],
        cases=casework.case_rows(ws, notice_id),
        who=_who(),
    )


@views.post("/notices/<int:notice_id>/approve")
def approve(notice_id: int) -> Response:
    by = request.form.get("by", "").strip()[:120]
    try:
        casework.approve(workspace(), [notice_id], by)
        flash(
            f"Approved notice {notice_id} ({by}). File it with the platform, then record it.",
            "done",
        )
    except ListingGuardError as exc:
        _problems(exc)
    return redirect(url_for("notices.notice", notice_id=notice_id), code=303)


@views.post("/notices/<int:notice_id>/submitted")
def submitted(notice_id: int) -> Response:
    """The person filed the notice: its cases open (one per listing), with their deadlines."""
    reference = request.form.get("reference", "").strip()[:200]
    try:
        opened = casework.submit(workspace(), notice_id, reference)
        flash(f"Notice {notice_id} recorded as filed: {len(opened)} case(s) opened.", "done")
    except ListingGuardError as exc:
        _problems(exc)
    return redirect(url_for("notices.notice", notice_id=notice_id), code=303)


@views.post("/notices/<int:notice_id>/discard")
def discard(notice_id: int) -> Response:
    try:
        casework.discard(workspace(), notice_id)
        flash(f"Discarded draft notice {notice_id}; its findings can be drafted again.", "done")
    except ListingGuardError as exc:
        _problems(exc)
        return redirect(url_for("notices.notice", notice_id=notice_id), code=303)
    return redirect(url_for("notices.notice_list"), code=303)


def _recorded(notice_id: int, key: str) -> Response:
    ws = workspace()
    row = casework.notice_row(ws, notice_id)
    path = inside(ws.config.workspace.notices, row[key]) if row[key] else None
    if path is None:
        abort(404, f"notice {notice_id} has no such file in {ws.config.workspace.notices}")
    return _send(path)


@views.get("/notices/<int:notice_id>/file")
def notice_file(notice_id: int) -> Response:
    return _recorded(notice_id, "path")


@views.get("/notices/<int:notice_id>/evidence")
def notice_pack(notice_id: int) -> Response:
    """The evidence pack written with the notice (the one the notice names by SHA-256)."""
    return _recorded(notice_id, "pack_path")


@views.post("/notices/<int:notice_id>/pack")
def build_pack(notice_id: int) -> Response:
    """A fresh evidence pack of the notice's findings, in evidence/packs/, then its download."""
    ws = workspace()
    casework.notice_row(ws, notice_id)
    try:
        result = packs.write_pack(ws, _covered(ws, notice_id), None, pdf=False)
    except ListingGuardError as exc:
        _problems(exc)
        return redirect(url_for("notices.notice", notice_id=notice_id), code=303)
    name = result.path.relative_to(ws.config.workspace.evidence / "packs")
    return redirect(url_for("notices.pack_file", name=str(name)), code=303)


@views.get("/packs/<path:name>")
def pack_file(name: str) -> Response:
    ws = workspace()
    path = inside(ws.config.workspace.evidence / "packs", name)
    if path is None or path.suffix != ".zip":
        abort(404, "no such evidence pack")
    return _send(path)


def _urgency(deadline: str | None, status: str, today: dt.date) -> str:
    if not deadline or status in CLOSED:
        return ""
    try:
        day = dt.date.fromisoformat(deadline[:10])
    except ValueError:
        return ""
    if day < today:
        return "past"
    return "near" if (day - today).days <= NEAR_DAYS else ""


@views.get("/cases")
def cases() -> str:
    today = dt.date.today()
    rows: list[dict[str, Any]] = [
        {**r, "urgency": _urgency(r["deadline"], r["status"], today)}
        for r in casework.list_cases(workspace())
    ]
    return render_template("cases.html.j2", rows=rows, today=today.isoformat(), near=NEAR_DAYS)
