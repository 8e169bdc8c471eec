"""The sweep commands of ``listingguard``: ``sweep``, ``findings`` and ``evidence verify``.

Kept apart from ``cli.py`` (which registers them) so that each file stays about one thing:
these are the commands of the crawl-and-match pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from listingguard import evidence as evidence_mod
from listingguard import findings as findings_mod
from listingguard import jobs
from listingguard import sweep as sweep_mod
from listingguard.cli import _printable, cli, config_option, err, json_option, out, print_json
from listingguard.errors import ListingGuardError
from listingguard.workspace import open_workspace

STATUSES = ("new", "confirmed", "dismissed", "reported", "resolved", "authorised")


class RichDisplay(sweep_mod.Display):
    """A live progress display: one line per marketplace crawl, then the matching stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def crawl_started(self, name: str, resumed: bool) -> None:
        label = f"crawl {name}" + (" (resumed)" if resumed else "")
        self.tasks[name] = self.progress.add_task(escape(label), total=None, info="")

    def crawl_progress(self, name: str, counts: dict[str, int]) -> None:
        info = (
            f"{counts['listings']} listings, {counts['pages']} pages, {counts['images']} images"
            + (f", {counts['blocked']} blocked" if counts["blocked"] else "")
        )
        self.progress.update(self.tasks[name], info=info)

    def crawl_finished(self, result: sweep_mod.CrawlResult) -> None:
        self.progress.update(self.tasks[result.marketplace], total=1, completed=1)

    def stage_started(self, images: int, listings: int) -> None:
        self.tasks["images"] = self.progress.add_task("fingerprint images", total=images, info="")
        self.tasks["listings"] = self.progress.add_task("match listings", total=listings, info="")

    def image_done(self, n: int) -> None:
        self.progress.advance(self.tasks["images"], n)

    def listing_done(self, n: int) -> None:
        self.progress.advance(self.tasks["listings"], n)


def print_sweep(summary: dict[str, Any]) -> None:
    table = Table(
        "marketplace", "status", "pages", "listings", "images", "blocked", "new findings",
        "errors", title="Sweep",
    )  # fmt: skip
    for m in summary["marketplaces"]:
        table.add_row(
            escape(m["marketplace"]) + (" (resumed)" if m["resumed"] else ""),
            m.get("status", ""),
            str(m.get("pages", 0)),
            str(m.get("listings", 0)),
            str(m.get("images", 0)),
            str(m.get("blocked", 0)),
            str(m.get("new_findings", 0)),
            str(m.get("errors", 0)),
        )
    out.print(table)
    out.print(
        f"{summary['listings_matched']} listings matched, {summary['images_fingerprinted']} new "
        f"images fingerprinted ({summary['images_refused']} unusable); "
        f"{summary['new_findings']} new findings, {summary['updated_findings']} updated, "
        f"{summary['authorised_findings']} on authorised sellers."
    )
    for m in summary["marketplaces"]:
        if m.get("blocked"):
            err.print(
                f"{escape(m['marketplace'])}: {m['blocked']} pages were bot walls (CAPTCHA): "
                "recorded as blocked; slow down or crawl from an allowed address."
            )
        if m.get("status") == "running" and not m.get("listings"):
            err.print(
                f"{escape(m['marketplace'])}: not crawled: another sweep of it is running, or it "
                "was stopped; run listingguard sweep again to resume it"
            )
        if m.get("status") == "finished" and not m.get("pages") and m.get("errors"):
            err.print(
                f"{escape(m['marketplace'])}: nothing could be fetched ({m['errors']} errors: the "
                f"site is unreachable?); see {escape(m.get('log') or '')}. The demo marketplaces "
                "of the example config run only inside 'listingguard demo' (or: python -m "
                "listingguard.demo.market --port 8700)."
            )
        if m.get("status") == "failed":
            err.print(f"{escape(m['marketplace'])}: the crawl failed; see {escape(m['log'] or '')}")
    for d in summary.get("alerts", []):
        if not d["ok"]:
            err.print(f"alert by {d['channel']} not delivered: {escape(d['error'] or '')}")
    if summary.get("report"):
        out.print(f"Report: {escape(summary['report'])}")


