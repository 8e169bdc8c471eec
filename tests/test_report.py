"""The sweep report from a real sweep of the demo market: its counts, every new finding with its
evidence, the bot wall, the takedown figures, and that nothing scraped can run or load in it.

One sweep of the four storefronts is shared by the module; tests that change the workspace work
on a copy of it.
"""

from __future__ import annotations

import base64
import doctest
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from listingguard import __version__, report
from listingguard.demo.market import DemoMarket
from listingguard.findings import StageResult
from listingguard.links import http_url
from listingguard.store import finish_sweep, start_sweep
from listingguard.sweep import CrawlResult, SweepResult
from listingguard.workspace import open_workspace
from tests.conftest import rows, run
from tests.test_sweep import demo_workspace, sweep

MARKETS = ("demo-jsonld", "demo-html", "demo-shopify", "demo-woo")


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of every table row's cells."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def swept(market: DemoMarket, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    config = demo_workspace(tmp_path_factory.mktemp("report") / "ws", market.base_url)
    return config, sweep(config)


@pytest.fixture(scope="module")
def page(swept: tuple[Path, dict]) -> str:
    """The report of the shared sweep, as written to the workspace."""
    config, summary = swept
    ws = open_workspace(config)
    try:
        path = report.write_report(ws, summary)
    finally:
        ws.close()
    return path.read_text("utf-8")


@pytest.fixture
def copy(swept: tuple[Path, dict], tmp_path: Path) -> Path:
    """A copy of the swept workspace to change; its config.toml."""
    shutil.copytree(swept[0].parent, tmp_path / "ws")
    return tmp_path / "ws" / "config.toml"


def _render(config: Path, summary: dict) -> str:
    ws = open_workspace(config)
    try:
        return report.render_report(ws, summary).decode("utf-8")
    finally:
        ws.close()


def _new_findings(config: Path, summary: dict) -> list[dict]:
    ids = report.sweep_ids(summary)
    marks = ",".join("?" for _ in ids)
    return rows(
        config,
        f"SELECT * FROM findings WHERE sweep_id IN ({marks}) AND status = 'new'",
        tuple(ids),
    )


def _article(html: str, finding_id: int) -> str:
    found = re.search(
        rf'<article class="[^"]*" id="finding-{finding_id}">(.*?)</article>', html, re.S
    )
    assert found, f"finding {finding_id} is not in the report"
    return found.group(1)


def _section(html: str, name: str) -> str:
    """The HTML from the heading ``id=name`` to the next heading."""
    start = html.index(f'<h2 id="{name}">')
    end = html.find("<h2 ", start + 1)
    return html[start : end if end > 0 else None]


def test_the_counts_of_each_marketplace_and_the_header(swept, page) -> None:
    config, summary = swept
    table = {r[0]: r for r in Page(page).rows if len(r) == 13}
    for m in summary["marketplaces"]:
        row = table[m["marketplace"]]
        assert row[1:2] == [str(m["sweep"])] and row[2] == m["status"] == "finished"
        counts = [m[k] for k in ("pages", "listings", "images", "blocked", "new_findings")]
        assert row[3:8] == [str(n) for n in counts]
        assert row[8] == str(m["errors"])
    assert set(table) >= set(MARKETS)
    total = sum(m["listings"] for m in summary["marketplaces"])
    assert table["Total"][4] == str(total)
    owner = open_workspace(config)
    try:
        assert owner.config.owner.legal_name in page
    finally:
        owner.close()
    assert f"listingguard {__version__}" in page
    assert "sweeps " + ", ".join(str(m["sweep"]) for m in summary["marketplaces"]) in page
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert "New findings per marketplace" in page and "<svg" in page


def test_the_report_is_written_whole_to_a_folder_of_its_own(swept, page) -> None:
    config, summary = swept
    first = summary["marketplaces"][0]["sweep"]
    reports = config.parent / "reports"
    before = set(reports.glob(f"sweep-{first}-*/report.html"))
    assert Path(summary["report"]) in before  # the sweep command wrote its own
    ws = open_workspace(config)
    try:
        again = report.write_report(ws, summary)
        chosen = report.write_report(ws, summary, config.parent / "elsewhere" / "r.html")
    finally:
        ws.close()
    after = set(reports.glob(f"sweep-{first}-*/report.html"))
    assert after - before == {again}  # a second report never overwrites
    assert re.fullmatch(rf"sweep-{first}-\d{{8}}T\d{{6}}Z(-\d+)?", again.parent.name)
    assert chosen.read_text("utf-8").startswith("<!DOCTYPE html>")
    leftovers = [p for p in config.parent.rglob("*.part")]
    assert not leftovers


