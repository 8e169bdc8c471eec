"""The demo's takedown step: confirm the high-confidence findings as a reviewer would, then
draft each platform's notices with their evidence packs.

A real team reads every finding before confirming it (``listingguard findings confirm``); the
demo confirms those scoring at least ``CONFIDENT`` so that the tour can go on to notices, and
says so. Each platform gets the format of its channel: an ``.eml`` for email channels (the pack
attached), labelled text for web forms, CSV for bulk sheets. Nothing is approved or sent.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from listingguard import findings, notices
from listingguard.errors import ListingGuardError
from listingguard.workspace import Workspace

CONFIDENT = 0.9
FORMAT_OF_CHANNEL = {"email": "eml", "form": "text", "csv": "csv"}


def run(ws: Workspace) -> dict[str, Any]:
    rows = list(
        ws.db.query(
            "SELECT f.id, f.kind, a.name, a.registrations FROM findings f "
            "LEFT JOIN assets a ON a.id = f.asset_id WHERE f.status = 'new' AND f.score >= ? "
            "AND f.kind IN ('trademark', 'image_copy', 'text_copy') ORDER BY f.id",
            [CONFIDENT],
        )
    )
    # A trademark claim cites a registration: findings on a mark without one are left for a
    # person to decide (a copyright claim on the same listing's photos may still be made).
    unregistered = sorted(
        {r["name"] for r in rows if r["kind"] == "trademark" and r["registrations"] in (None, "[]")}
    )
    ids = [r["id"] for r in rows if not (r["kind"] == "trademark" and r["name"] in unregistered)]
    problems = findings.review(ws.db, ws.config, ids, "confirmed")
    if problems:
        raise ListingGuardError("\n".join(problems))
    known = notices.load_platforms(ws.config)
    by_platform: dict[str, list[int]] = defaultdict(list)
    for row in notices.finding_rows(ws, ids):
        by_platform[notices.platform_name(ws.config, known, row["marketplace"])].append(row["id"])
    drafted = []
    for name, platform_ids in sorted(by_platform.items()):
        fmt = FORMAT_OF_CHANNEL[known[name].channel]
        for d in notices.draft(ws, platform_ids, name, fmt):
            drafted.append(
                {
                    "notice": d.notice_id,
                    "platform": d.platform,
                    "basis": d.basis,
                    "format": fmt,
                    "listings": d.listings,
                    "findings": len(d.findings),
                    "path": str(d.path),
                    "pack": str(d.pack) if d.pack else None,
                }
            )
    return {
        "confirmed": len(ids),
        "unregistered": {
            name: sum(1 for r in rows if r["kind"] == "trademark" and r["name"] == name)
            for name in unregistered
        },
        "threshold": CONFIDENT,
        "folder": str(ws.config.workspace.notices),
        "notices": drafted,
    }
