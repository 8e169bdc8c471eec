"""Takedown from a real sweep of the demo market: confirm, draft (every format), validate by
config key, approve, submit, counter-notice deadlines, stats, relistings and the seller's own
counter-notice. The store, WARC files and evidence packs are real; nothing is mocked.

One sweep of two storefronts is shared by the module; each test drafts in its own copy of the
swept workspace so that their notices do not meet.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from listingguard import casework, store
from listingguard.demo.market import DemoMarket
from listingguard.workspace import open_workspace
from takedown.clock import add_business_days, deadline
from takedown.platforms import Clock
from tests.conftest import rows, run
from tests.test_sweep import demo_workspace, sweep


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory, market: DemoMarket) -> Path:
    base = tmp_path_factory.mktemp("swept")
    config = demo_workspace(base, market.base_url, only=("demo-jsonld", "demo-html"))
    sweep(config)
    return base


@pytest.fixture
def ws_dir(swept: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(swept, copy)
    return copy


def _findings(config: Path, *, kind: str, marketplace: str, status: str = "new") -> list[int]:
    """Findings of a kind; trademark ones on the registered mark (LumaTech has none)."""
    return [
        r["id"]
        for r in rows(
            config,
            "SELECT f.id FROM findings f JOIN listings l ON l.id = f.listing_id "
            "JOIN assets a ON a.id = f.asset_id WHERE f.kind = ? AND l.marketplace = ? "
            "AND f.status = ? AND (f.kind != 'trademark' OR a.name = 'Luma') "
            "ORDER BY f.score DESC, f.id",
            (kind, marketplace, status),
        )
    ]


def _confirm(runner: CliRunner, config: Path, ids: list[int]) -> None:
    code, out, err = run(runner, config, "findings", "confirm", *map(str, ids))
    assert code == 0, out + err


def _approved_image_notice(runner: CliRunner, config: Path) -> tuple[int, str]:
    """One confirmed demo-html photo finding drafted (without a pack) and approved: the
    finding's id and the notice's."""
    ids = _findings(config, kind="image_copy", marketplace="demo-html")[:1]
    _confirm(runner, config, ids)
    assert run(runner, config, "takedown", "draft", str(ids[0]), "--no-pack")[0] == 0
    (n,) = rows(config, "SELECT id FROM notices")
    nid = str(n["id"])
    assert run(runner, config, "takedown", "approve", nid, "--by", "J")[0] == 0
    return ids[0], nid


def test_only_confirmed_and_never_authorised(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    new = _findings(config, kind="trademark", marketplace="demo-jsonld")[:1]
    mine = _findings(config, kind="image_copy", marketplace="demo-jsonld", status="authorised")
    assert new and mine
    code, out, err = run(runner, config, "takedown", "draft", str(new[0]))
    assert code == 2
    assert f"finding {new[0]} is new, not confirmed" in out + err
    code, out, err = run(runner, config, "findings", "confirm", str(mine[0]))
    assert code == 2 and "authorised" in out + err
    code, out, err = run(runner, config, "takedown", "draft", str(mine[0]))
    assert code == 2 and "never reported" in out + err
    assert not rows(config, "SELECT * FROM notices")


def test_eml_parses_and_carries_the_pack(runner: CliRunner, ws_dir: Path) -> None:
    from listingguard import packs

    config = ws_dir / "config.toml"
    ids = _findings(config, kind="trademark", marketplace="demo-jsonld")[:3]
    _confirm(runner, config, ids)
    code, out, err = run(runner, config, "takedown", "draft", *map(str, ids), "--format", "eml")
    assert code == 0, out + err
    (notice,) = rows(config, "SELECT * FROM notices")
    assert notice["platform"] == "ebay-vero" and notice["legal_basis"] == "trademark"
    msg = email.message_from_bytes(Path(notice["path"]).read_bytes(), policy=email.policy.default)
    assert msg["To"] == "vero@ebay.com"
    assert "Luma" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    for text in ("Jordan Example", "9876543", "100 Example Street"):
        assert text in body
    (attachment,) = list(msg.iter_attachments())
    data = attachment.get_payload(decode=True)
    assert data == Path(notice["pack_path"]).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "manifest.json" in z.namelist()
    assert packs.verify_pack(Path(notice["pack_path"])) == []
    assert rows(config, "SELECT COUNT(*) AS n FROM notice_findings")[0]["n"] == len(ids)


def test_missing_field_names_the_config_key(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    text = config.read_text("utf-8")
    start = text.index('address = "100 Example Street')
    config.write_text(text[:start] + text[text.index("\n", start) + 1 :], "utf-8")
    ids = _findings(config, kind="trademark", marketplace="demo-jsonld")[:1]
    _confirm(runner, config, ids)
    code, out, err = run(runner, config, "takedown", "draft", str(ids[0]), "--no-pack")
    assert code == 2
    assert "owner.address is required by ebay-vero" in out + err
    assert not rows(config, "SELECT * FROM notices")
    assert not list((ws_dir / "notices").glob("*")) if (ws_dir / "notices").exists() else True


def test_walmart_needs_a_uspto_registration(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    text = config.read_text("utf-8")
    config.write_text(text.replace('office = "USPTO"', 'office = "UKIPO"'), "utf-8")
    ids = _findings(config, kind="trademark", marketplace="demo-html")[:1]
    _confirm(runner, config, ids)
    code, out, err = run(
        runner, config, "takedown", "draft", str(ids[0]), "--platform", "walmart", "--no-pack"
    )
    assert code == 2
    assert "marks.registrations (mark Luma): a registration at USPTO is required by walmart" in (
        out + err
    )


def test_split_at_the_limit_with_a_users_definition(runner: CliRunner, ws_dir: Path) -> None:
    """A user's own platform file (here: a copy of amazon taking 2 listings) is used, and a
    batch of more listings is split into parts."""
    from importlib import resources

    config = ws_dir / "config.toml"
    folder = ws_dir / "platforms"
    folder.mkdir()
    amazon = (resources.files("takedown") / "platforms" / "amazon.toml").read_text("utf-8")
    folder.joinpath("tiny.toml").write_text(
        amazon.replace('name = "amazon"', 'name = "tiny"').replace("limit = 50", "limit = 2"),
        "utf-8",
    )
    text = config.read_text("utf-8")
    config.write_text(text.replace('platforms = ""', 'platforms = "platforms"'), "utf-8")
    ids = _findings(config, kind="image_copy", marketplace="demo-html")
    listings = {
        r["listing_id"]
        for r in rows(
            config, f"SELECT listing_id FROM findings WHERE id IN ({','.join(map(str, ids))})"
        )
    }
    assert len(listings) >= 3
    _confirm(runner, config, ids)
    code, out, err = run(
        runner, config, "takedown", "draft", *map(str, ids), "--platform", "tiny", "--no-pack"
    )
    assert code == 0, out + err
    notices = rows(config, "SELECT * FROM notices ORDER BY id")
    assert len(notices) == -(-len(listings) // 2)
    for n in notices:
        assert n["platform"] == "tiny" and n["legal_basis"] == "copyright"
        per = rows(
            config,
            "SELECT COUNT(DISTINCT f.listing_id) AS n FROM notice_findings nf JOIN findings f "
            "ON f.id = nf.finding_id WHERE nf.notice_id = ?",
            (n["id"],),
        )[0]["n"]
        assert per <= 2
    assert f"(part 1 of {len(notices)})" in notices[0]["body"]


def test_scraped_text_is_never_a_template(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    ids = _findings(config, kind="trademark", marketplace="demo-html")[:1]
    hostile = '{{ 7*7 }} {% for x in range(3) %}x{% endfor %} =HYPERLINK("http://evil")'
    ws = open_workspace(config)
    with store.transaction(ws.db) as db:
        db.execute(
            "UPDATE listings SET title = ?, seller_name = ? WHERE id = "
            "(SELECT listing_id FROM findings WHERE id = ?)",
            [hostile, "=cmd|' /C calc'!A0", ids[0]],
        )
    ws.close()
    _confirm(runner, config, ids)
    for fmt in ("text", "csv"):
        code, out, err = run(
            runner, config, "takedown", "draft", str(ids[0]), "--format", fmt, "--no-pack"
        )
        assert code == 0, out + err
        (n,) = rows(config, "SELECT * FROM notices ORDER BY id DESC LIMIT 1")
        written = Path(n["path"]).read_text("utf-8-sig")
        if fmt == "text":
            assert hostile in written  # printed as scraped, never evaluated
            assert "xxx" not in written
        else:
            assert "'=cmd|" in written
            assert ",=cmd" not in written and ",=HYPERLINK" not in written
        code, out, err = run(runner, config, "takedown", "discard", str(n["id"]))
        assert code == 0, out + err


def test_lifecycle_deadlines_and_stats(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    ids = _findings(config, kind="image_copy", marketplace="demo-html")[:2]
    _confirm(runner, config, ids)
    code, out, err = run(
        runner, config, "takedown", "draft", *map(str, ids), "--platform", "dmca", "--no-pack"
    )
    assert code == 0, out + err
    (notice,) = rows(config, "SELECT * FROM notices")
    nid = str(notice["id"])
    code, out, err = run(runner, config, "takedown", "mark", nid, "submitted")
    assert code == 2 and "approved" in out + err  # a person approves first
    code, out, err = run(runner, config, "takedown", "approve", nid, "--by", "Jordan Example")
    assert code == 0, out + err
    code, out, err = run(runner, config, "takedown", "mark", nid, "submitted", "--on", "2026-11-16")
    assert code == 0, out + err
    cases = rows(config, "SELECT * FROM cases ORDER BY id")
    assert len(cases) == len(
        {
            r["listing_id"]
            for r in rows(config, "SELECT listing_id FROM findings WHERE id IN (?, ?)", tuple(ids))
        }
    )
    assert all(
        f["status"] == "reported"
        for f in rows(config, f"SELECT status FROM findings WHERE id IN ({ids[0]}, {ids[1]})")
    )
    first, *rest = cases
    # A counter-notice received on Friday 20 November 2026: the DMCA's 10 business days skip
    # two weekends and end on Friday 4 December.
    code, out, err = run(
        runner,
        config,
        "takedown",
        "mark",
        nid,
        "countered",
        "--listing",
        str(first["listing_id"]),
        "--on",
        "2026-11-20",
    )
    assert code == 0, out + err
    assert (
        rows(config, "SELECT deadline FROM cases WHERE id = ?", (first["id"],))[0]["deadline"]
        == "2026-12-04"
    )
    code, out, err = run(runner, config, "takedown", "list", "--cases")
    assert "2026-12-04" in out
    code, out, err = run(
        runner,
        config,
        "takedown",
        "mark",
        nid,
        "removed",
        "--listing",
        str(first["listing_id"]),
        "--on",
        "2026-11-30",
    )
    assert code == 0, out + err
    code, out, err = run(
        runner, config, "takedown", "mark", nid, "relisted", "--listing", str(first["listing_id"])
    )
    assert code == 0, out + err
    code, out, err = run(runner, config, "takedown", "mark", nid, "submitted")
    assert code == 2
    if rest:
        code, out, err = run(
            runner,
            config,
            "takedown",
            "mark",
            nid,
            "rejected",
            "--listing",
            str(rest[0]["listing_id"]),
        )
        assert code == 2 and "--reason" in out + err
        code, out, err = run(
            runner,
            config,
            "takedown",
            "mark",
            nid,
            "rejected",
            "--listing",
            str(rest[0]["listing_id"]),
            "--reason",
            "not enough detail",
            "--on",
            "2026-11-17",
        )
        assert code == 0, out + err
    ws = open_workspace(config)
    (figures,) = casework.stats(ws)
    ws.close()
    assert figures.platform == "dmca" and figures.cases == len(cases)
    assert figures.countered == 1
    assert figures.median_days == 14.0  # submitted 16 Nov, removed 30 Nov
    if rest:
        assert figures.acceptance == 0.5
        assert any("acceptance" in w for w in figures.warnings())
    code, out, err = run(runner, config, "takedown", "stats", "--json")
    assert code == 0 and '"median_days_to_removal": 14.0' in out


def test_business_days_across_a_weekend() -> None:
    friday = dt.date(2026, 12, 4)
    assert add_business_days(friday, 1) == dt.date(2026, 12, 7)
    assert add_business_days(friday, 5) == dt.date(2026, 12, 11)
    assert add_business_days(dt.date(2026, 12, 5), 1) == dt.date(2026, 12, 7)  # from a Saturday
    calendar = Clock(days=15, business=False, party="complainant", rule="Art. 43")
    assert deadline(friday, calendar) == dt.date(2026, 12, 19)
    business = Clock(days=3, business=True, party="respondent", rule="Alibaba")
    assert deadline(friday, business) == dt.date(2026, 12, 9)


def test_relisting_links_to_the_old_case(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    fid, nid = _approved_image_notice(runner, config)
    assert run(runner, config, "takedown", "mark", nid, "submitted", "--on", "2026-11-01")[0] == 0
    assert run(runner, config, "takedown", "mark", nid, "removed")[0] == 0
    old = rows(
        config,
        "SELECT l.*, f.asset_id, f.kind FROM findings f JOIN listings l ON l.id = f.listing_id "
        "WHERE f.id = ?",
        (fid,),
    )[0]
    ws = open_workspace(config)
    with store.transaction(ws.db) as db:
        stamp = store.now()
        new_listing = (
            db["listings"]
            .insert(
                {
                    "marketplace": old["marketplace"],
                    "listing_id": "relisted-1",
                    "url": old["url"] + "-again",
                    "title": old["title"],
                    "seller_id": old["seller_id"],
                    "seller_name": old["seller_name"],
                    "first_seen": stamp,
                    "last_seen": stamp,
                }
            )
            .last_pk
        )
        new_finding = (
            db["findings"]
            .insert(
                {
                    "listing_id": new_listing,
                    "asset_id": old["asset_id"],
                    "kind": old["kind"],
                    "score": 0.99,
                    "status": "new",
                    "first_seen": stamp,
                    "last_seen": stamp,
                }
            )
            .last_pk
        )
    found = casework.link_relistings(ws.db)
    ws.close()
    assert [r["listing_id"] for r in found] == [new_listing]
    (case,) = rows(config, "SELECT * FROM cases")
    assert case["status"] == "relisted"
    _confirm(runner, config, [new_finding])
    assert run(runner, config, "takedown", "draft", str(new_finding), "--no-pack")[0] == 0
    n2 = rows(config, "SELECT id FROM notices ORDER BY id DESC LIMIT 1")[0]["id"]
    assert run(runner, config, "takedown", "approve", str(n2), "--by", "J")[0] == 0
    assert run(runner, config, "takedown", "mark", str(n2), "submitted")[0] == 0
    newest = rows(config, "SELECT * FROM cases WHERE notice_id = ?", (n2,))[0]
    assert newest["relisted_from"] == case["id"]


def test_seller_counter_notice_cites_its_own_proof(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    photo = rows(
        config,
        "SELECT a.id, a.sha256, a.path FROM assets a JOIN findings f ON f.asset_id = a.id "
        "WHERE a.kind = 'image' AND f.status = 'authorised' LIMIT 1",
    )[0]  # a photo the owner's own store shows: swept, so its earliest capture is proof
    out_file = ws_dir / "counter.txt"
    code, out, err = run(
        runner,
        config,
        "takedown",
        "respond",
        "--platform",
        "dmca",
        "--listing",
        "https://shop.example/p/1",
        "--complainant",
        "Acme Copy Ltd.",
        "--received",
        "2026-11-27",
        "--asset",
        str(photo["id"]),
        "--out",
        str(out_file),
        "--json",
    )
    assert code == 0, out + err
    text = out_file.read_text("utf-8")
    for element in (
        "penalty of perjury",
        "mistake or misidentification",
        "jurisdiction",
        "service of process",
        "Jordan Example",
        "+1 555 0100",
        photo["sha256"],
        "https://shop.example/p/1",
        "Earliest capture of our own material",
    ):
        assert element in text, element


def test_recheck_marks_a_removed_listing_removed(
    runner: CliRunner, ws_dir: Path, market: DemoMarket
) -> None:
    """Two cases filed; the market takes one listing down; recheck closes that case only, and
    keeps the answer that proves it as a capture."""
    config = ws_dir / "config.toml"
    ids = _findings(config, kind="image_copy", marketplace="demo-html")
    found = rows(
        config,
        f"SELECT f.id, l.id AS row, l.url FROM findings f JOIN listings l ON l.id = f.listing_id "
        f"WHERE f.id IN ({','.join(map(str, ids))}) ORDER BY f.id",
    )
    first, second = found[0], next(r for r in found if r["row"] != found[0]["row"])
    chosen = [first["id"], second["id"]]
    _confirm(runner, config, chosen)
    assert run(runner, config, "takedown", "draft", *map(str, chosen), "--no-pack")[0] == 0
    (n,) = rows(config, "SELECT id FROM notices")
    nid = str(n["id"])
    assert run(runner, config, "takedown", "approve", nid, "--by", "J")[0] == 0
    assert run(runner, config, "takedown", "mark", nid, "submitted")[0] == 0
    market.remove(first["url"])
    try:
        code, out, err = run(runner, config, "takedown", "recheck", "--json")
    finally:
        market.relist(first["url"])
    assert code == 0, out + err
    cases = {c["listing_id"]: c for c in rows(config, "SELECT * FROM cases")}
    assert cases[first["row"]]["status"] == "removed"
    assert cases[first["row"]]["closed_at"]
    assert cases[second["row"]]["status"] == "submitted"
    assert cases[second["row"]]["last_checked_at"]
    (event,) = rows(
        config,
        "SELECT * FROM case_events WHERE case_id = ? AND status = 'removed'",
        (cases[first["row"]]["id"],),
    )
    capture = rows(config, "SELECT * FROM captures WHERE id = ?", (event["capture_id"],))[0]
    assert capture["kind"] == "recheck" and capture["url"] == first["url"]
    assert (
        rows(config, "SELECT status FROM listings WHERE id = ?", (first["row"],))[0]["status"]
        == "removed"
    )
    assert {
        r["status"] for r in rows(config, f"SELECT status FROM findings WHERE id = {first['id']}")
    } == {"resolved"}


def test_every_platform_drafts_a_complete_notice_from_the_demo(
    runner: CliRunner, ws_dir: Path
) -> None:
    """Real demo findings through every bundled definition: each validates and renders in every
    format; Etsy alone refuses the demo's URLs, which are not etsy.com/listing/N."""
    from listingguard import notices
    from takedown import render

    config = ws_dir / "config.toml"
    picks = {
        "trademark": _findings(config, kind="trademark", marketplace="demo-html")[:2],
        "copyright": _findings(config, kind="image_copy", marketplace="demo-html")[:2]
        + _findings(config, kind="text_copy", marketplace="demo-html")[:1],
    }
    _confirm(runner, config, [i for ids in picks.values() for i in ids])
    ws = open_workspace(config)
    try:
        known = notices.load_platforms(ws.config)
        assert len(known) == 12
        for name, platform in known.items():
            for basis in platform.bases:
                if platform.target_url:
                    with pytest.raises(notices.TakedownError, match="not a listing URL"):
                        notices.plan(ws, picks[basis], name)
                    continue
                planned = notices.plan(ws, picks[basis], name)
                for notice, p in planned:
                    assert len(notice.targets) <= p.limit
                notice, p = planned[0]
                text = render.text(notice, p)
                assert "Jordan Example" in text and notice.targets[0].url in text, name
                assert render.csv_text(notice, p).count("\r\n") == len(notice.targets) + 1
                msg = email.message_from_bytes(
                    render.eml(notice, p, None), policy=email.policy.default
                )
                assert msg.get_body(("plain",)).get_content().strip()
    finally:
        ws.close()


