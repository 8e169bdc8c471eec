"""The review page in a real headless Chromium (Debian's, through Playwright; never a downloaded
browser): the whole flow a reviewer clicks through, and a hostile listing that must stay inert.

Needs /usr/bin/chromium (``apt-get install chromium``): without it these tests fail, they do not
skip. Screenshots of each step go to $LISTINGGUARD_ARTIFACTS (default tests/artifacts/). With
LISTINGGUARD_DOCS_SCREENSHOT=docs/images/review.png the flow also writes the README's picture.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from listingguard import notices
from listingguard.web import create_app
from listingguard.workspace import open_workspace
from tests.conftest import ROOT, copy_workspace
from tests.test_review import HOSTILE_ATTR, hostile, rows, status_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("LISTINGGUARD_ARTIFACTS", ROOT / "tests" / "artifacts"))
DOCS_MAX_BYTES = 400_000
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium); "
            "these tests never download a browser"
        )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def swept(two_shops: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(two_shops[0], tmp_path_factory.mktemp("review-browser") / "ws").parent


@pytest.fixture
def config(swept: Path, tmp_path: Path) -> Path:
    shutil.copytree(swept, tmp_path / "ws")
    return tmp_path / "ws" / "config.toml"


@contextmanager
def serving(config: Path) -> Iterator[str]:
    """The review app served on 127.0.0.1 (a free port) in a thread, as the command serves it."""
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)


def docs_picture(page: Page, path: Path) -> None:
    """The README's picture of the queue: the first screen, palette-reduced if it is too big."""
    png = page.screenshot()
    if len(png) > DOCS_MAX_BYTES:
        with Image.open(io.BytesIO(png)) as im:
            small = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
            buf = io.BytesIO()
            small.save(buf, "PNG", optimize=True)
            png = buf.getvalue()
    assert len(png) <= DOCS_MAX_BYTES, len(png)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def watch(page: Page) -> list[str]:
    dialogs: list[str] = []

    def seen(dialog: object) -> None:
        dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", seen)
    return dialogs


def test_confirm_draft_approve_download_and_follow_the_case(browser: Browser, config: Path) -> None:
    with serving(config) as base:
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        dialogs = watch(page)
        page.goto(base + "/")
        expect(page.locator("article.finding").first).to_be_visible()
        assert page.locator("article.finding img").count() >= 2  # the side-by-side evidence
        if os.environ.get("LISTINGGUARD_DOCS_SCREENSHOT"):
            docs_picture(page, Path(os.environ["LISTINGGUARD_DOCS_SCREENSHOT"]))
        shot(page, "1-queue")

        card = page.locator("article.finding").first
        finding = int((card.get_attribute("id") or "").rsplit("-", 1)[1])
        card.get_by_role("button", name="Confirm").click()
        expect(page.locator(".flash.done")).to_have_text(f"Confirmed finding {finding}.")
        assert status_of(config, finding) == "confirmed"
        expect(page.locator(f"#finding-{finding}")).to_have_count(0)  # gone from the queue
        shot(page, "2-confirmed")

        page.get_by_role("link", name="Confirmed").click()
        page.check(f"#pick-{finding}")
        ws = open_workspace(config)
        try:
            (listing,) = rows(config, "SELECT l.marketplace, l.url FROM findings f JOIN listings l "
                              "ON l.id = f.listing_id WHERE f.id = ?", (finding,))  # fmt: skip
            known = notices.load_platforms(ws.config)
            platform = notices.platform_name(ws.config, known, listing["marketplace"])
        finally:
            ws.close()
        page.select_option("select[name=platform]", platform)
        page.get_by_role("button", name="Draft notice").click()
        expect(page.locator("pre.notice")).to_contain_text(listing["url"])
        expect(page.locator(".status").first).to_have_text("draft")
        shot(page, "3-draft")

        page.fill("input[name=by]", "Jordan Example")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator(".flash.done")).to_contain_text("Approved notice")
        (notice,) = rows(config, "SELECT * FROM notices")
        assert (notice["status"], notice["platform"]) == ("approved", platform)
        shot(page, "4-approved")

        with page.expect_download() as download:
            page.get_by_role("button", name="Build a fresh evidence pack").click()
        assert download.value.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(download.value.path()) as z:
            assert "manifest.json" in z.namelist()
            assert any(n.endswith("side-by-side.jpg") for n in z.namelist())

        page.fill("input[name=reference]", "PLATFORM-REF-1")
        page.get_by_role("button", name="Record as filed").click()
        expect(page.locator(".flash.done")).to_contain_text("recorded as filed")
        page.get_by_role("link", name="Cases", exact=True).click()
        expect(page.locator("table.grid tbody tr")).to_have_count(1)
        expect(page.locator("table.grid")).to_contain_text(listing["url"])
        shot(page, "5-cases")
        assert dialogs == []


@pytest.mark.parametrize("csp", [True, False], ids=["with-csp", "escaping-alone"])
def test_a_hostile_listing_stays_inert(browser: Browser, config: Path, csp: bool) -> None:
    finding = hostile(config)
    with serving(config) as base:
        # Without the Content-Security-Policy, escaping alone must keep the page inert.
        context = browser.new_context(viewport=VIEWPORT, bypass_csp=not csp)
        page = context.new_page()
        dialogs = watch(page)
        page.goto(base + "/")
        card = page.locator(f"#finding-{finding}")
        expect(card).to_contain_text("<script>alert(1)</script>")  # shown as text
        expect(card).to_contain_text(HOSTILE_ATTR)
        assert page.locator('a[href^="javascript:"]').count() == 0
        card.locator(".title").click()  # the javascript: address is text, not a link
        card.locator("img").hover()
        page.locator("a.title").first.hover()
        page.goto(base + f"/findings/{finding}/allow")
        page.wait_for_timeout(300)
        shot(page, f"xss-{'csp' if csp else 'nocsp'}")
        assert dialogs == []
        assert page.evaluate("typeof window.__xss") == "undefined"
        context.close()
