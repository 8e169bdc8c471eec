"""Regression tests for hostile input found in review (issue 2): each is a clear error, never a hang or traceback."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import run

from listingguard import config, store
from listingguard.cli import cli
from listingguard.errors import ConfigError, StoreError

EXAMPLE = (Path(__file__).resolve().parent.parent / "config.toml").read_text("utf-8")


def test_store_writes_are_committed_without_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = store.open_store(path, create=True)
    store.save_listing(db, {"marketplace": "m", "listing_id": "1", "url": "u"})
    store.save_product(db, {"sku": "MH01", "name": "Hoodie"})
    assert not db.conn.in_transaction
    db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM listings").fetchone() == (1,)
    assert conn.execute("SELECT COUNT(*) FROM products").fetchone() == (1,)


def test_concurrent_commands_wait_for_each_other(
    workspace: Path, catalogue: Path, tmp_path: Path
) -> None:
    photos = sorted((catalogue / "images").glob("*.jpg"))
    folders = []
    for i in range(3):
        folder = tmp_path / f"part{i}"
        folder.mkdir()
        for p in photos[i::3]:
            (folder / p.name).write_bytes(p.read_bytes())
        folders.append(folder)
    cmd = [sys.executable, "-m", "listingguard"]
    procs = [
        subprocess.Popen([*cmd, "assets", "add", str(f), "--config", str(workspace)], stderr=subprocess.PIPE, text=True)
        for f in folders
    ] + [
        subprocess.Popen([*cmd, "assets", "list", "--config", str(workspace)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    db = store.open_store(workspace.parent / "listingguard.db")
    assert db.execute("SELECT COUNT(*) FROM assets WHERE kind = 'image'").fetchone() == (
        len(photos),
    )


def test_a_named_pipe_does_not_hang(
    runner: CliRunner, workspace: Path, tmp_path: Path, real_jpeg: bytes
) -> None:
    folder = tmp_path / "pipes"
    folder.mkdir()
    os.mkfifo(folder / "pipe.jpg")
    (folder / "good.jpg").write_bytes(real_jpeg)
    code, out, err = run(runner, workspace, "assets", "add", str(folder), str(folder / "pipe.jpg"))
    assert code == 1
    assert err.count("not a regular file (a pipe, socket, device or folder)") == 2
    assert "1 added" in out


def test_devices_are_refused_unread(runner: CliRunner, workspace: Path) -> None:
    code, _, err = run(runner, workspace, "assets", "add", "/dev/zero", "/dev/null")
    assert code == 1 and err.count("not a regular file") == 2


def test_undecodable_file_names(
    runner: CliRunner, workspace: Path, tmp_path: Path, real_jpeg: bytes
) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    bad = os.fsencode(folder) + b"/caf\xe9.jpg"
    with open(bad, "wb") as fh:
        fh.write(real_jpeg)
    (folder / "ok.jpg").write_bytes(real_jpeg[:100])
    code, out, _ = run(runner, workspace, "assets", "add", str(folder), "--json")
    assert code == 1
    results = json.loads(out)["results"]
    assert any(r["item"].endswith("caf\\xe9.jpg") and r["status"] == "added" for r in results)


@pytest.mark.parametrize(
    ("mark", "reason"),
    [
        ("\u200b", "invisible or bidirectional control characters (U+200B)"),
        ("\u202eamuL", "invisible or bidirectional control characters (U+202E)"),
        ("\u0301", "no letters or digits"),
        ("Lu\udcffma", "not valid UTF-8 text"),
        ("x" * 101, "longer than 100"),
    ],
)
def test_unusable_marks_are_refused(
    runner: CliRunner, workspace: Path, mark: str, reason: str
) -> None:
    code, _, err = run(runner, workspace, "assets", "add", "--kind", "mark", mark)
    assert code == 1 and reason in err


def test_persian_marks_keep_their_joiners(runner: CliRunner, workspace: Path) -> None:
    code, _, err = run(runner, workspace, "assets", "add", "--kind", "mark", "می\u200cخواهم")
    assert code == 0, err


@pytest.mark.parametrize("ref", ["²", "99999999999999999999999", "zz", "12ab"])
def test_odd_asset_references(runner: CliRunner, workspace: Path, ref: str) -> None:
    code, _, err = run(runner, workspace, "assets", "remove", ref)
    assert code == 1 and f"not found: {ref}" in err


def _sheet(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.csv"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('family,name,description\nMH01,Hoodie,"unclosed\nMJ01,Kit,x\n', "not a well-formed CSV"),
        ("family,name,name\nMH01,Hoodie,Again\n", "the header names 'name' twice"),
        ("", "the sheet is empty"),
        ("\n\n", "the sheet is empty"),
        ("family,name\nMH\x00,Hoodie\n", "line 2: holds a NUL byte"),
    ],
)
def test_sheets_that_cannot_be_parsed_import_nothing(
    runner: CliRunner, workspace: Path, tmp_path: Path, text: str, message: str
) -> None:
    code, _, err = run(runner, workspace, "assets", "import", str(_sheet(tmp_path, text)))
    assert code == 2 and message in err
    assert sqlite3.connect(workspace.parent / "listingguard.db").execute(
        "SELECT COUNT(*) FROM products"
    ).fetchone() == (0,)


def test_huge_description_and_blank_lines_before_the_header(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    text = (
        "\n\nfamily,name,price,description\nMH01,Hoodie,52,"
        + "warm " * 40_000
        + "\nMJ01,Kit,-5,\nMS09,Tee,1e308,\n"
    )
    code, out, err = run(runner, workspace, "assets", "import", str(_sheet(tmp_path, text)))
    assert code == 1
    assert "line 5: refused: price '-5' is below zero" in err
    assert "line 6: refused: price '1e308' is not a number" in err
    assert "3 rows: 1 products added" in out


def test_empty_image_separator_is_refused(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        runner,
        workspace,
        "assets",
        "import",
        str(_sheet(tmp_path, "family,name\nA,B\n")),
        "--column",
        "image_separator=",
    )
    assert code == 2
    workspace.write_text(
        workspace.read_text().replace('image_separator = ";"', 'image_separator = ""')
    )
    code, _, err = run(runner, workspace, "config", "check")
    assert code == 2 and 'catalogue.image_separator: expected a non-empty string, got ""' in err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'database = "listingguard.db"',
            'database = "a\\u0000b"',
            "workspace.database: expected a path (a non-empty string without NUL)",
        ),
        (
            'database = "listingguard.db"',
            'database = "~nosuchuser/x.db"',
            "workspace.database: expected a path whose ~user exists",
        ),
        (
            'text = "LumaTech"',
            'text = "Luma\\u200bTech"',
            "marks[1].text: expected a word mark (mark contains invisible",
        ),
        ('text = "LumaTech"', 'text = "LUMA\\u0301"', None),
        (
            'aliases = ["ルマ", "露玛"]',
            'aliases = ["ルマ", ""]',
            "marks[0].aliases: expected a list of word marks ('': empty mark)",
        ),
    ],
)
def test_more_config_mistakes(tmp_path: Path, old: str, new: str, message: str | None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE.replace(old, new, 1), "utf-8")
    if message is None:
        config.load(path)  # a different mark (an accent makes it one) loads
        return
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert message in str(info.value)


def test_duplicate_marks_are_compared_in_nfc(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = EXAMPLE.replace('text = "Luma"', 'text = "Cafe\\u0301"').replace(
        'text = "LumaTech"', 'text = "CAFÉ"'
    )
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=r"marks\[1\]\.text: 'CAFÉ' is already marks\[0\]"):
        config.load(path)


def test_database_path_that_is_not_usable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create its folder"):
        store.open_store(tmp_path / "file" / "x.db", create=True)
    with pytest.raises(StoreError, match="not a file"):
        store.open_store(tmp_path, create=True)


def test_syntax_error_at_end_of_file_and_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE + "[marks", "utf-8")
    with pytest.raises(ConfigError, match=r"line \d+ \(end of file\): TOML syntax error"):
        config.load(path)
    path.write_text(EXAMPLE + "x = " + "[" * 5000 + "]" * 5000 + "\n", "utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        config.load(path)


def test_config_that_is_a_pipe_or_device(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.toml")
    with pytest.raises(ConfigError, match="not a regular file"):
        config.load(tmp_path / "fifo.toml")
    with pytest.raises(ConfigError, match="not a regular file"):
        config.load("/dev/zero")


def test_init_into_a_place_it_cannot_write(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    result = runner.invoke(cli, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 2 and "exists and is not a regular file" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_an_unreadable_folder_is_reported(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "photos" / "locked"
    locked.mkdir(parents=True)
    locked.chmod(0)
    try:
        code, _, err = run(runner, workspace, "assets", "add", str(tmp_path / "photos"))
    finally:
        locked.chmod(0o755)
    assert code == 1 and "locked: cannot read: Permission denied" in err


def test_walk_reports_folders_it_cannot_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from listingguard import assets

    real_walk = os.walk

    def walk(top, **kw):  # the OS refusing to list one sub-folder, as a non-root user would see
        kw["onerror"](PermissionError(13, "Permission denied", str(Path(top) / "locked")))
        yield from real_walk(top, **kw)

    monkeypatch.setattr(assets.os, "walk", walk)
    (tmp_path / "a.jpg").write_bytes(b"x")
    outcomes = list(assets.walk([tmp_path], assets.IMAGE_SUFFIXES))
    refused = [o for o in outcomes if isinstance(o, assets.Outcome)]
    assert [(Path(o.item).name, o.reason) for o in refused] == [
        ("locked", "cannot read: Permission denied")
    ]
    assert tmp_path / "a.jpg" in outcomes


def test_catalogue_that_is_a_pipe_or_device(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "sheet.csv")
    for sheet in (str(tmp_path / "sheet.csv"), "/dev/zero"):
        code, _, err = run(runner, workspace, "assets", "import", sheet)
        assert code == 2 and "not a regular file" in err


def test_init_leaves_a_pipe_alone(runner: CliRunner, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.toml")
    result = runner.invoke(cli, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_failed_init_leaves_no_config_behind(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "listingguard.db").mkdir()
    result = runner.invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 2 and "not a file" in result.stderr
    assert not (tmp_path / "config.toml").exists()


def test_unknown_column_key_is_refused(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    code, _, err = run(
        runner,
        workspace,
        "assets",
        "import",
        str(_sheet(tmp_path, "family,name\nA,B\n")),
        "--column",
        "skuu=SKU",
    )
    assert code == 2 and '--column.skuu: unknown key; did you mean "sku"?' in err


@pytest.mark.parametrize(
    ("price", "currency", "expected"),
    [
        ("52", "", (52.0, "USD")),
        ("$52.00", "", (52.0, "USD")),
        ("52 EUR", "", (52.0, "EUR")),
        ("€52", "eur", (52.0, "EUR")),
        ("1,234.50", "", (1234.5, "USD")),
        ("1 234.50", "GBP", (1234.5, "GBP")),
        ("₩1000", "", (1000.0, "KRW")),
        ("0,001", "", "is not a number with '.'"),
        ("1.234,50", "", "is not a number with '.'"),
        ("52abc", "", "unknown currency symbol 'abc'"),
        ("10 kr", "", "unknown currency symbol 'kr'"),
        ("52", "usd1", "is not an ISO 4217 code"),
        ("$52", "EUR", "is in USD, the currency column says EUR"),
        ("-5", "", "below zero"),
        ("0", "", "not above zero"),
    ],
)
def test_list_prices_are_parsed_deterministically(
    price: str, currency: str, expected: object
) -> None:
    from listingguard.catalogue import parse_price
    from listingguard.config import Catalogue

    if isinstance(expected, tuple):
        assert parse_price(price, currency, Catalogue()) == expected
    else:
        with pytest.raises(ValueError, match=re.escape(str(expected))):
            parse_price(price, currency, Catalogue())


def test_comma_decimal_sheets() -> None:
    from listingguard.catalogue import parse_price
    from listingguard.config import Catalogue

    assert parse_price("1.234,50 €", "", Catalogue(decimal_separator=",")) == (1234.5, "EUR")


def test_duplicate_sku_and_photos_outside_the_folder(
    runner: CliRunner, workspace: Path, tmp_path: Path, real_jpeg: bytes
) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "outside.jpg").write_bytes(real_jpeg)
    text = (
        "family,name,images\nA1,First,../outside.jpg\nA1,Second,\nB2,Other,"
        + str(tmp_path / "outside.jpg")
        + "\n"
    )
    code, _, err = run(runner, workspace, "assets", "import", str(_sheet(tmp_path, text)))
    assert code == 1
    assert "line 3: refused: SKU 'A1' is already on line 2 of this sheet" in err
    assert err.count("outside the images folder") == 2
    db = store.open_store(workspace.parent / "listingguard.db")
    assert db.execute("SELECT name FROM products WHERE sku = 'A1'").fetchone() == ("First",)


def test_description_limit_comes_from_config(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    workspace.write_text(
        workspace.read_text().replace("max_text_bytes = 1_000_000", "max_text_bytes = 100")
    )
    code, _, err = run(
        runner,
        workspace,
        "assets",
        "import",
        str(_sheet(tmp_path, "family,name,description\nA1,First," + "warm " * 50 + "\n")),
    )
    assert code == 1 and "text is 249 bytes, above the 100 byte limit" in err


def test_unclosed_quote_names_the_row_it_starts_on(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        runner,
        workspace,
        "assets",
        "import",
        str(_sheet(tmp_path, 'family,name\nA1,"Hoodie\nB2,Kit\n')),
    )
    assert code == 2 and "line 2: not a well-formed CSV" in err


def test_a_retired_mark_added_again_stays(runner: CliRunner, workspace: Path) -> None:
    db = store.open_store(workspace.parent / "listingguard.db")
    run(runner, workspace, "assets", "list")
    tech = db.execute("SELECT id FROM assets WHERE text = 'LumaTech'").fetchone()[0]
    lid = store.save_listing(db, {"marketplace": "m", "listing_id": "1", "url": "u"})
    store.save_finding(db, {"listing_id": lid, "asset_id": tech, "kind": "trademark", "score": 0.9})
    workspace.write_text(workspace.read_text().replace('text = "LumaTech"', 'text = "Other"'))
    run(runner, workspace, "assets", "list")
    assert db.execute(
        "SELECT retired_at IS NOT NULL FROM assets WHERE id = ?", [tech]
    ).fetchone() == (1,)
    code, out, _ = run(
        runner, workspace, "assets", "add", "--kind", "mark", "LumaTech", "--rights", "third_party"
    )
    assert code == 0 and "1 added" in out
    run(runner, workspace, "assets", "list")
    row = db.execute(
        "SELECT retired_at, source, rights FROM assets WHERE id = ?", [tech]
    ).fetchone()
    assert row == (None, "cli", "third_party")


def test_config_marks_are_stored_trimmed_and_nfc(runner: CliRunner, workspace: Path) -> None:
    workspace.write_text(
        workspace.read_text().replace('text = "LumaTech"', 'text = "  Cafe\\u0301 Tech  "')
    )
    code, out, _ = run(runner, workspace, "assets", "list", "--json", "--kind", "mark")
    assert code == 0
    assert "Café Tech" in {m["text"] for m in json.loads(out)}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'email = "brand-protection@luma.example"',
            'email = "brand-protection@luma.example\\n"',
            "owner.email: expected an email address",
        ),
        (
            'jurisdictions = ["US"]',
            'jurisdictions = ["US\\n"]',
            "jurisdictions: expected a list of country codes",
        ),
        (
            'start_urls = ["http://127.0.0.1:8700/jsonld/search?q=luma"]',
            'start_urls = ["https://x y"]',
            "start_urls: expected a list of http(s) URLs",
        ),
        ('phone = "+1 555 0100"', 'phone = "xxxxxx123456"', "owner.phone: expected a phone number"),
        ("delay = 0.0", "delay = inf", "delay: expected seconds, from 0 to 3600"),
    ],
)
def test_values_with_stray_characters(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE.replace(old, new, 1), "utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        config.load(path)


def test_config_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.encode("utf-8"))
    assert config.load(path).owner.company == "Luma Sportswear Ltd."


def test_territory_is_checked(
    runner: CliRunner, workspace: Path, real_jpeg: bytes, tmp_path: Path
) -> None:
    (tmp_path / "a.jpg").write_bytes(real_jpeg)
    code, _, err = run(
        runner,
        workspace,
        "assets",
        "add",
        str(tmp_path / "a.jpg"),
        "--rights",
        "licensed",
        "--licensor",
        "X",
        "--territory",
        "usa",
    )
    assert code == 2 and "'usa' is not an ISO 3166-1 alpha-2 country code" in err
