"""The pre-listing self-check against a real workspace: the demo catalogue registered, one
storefront of the demo market swept (other sellers' listings, photos and copy in the store),
and real photos registered as someone else's and as licensed. Listings are real files (JSON,
TOML, CSV, XLSX) with real JPEGs; photos by URL come from a local HTTP server.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from crawler.evidence import read_payload
from listingguard import checkcli
from listingguard.demo import catalogue_source
from listingguard.demo.market import DemoMarket
from listingguard.workspace import open_workspace
from matcher.banned import BannedTerms
from tests.conftest import ROOT, run
from tests.test_sweep import demo_workspace, sweep

PHOTOS = ROOT / "tests" / "data" / "photos"
OWN_PHOTO = catalogue_source() / "images" / "mh01-black_main.jpg"
HEADER = "sku,title,brand,description,bullet_point1,images\n"
LATER = (dt.date.today() + dt.timedelta(days=3 * 365)).isoformat()  # a licence still running


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A swept demo workspace with someone else's photo, licensed photos and marks registered."""
    base = tmp_path_factory.mktemp("selfcheck")
    with DemoMarket(catalogue_source()) as market:
        config = demo_workspace(base, market.base_url, only=("demo-jsonld",))
        sweep(config)
    runner = CliRunner()
    steps = [
        ("assets", "add", str(PHOTOS / "mg05-br-0.jpg"), "--rights", "third_party",
         "--name", "Rival studio photo"),
        ("assets", "add", str(PHOTOS / "mh04-green_back.jpg"), "--rights", "licensed",
         "--licensor", "Studio Expired", "--territory", "US", "--platform", "amazon",
         "--expires", "2025-06-30"),
        ("assets", "add", str(PHOTOS / "mh07-gray_alt1.jpg"), "--rights", "licensed",
         "--licensor", "Studio Germany", "--territory", "DE", "--expires", LATER),
        ("assets", "add", str(PHOTOS / "mj06-blue_back.jpg"), "--rights", "licensed",
         "--licensor", "Studio Valid", "--territory", "US", "--territory", "EU",
         "--platform", "amazon", "--expires", LATER),
        ("assets", "add", "--kind", "mark", "--rights", "third_party", "Zentrova"),
        ("assets", "add", "--kind", "mark", "--rights", "licensed", "--licensor", "Kestrelle Ltd",
         "--territory", "US", "--platform", "amazon", "--expires", LATER, "Kestrelle"),
    ]  # fmt: skip
    for step in steps:
        code, out, err = run(runner, config, *step)
        assert code == 0, out + err
    return base


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    """A copy of the workspace per test (the check stores fingerprints); its config.toml."""
    shutil.copytree(base, tmp_path / "ws")
    return tmp_path / "ws" / "config.toml"


def check(config: Path, *args: str) -> tuple[int, dict]:
    code, out, err = run(CliRunner(), config, "check", *args, "--json")
    assert out.strip(), err
    return code, json.loads(out)


def listing(folder: Path, name: str = "listing.json", **fields: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(fields, ensure_ascii=False), "utf-8")
    return path


def problems(report: dict, check_name: str | None = None) -> list[dict]:
    return [p for p in report["problems"] if check_name in (None, p["check"])]


def only(data: dict) -> dict:
    assert len(data["listings"]) == 1, data["listings"]
    return data["listings"][0]


@functools.cache
def _other_sellers_listing(db_path: str) -> dict:
    """A genuine listing of another seller's own product (not a copy of the owner's)."""
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    row = con.execute(
        "SELECT l.id, l.url, l.seller_name, l.description, c.warc_file, c.warc_offset "
        "FROM listings l JOIN listing_images li ON li.listing_id = l.id "
        "JOIN images i ON i.sha256 = li.image_sha256 JOIN captures c ON c.id = i.capture_id "
        "WHERE l.title = 'Teton Pullover Hoodie' ORDER BY l.id LIMIT 1"
    ).fetchone()
    con.close()
    assert row is not None, "the demo market lists another seller's hoodie"
    return dict(row)


def captured_photo(config: Path) -> tuple[bytes, dict]:
    ws = open_workspace(config)
    try:
        row = _other_sellers_listing(str(ws.config.workspace.database))
        _, data = read_payload(ws.config.workspace.evidence / row["warc_file"], row["warc_offset"])
    finally:
        ws.close()
    return data, row


