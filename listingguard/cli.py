"""The ``listingguard`` command: a thin layer that parses options, calls the glue, prints results.

Exit codes: 0 done; 1 done, but some inputs were refused; 2 bad input (config, arguments, files
that make the whole command impossible). Library errors arrive as ListingGuardError and are
printed as one message each, never as a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from listingguard import __version__, imaging, store
from listingguard import config as config_mod
from listingguard.assets import Licence, Outcome, register_files, register_text, resolve, shown
from listingguard.catalogue import import_catalogue, with_columns
from listingguard.errors import ConfigError, ListingGuardError, NotFound
from listingguard.explain import copied, image_evidence, text_reasons
from listingguard.files import is_regular_or_missing
from listingguard.workspace import Workspace, open_workspace, template_config

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Group(click.Group):
    """Turns ListingGuardError into a message and its exit code; lists commands in order."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for line in str(exc).splitlines():
                err.print(escape(line), markup=True)
            ctx.exit(exc.exit_code)
        except ListingGuardError as exc:
            err.print(f"Error: {escape(str(exc))}")
            ctx.exit(exc.exit_code)
        except sqlite3.OperationalError as exc:
            err.print(f"Error: the database: {escape(str(exc))}")
            ctx.exit(2)
        except OSError as exc:
            where = f"{shown(exc.filename)}: " if exc.filename else ""
            err.print(f"Error: {escape(where)}{escape(exc.strerror or str(exc))}")
            ctx.exit(2)
        except KeyboardInterrupt:
            err.print("Interrupted: everything recorded before the interruption is kept.")
            ctx.exit(130)


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=config_mod.DEFAULT_CONFIG,
        show_default=True,
        envvar="LISTINGGUARD_CONFIG",
        help="The configuration file (its folder holds the database).",
    )(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def min_score_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--min-score",
        type=click.FloatRange(0, 1),
        help="Report matches from this score (default: matching.min_score, 0.5 decides).",
    )(f)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="listingguard")
def cli() -> None:
    """Protect a brand on marketplaces: find counterfeit listings, check your own listings
    before they go live, and draft takedown notices with evidence.

    \b
    Example:
      listingguard demo            # a demo workspace with the bundled catalogue
      listingguard init myshop     # a new workspace: config.toml and a database
    """