@contextmanager
def sweep_progress() -> Iterator[RichDisplay]:
    """The live display of a sweep, on stderr so that stdout stays the results."""
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err, transient=False) as progress:
        yield RichDisplay(progress)


def print_findings(rows: list[dict[str, Any]], title: str | None = None) -> None:
    table = Table(
        "id", "kind", "score", "status", "marketplace", "listing", "seller", "why", title=title
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            f"{r['score']:.2f}",
            r["status"],
            _printable(r["marketplace"]),
            _printable((r["title"] or r["listing_id"])[:60]),
            _printable(r["seller_name"] or r["seller_id"] or ""),
            _printable(r["explanation"] or ""),
        )
    out.print(table)


def print_demo_sweep(summary: dict[str, Any], config_path: Path) -> None:
    """The demo's sweep: the table, the best new findings, and the grade against the truth."""
    out.print(f"\nThe demo marketplace at {escape(summary['market'])}, swept:")
    print_sweep(summary["sweep"])
    ws = open_workspace(config_path)
    try:
        rows = list(findings_mod.iter_findings(ws.db, "new"))
    finally:
        ws.close()
    print_findings(
        rows[:12], title=f"Best new findings (of {len(rows)}; all: listingguard findings)"
    )
    names = {
        "counterfeit": "counterfeits found with every kind of evidence they carry",
        "genuine": "genuine listings (authorised sellers) left unreported",
        "mention": 'mentions ("compatible with") left unreported',
        "unrelated": "unrelated products left unreported",
        "blocked": "bot-wall pages recorded as blocked",
    }
    out.print("Against the market's ground truth:")
    for label, c in summary["grade"]["labels"].items():
        out.print(f"  {c['right']} of {c['listings']} {names.get(label, label)}")
    for miss in summary["grade"]["misses"]:
        out.print(
            f"  missed: {escape(miss['label'])} {escape(miss['url'])}: expected "
            f"{', '.join(miss['expected']) or 'nothing'}, found {', '.join(miss['found']) or 'nothing'}"
        )


@cli.command()
@click.option("--marketplace", "only", metavar="NAME", help="Sweep this marketplace only.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@config_option
@json_option
def sweep(only: str | None, quiet: bool, config_path: Path, as_json: bool) -> None:
    """Crawl the marketplaces now, match what is new, record findings.

    Each marketplace of config.toml is crawled politely (robots.txt, delays, its own process),
    every page and image kept as evidence; then new and changed listings are matched. Stopped
    (Ctrl-C, or killed), it resumes where it stopped when run again.

    \b
    Example:
      listingguard sweep
      listingguard sweep --marketplace demo-jsonld --json
    """
    ws = open_workspace(config_path)
    try:
        if quiet or as_json:
            result = sweep_mod.run(ws.config, ws.db, only)
        else:
            with sweep_progress() as display:
                result = sweep_mod.run(ws.config, ws.db, only, display)
        summary = jobs.after_sweep(ws, result.summary())
    finally:
        ws.close()
    if as_json:
        print_json(summary)
    else:
        print_sweep(summary)
    if any(m.get("status") == "failed" for m in summary["marketplaces"]):
        raise SystemExit(1)


@cli.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), help="Only findings with this status.")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@config_option
@json_option
@click.pass_context
def findings(
    ctx: click.Context, status: str | None, limit: int, config_path: Path, as_json: bool
) -> None:
    """List findings, best score first (kinds: trademark, image_copy, text_copy); review them
    with the subcommands.

    \b
    Example:
      listingguard findings --status new
      listingguard findings --json > findings.json
      listingguard findings confirm 12 14
    """
    if ctx.invoked_subcommand is not None:
        return
    ws = open_workspace(config_path)
    try:
        rows = []
        for i, row in enumerate(findings_mod.iter_findings(ws.db, status)):
            if i >= limit:
                break
            rows.append(row)
    finally:
        ws.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No findings" + (f" with status {status}." if status else "."))
        return
    print_findings(rows)