# -- third-party marks -----------------------------------------------------------------------


def test_known_brand_as_brand_or_in_title_blocks(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, title="Nike running shoes for men", brand="Acme",
                   description="Light mesh shoes.")  # fmt: skip
    code, data = check(ws, str(path))
    report = only(data)
    assert code == 1 and report["verdict"] == "block"
    [p] = problems(report, "third_party_mark")
    assert p["severity"] == "block" and p["field"] == "title" and p["text"] == "Nike"
    assert "Nike" in p["reason"] and p["detail"]["whose"] == "known"

    path = listing(tmp_path, title="Running shoes for men", brand="Adidas", description="Mesh.")
    code, data = check(ws, str(path))
    [p] = problems(only(data), "third_party_mark")
    assert code == 1 and p["field"] == "brand" and p["severity"] == "block"


@pytest.mark.parametrize(
    "title",
    ["N1ke running shoes", "Adldas track jacket", "N i k e sneakers", "Nіke sneakers",
     "Ni\u200bke sneakers", "Addidas track jacket", "G.U.C.C.I belt"],
)  # fmt: skip
def test_disguised_known_brands_block(ws: Path, tmp_path: Path, title: str) -> None:
    code, data = check(ws, str(listing(tmp_path, title=title, brand="Acme")))
    [p] = problems(only(data), "third_party_mark")
    assert code == 1 and p["severity"] == "block", p
    assert p["detail"]["disguise"], p


def test_compatible_with_warns_with_the_nominative_rule(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, title="Acme slim case compatible with iPhone 15", brand="Acme",
                   images=[str(OWN_PHOTO)])  # fmt: skip
    code, data = check(ws, str(path))
    report = only(data)
    [p] = problems(report, "third_party_mark")
    assert p["severity"] == "warn" and report["verdict"] == "warn" and code == 0
    assert "nominative" in p["reason"] and "logo" in p["reason"] and "endorses" in p["reason"]


def test_own_marks_are_not_someone_elses(ws: Path, tmp_path: Path) -> None:
    """Luma is one letter from Puma: the seller's own mark is never reported as a typo of it."""
    path = listing(tmp_path, title="Luma Chaz Kangeroo Hoodie", brand="Luma",
                   images=[str(OWN_PHOTO)])  # fmt: skip
    code, data = check(ws, str(path))
    report = only(data)
    assert code == 0 and report["verdict"] == "ok", report["problems"]


def test_registered_third_party_and_licensed_marks(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, title="Zentr0va power bank 10000 mAh", brand="Acme")
    [p] = problems(only(check(ws, str(path))[1]), "third_party_mark")
    assert p["severity"] == "block" and p["detail"]["whose"] == "third_party"

    path = listing(tmp_path, title="Kestrelle power bank 10000 mAh", brand="Kestrelle")
    code, data = check(ws, str(path), "--platform", "amazon", "--territory", "US")
    assert not problems(only(data), "third_party_mark") and code == 0
    code, data = check(ws, str(path), "--platform", "ebay", "--territory", "US")
    blocked = problems(only(data), "third_party_mark")
    assert code == 1 and blocked and "Kestrelle Ltd" in blocked[0]["reason"]
    assert "ebay" in blocked[0]["reason"]


def test_config_extends_and_trims_the_brand_list(ws: Path, tmp_path: Path) -> None:
    text = ws.read_text("utf-8")
    text = text.replace('extra_brands = ["Zentrova"]', 'extra_brands = ["Quorvane"]', 1)
    text = text.replace("ignore_brands = []", 'ignore_brands = ["Nike"]', 1)
    ws.write_text(text, "utf-8")
    path = listing(tmp_path, title="Quorvane and Nike style socks", brand="Acme")
    report = only(check(ws, str(path))[1])
    marks = {p["detail"]["mark"] for p in problems(report, "third_party_mark")}
    assert marks == {"Quorvane"}


def test_brand_words_in_ordinary_text_are_not_marks(ws: Path, tmp_path: Path) -> None:
    """Brands that are words ("Ring", "Shell", "Sharp") count only written as the brand."""
    path = listing(tmp_path, title="Acme round ring binder with sharp shell clips", brand="Acme",
                   description="Holds 200 sheets. Quilted lining. Wipe clean.")  # fmt: skip
    report = only(check(ws, str(path))[1])
    assert not problems(report, "third_party_mark"), report["problems"]


