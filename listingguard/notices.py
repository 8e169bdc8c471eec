"""Draft notices from the store: confirmed findings in, notice files and rows out.

This is the glue between the store and ``takedown/``: it reads findings with their listing,
asset and evidence, builds the canonical model from config.toml's ``[owner]``, ``[[marks]]``
and ``[takedown]``, lets ``takedown.drafting`` group, split and validate, renders the chosen
format, and records each notice as a ``draft``. A problem is reported as the config key to fill
and the platform that needs it, before anything is written.

Only confirmed findings are drafted, and never one on an authorised seller (checked again
here, since the allowlist may have grown since the sweep): platforms score reporters on
accuracy, and a person's confirmation is the first check.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from listingguard import store
from listingguard.allowlist import authorised_seller
from listingguard.config import Config
from listingguard.errors import ListingGuardError, NotFound
from listingguard.workspace import Workspace
from takedown import drafting, platforms, render
from takedown.model import Evidence, Notice, Reporter, Right
from takedown.platforms import Platform, PlatformError

FORMATS = {"text": "txt", "eml": "eml", "csv": "csv"}
OPEN_NOTICE = ("draft", "approved", "submitted")

REPORTER_KEYS = {
    "name": "owner.legal_name",
    "email": "owner.email",
    "company": "owner.company",
    "address": "owner.address",
    "phone": "owner.phone",
    "title": "owner.title",
    "signature": "owner.signature",
    "rights_owner": "owner.rights_owner",
    "authorisation": "owner.authorisation",
    "website": "owner.website",
}


class TakedownError(ListingGuardError):
    """A notice cannot be drafted or a case cannot move; says what to fix."""


@dataclass(frozen=True)
class Drafted:
    notice_id: int
    platform: str
    basis: str
    part: int
    parts: int
    listings: int
    findings: tuple[int, ...]
    path: Path
    pack: Path | None


def template_dir(config: Config) -> Path | None:
    """The user's folder of platform definitions and templates (``takedown.platforms``)."""
    if not config.takedown.platforms:
        return None
    extra = Path(config.takedown.platforms)
    return extra if extra.is_absolute() else config.path.parent / extra


def load_platforms(config: Config) -> dict[str, Platform]:
    try:
        return platforms.load_all(template_dir(config))
    except PlatformError as exc:
        raise TakedownError(str(exc)) from None


def reporter(config: Config) -> Reporter:
    o = config.owner
    return Reporter(
        name=o.legal_name,
        email=o.email,
        company=o.company,
        address=o.address,
        phone=o.phone,
        title=o.title,
        role=o.role,
        rights_owner=o.rights_owner or (o.company if o.role == "owner" else ""),
        authorisation=o.authorisation,
        website=o.website,
        signature=o.signature,
    )


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _mark_rights(row: dict[str, Any], owner: str) -> tuple[Right, ...]:
    """A finding's mark, once per registration (an unregistered mark: one right without)."""
    registrations = json.loads(row["registrations"] or "[]")
    if not registrations:
        return (Right("trademark", row["asset_name"], owner),)
    return tuple(
        Right(
            "trademark",
            row["asset_name"],
            owner,
            registration_number=r["number"],
            office=r["office"],
            jurisdictions=tuple(r.get("jurisdictions", ())),
            classes=tuple(r.get("classes", ())),
            registered=_date(r.get("registered")),
        )
        for r in registrations
    )


def _work_right(config: Config, row: dict[str, Any], owner: str) -> Right:
    """A finding's copied photo or copy as the owner's work, and where it is published."""
    what = "product photo" if row["asset_kind"] == "image" else "product description"
    product = f" of {row['product_name']} ({row['sku']})" if row["sku"] else ""
    return Right(
        "copyright",
        row["asset_name"],
        owner,
        work_description=f"the owner's {what}{product}, SHA-256 {row['asset_sha256']}",
        original_url=config.takedown.works_url or config.owner.website,
        sha256=row["asset_sha256"],
    )


_FINDINGS_SQL = """
SELECT f.id, f.kind, f.score, f.status, f.explanation, f.detail, f.asset_id,
       l.id AS listing_row, l.marketplace, l.listing_id, l.url, l.title, l.price, l.currency,
       l.seller_id, l.seller_name, l.seller_url, l.status AS listing_status,
       a.kind AS asset_kind, a.name AS asset_name, a.sha256 AS asset_sha256, a.rights,
       a.registrations, p.sku, p.name AS product_name
FROM findings f JOIN listings l ON l.id = f.listing_id
LEFT JOIN assets a ON a.id = f.asset_id LEFT JOIN products p ON p.id = a.product_id
WHERE f.id IN ({marks})
"""