# -- init and config ----------------------------------------------------------------------------


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--force", is_flag=True, help="Overwrite an existing config.toml (the database is kept)."
)
def init(directory: Path, force: bool) -> None:
    """Create a workspace: a commented config.toml, asset folders and an empty database.

    \b
    Example:
      listingguard init myshop && cd myshop && listingguard config check
    """
    config_path = directory / "config.toml"
    if not is_regular_or_missing(config_path):
        raise ListingGuardError(f"{config_path} exists and is not a regular file; not touching it")
    existed = config_path.exists()
    if existed and not force:
        raise ListingGuardError(
            f"{config_path} exists; pass --force to overwrite it (the database is kept)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    config_path.write_text(template_config(), encoding="utf-8")
    try:
        ws = open_workspace(config_path, create=True)
    except BaseException:
        if not existed:
            config_path.unlink()  # leave no half-made workspace that the next init refuses
        raise
    for folder in ws.config.assets.folders:
        folder.path.mkdir(parents=True, exist_ok=True)
    err.print(f"Wrote {escape(str(config_path))} and {escape(str(ws.config.workspace.database))}.")
    err.print(
        "Next: put your details and marks in config.toml, then register your photos with "
        "'listingguard assets add PHOTOS_FOLDER' or your catalogue with "
        "'listingguard assets import CATALOGUE.csv'."
    )
    ws.close()


@cli.group(cls=Group)
def config() -> None:
    """Check the configuration file.

    \b
    Example:
      listingguard config check --config shop/config.toml
    """


@config.command("check")
@config_option
@json_option
def config_check(config_path: Path, as_json: bool) -> None:
    """Validate config.toml and the secrets its enabled alert channels need.

    Every problem is listed with its key path; the exit code is 2 when there is any.

    \b
    Example:
      listingguard config check
      listingguard config check --json     # the configuration as the program reads it
    """
    cfg = config_mod.load(config_path)
    problems: list[str] = []
    secrets = [
        (cfg.alerts.email.enabled, cfg.alerts.email.password_env, "alerts.email.password_env"),
        (cfg.alerts.webhook.enabled, cfg.alerts.webhook.url_env, "alerts.webhook.url_env"),
    ]
    for enabled, env_name, key in secrets:
        if enabled:
            try:
                cfg.secret(env_name, key)
            except ConfigError as exc:
                problems += exc.problems
    if problems:
        raise ConfigError(str(config_path), problems)
    if as_json:
        print_json(config_mod.as_dict(cfg))
        return
    out.print(
        f"{escape(str(config_path))}: OK — {len(cfg.marks)} marks, "
        f"{len(cfg.marketplaces)} marketplaces, {len(cfg.authorised)} authorised sellers"
    )


# -- assets -------------------------------------------------------------------------------------


@cli.group(cls=Group)
def assets() -> None:
    """Register what you own: word marks, product photos, logos and product copy.

    \b
    Example:
      listingguard assets add photos/ --kind image
      listingguard assets add --kind mark "Luma" "LumaTech"
      listingguard assets import catalogue.csv
      listingguard assets list
    """


def _licence(
    rights: str,
    licensor: str | None,
    territory: tuple[str, ...],
    platform: tuple[str, ...],
    expires: Any,
) -> Licence | None:
    given = licensor or territory or platform or expires
    if rights != "licensed":
        if given:
            raise click.UsageError(
                "--licensor, --territory, --platform and --expires go with --rights licensed"
            )
        return None
    if not licensor:
        raise click.UsageError("--rights licensed needs --licensor NAME (who granted the licence)")
    bad = [t for t in territory if not config_mod.is_territory(t.upper())]
    if bad:
        raise click.BadParameter(
            f"{bad[0]!r} is not an ISO 3166-1 alpha-2 country code (or EU, WO)",
            param_hint="--territory",
        )
    return Licence(
        licensor=licensor,
        territories=tuple(t.upper() for t in territory),
        platforms=tuple(p.lower() for p in platform),
        expires=expires.date().isoformat() if expires else None,
    )


def _report(
    outcomes: Iterable[Outcome], as_json: bool, verbose: bool, total: int | None = None
) -> int:
    """Print outcomes as they come (refusals always), then a summary; returns the exit code."""
    results: list[Outcome] = []
    counts: Counter[str] = Counter()
    for o in outcomes:
        results.append(o)
        counts[o.status] += 1
        if as_json:
            continue
        if o.status == "refused":
            err.print(f"refused: {escape(o.item)}: {escape(o.reason)}")
        elif verbose and o.status != "skipped":
            line = f"{o.status}: {o.item}" + (f" ({o.reason})" if o.reason else "")
            err.print(escape(line))
    if as_json:
        print_json({"results": [o.as_dict() for o in results], "counts": dict(counts)})
    else:
        parts = [f"{counts['added']} added"]
        if counts["exists"]:
            parts.append(f"{counts['exists']} already registered")
        parts.append(f"{counts['refused']} refused")
        if counts["skipped"]:
            parts.append(f"{counts['skipped']} skipped (not image or text files by name)")
        out.print(", ".join(parts) + ".")
        if counts["exists"] and not counts["added"] and not counts["refused"]:
            out.print("Nothing new: everything given is already registered.")
    return 1 if counts["refused"] else 0


@assets.command("add")
@click.argument("items", nargs=-1)
@click.option(
    "--kind",
    type=click.Choice(["image", "copy", "logo", "mark"]),
    default="image",
    show_default=True,
    help="What the files (or, for mark, the texts) are.",
)
@click.option(
    "--rights",
    type=click.Choice(["owned", "licensed", "third_party"]),
    default="owned",
    show_default=True,
    help="Owned, licensed from someone, or someone else's (for self-checks).",
)
@click.option(
    "--name", help="A name for the asset (one file or mark only); default: the file name."
)
@click.option("--product", "product_sku", metavar="SKU", help="Attach to this catalogue product.")
@click.option("--licensor", help="Who granted the licence (with --rights licensed).")
@click.option(
    "--territory",
    multiple=True,
    metavar="CC",
    help="Where the licence applies (ISO country code; repeat).",
)
@click.option(
    "--platform", multiple=True, help="Platforms the licence covers (e.g. amazon; repeat)."
)
@click.option(
    "--expires", type=click.DateTime(formats=["%Y-%m-%d"]), help="Licence end date, YYYY-MM-DD."
)
@click.option("-v", "--verbose", is_flag=True, help="List every file, not only refusals.")
@config_option
@json_option
def assets_add(
    items: tuple[str, ...],
    kind: str,
    rights: str,
    name: str | None,
    product_sku: str | None,
    licensor: str | None,
    territory: tuple[str, ...],
    platform: tuple[str, ...],
    expires: Any,
    verbose: bool,
    config_path: Path,
    as_json: bool,
) -> None:
    """Register files or folders (recursively) as images, logos or copy; or word marks.

    Each file is identified by its SHA-256, so adding it again changes nothing. Broken, hostile
    or oversized files are refused with a reason; the others are still added, and the exit code
    is then 1. With no PATH, the folders of [[assets.folders]] in config.toml are registered.

    \b
    Example:
      listingguard assets add photos/ --kind image
      listingguard assets add brochure.txt --kind copy --name "Hoodie copy"
      listingguard assets add --kind mark "Luma" "ルマ"
      listingguard assets add partner.jpg --rights licensed --licensor "ACME" \\
          --territory US --platform amazon --expires 2027-06-30
    """
    licence = _licence(rights, licensor, territory, platform, expires)
    ws = open_workspace(config_path)
    try:
        product_id = _product_id(ws, product_sku)
        if kind == "mark":
            if not items:
                raise click.UsageError(
                    "name the marks: listingguard assets add --kind mark TEXT..."
                )
            if name and len(items) > 1:
                raise click.UsageError("--name goes with one mark only")
            outcomes: Iterable[Outcome] = (
                register_text(
                    ws.db,
                    t,
                    kind="mark",
                    name=name or "",
                    rights=rights,
                    product_id=product_id,
                    licence=licence,
                )
                for t in items
            )
            code = _report(outcomes, as_json, verbose)
        else:
            with imaging.workers() as executor:
                outcomes = _file_outcomes(
                    ws, items, kind, rights, name, licence, product_id, executor
                )
                code = _report(_progress(outcomes, "Registering", as_json), as_json, verbose)
    finally:
        ws.close()
    sys.exit(code)


def _progress(items: Iterable[Any], label: str, quiet: bool) -> Iterator[Any]:
    """Yield ``items`` while a live count runs on a terminal (never in JSON output or pipes)."""
    if quiet or not err.is_terminal:
        yield from items
        return
    columns = (
        SpinnerColumn(),
        TextColumn(f"{label}: {{task.completed}} files"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=None)
        for item in items:
            progress.advance(task)
            yield item


def _product_id(ws: Workspace, sku: str | None) -> int | None:
    if sku is None:
        return None
    row = next(iter(ws.db.query("SELECT id FROM products WHERE sku = ?", [sku])), None)
    if row is None:
        raise NotFound(f"no product with SKU {sku!r}; import your catalogue first")
    return int(row["id"])


def _file_outcomes(
    ws: Workspace,
    items: tuple[str, ...],
    kind: Any,
    rights: str,
    name: str | None,
    licence: Licence | None,
    product_id: int | None,
    executor: Executor | None,
) -> Iterable[Outcome]:
    limits = ws.config.assets
    if items:
        paths = [Path(i) for i in items]
        if name and (len(paths) > 1 or paths[0].is_dir()):
            raise click.UsageError("--name goes with one file only")
        yield from register_files(
            ws.db,
            paths,
            kind=kind,
            rights=rights,
            limits=limits,
            name=name,
            licence=licence,
            product_id=product_id,
            executor=executor,
        )
        return
    if not limits.folders:
        raise click.UsageError("name files or folders, or list [[assets.folders]] in config.toml")
    for folder in limits.folders:
        yield from register_files(
            ws.db,
            [folder.path],
            kind=folder.kind,
            rights=folder.rights,
            limits=limits,
            licence=licence,
            product_id=product_id,
            executor=executor,
        )


@assets.command("list")
@click.option(
    "--kind", type=click.Choice(["image", "copy", "logo", "mark"]), help="Only this kind."
)
@click.option(
    "--rights", type=click.Choice(["owned", "licensed", "third_party"]), help="Only these rights."
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Include retired assets (removed while findings cite them).",
)
@config_option
@json_option
def assets_list(
    kind: str | None, rights: str | None, show_all: bool, config_path: Path, as_json: bool
) -> None:
    """List registered assets.

    \b
    Example:
      listingguard assets list --kind mark
      listingguard assets list --json | jq '.[].sha256'
    """
    ws = open_workspace(config_path)
    rows = store.list_assets(ws.db, kind=kind, rights=rights, retired=show_all)
    ws.close()
    if as_json:
        print_json(rows)
        return
    table = Table("id", "kind", "name", "rights", "product", "sha256", "detail")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            escape(r["name"]),
            r["rights"],
            escape(r["product_sku"] or ""),
            r["sha256"][:12],
            escape(_detail(r)),
        )
    out.print(table)
    out.print(f"{len(rows)} assets.")


def _detail(row: dict[str, Any]) -> str:
    bits = []
    if row["media"]:
        m = row["media"]
        bits.append(f"{m['format']} {m['width']}x{m['height']}")
    if row["kind"] == "mark" and row["aliases"]:
        bits.append("aliases: " + ", ".join(row["aliases"]))
    if row["registrations"]:
        bits.append(", ".join(f"{r['office']} {r['number']}" for r in row["registrations"]))
    if row["licensor"]:
        bits.append(
            f"licensed by {row['licensor']}"
            + (f" until {row['licence_expires']}" if row["licence_expires"] else "")
        )
    if row["retired_at"]:
        bits.append(f"retired {row['retired_at']}")
    return "; ".join(bits)


@assets.command("remove")
@click.argument("refs", nargs=-1, required=True)
@config_option
def assets_remove(refs: tuple[str, ...], config_path: Path) -> None:
    """Remove assets by id or SHA-256 prefix (8 or more hex digits).

    An asset that findings cite is retired instead, so their evidence stays whole. Marks from
    config.toml are removed by deleting them there.

    \b
    Example:
      listingguard assets remove 12 3f9a2c1b
    """
    ws = open_workspace(config_path)
    missing = 0
    try:
        for ref in refs:
            row = resolve(ws.db, ref)
            if row is None:
                err.print(f"not found: {escape(ref)} (give an asset id or a unique SHA-256 prefix)")
                missing += 1
                continue
            if row["source"] == "config":
                err.print(f"kept: {escape(row['name'])} comes from config.toml; delete it there")
                missing += 1
                continue
            with store.transaction(ws.db):
                what = store.remove_asset(ws.db, row["id"])
            out.print(f"{what}: asset {row['id']} ({escape(row['name'])})")
    finally:
        ws.close()
    sys.exit(1 if missing else 0)


@assets.command("import")
@click.argument("catalogue", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--images-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the photo files are (default: catalogue.images_dir beside the sheet).",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="KEY=COLUMN",
    help="Override a column name, e.g. --column sku=SKU (keys as in [catalogue]).",
)
@config_option
@json_option
def assets_import(
    catalogue: Path,
    images_dir: Path | None,
    columns: tuple[str, ...],
    config_path: Path,
    as_json: bool,
) -> None:
    """Import a product catalogue (CSV): products, their photos, copy and list prices.

    One row per product; column names come from [catalogue] in config.toml. Bad rows and
    photos are reported with their line; the rest is imported, and the exit code is then 1.

    \b
    Example:
      listingguard assets import catalogue.csv
      listingguard assets import export.csv --column sku=SKU --column images=photos --images-dir pics/
    """
    overrides = {}
    for c in columns:
        key, sep, value = c.partition("=")
        if not sep or not value:
            raise click.BadParameter(f"{c!r}: expected KEY=COLUMN", param_hint="--column")
        overrides[key.strip()] = value.strip()
    ws = open_workspace(config_path)
    try:
        spec = with_columns(ws.config.catalogue, overrides)
        rows = []
        bad = 0
        with imaging.workers() as executor:
            imported = import_catalogue(
                ws.db, catalogue, spec, limits=ws.config.assets, images_dir=images_dir,
                executor=executor,
            )  # fmt: skip
            rows_in = list(_progress(imported, "Importing rows", as_json))
        for row in rows_in:
            rows.append(row)
            problems = [a for a in row.assets if a.status == "refused"]
            bad += (row.status == "refused") + len(problems)
            if not as_json:
                if row.status == "refused":
                    err.print(f"line {row.line}: refused: {escape(row.reason)}")
                for a in problems:
                    err.print(
                        f"line {row.line}: {escape(row.sku)}: refused {escape(a.item)}: {escape(a.reason)}"
                    )
    finally:
        ws.close()
    if as_json:
        print_json([r.as_dict() for r in rows])
    else:
        status = Counter(r.status for r in rows)
        assets_ = Counter(a.status for r in rows for a in r.assets)
        out.print(
            f"{len(rows)} rows: {status['added']} products added, {status['updated']} updated, "
            f"{status['refused']} refused; assets: {assets_['added']} added, "
            f"{assets_['exists']} already registered, {assets_['refused']} refused."
        )
    sys.exit(1 if bad else 0)


# -- match --------------------------------------------------------------------------------------


@cli.group(cls=Group)
def match() -> None:
    """Check images and texts against your registered assets.

    \b
    Example:
      listingguard match image listing-photo.jpg --json
      listingguard match text "N1KE running shoes" --json
    """


@match.command("image")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@min_score_option
@config_option
@json_option
def match_image(
    files: tuple[str, ...], min_score: float | None, config_path: Path, as_json: bool
) -> None:
    """Which registered photos each image copies, best first, with the evidence.

    Finds copies that were resized, cropped, mirrored, rotated, recoloured, stretched,
    watermarked, bannered, padded, inset or put in a collage. With --json, one JSON object a
    line per file: {"file", "sha256", "matches": [{"asset", "asset_id", "rights", "kind",
    "score", "detail"}]}; a file that cannot be read has "error" and no matches (exit code 1).

    \b
    Example:
      listingguard match image suspicious.jpg
      listingguard match image shots/*.jpg --json > matches.jsonl
    """
    ws = open_workspace(config_path)
    cfg = ws.config
    threshold = cfg.matching.min_score if min_score is None else min_score
    failed = 0
    try:
        with imaging.workers() as executor:
            for problem in imaging.backfill(ws.db, cfg.assets, executor):
                err.print(f"warning: {escape(problem)}")
            owned = imaging.OwnedImages(ws.db)
            if not owned.index and not as_json:
                err.print("No image assets registered yet: 'listingguard assets add PHOTOS'.")
            results = imaging.match_files(
                ws.db, list(files), owned, imaging.thresholds_from(cfg),
                limits=cfg.assets, min_score=threshold, executor=executor,
            )  # fmt: skip
            for result in results:
                failed += "error" in result
                if as_json:
                    click.echo(json.dumps(result, ensure_ascii=False))
                else:
                    _print_image_result(result)
    finally:
        ws.close()
    sys.exit(1 if failed else 0)


@match.command("text")
@click.argument("texts", nargs=-1, required=True)
@click.option(
    "--seller", metavar="NAME", help="The seller's name shown (imitating a mark is a signal)."
)
@click.option(
    "--price",
    metavar="PRICE",
    help='The listing price shown, e.g. "$9.99" (far below list price is a signal).',
)
@click.option(
    "--language",
    metavar="CODE",
    help="The texts' language (wordfreq code, e.g. de); default: matching.text.languages.",
)
@min_score_option
@config_option
@json_option
def match_text(
    texts: tuple[str, ...],
    seller: str | None,
    price: str | None,
    language: str | None,
    min_score: float | None,
    config_path: Path,
    as_json: bool,
) -> None:
    """Which registered marks and copy each text uses, however disguised.

    Finds marks spelled with look-alike letters (Cyrillic, fullwidth), leetspeak, spaces or
    dots between letters, invisible characters, accents and typos; tells a mention ("case
    compatible with iPhone") from trademark use; and finds copied product text, with the
    sentences copied. "-" reads one text per line from standard input. With --json, one JSON
    object a line, in order: {"text", "matches": [{"asset", "kind" (trademark, mention, copy),
    "score", "span", "detail"}], "signals"}; a line that is not UTF-8 has "error" (exit code 1).

    \b
    Example:
      listingguard match text "N1KE Air running shoes" "case compatible with Luma yoga mat"
      listingguard match text - --json < titles.txt > matches.jsonl
    """
    from listingguard import texting

    ws = open_workspace(config_path)
    cfg = ws.config
    threshold = cfg.matching.min_score if min_score is None else min_score
    if language and not config_mod.is_language(language):
        raise click.BadParameter(
            f"{language!r} is not a language wordfreq knows (e.g. en, de, es, zh)",
            param_hint="--language",
        )
    failed = 0
    try:
        owned = texting.owned_text(ws.db, cfg)
        if not owned.marks.marks and not len(owned.copy) and not as_json:
            err.print(
                "No marks or copy registered yet: 'listingguard assets add --kind mark TEXT' "
                "or 'listingguard assets add COPY.txt --kind copy'."
            )
        for number, item in enumerate(_texts(texts), 1):
            if isinstance(item, tuple):
                failed += 1
                shown, problem = item
                result: dict[str, Any] = {
                    "text": shown, "matches": [], "signals": [], "line": number, "error": problem,
                }  # fmt: skip
            else:
                result = owned.match(
                    item, seller=seller, price=price, min_score=threshold, language=language
                )
            if as_json:
                click.echo(json.dumps(result, ensure_ascii=False))
            else:
                _print_text_result(result)
    finally:
        ws.close()
    sys.exit(1 if failed else 0)


def _texts(args: tuple[str, ...]) -> Iterator[str | tuple[str, str]]:
    """The texts given, "-" expanded to standard input's lines. Text that is not UTF-8 comes as
    (the text with U+FFFD for the bad bytes, the problem): it is reported, not matched."""
    for arg in args:
        if arg != "-":
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                yield shown, "the argument is not valid UTF-8 text"
                continue
            yield arg
            continue
        for number, raw in enumerate(sys.stdin.buffer, 1):
            line = raw.rstrip(b"\r\n")
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield (
                    line.decode("utf-8", "replace"),
                    (
                        f"standard input line {number} is not UTF-8 "
                        f"(byte 0x{line[exc.start]:02X} at offset {exc.start})"
                    ),
                )


def _printable(text: str) -> str:
    """Scraped text made safe for a terminal: control characters (escape sequences that would
    clear the screen or retitle the window) are shown as \\xNN, and rich markup is escaped."""
    return escape("".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text))