@pytest.mark.parametrize(
    "title",
    ["Acme snap on hard shell case, clear", "Acme Kaffeebecher im modernen Stil",
     "Acme original USB Type C charging cable 2m", "Acme one touch start coffee maker",
     "Acme jacket with quilted lining"],
)  # fmt: skip
def test_ordinary_words_that_brands_are_made_of_do_not_block(
    ws: Path, tmp_path: Path, title: str
) -> None:
    code, data = check(ws, str(listing(tmp_path, title=title, brand="Acme")))
    assert code == 0, only(data)["problems"]


def test_every_device_after_for_is_a_mention(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, title="Acme stylus for iPad 2, iPhone and Samsung Galaxy",
                   brand="Acme")  # fmt: skip
    code, data = check(ws, str(path))
    found = problems(only(data), "third_party_mark")
    assert code == 0 and {p["detail"]["mark"] for p in found} == {"iPad", "iPhone", "Samsung"}
    assert all(p["severity"] == "warn" for p in found)


def test_brands_by_their_other_names(ws: Path, tmp_path: Path) -> None:
    for title in ("耐克 运动鞋 男款", "Northface down jacket"):
        code, data = check(ws, str(listing(tmp_path, title=title, brand="Acme")))
        assert code == 1 and problems(only(data), "third_party_mark"), title


# -- banned terms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "term"),
    [("Acme handbag replica", "replica"), ("Acme watch 1:1 mirror quality", "mirror quality"),
     ("Acme 高仿 包", "高仿"), ("Acme perfume inspired by Dior", "inspired by"), ("Acme bag, a Chanel dupe", "dupe"),
     ("Acme Gucci style belt", "style")],
)  # fmt: skip
def test_banned_terms_block(ws: Path, tmp_path: Path, title: str, term: str) -> None:
    code, data = check(ws, str(listing(tmp_path, title=title, brand="Acme")))
    found = problems(only(data), "banned_term")
    assert code == 1 and any(p["detail"]["term"] == term for p in found), found
    assert all(p["severity"] == "block" for p in found)


def test_near_brand_words_are_innocent_alone(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, title="Acme AAA batteries 24 pack, retro style", brand="Acme")
    assert not problems(only(check(ws, str(path))[1]), "banned_term")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1:1 scale model car", []), ("EZ-Dupe DVD duplicator", []), ("Replica jersey 2024", []),
     ("Acme AAA batteries", []), ("Acme watch 1:1", [("1:1", "block")]),
     ("Acme bag dupe", [("dupe", "block")]),
     ("Acme lamp inspired by the original", [("inspired by", "block")]),
     ("Wall art inspired by nature", [("inspired by", "warn")])],
)  # fmt: skip
def test_banned_terms_know_innocent_phrases_and_suspect_words(
    text: str, expected: list[tuple[str, str]]
) -> None:
    found = BannedTerms.default().find(text)
    assert [(h.shown, h.severity) for h in found] == expected


# -- photos ------------------------------------------------------------------------------------


def _photo(report: dict) -> dict:
    [image] = report["images"]
    return image


def test_owned_photo_passes_and_unknown_photo_warns(ws: Path, tmp_path: Path) -> None:
    shutil.copy(OWN_PHOTO, tmp_path / "own.jpg")
    path = listing(tmp_path, title="Acme hoodie", brand="Acme", images=["own.jpg"])
    report = only(check(ws, str(path))[1])
    assert _photo(report)["source"] == "owned" and not problems(report, "image_source")

    path = listing(tmp_path, title="Acme shorts", brand="Acme",
                   images=[str(PHOTOS / "msh12-gray_main.jpg")])  # fmt: skip
    code, data = check(ws, str(path))
    [p] = problems(only(data), "image_source")
    assert code == 0 and p["severity"] == "warn" and "unknown source" in p["reason"]


def test_someone_elses_photo_blocks(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, title="Acme pants", brand="Acme",
                   images=[str(PHOTOS / "mg05-br-0.jpg")])  # fmt: skip
    code, data = check(ws, str(path))
    [p] = problems(only(data), "image_source")
    assert code == 1 and p["severity"] == "block" and "Rival studio photo" in p["reason"]


