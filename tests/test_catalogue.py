"""Catalogue import: products with their photos, copy and list prices; bad rows reported, others kept."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import run

from listingguard import store


def rows_of(catalogue: Path) -> list[dict[str, str]]:
    with open(catalogue / "products.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_import_creates_products_with_photos_and_copy(
    runner: CliRunner, workspace: Path, catalogue: Path
) -> None:
    rows = rows_of(catalogue)
    photos = sum(len(r["images"].split(";")) for r in rows)
    code, out, err = run(runner, workspace, "assets", "import", str(catalogue / "products.csv"))
    assert code == 0, err
    assert f"{len(rows)} rows: {len(rows)} products added" in out
    assert f"assets: {photos + len(rows)} added" in out
    db = store.open_store(workspace.parent / "listingguard.db")
    hoodie = db.execute(
        "SELECT id, name, list_price, currency FROM products WHERE sku = 'MH01'"
    ).fetchone()
    assert hoodie[1:] == ("Chaz Kangeroo Hoodie", 52.0, "USD")
    kinds = db.execute(
        "SELECT kind, COUNT(*) FROM assets WHERE product_id = ? GROUP BY kind", [hoodie[0]]
    ).fetchall()
    assert dict(kinds) == {"image": 4, "copy": 1}
    name = db.execute("SELECT name FROM products WHERE sku = 'MS09'").fetchone()[0]
    assert "™" in name  # HTML entities of the source data are decoded

    code, out, _ = run(runner, workspace, "assets", "import", str(catalogue / "products.csv"))
    assert code == 0
    assert f"0 products added, {len(rows)} updated" in out
    assert f"assets: 0 added, {photos + len(rows)} already registered" in out
    assert db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == len(rows)


def test_photos_registered_before_import_join_their_product(
    runner: CliRunner, workspace: Path, catalogue: Path
) -> None:
    run(runner, workspace, "assets", "add", str(catalogue / "images"))
    run(runner, workspace, "assets", "import", str(catalogue / "products.csv"))
    db = store.open_store(workspace.parent / "listingguard.db")
    orphans = db.execute(
        "SELECT COUNT(*) FROM assets WHERE kind = 'image' AND product_id IS NULL AND name LIKE 'mh01%'"
    ).fetchone()[0]
    assert orphans == 0


def test_column_names_are_configurable(
    runner: CliRunner, workspace: Path, catalogue: Path, tmp_path: Path
) -> None:
    sheet = tmp_path / "export.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["SKU", "Title", "Price", "Photos"])
        w.writerow(
            ["MH01", "Chaz Kangeroo Hoodie", "$52", "mh01-black_main.jpg|mh01-gray_main.jpg"]
        )
        w.writerow(["MJ01", "Beaumont Summit Kit", "1.234,50 €", ""])
    code, out, err = run(
        runner, workspace, "assets", "import", str(sheet), "--column", "sku=SKU", "--column", "name=Title",
        "--column", "price=Price", "--column", "images=Photos", "--column", "image_separator=|", "--column", "decimal_separator=,",
        "--images-dir", str(catalogue / "images"), "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert [r["status"] for r in result] == ["added", "added"]
    assert [a["status"] for a in result[0]["assets"]] == ["added", "added"]
    db = store.open_store(workspace.parent / "listingguard.db")
    assert db.execute("SELECT sku, list_price, currency FROM products ORDER BY sku").fetchall() == [
        ("MH01", 52.0, "USD"),
        ("MJ01", 1234.5, "EUR"),
    ]


def test_missing_column_is_a_clear_error(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    sheet = tmp_path / "bad.csv"
    sheet.write_text("code,title\nMH01,Hoodie\n", "utf-8")
    code, _, err = run(runner, workspace, "assets", "import", str(sheet))
    assert code == 2
    assert (
        "no column 'family' for the product sku (catalogue.sku in config.toml, or --column sku=NAME)"
        in err
    )
    assert "the sheet has: code, title" in err


def test_bad_rows_are_reported_and_the_others_imported(
    runner: CliRunner, workspace: Path, catalogue: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "cat"
    shutil.copytree(catalogue / "images", folder / "images")
    sheet = folder / "products.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["family", "name", "price", "images", "description"])
        w.writerow(
            [
                "MH01",
                "Chaz Kangeroo Hoodie",
                "52",
                "mh01-black_main.jpg;missing.jpg",
                "Warm.\nMultiline.",
            ]
        )
        w.writerow(["", "No SKU", "10", "", ""])
        w.writerow(["MJ01", "Beaumont Summit Kit", "forty-two", "", ""])
        w.writerow(["MS09", "Ryker Tee", "32", "https://cdn.example/ms09.jpg", ""])
    code, out, err = run(runner, workspace, "assets", "import", str(sheet))
    assert code == 1
    assert "line 2: MH01: refused " in err and "missing.jpg: no such file or folder" in err
    assert "line 4: refused: empty SKU" in err  # line numbers count the multi-line cell
    assert "line 5: refused: price 'forty-two' is not a number" in err
    assert "line 6: MS09: refused https://cdn.example/ms09.jpg: a URL" in err
    assert "4 rows: 2 products added, 0 updated, 2 refused" in out


def test_sheet_that_is_not_utf8(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "latin1.csv"
    sheet.write_bytes("family,name\nMH01,Sweat à capuche\n".encode("latin-1"))
    code, _, err = run(runner, workspace, "assets", "import", str(sheet))
    assert code == 2 and "line 2: not UTF-8 text; save the sheet as UTF-8 CSV" in err