def finding_rows(ws: Workspace, ids: list[int]) -> list[dict[str, Any]]:
    """The findings named, with listing and asset; NotFound names any unknown id."""
    if not ids:
        return []
    sql = _FINDINGS_SQL.format(marks=",".join("?" * len(ids)))
    rows = {r["id"]: r for r in ws.db.query(sql, ids)}
    unknown = [i for i in ids if i not in rows]
    if unknown:
        raise NotFound(f"no finding {', '.join(map(str, unknown))} (see `listingguard findings`)")
    return [rows[i] for i in dict.fromkeys(ids)]


def _evidence(ws: Workspace, row: dict[str, Any]) -> tuple[Evidence, ...]:
    """The captured page of the listing (latest) and, for a photo copy, the captured image."""
    out = []
    page = ws.db.execute(
        "SELECT c.url, c.captured_at, c.sha256 FROM captures c "
        "WHERE c.kind = 'page' AND (c.listing_id = ? OR c.id IN "
        "(SELECT capture_id FROM listing_captures WHERE listing_id = ?)) "
        "ORDER BY c.captured_at DESC LIMIT 1",
        [row["listing_row"], row["listing_row"]],
    ).fetchone()
    if page:
        out.append(Evidence("page", "captured listing page", row["score"], *page, row["id"]))
    detail = json.loads(row["detail"] or "{}")
    sha = detail.get("image_sha256")
    if row["kind"] == "image_copy" and sha:
        image = ws.db.execute(
            "SELECT COALESCE(c.url, i.url), COALESCE(c.captured_at, i.first_seen), i.sha256 "
            "FROM images i JOIN listing_images li ON li.image_sha256 = i.sha256 "
            "AND li.listing_id = ? LEFT JOIN captures c ON c.id = i.capture_id "
            "WHERE i.sha256 = ?",
            [row["listing_row"], sha],
        ).fetchone()
        if image:
            out.append(
                Evidence(
                    "image",
                    f"listing image copying {row['asset_name']} (score {row['score']:.2f})",
                    row["score"],
                    *image,
                    row["id"],
                )
            )
    return tuple(out)


def _price(row: dict[str, Any]) -> str:
    if row["price"] is None:
        return ""
    return f"{row['price']:g} {row['currency'] or ''}".strip()


COUNTERFEIT_SIGNALS = frozenset({"counterfeit_words", "low_price"})


def _location(row: dict[str, Any]) -> str:
    """A mark with counterfeit signals (replica words, a price far below list) is claimed as
    a counterfeit product; without them, as unlawful use of the mark in the listing's text.
    Claiming counterfeit without grounds is what makes notices inaccurate."""
    if row["kind"] != "trademark":
        return ""
    signals = {s.get("signal") for s in json.loads(row["detail"] or "{}").get("signals", [])}
    return "product" if signals & COUNTERFEIT_SIGNALS else "text"


def _finding(ws: Workspace, row: dict[str, Any], owner: str) -> drafting.Finding:
    if row["kind"] == "trademark":
        rights = _mark_rights(row, owner)
    else:
        rights = (_work_right(ws.config, row, owner),)
    return drafting.Finding(
        location=_location(row),
        id=row["id"],
        kind=row["kind"],
        score=row["score"],
        explanation=row["explanation"] or "",
        marketplace=row["marketplace"],
        listing_row=row["listing_row"],
        listing_id=row["listing_id"],
        url=row["url"],
        title=row["title"] or "",
        rights=rights,
        evidence=_evidence(ws, row),
        seller_id=row["seller_id"] or "",
        seller_name=row["seller_name"] or "",
        seller_url=row["seller_url"] or "",
        price=_price(row),
    )