def test_photo_taken_from_another_sellers_listing_blocks(ws: Path, tmp_path: Path) -> None:
    data, row = captured_photo(ws)
    (tmp_path / "hoodie.jpg").write_bytes(data)
    path = listing(tmp_path, title="Acme pullover hoodie", brand="Acme", images=["hoodie.jpg"])
    code, result = check(ws, str(path))
    report = only(result)
    [p] = problems(report, "image_source")
    assert code == 1 and p["severity"] == "block" and _photo(report)["source"] == "captured"
    assert row["url"] in p["reason"] and row["seller_name"] in p["reason"]


def test_a_photo_of_the_owners_own_shop_is_the_owners(ws: Path, tmp_path: Path) -> None:
    """With no registered photo to match, a photo the owner's shop (an authorised seller)
    shows is still the owner's, not "taken from" a copier that shows it too."""
    ws_ = open_workspace(ws)
    try:
        row = next(ws_.db.query(
            "SELECT c.warc_file, c.warc_offset FROM listings l "
            "JOIN listing_images li ON li.listing_id = l.id "
            "JOIN images i ON i.sha256 = li.image_sha256 JOIN captures c ON c.id = i.capture_id "
            "WHERE l.seller_name = 'Luma Official Store' LIMIT 1"
        ))  # fmt: skip
        data = read_payload(ws_.config.workspace.evidence / row["warc_file"], row["warc_offset"])[1]
        ids = [str(r["id"]) for r in ws_.db.query("SELECT id FROM assets WHERE kind = 'image'")]
    finally:
        ws_.close()
    code, out, err = run(CliRunner(), ws, "assets", "remove", *ids)
    assert code == 0, out + err
    (tmp_path / "shop.jpg").write_bytes(data)
    path = listing(tmp_path, title="Luma hoodie", brand="Luma", images=["shop.jpg"])
    report = only(check(ws, str(path))[1])
    assert _photo(report)["source"] == "owned", report["images"]
    assert _photo(report)["match"]["listing"]["seller_name"] == "Luma Official Store"


@pytest.mark.parametrize(
    ("photo", "args", "expected"),
    [("mh04-green_back.jpg", ("--platform", "amazon", "--territory", "US"), "expired on 2025-06-30"),
     ("mh07-gray_alt1.jpg", ("--platform", "amazon", "--territory", "US"), "not US"),
     ("mj06-blue_back.jpg", ("--platform", "ebay", "--territory", "US"), "not ebay"),
     ("mj06-blue_back.jpg", ("--platform", "amazon", "--territory", "DE"), None),
     ("mj06-blue_back.jpg", ("--platform", "amazon", "--territory", "US"), None)],
)  # fmt: skip
def test_licensed_photos_are_held_to_their_licence(
    ws: Path, tmp_path: Path, photo: str, args: tuple[str, ...], expected: str | None
) -> None:
    path = listing(tmp_path, title="Acme jacket", brand="Acme", images=[str(PHOTOS / photo)])
    code, data = check(ws, str(path), *args)
    report = only(data)
    assert _photo(report)["source"] == "licensed"
    found = problems(report, "image_source")
    if expected is None:
        assert code == 0 and not [p for p in found if p["severity"] != "info"], found
    else:
        [p] = found
        assert code == 1 and p["severity"] == "block" and expected in p["reason"]
        assert "licence from Studio" in p["reason"]


