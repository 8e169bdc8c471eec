"""Image copy matching on real product photos: edits still match, other products do not, scores are symmetric."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, png_bomb, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from listingguard.demo import catalogue_source
from matcher.fingerprint import Fingerprint, fingerprint
from matcher.imagefile import decode
from matcher.imagematch import compare

sys.path.insert(0, str(ROOT / "bench"))
from edits import EDITS

IMAGES = catalogue_source() / "images"
OWNED = sorted(
    p.name for p in IMAGES.glob("*.jpg") if not p.name.startswith(("mh02", "mj02", "mg01"))
)
OTHERS = sorted(p.name for p in IMAGES.glob("*.jpg") if p.name.startswith(("mh02", "mj02", "mg01")))


@cache
def photo(name: str) -> Image.Image:
    return Image.open(IMAGES / name).convert("RGB")


def fp_of(im: Image.Image) -> Fingerprint:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    rgb, _ = decode(buf.getvalue())
    return fingerprint(np.asarray(rgb))


@cache
def owned_fp(name: str) -> Fingerprint:
    return fp_of(photo(name))


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_kind_of_edit_still_matches(edit: str) -> None:
    rng = random.Random(edit)
    name = "mh01-gray_main.jpg"
    others = [photo(n) for n in OTHERS[:3]]
    copy = EDITS[edit](photo(name), rng, others)
    result = compare(fp_of(copy), owned_fp(name))
    assert result.score >= 0.5, result.detail


@pytest.mark.parametrize("other", OTHERS)
def test_other_products_photos_do_not_match(other: str) -> None:
    query = fp_of(photo(other))
    scores = {name: compare(query, owned_fp(name)).score for name in OWNED}
    assert max(scores.values()) < 0.5, {k: round(v, 2) for k, v in scores.items() if v > 0.2}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(OWNED), st.floats(min_value=-3, max_value=3))
def test_a_small_rotation_still_matches(name: str, angle: float) -> None:
    turned = photo(name).rotate(
        angle, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC
    )
    assert compare(fp_of(turned), owned_fp(name)).score >= 0.5


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(OWNED + OTHERS), st.sampled_from(OWNED), st.sampled_from(sorted(EDITS)))
def test_scores_are_symmetric(a: str, b: str, edit: str) -> None:
    rng = random.Random(a + b + edit)
    fa = fp_of(EDITS[edit](photo(a), rng, [photo(OTHERS[0])] * 3))
    fb = owned_fp(b)
    assert compare(fa, fb).score == pytest.approx(compare(fb, fa).score, abs=1e-9)


def test_one_degree_rotation_named_in_the_issue() -> None:
    name = "mj01-orange_main.jpg"
    turned = photo(name).rotate(1, expand=True, fillcolor="white")
    result = compare(fp_of(turned), owned_fp(name))
    assert result.score >= 0.5 and result.detail["basis"] == "aligned"


def test_region_locates_the_photo_in_a_collage() -> None:
    rng = random.Random(4)
    name = "mh01-gray_main.jpg"
    others = [photo(n) for n in OTHERS[:3]]
    copy = EDITS["collage"](photo(name), rng, others)
    result = compare(fp_of(copy), owned_fp(name))
    x0, y0, x1, y1 = result.detail["region"]
    w, h = copy.size
    assert (x1 - x0) < 0.6 * w and (y1 - y0) < 0.6 * h  # one cell of the 2x2 grid, not the whole


def test_fingerprint_round_trip() -> None:
    fp = owned_fp(OWNED[0])
    back = Fingerprint.from_bytes(fp.to_bytes())
    assert (back.phash, back.edge_hash, back.pdq, back.width, back.height) == (
        fp.phash,
        fp.edge_hash,
        fp.pdq,
        fp.width,
        fp.height,
    )
    assert np.array_equal(back.features.descriptors, fp.features.descriptors)
    assert np.array_equal(back.thumb, fp.thumb)
    assert compare(back, fp).score > 0.99


# -- through the command line and the store ------------------------------------------------------


@pytest.fixture
def with_photos(runner: CliRunner, workspace: Path, tmp_path: Path) -> Path:
    """A workspace holding copies of the owned photos (tests may change or delete them)."""
    photos = tmp_path / "owned-photos"
    photos.mkdir()
    for n in OWNED:
        (photos / n).write_bytes((IMAGES / n).read_bytes())
    code, _, err = run(runner, workspace, "assets", "add", str(photos))
    assert code == 0, err
    return workspace


def _queries(tmp_path: Path) -> dict[str, Path]:
    rng = random.Random(9)
    out = {}
    for edit in ("crop35", "mirror", "collage"):
        path = tmp_path / f"{edit}.jpg"
        EDITS[edit](photo("mh01-gray_main.jpg"), rng, [photo(n) for n in OTHERS[:3]]).save(path)
        out[edit] = path
    return out


def test_match_image_json(runner: CliRunner, with_photos: Path, tmp_path: Path) -> None:
    queries = _queries(tmp_path)
    code, out, err = run(
        runner, with_photos, "match", "image", *map(str, queries.values()), "--json"
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["file"]).stem for r in lines] == list(queries)
    for r in lines:
        assert set(r) == {"file", "sha256", "matches"}
        best = r["matches"][0]
        assert set(best) == {"asset", "asset_id", "rights", "kind", "score", "detail"}
        assert best["asset"] == "mh01-gray_main.jpg" and best["kind"] == "image_copy"
        assert 0.5 <= best["score"] <= 1
        assert [m["score"] for m in r["matches"]] == sorted(
            (m["score"] for m in r["matches"]), reverse=True
        )
        d = best["detail"]
        assert {
            "basis",
            "inliers",
            "correlation",
            "mirrored",
            "region",
            "pdq_distance",
            "phash_distance",
        } <= set(d)
    assert lines[1]["matches"][0]["detail"]["mirrored"] is True


def test_no_match_is_an_empty_list(runner: CliRunner, with_photos: Path) -> None:
    code, out, _ = run(
        runner, with_photos, "match", "image", str(IMAGES / "mh02-black_main.jpg"), "--json"
    )
    assert code == 0
    assert json.loads(out)["matches"] == []


def test_index_is_rebuilt_after_assets_are_removed(
    runner: CliRunner, with_photos: Path, tmp_path: Path
) -> None:
    query = str(_queries(tmp_path)["crop35"])
    code, out, _ = run(runner, with_photos, "match", "image", query, "--json")
    hoodie = json.loads(out)["matches"][0]["asset_id"]
    run(runner, with_photos, "assets", "remove", str(hoodie))
    code, out, _ = run(runner, with_photos, "match", "image", query, "--json")
    assert code == 0
    assert hoodie not in {m["asset_id"] for m in json.loads(out)["matches"]}


def test_hostile_query_files(
    runner: CliRunner, with_photos: Path, tmp_path: Path, real_jpeg: bytes
) -> None:
    (tmp_path / "truncated.jpg").write_bytes(real_jpeg[: len(real_jpeg) // 2])
    (tmp_path / "bomb.png").write_bytes(png_bomb())
    (tmp_path / "text.jpg").write_text("not an image")
    good = _queries(tmp_path)["crop35"]
    files = [
        tmp_path / "truncated.jpg",
        tmp_path / "bomb.png",
        tmp_path / "text.jpg",
        tmp_path / "missing.jpg",
        good,
    ]
    code, out, _ = run(runner, with_photos, "match", "image", *map(str, files), "--json")
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [("error" in r) for r in results] == [True, True, True, True, False]
    assert "truncated or corrupt" in results[0]["error"]
    assert results[4]["matches"][0]["asset"] == "mh01-gray_main.jpg"


def test_fingerprints_are_stored_once_and_reused(
    runner: CliRunner, with_photos: Path, tmp_path: Path
) -> None:
    db = sqlite3.connect(with_photos.parent / "listingguard.db")
    images = db.execute("SELECT COUNT(*) FROM assets WHERE kind = 'image'").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == images
    query = _queries(tmp_path)["crop35"]
    for _ in range(2):
        run(runner, with_photos, "match", "image", str(query))
    assert db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == images + 1


def test_assets_registered_before_fingerprints_are_backfilled(
    runner: CliRunner, with_photos: Path, tmp_path: Path
) -> None:
    db = sqlite3.connect(with_photos.parent / "listingguard.db")
    db.execute("DELETE FROM fingerprints")
    db.commit()
    code, out, err = run(
        runner, with_photos, "match", "image", str(_queries(tmp_path)["mirror"]), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["matches"][0]["asset"] == "mh01-gray_main.jpg"
    images = db.execute("SELECT COUNT(*) FROM assets WHERE kind = 'image'").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == images + 1


def test_table_output(runner: CliRunner, with_photos: Path, tmp_path: Path) -> None:
    code, out, _ = run(
        runner,
        with_photos,
        "match",
        "image",
        str(_queries(tmp_path)["crop35"]),
        str(IMAGES / "mh02-black_main.jpg"),
    )
    assert code == 0
    assert "mh01-gray_main.jpg" in out and "inliers" in out


@pytest.mark.parametrize("size", [(1, 1), (8, 8), (1, 2000), (3000, 2), (40, 900)])
def test_tiny_and_strip_images_are_fingerprinted(size: tuple[int, int]) -> None:
    fp = fp_of(Image.new("RGB", size, (30, 90, 200)))
    assert fp.width == size[0] and fp.height == size[1]
    assert 0.0 <= compare(fp, owned_fp(OWNED[0])).score < 0.5


def test_blank_images_are_not_copies_of_each_other() -> None:
    white = fp_of(Image.new("RGB", (300, 300), "white"))
    also_white = fp_of(Image.new("L", (500, 400), 255).convert("RGB"))
    assert white.pdq_quality < 50
    assert compare(white, also_white).score == 0.0


def test_a_file_that_breaks_pillow_is_refused_and_the_rest_go_on(
    runner: CliRunner, with_photos: Path, tmp_path: Path
) -> None:
    bad = ROOT / "tests" / "data" / "missing-dimensions.tif"
    good = _queries(tmp_path)["crop35"]
    code, out, _ = run(runner, with_photos, "match", "image", str(bad), str(good), "--json")
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 2  # the TIFF's first frame decodes once its frame count is ignored
    assert code == (1 if "error" in results[0] else 0)
    assert results[1]["matches"][0]["asset"] == "mh01-gray_main.jpg"
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "bad.tif").write_bytes(bad.read_bytes())
    (folder / "good.jpg").write_bytes(good.read_bytes())
    code, out, _ = run(runner, with_photos, "assets", "add", str(folder), "--json")
    statuses = {Path(r["item"]).name: r["status"] for r in json.loads(out)["results"]}
    assert statuses["good.jpg"] == "added"


def test_backfill_refuses_a_file_changed_since_registration(
    runner: CliRunner, with_photos: Path, tmp_path: Path
) -> None:
    db = sqlite3.connect(with_photos.parent / "listingguard.db")
    asset_id, path = db.execute(
        "SELECT id, path FROM assets WHERE name = 'mj01-orange_main.jpg'"
    ).fetchone()
    Path(path).write_bytes(
        (IMAGES / "mh01-black_main.jpg").read_bytes()
    )  # the file now holds another photo
    db.execute("DELETE FROM fingerprints")
    db.commit()
    _, out, err = run(
        runner, with_photos, "match", "image", str(IMAGES / "mh01-black_main.jpg"), "--json"
    )
    assert f"asset {asset_id}:" in err and "has changed since it was registered" in err
    assert asset_id not in {m["asset_id"] for m in json.loads(out)["matches"]}


def test_adding_again_restores_a_missing_fingerprint(
    runner: CliRunner, with_photos: Path, tmp_path: Path
) -> None:
    db = sqlite3.connect(with_photos.parent / "listingguard.db")
    sha, path = db.execute(
        "SELECT sha256, path FROM assets WHERE name = 'mh01-gray_main.jpg'"
    ).fetchone()
    Path(path).unlink()
    db.execute("DELETE FROM fingerprints WHERE sha256 = ?", [sha])
    db.commit()
    restored = tmp_path / "restored.jpg"
    restored.write_bytes((IMAGES / "mh01-gray_main.jpg").read_bytes())
    code, out, _ = run(runner, with_photos, "assets", "add", str(restored))
    assert code == 0 and "1 already registered" in out
    assert db.execute("SELECT COUNT(*) FROM fingerprints WHERE sha256 = ?", [sha]).fetchone() == (
        1,
    )
    code, out, err = run(
        runner, with_photos, "match", "image", str(_queries(tmp_path)["crop35"]), "--json"
    )
    assert "warning" not in err
    assert json.loads(out)["matches"][0]["asset"] == "mh01-gray_main.jpg"
