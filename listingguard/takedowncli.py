"""The ``listingguard takedown`` commands: draft, approve, record what platforms did, re-check,
measure — and the seller's own answer to a complaint.

Nothing here sends anything. A notice is drafted to a file (text to paste into the form, an
``.eml`` to send from your own mail client, a CSV for a bulk sheet); a person approves it and
then says it was filed (``mark N submitted``). Registered by ``cli.py`` on import.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from listingguard import casework
from listingguard import notices as notices_mod
from listingguard.cli import cli, config_option, err, json_option, out, print_json
from listingguard.workspace import open_workspace
from takedown import cases as lifecycle
from takedown.clock import describe

MARKS = ("submitted", *[s for s in lifecycle.CASE_STATUSES if s != "submitted"])


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from None


@cli.group()
def takedown() -> None:
    """Takedown notices: draft them from confirmed findings, approve, track each case.

    Nothing is ever sent by listingguard: you file each approved notice yourself and record it.

    \b
    Example:
      listingguard takedown draft 12 14 --platform ebay-vero --format eml
      listingguard takedown approve 3 --by "Jordan Example"
      listingguard takedown mark 3 submitted --reference VERO-2291
      listingguard takedown recheck
    """


@takedown.command("platforms")
@config_option
@json_option
def takedown_platforms(config_path: Path, as_json: bool) -> None:
    """The platform definitions: legal bases, listings per notice, channel and clocks.

    \b
    Example:
      listingguard takedown platforms
    """
    from listingguard import config as config_mod

    known = notices_mod.load_platforms(config_mod.load(config_path))
    if as_json:
        print_json(
            [
                {
                    "name": p.name,
                    "title": p.title,
                    "bases": list(p.bases),
                    "limit": p.limit,
                    "channel": p.channel,
                    "url": p.url,
                    "to": p.to,
                    "counter": {b: describe(c) if (c := p.clock(b)) else None for b in p.bases},
                    "response": p.response.kind if p.response else None,
                    "sources": list(p.sources),
                }
                for p in known.values()
            ]
        )
        return
    table = Table("platform", "legal bases", "per notice", "channel", "counter-notice clock")
    for p in known.values():
        table.add_row(
            p.name,
            ", ".join(p.bases),
            str(p.limit),
            p.channel,
            escape(
                "\n".join(f"{b}: {describe(c, short=True)}" for b in p.bases if (c := p.clock(b)))
                or "-"
            ),
        )
    out.print(table)


@takedown.command("draft")
@click.argument("finding_ids", metavar="FINDING...", nargs=-1, type=int, required=True)
@click.option("--platform", help="Platform definition (default: each marketplace's `platform`).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(notices_mod.FORMATS)),
    default="text",
    show_default=True,
    help="text for web forms, eml for email channels (the pack attached), csv for bulk sheets.",
)
@click.option("--no-pack", is_flag=True, help="Do not write an evidence pack beside the notice.")
@config_option
@json_option
def takedown_draft(
    finding_ids: tuple[int, ...],
    platform: str | None,
    fmt: str,
    no_pack: bool,
    config_path: Path,
    as_json: bool,
) -> None:
    """Draft notices for confirmed findings: grouped by platform and legal basis (marks:
    trademark; copied photos and copy: copyright), split at the platform's limit, every
    required field checked first.

    \b
    Example:
      listingguard takedown draft 12 14 15
      listingguard takedown draft 12 --platform dmca --format eml
    """
    ws = open_workspace(config_path)
    try:
        drafted = notices_mod.draft(ws, list(finding_ids), platform, fmt, pack=not no_pack)
    finally:
        ws.close()
    if as_json:
        print_json(
            [
                {**d.__dict__, "path": str(d.path), "pack": str(d.pack) if d.pack else None}
                for d in drafted
            ]
        )
        return
    for d in drafted:
        part = f" part {d.part}/{d.parts}" if d.parts > 1 else ""
        out.print(
            f"notice {d.notice_id}: {d.platform} {d.basis}{part}, {d.listings} listing(s), "
            f"findings {', '.join(map(str, d.findings))}"
        )
        out.print(f"  {escape(str(d.path))}")
        if d.pack:
            out.print(f"  evidence: {escape(str(d.pack))}")
    out.print('Read each notice, then: listingguard takedown approve N --by "Your Name"')


@takedown.command("list")
@click.option(
    "--status",
    type=click.Choice(["draft", "approved", *lifecycle.CASE_STATUSES]),
    help="Only notices with this status.",
)
@click.option("--cases", "show_cases", is_flag=True, help="List cases (one per listing) instead.")
@config_option
@json_option
def takedown_list(status: str | None, show_cases: bool, config_path: Path, as_json: bool) -> None:
    """Notices with their status, or cases with their deadlines.

    \b
    Example:
      listingguard takedown list
      listingguard takedown list --cases --json
    """
    ws = open_workspace(config_path)
    try:
        rows = casework.list_cases(ws) if show_cases else casework.list_notices(ws, status)
    finally:
        ws.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No cases yet." if show_cases else "No notices yet.")
        return
    if show_cases:
        table = Table("case", "notice", "platform", "status", "deadline", "listing", "seller")
        for r in rows:
            table.add_row(
                str(r["id"]),
                str(r["notice_id"]),
                r["platform"],
                r["status"],
                r["deadline"] or "",
                escape(r["url"]),
                escape(r["seller_name"] or ""),
            )
    else:
        table = Table("notice", "platform", "basis", "status", "listings", "findings", "file")
        for r in rows:
            table.add_row(
                str(r["id"]),
                r["platform"],
                r["legal_basis"],
                r["status"],
                str(r["listings"]),
                r["findings"] or "",
                escape(r["path"] or ""),
            )
    out.print(table)


@takedown.command("show")
@click.argument("notice_id", metavar="NOTICE", type=int)
@config_option
def takedown_show(notice_id: int, config_path: Path) -> None:
    """Print a notice as drafted (text).

    \b
    Example:
      listingguard takedown show 3
    """
    ws = open_workspace(config_path)
    try:
        row = casework.notice_row(ws, notice_id)
    finally:
        ws.close()
    click.echo(row["body"] or "")


@takedown.command("approve")
@click.argument("notice_ids", metavar="NOTICE...", nargs=-1, type=int, required=True)
@click.option("--by", default=None, help="Who approves (default: your login name).")
@config_option
def takedown_approve(notice_ids: tuple[int, ...], by: str | None, config_path: Path) -> None:
    """A person approves drafted notices after reading them; only then can they be filed.

    \b
    Example:
      listingguard takedown approve 3 4 --by "Jordan Example"
    """
    ws = open_workspace(config_path)
    try:
        who = by or getpass.getuser()
        casework.approve(ws, list(notice_ids), who)
    finally:
        ws.close()
    out.print(f"approved by {escape(who)}: notice {', '.join(map(str, notice_ids))}.")
    out.print("File each with the platform, then: listingguard takedown mark N submitted")


@takedown.command("discard")
@click.argument("notice_id", metavar="NOTICE", type=int)
@config_option
def takedown_discard(notice_id: int, config_path: Path) -> None:
    """Drop a draft so that its findings can be drafted again (after fixing config.toml).

    \b
    Example:
      listingguard takedown discard 3
    """
    ws = open_workspace(config_path)
    try:
        casework.discard(ws, notice_id)
    finally:
        ws.close()
    out.print(f"notice {notice_id} discarded.")


@takedown.command("mark")
@click.argument("notice_id", metavar="NOTICE", type=int)
@click.argument("status", type=click.Choice(MARKS))
@click.option("--listing", "listing_id", type=int, help="Only the case of this listing (store id).")
@click.option("--reason", default="", help="Why (required for rejected).")
@click.option("--reference", default="", help="The platform's case or ticket number.")
@click.option("--on", "on", callback=_date, help="When it happened (YYYY-MM-DD; default today).")
@config_option
@json_option
def takedown_mark(
    notice_id: int,
    status: str,
    listing_id: int | None,
    reason: str,
    reference: str,
    on: dt.date | None,
    config_path: Path,
    as_json: bool,
) -> None:
    """Record what happened: filed (submitted), removed, rejected, countered (the deadline
    follows the platform's clock), restored or relisted.

    \b
    Example:
      listingguard takedown mark 3 submitted --reference VERO-2291
      listingguard takedown mark 3 countered --on 2026-12-04
      listingguard takedown mark 3 rejected --reason "registration not in the seller's country"
    """
    ws = open_workspace(config_path)
    try:
        rows = casework.mark(
            ws, notice_id, status, listing_id=listing_id, reason=reason, reference=reference, on=on
        )
    finally:
        ws.close()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        due = f", deadline {r['deadline']}" if r["deadline"] else ""
        out.print(f"case {r['id']} (listing {r['listing_id']}): {r['status']}{due}")


@takedown.command("recheck")
@config_option
@json_option
def takedown_recheck(config_path: Path, as_json: bool) -> None:
    """Re-crawl the listings of submitted cases; a listing that is gone marks its case removed
    (the answer is kept as evidence). Blocked or unreachable pages never count as removed.

    \b
    Example:
      listingguard takedown recheck
    """
    ws = open_workspace(config_path)
    try:
        report = casework.recheck(ws)
    finally:
        ws.close()
    if as_json:
        print_json(report)
        raise SystemExit(1 if any(r["result"] in ("blocked", "error") for r in report) else 0)
    unsure = [r for r in report if r["result"] in ("blocked", "error")]
    if not report:
        out.print("No open cases to re-check.")
        return
    table = Table("case", "notice", "listing", "found", "case now")
    for r in report:
        table.add_row(
            str(r["case"]),
            str(r["notice"]),
            escape(r["url"]),
            escape(f"{r['result']}: {r['reason']}"),
            r["now"],
        )
    out.print(table)
    if unsure:
        err.print(f"{len(unsure)} listing(s) could not be checked (blocked or unreachable).")
        raise SystemExit(1)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@takedown.command("stats")
@config_option
@json_option
def takedown_stats(config_path: Path, as_json: bool) -> None:
    """Per platform: notices, cases, acceptance rate, counter-notice rate, median days to removal.

    Platforms withdraw reporting from inaccurate reporters (Alibaba: under 90% success or over
    5% counter-notices), so a warning is printed before you get there.

    \b
    Example:
      listingguard takedown stats
    """
    ws = open_workspace(config_path)
    try:
        figures = casework.stats(ws)
    finally:
        ws.close()
    if as_json:
        print_json([s.as_dict() for s in figures])
        return
    if not figures:
        out.print("No submitted notices yet.")
        return
    table = Table(
        "platform",
        "notices",
        "cases",
        "open",
        "removed",
        "rejected",
        "countered",
        "acceptance",
        "median days to removal",
    )
    for s in figures:
        table.add_row(
            s.platform,
            str(s.notices),
            str(s.cases),
            str(s.open),
            str(s.removed + s.relisted),
            str(s.rejected),
            str(s.countered),
            _rate(s.acceptance),
            "-" if s.median_days is None else f"{s.median_days:g}",
        )
    out.print(table)
    for s in figures:
        for w in s.warnings():
            out.print(f"[yellow]{s.platform}: {escape(w)}[/yellow]")


@takedown.command("respond")
@click.option(
    "--platform", required=True, help="The platform (definition) the complaint came through."
)
@click.option(
    "--listing", "listing_url", required=True, help="Your listing that was reported (URL)."
)
@click.option("--reference", default="", help="The complaint's reference on the platform.")
@click.option("--complainant", default="", help="Who complained, as the platform names them.")
@click.option("--received", callback=_date, help="When the complaint reached you (default today).")
@click.option(
    "--basis",
    type=click.Choice(["trademark", "copyright", "design"]),
    default="copyright",
    show_default=True,
    help="What the complaint claims.",
)
@click.option("--claim", default="", help="What the complaint says, in a line.")
@click.option("--title", default="", help="Your listing's title.")
@click.option("--asset", "asset_ids", type=int, multiple=True, help="Your asset (id) at issue.")
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Your listing's photo: matched to your registered photos to find the proof.",
)
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write here."
)
@config_option
@json_option
def takedown_respond(
    platform: str,
    listing_url: str,
    reference: str,
    complainant: str,
    received: dt.date | None,
    basis: str,
    claim: str,
    title: str,
    asset_ids: tuple[int, ...],
    images: tuple[Path, ...],
    out_path: Path | None,
    config_path: Path,
    as_json: bool,
) -> None:
    """Draft your own counter-notice or appeal when one of YOUR listings was reported: the
    DMCA §512(g)(3) elements, a PRC Art. 43 declaration, or the platform's appeal, with your
    proof from the store (asset registration, earliest capture of your photo, licence).

    \b
    Example:
      listingguard takedown respond --platform dmca --listing https://shop.example/p/1 \\
          --complainant "Acme" --image my-photo.jpg
      listingguard takedown respond --platform tiktok-shop --listing URL --asset 12
    """
    from listingguard import respond as respond_glue
    from takedown.respond import Complaint

    day = received or dt.date.today()
    complaint = Complaint(reference, complainant, day.isoformat(), basis, listing_url, title, claim)
    ws = open_workspace(config_path)
    try:
        text, proofs, due = respond_glue.draft_response(
            ws, platform, complaint, list(asset_ids), list(images)
        )
        folder = ws.config.workspace.notices
    finally:
        ws.close()
    path = out_path or _unused(folder / f"response-{platform}-{day.isoformat()}.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    if as_json:
        print_json({"path": str(path), "deadline": due, "proofs": [p.__dict__ for p in proofs]})
        return
    out.print(f"{escape(str(path))}: {len(proofs)} proof(s)" + (f"; file by {due}" if due else ""))


def _unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``...: a second answer never overwrites the first."""
    n = 1
    candidate = path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def print_demo_takedown(summary: dict[str, Any]) -> None:
    """The demo's notices: what was confirmed on the reviewer's behalf, and where each file is."""
    out.print(
        f"\nAs a reviewer would, the demo confirmed the {summary['confirmed']} findings scoring "
        f"{summary['threshold']:.2f} or more (a real team reads each one first: "
        "listingguard findings confirm ID), then drafted their notices. Nothing was approved "
        "or sent."
    )
    for name, n in summary["unregistered"].items():
        out.print(
            f"{n} finding(s) on the mark {escape(name)} left unconfirmed: it has no "
            "registration for a trademark notice to cite (marks[].registrations)."
        )
    out.print(f"Notices and evidence packs, in {escape(summary['folder'])}:")
    for n in summary["notices"]:
        pack = f" + {Path(n['pack']).name}" if n["pack"] else ""
        out.print(
            f"  {n['notice']:>3}  {n['platform']} {n['basis']}, {n['listings']} listings: "
            + escape(Path(n["path"]).name + pack)
        )