def test_photos_by_url_are_fetched(ws: Path, tmp_path: Path) -> None:
    shutil.copy(OWN_PHOTO, tmp_path / "own.jpg")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        path = listing(tmp_path, title="Acme hoodie", brand="Acme",
                       images=[f"{url}/own.jpg", f"{url}/gone.jpg"])  # fmt: skip
        code, data = check(ws, str(path))
        server.shutdown()
    report = only(data)
    assert [i["source"] for i in report["images"]] == ["owned", "error"]
    assert code == 2 and "HTTP 404" in report["images"][1]["error"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_broken_photos_are_input_errors_of_their_listing(
    ws: Path, tmp_path: Path, hostile_dir: Path
) -> None:
    refused = ["truncated.jpg", "bomb.png", "empty.jpg", "text.jpg", "a.jpg", "sub"]
    odd = ["good.jpg", "cmyk.jpg", "sixteen.png", "animated.gif"]
    rows = [f"{n},Acme item,Acme,Plain item.,,{hostile_dir / n}" for n in refused + odd]
    rows.append(f"OK,Acme hoodie,Acme,Plain item.,,{OWN_PHOTO}")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(HEADER + "\n".join(rows) + "\n", "utf-8")
    code, data = check(ws, str(sheet))
    by_id = {r["id"]: r for r in data["listings"]}
    assert code == 2 and by_id["OK"]["verdict"] == "ok"
    for name in refused:
        assert by_id[name]["verdict"] == "error", by_id[name]
        assert problems(by_id[name], "input"), by_id[name]
    for name in odd:  # decodable, if odd (good.jpg is one of the owner's photos)
        assert by_id[name]["verdict"] != "error", by_id[name]
        assert by_id[name]["images"][0]["source"] in ("owned", "unknown"), by_id[name]


# -- copied text -------------------------------------------------------------------------------


def test_copied_description_blocks_naming_the_source(ws: Path, tmp_path: Path) -> None:
    _, row = captured_photo(ws)
    path = listing(tmp_path, title="Acme pullover hoodie", brand="Acme",
                   description=row["description"])  # fmt: skip
    code, data = check(ws, str(path))
    [p] = problems(only(data), "copied_text")
    assert code == 1 and p["severity"] == "block"
    assert row["url"] in p["reason"] and p["detail"]["sentences"]
    assert p["detail"]["sentences"][0] in row["description"]


def test_one_copied_sentence_warns(ws: Path, tmp_path: Path) -> None:
    _, row = captured_photo(ws)
    sentence = max(row["description"].split(". "), key=len)
    own = (
        "Our Acme hoodie is cut from a heavy brushed cotton fleece that we source from one mill. "
        "The hood has a double layer and a drawcord with metal tips that will not fray. "
        "Ribbed cuffs keep the warmth in on cold mornings at the trailhead or in town. "
        "Every seam is flatlocked so nothing rubs under a backpack strap on long days. "
        "It washes warm and dries on the line without shrinking or losing its shape. "
    )
    path = listing(tmp_path, title="Acme hoodie", brand="Acme", description=own + sentence + ".")
    code, data = check(ws, str(path))
    [p] = problems(only(data), "copied_text")
    assert p["severity"] == "warn" and code == 0, p


def test_the_owners_own_copy_is_not_copied_text(ws: Path, tmp_path: Path) -> None:
    """Counterfeiters in the store copied the owner's copy; the owner using it is no copy."""
    ws_ = open_workspace(ws)
    try:
        text = next(ws_.db.query("SELECT text FROM assets WHERE kind = 'copy' LIMIT 1"))["text"]
    finally:
        ws_.close()
    path = listing(tmp_path, title="Luma hoodie", brand="Luma", description=text)
    report = only(check(ws, str(path))[1])
    assert not problems(report, "copied_text"), report["problems"]


# -- platform rules ----------------------------------------------------------------------------


def test_platform_title_length_and_config_rules(ws: Path, tmp_path: Path) -> None:
    title = "Acme hoodie " + "warm soft fleece pullover " * 4
    path = listing(tmp_path, title=title.strip(), brand="Acme")
    found = problems(only(check(ws, str(path), "--platform", "ebay")[1]), "listing_rule")
    assert any(p["detail"]["rule"] == "title-length" for p in found), found
    found = problems(only(check(ws, str(path), "--platform", "amazon")[1]), "listing_rule")
    assert not any(p["detail"]["rule"] == "title-length" for p in found)

    text = ws.read_text("utf-8").replace("[selfcheck.rules.amazon]\ntitle_max = 200",
                                         "[selfcheck.rules.amazon]\ntitle_max = 40")  # fmt: skip
    ws.write_text(text, "utf-8")
    found = problems(only(check(ws, str(path), "--platform", "amazon")[1]), "listing_rule")
    assert any(p["detail"]["rule"] == "title-length" for p in found)

    # a platform of the user's own, known only from config.toml
    ws.write_text(text + "\n[selfcheck.rules.myshop]\ntitle_max = 30\n", "utf-8")
    code, data = check(ws, str(path), "--platform", "myshop")
    found = problems(only(data), "listing_rule")
    assert code == 0 and any(p["detail"]["rule"] == "title-length" for p in found)


# -- formats -----------------------------------------------------------------------------------


def test_every_input_format(ws: Path, tmp_path: Path) -> None:
    folder = tmp_path / "drafts"
    folder.mkdir()
    listing(folder, "a.json", title="Replica watch", brand="Acme")
    (folder / "b.toml").write_text('title = "Acme hoodie"\nbrand = "Acme"\n', "utf-8")
    (folder / "c.csv").write_text(HEADER + "C1,Acme tee,Acme,Soft tee.,,\n", "utf-8")
    book = Workbook()
    sheet = book.active
    sheet.append(["Template: Amazon flat file", None])  # Amazon puts notes above the header
    sheet.append(["Product name", "Brand Name", "Bullet Point 1", "Bullet Point 2", "SKU"])
    sheet.append(["item_name", "brand_name", "bullet_point1", "bullet_point2", "item_sku"])
    sheet.append(["Acme socks", "Acme", "Warm", "Nike style", "X1"])
    book.save(folder / "d.xlsx")
    code, data = check(ws, str(folder))
    verdicts = {Path(r["source"]).name: r["verdict"] for r in data["listings"]}
    assert verdicts == {"a.json": "block", "b.toml": "ok", "c.csv": "ok", "d.xlsx": "block"}
    [x1] = [r for r in data["listings"] if r["id"] == "X1"]
    assert {p["field"] for p in problems(x1)} >= {"bullets"}
    assert code == 1


def test_semicolon_sheets_and_quoted_line_breaks(ws: Path, tmp_path: Path) -> None:
    """European Excel saves CSV with semicolons; descriptions hold quotes and line breaks."""
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        'sku;title;description\nA;Acme tee;"Soft ""combed"" cotton.\n• Machine wash."\n'
        "B;Acme replica watch;Steel.\n",
        "utf-8",
    )
    code, data = check(ws, str(sheet))
    ids = [r["id"] for r in data["listings"]]
    assert ids == ["A", "B"] and code == 1
    assert data["listings"][1]["verdict"] == "block"


