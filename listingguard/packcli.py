"""``listingguard evidence pack`` and the pack half of ``evidence verify``: evidence packs on the
command line. Registered on the ``evidence`` group of ``sweepcli``, which imports this module."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from listingguard import packs
from listingguard.cli import config_option, err, json_option, out, print_json
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


def verify_command(pack: Path, as_json: bool) -> None:
    """``evidence verify PACK``: exit 1 naming every problem of the pack."""
    checked = packs.check_pack(pack)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "pack": str(pack),
                    "sha256": checked.sha256,
                    "files": checked.files,
                    "ok": checked.ok,
                    "problems": checked.problems,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for problem in checked.problems:
            err.print(f"{escape(str(pack))}: {escape(problem)}")
        n = len(checked.problems)
        verdict = "all unchanged" if checked.ok else f"{n} problem" + ("s" if n != 1 else "")
        out.print(f"{escape(str(pack))}: {checked.files} files checked: {verdict}.")
    if not checked.ok:
        raise SystemExit(1)