def _refusals(ws: Workspace, rows: list[dict[str, Any]]) -> list[str]:
    """Why any finding named may not be reported at all."""
    problems = []
    in_notice = {
        r["finding_id"]: r
        for r in ws.db.query(
            "SELECT nf.finding_id, n.id, n.status FROM notice_findings nf "
            "JOIN notices n ON n.id = nf.notice_id WHERE n.status IN ('draft', 'approved', "
            "'submitted') AND nf.finding_id IN ({})".format(",".join("?" * len(rows))),
            [r["id"] for r in rows],
        )
    }
    for r in rows:
        allowed = authorised_seller(ws.config, r)
        if r["status"] == "authorised" or allowed:
            who = allowed.name if allowed else "an authorised seller"
            problems.append(f"finding {r['id']} is on {who} ([[authorised]]): never reported")
        elif r["kind"] not in ("trademark", "image_copy", "text_copy"):
            problems.append(
                f"finding {r['id']} is a {r['kind']}: only marks and copies are reported"
            )
        elif r["status"] != "confirmed":
            problems.append(
                f"finding {r['id']} is {r['status']}, not confirmed: review it first "
                f"(listingguard findings confirm {r['id']})"
            )
        elif r["id"] in in_notice:
            n = in_notice[r["id"]]
            problems.append(
                f"finding {r['id']} is already in notice {n['id']} ({n['status']})"
                + (
                    "; `listingguard takedown discard` it to redraft"
                    if n["status"] == "draft"
                    else ""
                )
            )
    return problems


def platform_name(config: Config, known: dict[str, Platform], marketplace: str) -> str:
    """The marketplace's ``platform`` key, else the definition that takes its spider kind."""
    m = config.marketplaces.get(marketplace)
    if m is not None and m.platform:
        if m.platform not in known:
            raise TakedownError(
                f"{config.path}: marketplaces.{marketplace}.platform: no platform "
                f"{m.platform!r} (known: {', '.join(sorted(known))})"
            )
        return m.platform
    kind = m.kind if m else None
    for name, p in sorted(known.items()):
        if kind and kind in p.marketplace_kinds:
            return name
    raise TakedownError(
        f"{config.path}: marketplaces.{marketplace}.platform: set it, or pass --platform "
        f"(no platform definition takes listings from a {kind or 'unknown'!s} marketplace)"
    )


def problem_keys(notice: Notice, platform: Platform, config: Config) -> list[str]:
    """``drafting.missing`` in the words of config.toml: the key to fill and who needs it."""
    out = []
    by = f"required by {platform.name}"
    for path in drafting.missing(notice, platform):
        head, _, field = path.partition(".")
        if head == "reporter":
            out.append(f"{REPORTER_KEYS[field]} is {by}")
        elif path.startswith("basis:"):
            out.append(f"{platform.name} does not take {notice.basis} notices")
        elif head == "rights" and field.startswith("registration_number:"):
            number = field.partition(":")[2]
            pattern = platform.bases[notice.basis].registration_pattern
            out.append(
                f"marks.registrations.number {number!r}: {platform.name} needs a number "
                f"matching {pattern} (a registration, not an application serial)"
            )
        elif head == "rights" and notice.basis == "trademark":
            names = ", ".join(sorted({r.name for r in notice.rights}))
            offices = platform.bases[notice.basis].offices
            at = f" at {' or '.join(offices)}" if offices else ""
            out.append(f"marks.registrations (mark {names}): a registration{at} is {by}")
        elif head == "rights":
            out.append(f"takedown.works_url (or owner.website) is {by}")
        elif path == "recipient":
            out.append(f"takedown.recipients.{platform.name} (the address notices go to) is {by}")
        elif head.startswith("targets["):
            i = int(head[8:-1])
            t = notice.targets[i]
            if field.startswith("url:"):
                out.append(
                    f"{t.url} is not a listing URL that {platform.name} takes "
                    f"(it must match {platform.target_url})"
                )
            else:
                out.append(f"the {field} of listing {t.url} is {by} (the captured page has none)")
        else:
            out.append(f"{path} is {by}")
    return out


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: a crash leaves the old file or none, never half a notice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def plan(
    ws: Workspace, ids: list[int], platform: str | None, today: dt.date | None = None
) -> list[tuple[Notice, Platform]]:
    """The notices the findings make, validated; a TakedownError lists every problem."""
    config = ws.config
    known = load_platforms(config)
    if platform is not None and platform not in known:
        raise TakedownError(f"no platform {platform!r}; known: {', '.join(sorted(known))}")
    rows = finding_rows(ws, ids)
    problems = _refusals(ws, rows)
    if problems:
        raise TakedownError("\n".join(problems))
    me = reporter(config)
    found = [_finding(ws, r, me.rights_owner or me.company or me.name) for r in rows]
    names: dict[int, str] = {}
    for f in found:
        names[f.id] = platform or platform_name(config, known, f.marketplace)
    planned = []
    for batch in drafting.batches(found, lambda f: names[f.id]):
        p = known[batch.platform]
        if batch.basis not in p.bases:
            ids_ = ", ".join(str(f.id) for f in batch.findings)
            takes = " and ".join(p.bases)
            problems.append(
                f"findings {ids_} are {batch.basis} claims; {p.name} takes {takes} only "
                f"(pass --platform with one that takes {batch.basis}, e.g. eu-dsa)"
            )
            continue
        recipient = config.takedown.recipients.get(p.name, "")
        for notice in drafting.notices(
            batch, p, me, date=today or dt.date.today(), recipient=recipient
        ):
            problems += problem_keys(notice, p, config)
            planned.append((notice, p))
    if problems:
        raise TakedownError("\n".join(dict.fromkeys(problems)))
    return planned