def test_shopify_rows_of_further_photos_join_their_product(ws: Path, tmp_path: Path) -> None:
    shutil.copy(OWN_PHOTO, tmp_path / "a.jpg")
    shutil.copy(PHOTOS / "mg05-br-0.jpg", tmp_path / "b.jpg")
    sheet = tmp_path / "products_export.csv"
    sheet.write_text(
        "Handle,Title,Body (HTML),Vendor,Image Src,Image Position,Image Alt Text\n"
        "acme-hoodie,Acme hoodie,<p>Warm.</p>,Acme,a.jpg,1,front\n"
        "acme-hoodie,,,,b.jpg,2,back\n",
        "utf-8",
    )
    code, data = check(ws, str(sheet))
    report = only(data)
    assert [i["source"] for i in report["images"]] == ["owned", "third_party"] and code == 1


def test_a_broken_photo_row_is_reported_not_joined(ws: Path, tmp_path: Path) -> None:
    """A Shopify photo row whose bytes do not decode is an error of its own, never lost."""
    sheet = tmp_path / "products_export.csv"
    sheet.write_bytes(
        b"Handle,Title,Vendor,Image Src\nacme-hoodie,Acme hoodie,Acme,\nacme-hoodie,,,caf\xe9.jpg\n"
    )
    code, data = check(ws, str(sheet))
    rows = {r["row"]: r for r in data["listings"]}
    assert code == 2 and set(rows) == {2, 3} and rows[3]["verdict"] == "error"
    assert "byte 0xe9" in problems(rows[3], "input")[0]["reason"]


