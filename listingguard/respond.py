"""Gather a seller's proof from the store for its answer to a complaint (``takedown respond``).

The store already holds what proves a photo or text is the seller's own: the asset as
registered (with its SHA-256 and date), the earliest capture listingguard made of that photo on
a marketplace (its own listings, swept before the complainant's), the mark's registrations,
and the licence terms of a licensed asset. This module turns those into ``takedown.respond``
proofs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from listingguard.errors import NotFound
from listingguard.notices import (
    REPORTER_KEYS,
    TakedownError,
    load_platforms,
    reporter,
    template_dir,
)
from listingguard.workspace import Workspace
from takedown import render as render_mod
from takedown import respond as respond_mod
from takedown.respond import Complaint, Proof


def asset_rows(ws: Workspace, ids: list[int]) -> list[dict[str, Any]]:
    rows = []
    for i in ids:
        found = list(ws.db.query("SELECT * FROM assets WHERE id = ?", [i]))
        if not found:
            raise NotFound(f"no asset {i} (see `listingguard assets list`)")
        rows.append(found[0])
    return rows


def matched_assets(ws: Workspace, images: list[Path]) -> list[int]:
    """The owned or licensed photos that the seller's listing images are (or copy)."""
    from listingguard import imaging

    cfg = ws.config
    ids: list[int] = []
    with imaging.workers() as executor:
        list(imaging.backfill(ws.db, cfg.assets, executor))
        owned = imaging.OwnedImages(ws.db)
        results = imaging.match_files(
            ws.db, [str(p) for p in images], owned, imaging.thresholds_from(cfg),
            limits=cfg.assets, min_score=cfg.matching.min_score, executor=executor,
        )  # fmt: skip
        for result in results:
            if "error" in result:
                raise TakedownError(f"{result['file']}: {result['error']}")
            mine = [m for m in result["matches"] if m.get("rights") in ("owned", "licensed")]
            if not mine:
                raise TakedownError(
                    f"{result['file']}: matches none of your owned or licensed photos; "
                    "register the original first (listingguard assets add)"
                )
            ids.append(mine[0]["asset_id"])
    return list(dict.fromkeys(ids))


def _earliest_capture(ws: Workspace, asset: dict[str, Any]) -> Proof | None:
    """The first time listingguard captured this photo on a marketplace, byte for byte or as a
    finding on one of the owner's authorised listings."""
    row = ws.db.execute(
        "SELECT c.captured_at, c.url, c.sha256 FROM images i JOIN captures c ON c.id = i.capture_id "
        "WHERE i.sha256 = ? ORDER BY c.captured_at LIMIT 1",
        [asset["sha256"]],
    ).fetchone()
    if row is None:
        row = ws.db.execute(
            "SELECT c.captured_at, l.url, c.sha256 FROM findings f "
            "JOIN listings l ON l.id = f.listing_id "
            "JOIN captures c ON c.listing_id = l.id AND c.kind = 'page' "
            "WHERE f.asset_id = ? AND f.status = 'authorised' ORDER BY c.captured_at LIMIT 1",
            [asset["id"]],
        ).fetchone()
    if row is None:
        return None
    at, url, sha = row
    return Proof("earliest_capture", f"captured at {url} (WARC evidence kept)", at, sha, url)


def proofs(ws: Workspace, assets: list[dict[str, Any]]) -> list[Proof]:
    out = []
    for a in assets:
        what = {"image": "photo", "copy": "product text", "mark": "word mark", "logo": "logo"}[
            a["kind"]
        ]
        out.append(
            Proof(
                "asset",
                f"{what} {a['name']!r}, held by the seller ({a['rights']}), registered in its "
                "asset register",
                (a["added_at"] or "")[:10],
                a["sha256"],
            )
        )
        for r in json.loads(a.get("registrations") or "[]"):
            out.append(
                Proof(
                    "registration",
                    f"{r['office']} registration {r['number']} for {a['name']!r}, classes "
                    f"{', '.join(map(str, r.get('classes', [])))}",
                    r.get("registered") or "",
                )
            )
        if a["rights"] == "licensed":
            terms = ", ".join(
                x
                for x in (
                    f"territories {', '.join(json.loads(a['territories'] or '[]'))}"
                    if a.get("territories")
                    else "",
                    f"platforms {', '.join(json.loads(a['platforms'] or '[]'))}"
                    if a.get("platforms")
                    else "",
                    f"until {a['licence_expires']}" if a.get("licence_expires") else "",
                )
                if x
            )
            out.append(
                Proof(
                    "licence", f"licensed from {a['licensor']}" + (f" ({terms})" if terms else "")
                )
            )
        if a["kind"] == "image":
            first = _earliest_capture(ws, a)
            if first:
                out.append(first)
    return out


def draft_response(
    ws: Workspace,
    platform_name: str,
    complaint: Complaint,
    asset_ids: list[int],
    images: list[Path],
    today: dt.date | None = None,
) -> tuple[str, list[Proof], str]:
    """The answer's text, the proofs it cites and its deadline (ISO, or "")."""
    known = load_platforms(ws.config)
    if platform_name not in known:
        raise TakedownError(f"no platform {platform_name!r}; known: {', '.join(sorted(known))}")
    platform = known[platform_name]
    me = reporter(ws.config)
    gaps = [f"{REPORTER_KEYS[p.partition('.')[2]]} is required by {platform.name}'s "
            f"{platform.response.kind if platform.response else 'response'}"
            for p in respond_mod.missing(platform, me)]  # fmt: skip
    kind = platform.response.kind if platform.response else None
    if kind == "dmca-counter" and complaint.basis != "copyright":
        gaps.append(
            f"--basis {complaint.basis}: a DMCA counter-notice answers copyright complaints "
            f"only; {platform.name} takes no counter-notice on {complaint.basis} (answer the "
            "complainant, or use the platform's appeal)"
        )
    if kind == "dmca-counter" and not complaint.complainant:
        gaps.append(
            "--complainant: a counter-notice accepts service from the complainant: name them"
        )
    ids = list(dict.fromkeys([*asset_ids, *matched_assets(ws, images)])) if images else asset_ids
    if not ids:
        gaps.append("--asset or --image: name the photos, copy or mark that are yours")
    if gaps:
        raise TakedownError("\n".join(gaps))
    evidence = proofs(ws, asset_rows(ws, ids))
    env = render_mod.environment(template_dir(ws.config))
    try:
        text = respond_mod.render(env, platform, me, complaint, evidence, today or dt.date.today())
    except respond_mod.ResponseError as exc:
        raise TakedownError(str(exc)) from None
    due = respond_mod.deadline(platform, dt.date.fromisoformat(complaint.received))
    return text, evidence, due.isoformat() if due else ""
