"""``listingguard check`` (the pre-listing self-check) and ``assets licences`` (the licence register)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from listingguard import checkreport, imaging, store
from listingguard import config as config_mod
from listingguard.cli import assets, cli, config_option, err, json_option, out, print_json
from listingguard.selfcheck import Checker, exit_code
from listingguard.sheets import read
from listingguard.workspace import open_workspace


@cli.command()
@click.argument("listings", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--platform", help="Check against this platform's rules (default: selfcheck.platform)."
)
@click.option(
    "--territory",
    "territories",
    multiple=True,
    help="Where the listings will sell, an ISO country code (repeat; default: selfcheck.territories).",
)
@click.option(
    "--on", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge licences as of this date."
)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a report with photo thumbnails to this file.")  # fmt: skip
@click.option("--encoding", help="The encoding of CSV sheets that are not UTF-8 (e.g. cp1252).")
@click.option("-v", "--verbose", is_flag=True, help="Show info lines too.")
@config_option
@json_option
def check(
    listings: tuple[Path, ...],
    platform: str | None,
    territories: tuple[str, ...],
    on: Any,
    html_path: Path | None,
    encoding: str | None,
    verbose: bool,
    config_path: Path,
    as_json: bool,
) -> None:
    """Self-check your own listings before you publish them.

    LISTING is a JSON or TOML file (one listing), a CSV or XLSX bulk-upload sheet, or a folder
    of them. Each listing is checked for other brands' marks (plain or disguised), counterfeit
    wording, photos that are not yours or used outside their licence, text copied from other
    sellers' listings in this workspace, and the platform's listing rules.

    Exit code 0 when nothing blocks, 1 when something blocks, 2 when some input could not be
    read (the other listings are still checked and reported).

    \b
    Example:
      listingguard check new-listings.csv --platform amazon --territory US
      listingguard check drafts/ --json > report.json
      listingguard check listing.json --html report.html
    """
    started = time.perf_counter()
    ws = open_workspace(config_path)
    try:
        bad = [
            t for t in territories if not config_mod.is_territory(t.upper()) and t.upper() != "UK"
        ]
        if bad:
            raise click.BadParameter(
                f"{bad[0]!r} is not an ISO 3166-1 country code (US, DE, GB, ...)",
                param_hint="--territory",
            )
        given = platform or ws.config.selfcheck.platform
        checker = Checker(ws, platform=given, territories=territories,
                          on=on.date() if on else None)  # fmt: skip
        # The checker's rules hold the user's platforms of [selfcheck.rules] too.
        if given and checker.rules.resolve(given) is None:
            where = "--platform" if platform else f"selfcheck.platform in {ws.config.path}"
            names = ", ".join(checker.rules.names())
            raise click.BadParameter(f"{given!r} is not one of {names}", param_hint=where)
        drafts = list(read(listings, ws.config.selfcheck.columns, encoding))
        with imaging.workers() as executor:
            reports = list(checker.check_all(drafts, executor, keep_images=html_path is not None))
        seconds = time.perf_counter() - started
        if html_path is not None:
            checkreport.write_html(reports, html_path, ws.db, ws.config, seconds)
    finally:
        ws.close()
    if as_json:
        print_json(checkreport.as_json(reports, seconds))
    else:
        checkreport.print_table(reports, out, verbose=verbose)
        if html_path is not None:
            out.print(f"Report: {escape(str(html_path))}")
    if not reports:
        err.print("No listings found in the paths given.")
        sys.exit(2)
    sys.exit(exit_code(reports))


@assets.command("licences")
@click.option("--days", type=click.IntRange(0), default=60, show_default=True,
              help="Licences that end within this many days (or have ended).")  # fmt: skip
@click.option("--all", "show_all", is_flag=True, help="Every licensed asset, whenever it ends.")
@config_option
@json_option
def assets_licences(days: int, show_all: bool, config_path: Path, as_json: bool) -> None:
    """List licensed assets whose licence ends soon (or has ended), soonest first.

    \b
    Example:
      listingguard assets licences --days 30
      listingguard assets licences --all --json
    """
    ws = open_workspace(config_path)
    try:
        rows = licences(ws.db, None if show_all else days)
    finally:
        ws.close()
    if as_json:
        print_json(rows)
        return
    table = Table("id", "kind", "name", "licensor", "territories", "platforms", "ends", "days left")
    for r in rows:
        table.add_row(
            str(r["id"]), r["kind"], escape(r["name"]), escape(r["licensor"] or ""),
            ", ".join(r["territories"] or []) or "any", ", ".join(r["platforms"] or []) or "any",
            r["licence_expires"] or "never",
            "" if r["days_left"] is None else str(r["days_left"]),
        )  # fmt: skip
    out.print(table)
    what = "licensed assets" if show_all else f"licences ending within {days} days or ended"
    out.print(f"{len(rows)} {what}.")


def licences(db: Any, days: int | None, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Licensed assets in service with their terms and days left; within ``days`` if given."""
    today = today or dt.date.today()
    out_rows = []
    for r in store.list_assets(db, rights="licensed"):
        ends = r["licence_expires"]
        left = (dt.date.fromisoformat(ends) - today).days if ends else None
        if days is not None and (left is None or left > days):
            continue
        keep = ("id", "kind", "name", "licensor", "territories", "platforms", "licence_expires")
        out_rows.append({k: r[k] for k in keep} | {"days_left": left})
    return sorted(out_rows, key=lambda r: (r["days_left"] is None, r["days_left"] or 0, r["id"]))