def test_a_notice_cannot_go_on_once_its_finding_is_not_reportable(
    runner: CliRunner, ws_dir: Path
) -> None:
    """Dismissing a finding that sits in a draft is refused; an allowlist that grows after the
    draft stops its approval (the seller turned out to be a licensee)."""
    config = ws_dir / "config.toml"
    ids = _findings(config, kind="image_copy", marketplace="demo-html")[:1]
    _confirm(runner, config, ids)
    assert run(runner, config, "takedown", "draft", str(ids[0]), "--no-pack")[0] == 0
    code, out, err = run(runner, config, "findings", "dismiss", str(ids[0]))
    assert code == 2 and "discard the notice first" in out + err
    seller = rows(
        config,
        "SELECT l.seller_name FROM findings f JOIN listings l ON l.id = f.listing_id "
        "WHERE f.id = ?",
        (ids[0],),
    )[0]["seller_name"]
    text = config.read_text("utf-8")
    entry = f'[[authorised]]\nname = "Late licensee"\nseller_names = ["{seller}"]\n\n'
    config.write_text(text.replace("[[authorised]]", entry + "[[authorised]]", 1), "utf-8")
    (n,) = rows(config, "SELECT id FROM notices")
    code, out, err = run(runner, config, "takedown", "approve", str(n["id"]), "--by", "J")
    assert code == 2 and "Late licensee" in out + err
    assert rows(config, "SELECT status FROM notices")[0]["status"] == "draft"