def _print_text_result(result: dict[str, Any]) -> None:
    if "error" in result:
        err.print(f"refused: {_printable(result['error'])}")
        return
    shown = result["text"] if len(result["text"]) <= 80 else result["text"][:77] + "..."
    if not result["matches"]:
        out.print(f"{escape(repr(shown))}: no registered mark or copy")
    else:
        table = Table("asset", "kind", "score", "shown as", "why", title=_printable(shown))
        for m in result["matches"]:
            d = m["detail"]
            shown_as = copied(d) if m["kind"] == "copy" else repr(d.get("matched", ""))
            why = "; ".join(text_reasons(m))
            table.add_row(
                _printable(m["asset"]),
                m["kind"],
                f"{m['score']:.2f}",
                _printable(shown_as),
                _printable(why),
            )
        out.print(table)
    for s in result.get("signals", []):
        if s["signal"] == "mixed_script":
            out.print(f"  signal: {_printable(s['token'])} mixes {', '.join(s['scripts'])} letters")
        elif s["signal"] == "impersonation":
            out.print(
                f"  signal: seller {_printable(s['seller'])} imitates the mark {_printable(s['mark'])}"
            )


def _print_image_result(result: dict[str, Any]) -> None:
    name = escape(result["file"])
    if "error" in result:
        err.print(f"{name}: refused: {escape(result['error'])}")
        return
    if not result["matches"]:
        out.print(f"{name}: no copy of a registered photo")
        return
    table = Table("asset", "score", "evidence", "region in the image", title=result["file"])
    for m in result["matches"]:
        d = m["detail"]
        how = image_evidence(d)
        region = ",".join(map(str, d.get("region", []))) or "-"
        table.add_row(
            escape(f"{m['asset']} (#{m['asset_id']}, {m['rights']})"),
            f"{m['score']:.2f}",
            how,
            region,
        )
    out.print(table)


