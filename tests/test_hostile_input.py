"""Regression tests for hostile input found in review (issue 2): each is a clear error, never a hang or traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from listingguard import config, store
from listingguard.cli import cli
from listingguard.errors import ConfigError, StoreError

EXAMPLE = (Path(__file__).resolve().parent.parent / "config.toml").read_text("utf-8")


def run(runner: CliRunner, cfg: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, [*args, "--config", str(cfg)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


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
    assert err.count("not a regular file (a pipe, socket or device)") == 2
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
    assert "line 5: refused: price '-5' is not a number" in err
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
    assert result.exit_code == 2 and "Is a directory" in result.stderr
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