def test_malformed_sheets_are_reported_per_row(ws: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(
        HEADER.encode()
        + b'R1,Acme hoodie,Acme,"Warm.\nSoft.",,\n'
        + b"R2,Acme caf\xe9 mug,Acme,Ceramic.,,\n"  # Latin-1 in a UTF-8 sheet
        + b"R3,Acme replica watch,Acme,Steel.,,\n"
        + b"R4,Acme tee,Acme,Cotton.,,no-such-photo.jpg\n"
    )
    code, data = check(ws, str(sheet))
    by_id = {r["id"]: r for r in data["listings"]}
    assert code == 2 and set(by_id) == {"R1", "R2", "R3", "R4"}
    assert [r["row"] for r in data["listings"]] == [2, 3, 4, 5]  # as a spreadsheet numbers them
    assert by_id["R1"]["verdict"] == "ok" and by_id["R3"]["verdict"] == "block"
    assert by_id["R2"]["verdict"] == "error"
    assert "byte 0xe9" in problems(by_id["R2"], "input")[0]["reason"]
    assert by_id["R4"]["verdict"] == "error"
    assert "no such file" in problems(by_id["R4"], "input")[0]["reason"]
    code, data = check(ws, str(sheet), "--encoding", "cp1252")
    assert {r["id"]: r["verdict"] for r in data["listings"]}["R2"] == "ok"


def test_a_sheet_without_a_title_column_names_the_config_key(ws: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("sku,headline,images\nS1,Acme hoodie,\n", "utf-8")
    (tmp_path / "good.json").write_text('{"title": "Acme tee"}', "utf-8")
    code, data = check(ws, str(sheet), str(tmp_path / "good.json"))
    assert code == 2
    bad = next(r for r in data["listings"] if r["source"].endswith("sheet.csv"))
    reason = problems(bad, "input")[0]["reason"]
    assert "no title column" in reason and "'headline'" in reason
    assert "[selfcheck.columns] title" in reason
    assert [r["verdict"] for r in data["listings"] if r["source"].endswith("good.json")] == ["ok"]

    text = ws.read_text("utf-8").replace('title = ["title"', 'title = ["headline", "title"', 1)
    ws.write_text(text, "utf-8")
    code, data = check(ws, str(sheet))
    assert code == 0 and only(data)["title"] == "Acme hoodie"


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"title": "\xff"}', b"\x00\x01binary"]
)
def test_broken_listing_files_exit_2(ws: Path, tmp_path: Path, content: bytes) -> None:
    name = "x.csv" if content.startswith(b"\x00") else "x.json"
    (tmp_path / name).write_bytes(content)
    code, data = check(ws, str(tmp_path / name))
    assert code == 2 and only(data)["verdict"] == "error"


def test_exit_codes(ws: Path, tmp_path: Path) -> None:
    clean = listing(tmp_path, "clean.json", title="Acme hoodie", brand="Luma",
                    images=[str(OWN_PHOTO)])  # fmt: skip
    warn = listing(tmp_path, "warn.json", title="Acme case for iPhone 15", brand="Acme")
    block = listing(tmp_path, "block.json", title="Acme replica bag", brand="Acme")
    assert check(ws, str(clean))[0] == 0
    assert check(ws, str(warn))[0] == 0
    assert check(ws, str(clean), str(block))[0] == 1
    assert check(ws, str(block), str(tmp_path / "missing.json"))[0] == 2
    code, _out, err = run(CliRunner(), ws, "check", str(clean), "--platform", "nowhere")
    assert code == 2 and "nowhere" in err