# -- demo ---------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build the demo workspace here (default: a new temporary folder).",
)
@json_option
def demo(directory: Path | None, as_json: bool) -> None:
    """Build a demo workspace from the bundled catalogue, then sweep the demo marketplace.

    Registers the demo brand's marks, photos and copy; starts a marketplace on 127.0.0.1 with
    genuine listings, counterfeits, mentions and unrelated products in four storefront styles;
    crawls it, matches what it found and grades the findings against the market's ground truth.
    The workspace is an ordinary one: cd into it and every other command works on it.

    \b
    Example:
      listingguard demo
      listingguard demo --dir /tmp/lg-demo && cd /tmp/lg-demo && listingguard assets list
    """
    from listingguard.checkreport import print_table
    from listingguard.demo import build, drafts, takedowns, tour
    from listingguard.sweepcli import print_demo_sweep, sweep_progress
    from listingguard.takedowncli import print_demo_takedown

    result = build(directory)
    summary = result.summary()
    try:
        if as_json:
            summary |= tour.run(result.workspace, result.directory / "catalogue")
        else:
            out.print(f"Demo workspace: {escape(summary['directory'])}")
            with sweep_progress() as display:
                swept = tour.run(result.workspace, result.directory / "catalogue", display)
            summary |= swept
        summary["takedown"] = takedowns.run(result.workspace)
        checked, summary["selfcheck"] = drafts.run(result.workspace, result.directory / "catalogue")
    finally:
        result.workspace.close()
    if as_json:
        print_json(summary)
        return
    marks = ", ".join(
        m["text"] + (f" ({', '.join(m['aliases'])})" if m["aliases"] else "")
        for m in summary["marks"]
    )
    out.print(f"Word marks: {escape(marks)}")
    table = Table("SKU", "product", "list price", "photos", "copy", title="Catalogue registered")
    for p in summary["products"]:
        price = f"{p['list_price']:g} {p['currency']}" if p["list_price"] is not None else ""
        table.add_row(
            escape(p["sku"]), escape(p["name"]), price, str(p["photos"] or 0), str(p["copy"] or 0)
        )
    out.print(table)
    c = summary["counts"]
    out.print(f"{c['mark']} marks, {c['image']} photos and {c['copy']} copy texts registered.")
    for r in summary["refused"]:
        err.print(f"refused: line {r['line']}: {escape(r['item'])}: {escape(r['reason'])}")
    out.print("\nSuspicious listing photos made from the catalogue, checked for copies:")
    for m in summary["image_matches"]:
        best = m["matches"][0] if m["matches"] else None
        verdict = (
            f"copy of {best['asset']} (score {best['score']:.2f}"
            + (", mirrored" if best["detail"].get("mirrored") else "")
            + ")"
            if best
            else "no copy of a registered photo"
        )
        out.print(f"  {escape(Path(m['file']).name)} — {escape(m['what'])}: {escape(verdict)}")
    out.print("\nSuspicious listing texts, checked for your marks and copy:")
    for m in summary["text_matches"]:
        shown = m["text"] if len(m["text"]) <= 50 else m["text"][:47] + "..."
        verdicts = []
        for found in m["matches"]:
            why = text_reasons(found)
            if found["kind"] == "copy":
                why.insert(0, copied(found["detail"]))
            verdicts.append(
                f"{found['kind']} of {found['asset']} "
                f"(score {found['score']:.2f}; {'; '.join(why)})"
            )
        out.print(
            f"  {escape(m['what'])}: {escape(repr(shown))} — "
            + escape("; ".join(verdicts) or "no mark or copy of yours")
        )
    print_demo_sweep(summary, Path(summary["config"]))
    print_demo_takedown(summary["takedown"])
    sc = summary["selfcheck"]
    out.print(
        f"\nBefore listing: the self-check of {len(checked)} draft listings "
        f"({escape(sc['sheet'])}, for {escape(sc['platform'] or 'any platform')} in "
        f"{escape(', '.join(sc['territories']) or 'any territory')}):"
    )
    print_table(checked, out)
    out.print(f"Try: cd {escape(summary['directory'])} && listingguard findings --status new")
    out.print("     listingguard takedown list && listingguard takedown show 1")
    out.print("     listingguard check drafts/listings.csv --html drafts/report.html")
    out.print("     listingguard match image listings-sample/*.jpg")
    out.print('     listingguard match text "L u m a hoodie" "N1ce Lumа tee" --json')
    out.print("     listingguard review      # triage the findings in your browser")
    out.print(f"\nSweep report: {escape(summary['sweep']['report'])}")


# The sweep pipeline's commands live in their own module and register on import.
from listingguard import checkcli, reviewcli, schedulecli, sweepcli, takedowncli  # noqa: E402, F401


def main() -> None:
    cli()