def test_a_broken_user_template_is_a_clear_error_and_leaves_nothing(
    runner: CliRunner, ws_dir: Path
) -> None:
    from importlib import resources

    config = ws_dir / "config.toml"
    folder = ws_dir / "platforms"
    folder.mkdir()
    amazon = (resources.files("takedown") / "platforms" / "amazon.toml").read_text("utf-8")
    folder.joinpath("acme.toml").write_text(
        amazon.replace('name = "amazon"', 'name = "acme"').replace(
            'value = "{{ reporter.email }}"', 'value = "{{ reporter.emial }}"'
        ),
        "utf-8",
    )
    text = config.read_text("utf-8")
    config.write_text(text.replace('platforms = ""', 'platforms = "platforms"'), "utf-8")
    ids = _findings(config, kind="image_copy", marketplace="demo-html")[:1]
    _confirm(runner, config, ids)
    code, out, err = run(runner, config, "takedown", "draft", str(ids[0]), "--platform", "acme")
    assert code == 2 and "acme.toml" in out + err and "emial" in out + err
    assert "Traceback" not in out + err
    assert not rows(config, "SELECT * FROM notices")
    assert (
        not list((ws_dir / "notices").glob("notice-*")) if (ws_dir / "notices").exists() else True
    )


def test_dates_and_restored_cases(runner: CliRunner, ws_dir: Path) -> None:
    config = ws_dir / "config.toml"
    _, nid = _approved_image_notice(runner, config)
    code, out, err = run(runner, config, "takedown", "mark", nid, "submitted", "--on", "2999-01-01")
    assert code == 2 and "future" in out + err
    assert run(runner, config, "takedown", "mark", nid, "submitted", "--on", "2026-11-02")[0] == 0
    code, out, err = run(runner, config, "takedown", "mark", nid, "removed", "--on", "2026-11-01")
    assert code == 2 and "before the case was opened" in out + err
    for status in ("countered", "restored", "removed"):
        code, out, err = run(runner, config, "takedown", "mark", nid, status)
        assert code == 0, status + out + err
    (figures,) = casework.stats(open_workspace(config))
    assert figures.countered == 1 and figures.removed == 1