def test_every_new_finding_is_shown_best_first_with_its_evidence(swept, page) -> None:
    config, summary = swept
    new = _new_findings(config, summary)
    assert len(new) == summary["new_findings"] > 0
    assert {f["kind"] for f in new} >= {"image_copy", "trademark", "text_copy"}
    for f in new:
        article = _article(page, f["id"])
        if f["kind"] == "image_copy":
            (uri,) = re.findall(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', article)
            with Image.open(io.BytesIO(base64.b64decode(uri))) as im:
                assert im.format == "JPEG" and im.width > 100
                im.verify()
        else:
            assert re.search(r'<mark class="(mark|copy)">.+?</mark>', article, re.S), f["id"]
    shown = [int(i) for i in re.findall(r'id="finding-(\d+)"', page)]
    rank = {"high": 0, "medium": 1, "low": 2}
    by_id = {f["id"]: f for f in new}
    order = [(rank.get(by_id[i]["severity"], 3), -by_id[i]["score"]) for i in shown]
    assert order == sorted(order)
    assert "more finding" not in page


def test_a_huge_sweep_shows_the_best_and_says_how_many_more(
    swept, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, summary = swept
    monkeypatch.setattr(report, "MAX_FINDINGS", 3)
    html = _render(config, summary)
    assert len(re.findall(r'<article class="finding', html)) == 3
    assert f"{summary['new_findings'] - 3} more findings to review not shown" in html


def test_the_bot_wall_of_demo_jsonld_is_listed(swept, page, market) -> None:
    blocked = [t for t in market.truth if t.label == "blocked"]
    assert blocked
    section = _section(page, "blocked")
    rows = [r for r in Page(section).rows if r and r[0] == "demo-jsonld"]
    assert {r[1] for r in rows} == {t.url for t in blocked}
    assert all(r[2] == "200" and "perimeterx" in r[4].lower() for r in rows)
    assert all(f'<a href="{t.url}"' in section for t in blocked)


def test_nothing_loads_or_runs(page) -> None:
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    lowered = page.lower()
    for bad in ('src="http', "<link", "<script", "@import", "url(", "<iframe", "<object"):
        assert bad not in lowered, bad
    for tag, attrs in Page(page).tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "img":
            assert (attrs["src"] or "").startswith("data:image/jpeg;base64,")
        if "href" in attrs:
            assert re.match(r"https?://", attrs["href"] or ""), attrs


def test_no_notices_yet_is_said_plainly(page) -> None:
    section = _section(page, "takedowns")
    assert "No notices sent yet" in section and "<svg" not in section


def test_hostile_listing_text_stays_inert(copy, swept) -> None:
    summary = swept[1]
    new = _new_findings(copy, summary)
    image = next(f for f in new if f["kind"] == "image_copy")
    text = next(
        f for f in new if f["kind"] != "image_copy" and f["listing_id"] != image["listing_id"]
    )
    ws = open_workspace(copy)
    try:
        with ws.db.conn:
            ws.db.execute(
                "UPDATE listings SET title = ?, url = ?, seller_name = ? WHERE id = ?",
                ["<script>alert(1)</script> {{ 7*7 }}", "javascript:alert(1)",
                 '<img src=x onerror="alert(2)">', image["listing_id"]],
            )  # fmt: skip
            ws.db.execute(
                "UPDATE listings SET url = ?, description = ? WHERE id = ?",
                ['x" onerror="alert(3)', "</textarea><svg onload=alert(4)>", text["listing_id"]],
            )
            ws.db.execute(
                "UPDATE findings SET explanation = ? WHERE id = ?",
                ['<a href="javascript:alert(5)">click</a>', image["id"]],
            )
            ws.db.execute(
                "UPDATE captures SET url = 'http://wall.example/\" onmouseover=\"alert(6)' "
                "WHERE kind = 'blocked'"
            )
    finally:
        ws.close()
    html = _render(copy, summary)
    article = _article(html, image["id"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in article  # shown, never run
    assert "javascript:alert(1) <span" in article and "(not a web address)" in article
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in article
    assert "&lt;a href=&#34;javascript:alert(5)&#34;&gt;" in article
    assert "x&#34; onerror=&#34;alert(3)" in _article(html, text["id"])
    # An address with a space in it is no link (a browser would read it otherwise): text only.
    assert "http://wall.example/&#34; onmouseover=&#34;alert(6)" in html
    assert 'href="http://wall.example/' not in html
    lowered = html.lower()
    assert "<script" not in lowered and 'href="javascript' not in lowered
    for tag, attrs in Page(html).tags:
        assert tag not in ("script", "iframe", "object", "embed"), tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if "href" in attrs:
            assert re.match(r"https?://", attrs["href"] or ""), attrs


def test_takedown_figures_once_notices_are_filed(copy, swept) -> None:
    runner = CliRunner()
    summary = swept[1]
    picked: dict[int, int] = {}  # listing -> finding: two photo findings on two listings
    for f in rows(
        copy,
        "SELECT f.id, f.listing_id FROM findings f JOIN listings l ON l.id = f.listing_id "
        "WHERE f.kind = 'image_copy' AND f.status = 'new' AND l.marketplace = 'demo-html' "
        "ORDER BY f.score DESC, f.id",
    ):
        picked.setdefault(f["listing_id"], f["id"])
    (a, fa), (b, fb) = list(picked.items())[:2]
    steps = [
        ("findings", "confirm", str(fa), str(fb)),
        ("takedown", "draft", str(fa), str(fb), "--platform", "dmca", "--no-pack"),
        ("takedown", "approve", "1", "--by", "Jordan Example"),
        ("takedown", "mark", "1", "submitted", "--on", "2026-11-16"),
        ("takedown", "mark", "1", "removed", "--listing", str(a), "--on", "2026-11-30"),
        ("takedown", "mark", "1", "rejected", "--listing", str(b), "--reason", "too vague",
         "--on", "2026-11-17"),
    ]  # fmt: skip
    for args in steps:
        code, out, err = run(runner, copy, *args)
        assert code == 0, (args, out + err)
    html = _render(copy, summary)
    section = _section(html, "takedowns")
    table = {r[0].removesuffix(" ⚠"): r for r in Page(section).rows if r}  # ⚠: has warnings
    dmca = table["dmca"]
    # platform, notices, cases, open, removed, rejected, countered, restored, relisted, ...
    assert dmca[1:6] == ["1", "2", "0", "1", "1"]
    assert dmca[9:] == ["50%", "0%", "14"]
    assert table["all platforms"][9:] == ["50%", "0%", "14"]
    assert "acceptance 50% is under 90%" in section
    assert "Acceptance per platform" in section and "Median days to removal" in section
    assert "50% of 2" in section and "14 d (n=1)" in section and "90% floor" in section
    assert "No notices sent yet" not in section
    assert f'id="finding-{fa}"' not in html  # reported now, no longer to review


def test_a_sweep_that_found_nothing(workspace: Path) -> None:
    ws = open_workspace(workspace)
    try:
        sweep_id = start_sweep(ws.db, "shop")
        counts = {"pages": 0, "listings": 0, "blocked": 0, "new_findings": 0, "errors": 0}
        finish_sweep(ws.db, sweep_id, "finished", **counts)
        crawl = CrawlResult("shop", sweep_id, False, 0, {"refused": 0})
        summary = SweepResult(
            [crawl], StageResult(), {"shop": {**counts, "images": 0, "status": "finished"}}
        ).summary()
        path = report.write_report(ws, summary)
        nothing = report.render_report(ws, {"marketplaces": []}).decode("utf-8")
        stopped = report.render_report(ws, {**summary, "stopped": True}).decode("utf-8")
    finally:
        ws.close()
    html = path.read_text("utf-8")
    assert path.parent.name.startswith(f"sweep-{sweep_id}-")
    assert "No new findings in this sweep" in html
    assert "No page was blocked" in html
    assert "No notices sent yet" in html
    assert "<svg" not in html and "<img" not in html
    assert "No marketplace was swept" in nothing and "sweeps none" in nothing
    assert "stopped before it finished" in stopped and "stopped before" not in html


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://shop.example/item/1", True),
        ("HTTP://shop.example/", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("http:alert(1)", False),
        ('x" onerror="alert(1)', False),
        ("//shop.example/item", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_urls_are_links(url: str | None, link: bool) -> None:
    assert (http_url(url) is not None) is link


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(report).failed == 0
