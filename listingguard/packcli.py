"""``listingguard evidence pack`` and the pack half of ``evidence verify``: evidence packs on the
command line. Registered on the ``evidence`` group of ``sweepcli``, which imports this module."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click
from rich.markup import escape

from listingguard import config as config_mod
from listingguard import packs, store
from listingguard.cli import config_option, err, json_option, out, print_json
from listingguard.errors import ListingGuardError
from listingguard.sweepcli import evidence
from listingguard.workspace import open_workspace


@evidence.command("pack")
@click.argument(
    "finding_ids", metavar="FINDING...", nargs=-1, required=True, type=click.IntRange(1)
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="Where to write the zip: a file, or a folder (default: evidence/packs/).",
)
@click.option("--no-pdf", is_flag=True, help="No summary.pdf, even where a browser can print it.")
@config_option
@json_option
def evidence_pack(
    finding_ids: tuple[int, ...],
    out_path: Path | None,
    no_pdf: bool,
    config_path: Path,
    as_json: bool,
) -> None:
    """Write an evidence pack of findings: a zip a platform can check without your workspace.

    It holds the captured pages and images (their WARC records, as captured), the registered
    photo beside the listing image with the matched region outlined, the listing text with the
    match marked, a one-page summary (HTML; PDF where Chromium or Chrome is installed), and
    manifest.json with every file's SHA-256, size and capture time.

    \b
    Example:
      listingguard evidence pack 12 31 44
      listingguard evidence pack 12 --out notice-12.zip --json
      listingguard evidence verify notice-12.zip
    """
    ws = open_workspace(config_path)
    try:
        result = packs.write_pack(ws, list(finding_ids), out_path, pdf=not no_pdf)
    finally:
        ws.close()
    if as_json:
        print_json(result.as_dict())
        return
    for note in result.notes:
        err.print(f"not included: {escape(note)}")
    pdf = "with summary.pdf" if result.pdf else "no PDF (no Chromium or Chrome on PATH)"
    out.print(
        f"Wrote {escape(str(result.path))}: {result.files} files and manifest.json, "
        f"{result.bytes} bytes, {pdf}.\n"
        f"SHA-256 {result.sha256}\n"
        f"Check it with: listingguard evidence verify {escape(str(result.path))}"
    )


def _recorded(pack: Path, sha256: str | None, config_path: Path) -> list[packs.Recorded] | str:
    """The workspace's notices that record this pack, or why there is no workspace to ask."""
    if not config_path.is_file():
        return f"{config_path} not found"
    try:
        config = config_mod.load(config_path)
        db = store.open_store(config.workspace.database)
    except ListingGuardError as exc:
        return str(exc).splitlines()[0][:200]
    try:
        return packs.recorded(db, pack, sha256)
    except sqlite3.Error as exc:
        return f"{config.workspace.database}: {str(exc)[:200]}"
    finally:
        db.close()


def verify_command(pack: Path, as_json: bool, config_path: Path) -> None:
    """``evidence verify PACK``: exit 1 naming every problem of the pack.

    In a workspace whose notices record this pack (by file name or SHA-256), the pack must be
    the very file the notice recorded: a manifest cannot vouch for itself. Elsewhere its SHA-256
    is shown, to compare with the one the notice gives.
    """
    checked = packs.check_pack(pack)
    found = _recorded(pack, checked.sha256, config_path)
    workspace = not isinstance(found, str)
    notices = found if not isinstance(found, str) else []
    problems = [*checked.problems, *packs.pin_problems(checked.sha256, notices)]
    matched = [r for r in notices if r.sha256 == checked.sha256]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "pack": str(pack),
                    "sha256": checked.sha256,
                    "files": checked.files,
                    "ok": not problems,
                    "problems": problems,
                    "workspace": workspace,
                    "recorded": [r.as_dict(checked.sha256) for r in notices],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for problem in problems:
            err.print(f"{escape(str(pack))}: {escape(problem)}")
        n = len(problems)
        verdict = "all unchanged" if not problems else f"{n} problem" + ("s" if n != 1 else "")
        out.print(f"{escape(str(pack))}: {checked.files} files checked: {verdict}.")
        sha = f"SHA-256 {checked.sha256}"
        if matched:
            shown = ", ".join(f"notice {r.notice_id} on {r.date}" for r in matched)
            out.print(f"{sha}: the very pack recorded for {shown}.")
        elif notices:
            out.print(f"{sha}: not the pack the notice recorded.")
        elif workspace:
            out.print(
                f"{sha}: no notice of this workspace records this pack; compare it with the "
                "SHA-256 the notice gives."
            )
        else:
            out.print(
                f"{sha}: compare it with the SHA-256 the notice gives (no workspace to look "
                f"the notice up in: {escape(str(found))})."
            )
    if problems:
        raise SystemExit(1)
