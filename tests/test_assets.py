"""The asset registry through the command line, on real files: photos, hostile files, marks, copy, licences."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import run

from listingguard import store


def listed(runner: CliRunner, config: Path, *args: str) -> list[dict]:
    code, out, _ = run(runner, config, "assets", "list", "--json", *args)
    assert code == 0
    return json.loads(out)


def test_folder_of_photos_is_registered_once(
    runner: CliRunner, workspace: Path, catalogue: Path
) -> None:
    photos = sorted((catalogue / "images").glob("*.jpg"))
    code, out, _ = run(
        runner, workspace, "assets", "add", str(catalogue / "images"), "--kind", "image"
    )
    assert code == 0
    assert f"{len(photos)} added" in out
    code, out, _ = run(
        runner, workspace, "assets", "add", str(catalogue / "images"), "--kind", "image"
    )
    assert code == 0
    assert f"0 added, {len(photos)} already registered" in out
    assert "Nothing new" in out
    rows = listed(runner, workspace, "--kind", "image")
    assert len(rows) == len(photos)
    first = next(r for r in rows if r["name"] == photos[0].name)
    assert first["media"]["format"] == "JPEG" and first["rights"] == "owned"
    assert len(first["sha256"]) == 64


def test_a_renamed_copy_is_the_same_asset(
    runner: CliRunner, workspace: Path, catalogue: Path, tmp_path: Path
) -> None:
    photo = catalogue / "images" / "mh01-black_main.jpg"
    renamed = tmp_path / "renamed.jpg"
    shutil.copy(photo, renamed)
    run(runner, workspace, "assets", "add", str(photo))
    code, out, err = run(runner, workspace, "assets", "add", str(renamed), "-v")
    assert code == 0 and "1 already registered" in out
    assert "already registered as asset" in err and "mh01-black_main.jpg" in err


def test_hostile_files_are_refused_and_the_rest_registered(
    runner: CliRunner, workspace: Path, hostile_dir: Path
) -> None:
    code, out, _err = run(runner, workspace, "assets", "add", str(hostile_dir), "--json")
    assert code == 1
    results = {Path(r["item"]).name: r for r in json.loads(out)["results"]}
    added = {name for name, r in results.items() if r["status"] == "added"}
    assert added == {"good.jpg", "cmyk.jpg", "sixteen.png", "animated.gif"}
    reasons = {name: r.get("reason", "") for name, r in results.items() if r["status"] == "refused"}
    assert "truncated or corrupt" in reasons["truncated.jpg"]
    assert "decompression bomb" in reasons["bomb.png"] or "MP limit" in reasons["bomb.png"]
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert reasons["text.jpg"] == "not an image: the file holds text"
    assert reasons["a.jpg"] == reasons["b.jpg"] == "symbolic link loop"
    assert results["README.md"]["status"] == "skipped"
    # The folder loop (sub/loop -> ..) is walked once, not forever.
    assert sum(1 for r in json.loads(out)["results"] if r["item"].endswith("good.jpg")) == 1


def test_refusals_are_one_line_each_naming_the_file(
    runner: CliRunner, workspace: Path, hostile_dir: Path
) -> None:
    code, out, err = run(runner, workspace, "assets", "add", str(hostile_dir))
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("refused: ")]
    assert len(lines) == 6
    assert any(ln.startswith(f"refused: {hostile_dir / 'empty.jpg'}: empty file") for ln in lines)
    assert "4 added" in out and "6 refused" in out


def test_size_limit_from_config(runner: CliRunner, workspace: Path, catalogue: Path) -> None:
    text = workspace.read_text().replace("max_image_bytes = 25_000_000", "max_image_bytes = 1000")
    workspace.write_text(text)
    code, _, err = run(
        runner, workspace, "assets", "add", str(catalogue / "images" / "mh01-black_main.jpg")
    )
    assert code == 1 and "above the 0.0 MB limit" in err


def test_marks(runner: CliRunner, workspace: Path) -> None:
    code, out, err = run(
        runner, workspace, "assets", "add", "--kind", "mark", "Acme", "ACME", "  ", "ルマ"
    )
    assert code == 1
    assert "2 added, 1 already registered, 1 refused" in out
    assert 'refused: "": empty mark' in err or "refused: " in err
    marks = {m["text"]: m for m in listed(runner, workspace, "--kind", "mark")}
    assert {"Luma", "LumaTech", "Acme"} <= set(marks)
    assert marks["Luma"]["source"] == "config"
    assert marks["Luma"]["registrations"][0]["number"] == "9876543"
    assert marks["Luma"]["aliases"] == ["ルマ", "露玛"]


def test_config_marks_follow_the_file(runner: CliRunner, workspace: Path) -> None:
    assert {m["text"] for m in listed(runner, workspace, "--kind", "mark")} == {"Luma", "LumaTech"}
    workspace.write_text(workspace.read_text().replace('text = "LumaTech"', 'text = "Lumina"'))
    assert {m["text"] for m in listed(runner, workspace, "--kind", "mark")} == {"Luma", "Lumina"}


def test_copy_texts(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    good = tmp_path / "hoodie.txt"
    good.write_text(
        "Ideal for cold-weather training, the Chaz Hoodie promises superior warmth.\n", "utf-8"
    )
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Sweat à capuche idéal pour l'entraînement".encode("latin-1"))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02binary" * 10)
    code, _, err = run(
        runner, workspace, "assets", "add", str(good), str(latin1), str(binary), "--kind", "copy"
    )
    assert code == 1
    assert "not UTF-8 text (byte 0xE0 at offset 6); save it as UTF-8" in err
    assert "binary file" in err
    (row,) = listed(runner, workspace, "--kind", "copy")
    assert row["text"].startswith("Ideal for cold-weather") and row["name"] == "hoodie.txt"


def test_licensed_asset_keeps_its_terms(
    runner: CliRunner, workspace: Path, catalogue: Path
) -> None:
    photo = str(catalogue / "images" / "mj01-orange_main.jpg")
    code, _, err = run(runner, workspace, "assets", "add", photo, "--rights", "licensed")
    assert code == 2 and "--rights licensed needs --licensor" in err
    code, _, err = run(runner, workspace, "assets", "add", photo, "--licensor", "ACME")
    assert code == 2 and "go with --rights licensed" in err
    code, _, _ = run(
        runner, workspace, "assets", "add", photo, "--rights", "licensed", "--licensor", "ACME Studio",
        "--territory", "us", "--territory", "CA", "--platform", "Amazon", "--expires", "2027-06-30",
        "--name", "ACME hoodie shot",
    )  # fmt: skip
    assert code == 0
    (row,) = listed(runner, workspace, "--rights", "licensed")
    assert (row["name"], row["licensor"], row["licence_expires"]) == (
        "ACME hoodie shot",
        "ACME Studio",
        "2027-06-30",
    )
    assert row["territories"] == ["US", "CA"] and row["platforms"] == ["amazon"]


def test_remove_by_id_and_sha_prefix_and_retire_when_cited(
    runner: CliRunner, workspace: Path, catalogue: Path
) -> None:
    run(runner, workspace, "assets", "add", str(catalogue / "images"))
    images = listed(runner, workspace, "--kind", "image")
    a, b, c = images[:3]
    db = store.open_store(workspace.parent / "listingguard.db")
    with db.atomic():
        lid = store.save_listing(db, {"marketplace": "m", "listing_id": "1", "url": "u"})
        store.save_finding(
            db, {"listing_id": lid, "asset_id": c["id"], "kind": "image_copy", "score": 0.9}
        )
    db.close()
    code, out, err = run(
        runner, workspace, "assets", "remove", str(a["id"]), b["sha256"][:10], str(c["id"]), "99999"
    )
    assert code == 1
    assert f"removed: asset {a['id']}" in out and f"removed: asset {b['id']}" in out
    assert f"retired: asset {c['id']}" in out
    assert "not found: 99999" in err
    remaining = {r["id"] for r in listed(runner, workspace, "--kind", "image")}
    assert not remaining & {a["id"], b["id"], c["id"]}
    assert c["id"] in {r["id"] for r in listed(runner, workspace, "--kind", "image", "--all")}
    # Adding the retired photo again brings it back under the same id.
    code, out, _ = run(runner, workspace, "assets", "add", c["path"])
    assert code == 0 and "1 added" in out
    assert c["id"] in {r["id"] for r in listed(runner, workspace, "--kind", "image")}


def test_config_marks_cannot_be_removed_from_the_command_line(
    runner: CliRunner, workspace: Path
) -> None:
    luma = next(m for m in listed(runner, workspace, "--kind", "mark") if m["text"] == "Luma")
    code, _, err = run(runner, workspace, "assets", "remove", str(luma["id"]))
    assert code == 1 and "comes from config.toml" in err


def test_add_without_paths_registers_the_configured_folders(
    runner: CliRunner, workspace: Path, catalogue: Path
) -> None:
    folder = workspace.parent / "assets" / "images"
    for photo in sorted((catalogue / "images").glob("mh01*.jpg")):
        shutil.copy(photo, folder / photo.name)
    (workspace.parent / "assets" / "copy" / "a.txt").write_text("Our own product copy.", "utf-8")
    code, out, _ = run(runner, workspace, "assets", "add")
    assert code == 0 and "5 added" in out
    assert len(listed(runner, workspace, "--kind", "copy")) == 1


def test_list_table_escapes_names(runner: CliRunner, workspace: Path) -> None:
    run(runner, workspace, "assets", "add", "--kind", "mark", "[b]X[/b]")
    code, out, _ = run(runner, workspace, "assets", "list", "--kind", "mark")
    assert code == 0 and "[b]X[/b]" in out