def _render(
    notice: Notice, p: Platform, env: Any, fmt: str, pack_path: Path | None
) -> tuple[str, bytes]:
    """The notice's text and the bytes of its file; a template that fails names its file."""
    try:
        body = render.text(notice, p, env)
        if fmt == "eml":
            data = render.eml(notice, p, pack_path, env)
        elif fmt == "csv":
            data = render.csv_text(notice, p, env).encode("utf-8-sig")
        else:
            data = body.encode("utf-8")
    except (TemplateError, ValueError) as exc:
        raise TakedownError(f"{p.path}: the notice cannot be rendered: {exc}") from None
    return body, data


def draft(
    ws: Workspace,
    ids: list[int],
    platform: str | None = None,
    fmt: str = "text",
    *,
    pack: bool = True,
    today: dt.date | None = None,
) -> list[Drafted]:
    """Draft, write and record the notices for these findings (status ``draft``).

    Each notice is one write transaction: its row, its findings, its evidence pack and its
    file, or none of them. The checks of ``plan`` are made again inside the transaction, so two
    drafts of the same findings at once cannot both succeed.
    """
    from listingguard import packs

    if fmt not in FORMATS:
        raise TakedownError(f"--format: expected one of {', '.join(FORMATS)}")
    if fmt == "eml" and not pack:
        raise TakedownError("--no-pack: an .eml notice carries its evidence pack")
    planned = plan(ws, ids, platform, today)
    env = render.environment(template_dir(ws.config))
    folder = ws.config.workspace.notices
    out = []
    for notice, p in planned:
        written: list[Path] = []
        with store.transaction(ws.db) as db:
            problems = _refusals(ws, finding_rows(ws, list(notice.finding_ids)))
            if problems:
                raise TakedownError("\n".join(problems))
            stamp = store.now()
            notice_id = (
                db["notices"]
                .insert(
                    {
                        "platform": p.name,
                        "legal_basis": notice.basis,
                        "status": "draft",
                        "format": fmt,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                )
                .last_pk
            )
            db["notice_findings"].insert_all(
                {"notice_id": notice_id, "finding_id": i} for i in notice.finding_ids
            )
            stem = f"notice-{notice_id:04d}-{p.name}-{notice.basis}"
            pack_path = pack_sha = None
            try:
                if pack:
                    result = packs.write_pack(
                        ws, list(notice.finding_ids), folder / f"{stem}-evidence.zip"
                    )
                    pack_path, pack_sha = result.path, result.sha256
                    written.append(pack_path)
                    notice = replace(notice, pack=f"{pack_path.name}, SHA-256 {pack_sha}")
                body, data = _render(notice, p, env, fmt, pack_path)
                path = folder / f"{stem}.{FORMATS[fmt]}"
                _write(path, data)
                written.append(path)
            except BaseException:
                for f in written:
                    f.unlink(missing_ok=True)
                raise
            db["notices"].update(
                notice_id,
                {
                    "body": body,
                    "path": str(path),
                    "pack_path": str(pack_path) if pack_path else None,
                    "pack_sha256": pack_sha,
                    "model": json.dumps(notice.as_dict(), default=str, ensure_ascii=False),
                },
            )
        out.append(
            Drafted(
                notice_id,
                p.name,
                notice.basis,
                notice.part,
                notice.parts,
                len(notice.targets),
                notice.finding_ids,
                path,
                pack_path,
            )
        )
    return out