def test_workbooks_with_several_sheets(ws: Path, tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "Instructions"
    book.active.append(["Fill in the Template sheet."])
    template = book.create_sheet("Template")
    template.append(["item_sku", "item_name", "brand_name"])
    template.append(["T1", "Acme replica watch", "Acme"])
    example = book.create_sheet("Example")
    example.append(["item_sku", "item_name", "brand_name"])
    example.append(["E1", "Example Nike shoes", "Nike"])
    book.save(tmp_path / "flat.xlsm")
    code, data = check(ws, str(tmp_path / "flat.xlsm"))
    assert code == 1 and [r["id"] for r in data["listings"]] == ["T1"]
    assert only(data)["source"].endswith("flat.xlsm[Template]")


def test_an_open_quote_is_reported_and_the_rows_above_are_checked(ws: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        HEADER
        + "A,Acme replica watch,Acme,Steel.,,\n"
        + 'B,"Acme mug,Acme,Cup.,,\nC,Acme cup,Acme,,,\n',
        "utf-8",
    )
    code, data = check(ws, str(sheet))
    assert code == 2
    verdicts = [(r["id"], r["verdict"]) for r in data["listings"]]
    assert verdicts[0] == ("A", "block") and verdicts[-1][1] == "error"
    assert "quote left open" in problems(data["listings"][-1], "input")[0]["reason"]


def test_a_huge_cell_is_cut_not_fatal(ws: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(HEADER + f"A,Acme mug,Acme,{'x' * 1_200_000},,\nB,Acme replica bag,Acme,,,\n")
    code, data = check(ws, str(sheet))
    assert [(r["id"], r["verdict"]) for r in data["listings"]] == [("A", "ok"), ("B", "block")]
    assert code == 1


def test_platform_and_territory_columns(ws: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    title = "Acme hoodie " + "warm soft fleece pullover " * 4
    sheet.write_text(
        "sku,title,brand,platform,country,images\n"
        f"A,{title.strip()},Acme,eBay.co.uk,UK,{PHOTOS / 'mj06-blue_back.jpg'}\n"
        f"B,Acme hoodie,Acme,Nowhere Mall,US,\n",
        "utf-8",
    )
    code, data = check(ws, str(sheet))
    a, b = data["listings"]
    assert (
        a["platform"] == "ebay"
        and a["territories"] == ["GB"]
        and any(p["detail"].get("rule") == "title-length" for p in problems(a, "listing_rule"))
    )
    # the licence covers Amazon in the US and EU: not eBay in Great Britain
    [photo] = problems(a, "image_source")
    assert photo["severity"] == "block" and "not ebay" in photo["reason"]
    assert "not GB" in photo["reason"]
    assert b["verdict"] == "error" and "nowhere mall" in problems(b, "input")[0]["reason"]
    assert code == 2


def test_a_licence_that_cannot_be_checked_says_so(ws: Path, tmp_path: Path) -> None:
    text = ws.read_text("utf-8").replace('platform = "amazon"  ', 'platform = ""  ', 1)
    text = text.replace('territories = ["US"]  ', "territories = []  ", 1)
    ws.write_text(text, "utf-8")
    path = listing(tmp_path, title="Acme jacket", brand="Acme",
                   images=[str(PHOTOS / "mj06-blue_back.jpg")])  # fmt: skip
    code, data = check(ws, str(path))
    [p] = problems(only(data), "image_source")
    assert code == 0 and p["severity"] == "info" and "name the territory" in p["reason"]


# -- outputs -----------------------------------------------------------------------------------


def test_control_characters_never_reach_the_terminal(ws: Path, tmp_path: Path) -> None:
    path = listing(tmp_path, sku="E\x1b[2J", title="Gucci\x1b[8m hidden replica \u202e",
                   images=["\x1b]0;pwned\x07x.jpg"])  # fmt: skip
    code, out, _ = run(CliRunner(), ws, "check", str(path))
    assert code == 2 and "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out


def test_table_and_html_report_escape_listing_text(ws: Path, tmp_path: Path) -> None:
    shutil.copy(OWN_PHOTO, tmp_path / "own.jpg")
    hostile = '<script>alert(1)</script> [bold]Nike[/bold] <img src=x onerror="alert(2)">'
    path = listing(tmp_path, title=hostile, brand="Acme", images=["own.jpg"])
    report = tmp_path / "report.html"
    code, out, _ = run(CliRunner(), ws, "check", str(path), "--html", str(report))
    assert code == 1 and "[bold]Nike[/bold]" in out  # printed as text, not as markup
    html = report.read_text("utf-8")
    assert "<script>alert" not in html and 'onerror="alert' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('src="data:image/jpeg;base64,') == 2  # the photo beside its asset
    assert "default-src 'none'" in html


# -- licence register --------------------------------------------------------------------------


def test_assets_licences_lists_those_ending_soon(ws: Path) -> None:
    code, out, _ = run(CliRunner(), ws, "assets", "licences", "--days", "30", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["licensor"] for r in rows] == ["Studio Expired"]
    assert rows[0]["days_left"] < 0
    code, out, _ = run(CliRunner(), ws, "assets", "licences", "--all", "--json")
    names = {r["licensor"] for r in json.loads(out)}
    assert names == {"Studio Expired", "Studio Germany", "Studio Valid", "Kestrelle Ltd"}
    ws_ = open_workspace(ws)
    try:
        soon = checkcli.licences(ws_.db, 40, today=dt.date.fromisoformat(LATER) - dt.timedelta(30))
    finally:
        ws_.close()
    assert {r["licensor"] for r in soon} == {
        "Studio Expired", "Studio Germany", "Studio Valid", "Kestrelle Ltd"
    }  # fmt: skip