def _review(ids: tuple[int, ...], status: str, config_path: Path) -> None:
    ws = open_workspace(config_path)
    try:
        problems = findings_mod.review(ws.db, ws.config, list(ids), status)
    finally:
        ws.close()
    if problems:
        raise ListingGuardError("\n".join(problems))
    out.print(f"{status}: finding {', '.join(map(str, ids))}.")


@findings.command("confirm")
@click.argument("ids", metavar="ID...", nargs=-1, type=int, required=True)
@config_option
def findings_confirm(ids: tuple[int, ...], config_path: Path) -> None:
    """Confirm findings after reading their evidence: only confirmed findings are drafted into
    notices. Findings on authorised sellers cannot be confirmed.

    \b
    Example:
      listingguard findings confirm 12 14
    """
    _review(ids, "confirmed", config_path)


@findings.command("dismiss")
@click.argument("ids", metavar="ID...", nargs=-1, type=int, required=True)
@config_option
def findings_dismiss(ids: tuple[int, ...], config_path: Path) -> None:
    """Dismiss findings that are not infringements (kept, so later sweeps do not raise them).

    \b
    Example:
      listingguard findings dismiss 13
    """
    _review(ids, "dismissed", config_path)


@findings.command("reopen")
@click.argument("ids", metavar="ID...", nargs=-1, type=int, required=True)
@config_option
def findings_reopen(ids: tuple[int, ...], config_path: Path) -> None:
    """Put confirmed or dismissed findings back in the queue as new.

    \b
    Example:
      listingguard findings reopen 13
    """
    _review(ids, "new", config_path)


@cli.group()
def evidence() -> None:
    """Evidence kept as captured: verify that nothing has changed, pack it for a notice.

    \b
    Example:
      listingguard evidence verify
      listingguard evidence pack 12 14
      listingguard evidence verify notices/notice-0001-amazon-trademark-evidence.zip
    """


@evidence.command("verify")
@click.argument(
    "pack", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@config_option
@json_option
def evidence_verify(pack: Path | None, config_path: Path, as_json: bool) -> None:
    """Re-hash every stored capture, or check one evidence pack; exit 1 if anything changed.

    Without PACK, every capture of the workspace is read back from its WARC file and re-hashed.
    With PACK (a zip from 'evidence pack'), no workspace is needed: every file must match the
    manifest's SHA-256 and size, no file may be added, and each WARC record must parse with the
    payload digest, URL, record id, time and HTTP status the manifest names. The pack's SHA-256
    is printed, to compare with the one its notice gives; in a workspace whose notice records
    the pack (by file name or SHA-256), a pack with another SHA-256 is a problem.

    \b
    Example:
      listingguard evidence verify
      listingguard evidence verify --json
      listingguard evidence verify evidence/packs/pack-12-20260101T120000Z.zip
    """
    if pack is not None:
        packcli.verify_command(pack, as_json, config_path)
        return
    ws = open_workspace(config_path)
    try:
        checked, problems = evidence_mod.verify(ws.db, ws.config.workspace.evidence)
    finally:
        ws.close()
    if as_json:
        click.echo(
            json.dumps({"checked": checked, "problems": [p.__dict__ for p in problems]}, indent=2)
        )
    else:
        for p in problems:
            err.print(
                f"capture {p.capture_id} ({_printable(p.url[:100])}) in "
                f"{escape(p.warc_file or '?')}: {escape(p.problem)}"
            )
        verdict = "all unchanged" if not problems else f"{len(problems)} changed or missing"
        out.print(f"{checked} captures checked: {verdict}.")
    if problems:
        raise SystemExit(1)


# The evidence pack commands live in their own module and register on import.
from listingguard import packcli  # noqa: E402