def test_a_counter_notice_needs_the_complainant_and_a_copyright_claim(
    runner: CliRunner, ws_dir: Path
) -> None:
    config = ws_dir / "config.toml"
    photo = rows(config, "SELECT id FROM assets WHERE kind = 'image' LIMIT 1")[0]["id"]
    base = ("takedown", "respond", "--listing", "https://shop.example/p/1", "--asset", str(photo))
    code, out, err = run(runner, config, *base, "--platform", "dmca")
    assert code == 2 and "--complainant" in out + err
    code, out, err = run(
        runner, config, *base, "--platform", "etsy", "--basis", "trademark", "--complainant", "A"
    )
    assert code == 2 and "copyright complaints only" in out + err


def test_a_removed_listing_seen_live_again_reopens_its_case(
    runner: CliRunner, ws_dir: Path
) -> None:
    config = ws_dir / "config.toml"
    fid, nid = _approved_image_notice(runner, config)
    assert run(runner, config, "takedown", "mark", nid, "submitted", "--on", "2026-11-02")[0] == 0
    assert run(runner, config, "takedown", "mark", nid, "removed", "--on", "2026-11-03")[0] == 0
    ws = open_workspace(config)
    assert casework.back_online(ws.db) == []  # last seen before the removal: still gone
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with store.transaction(ws.db) as db:
        db.execute(
            "UPDATE listings SET status = 'active', last_seen = ? WHERE id = "
            "(SELECT listing_id FROM findings WHERE id = ?)",
            [later, fid],
        )
    (case_id,) = casework.back_online(ws.db)
    ws.close()
    (case,) = rows(config, "SELECT * FROM cases")
    assert case["id"] == case_id and case["status"] == "restored"
    assert rows(config, "SELECT status FROM notices")[0]["status"] == "restored"
