"""The crawler against hostile and unwell sites: private addresses, 503s, bombs and broken pages.

The address checks are unit tests of the guard (no site is contacted); the rest are real sweeps
of a small HTTP server on 127.0.0.1 that misbehaves on purpose.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.middlewares import AddressRefused, GuardedResolver, non_public, refusal
from listingguard import config as config_mod
from listingguard.cli import cli
from listingguard.crawl import settings_for, user_agent
from listingguard.demo import catalogue_source
from listingguard.store import open_store
from tests.conftest import png_bomb


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://localhost/admin", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one decimal number
    ],
)
def test_non_public_addresses_are_refused(url: str, kind: str) -> None:
    reason = refusal(url, allow_private=False)
    assert reason is not None and f"a {kind} address" in reason
    local = refusal(url, allow_private=True)  # a marketplace marked local
    assert (local is None) == (kind in ("loopback", "private")), local


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "data:text/html,hi"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    assert "only http and https" in refusal(url, allow_private=True)


def test_public_addresses_pass() -> None:
    assert refusal("http://93.184.216.34/item/1", allow_private=False) is None
    assert non_public("8.8.8.8") is None


def test_the_resolver_refuses_a_private_answer_at_connection_time() -> None:
    with pytest.raises(AddressRefused):
        GuardedResolver._check("10.0.0.7", "rebinding.example")
    assert GuardedResolver._check("93.184.216.34", "shop.example") == "93.184.216.34"


def test_defaults_are_polite(workspace: Path) -> None:
    text = workspace.read_text("utf-8") + (
        '\n[marketplaces.real-shop]\nkind = "structured"\n'
        'start_urls = ["https://shop.example/search?q=luma"]\nlisting_links = ["/p/"]\n'
    )
    workspace.write_text(text, "utf-8")
    config = config_mod.load(workspace)
    db = open_store(config.workspace.database)
    s = settings_for(config, "real-shop", config.marketplaces["real-shop"], 1, db)
    assert s.getbool("ROBOTSTXT_OBEY") and s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getfloat("DOWNLOAD_DELAY") >= 1.0
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    assert {429, 503} <= set(s.getlist("RETRY_HTTP_CODES"))
    assert not s.getbool("LG_ALLOW_PRIVATE")
    assert s["USER_AGENT"] == user_agent(config)
    assert config.owner.email in s["USER_AGENT"] and "listingguard" in s["USER_AGENT"]
    assert s.getdict("DOWNLOAD_HANDLERS")["file"] is None


def test_a_bad_selector_in_config_is_named_with_its_key(workspace: Path) -> None:
    text = workspace.read_text("utf-8") + (
        '\n[marketplaces.other]\nkind = "selectors"\nstart_urls = ["https://other.example/s"]\n'
        '[marketplaces.other.selectors]\ntitle = "h1[["\nprise = "span.price::text"\n'
    )
    workspace.write_text(text, "utf-8")
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(workspace)])
    assert result.exit_code == 2
    assert "marketplaces.other.selectors.title" in result.stderr
    assert "marketplaces.other.selectors.prise" in result.stderr


# -- a misbehaving site ------------------------------------------------------------------------


def _jpeg() -> bytes:
    return (catalogue_source() / "images" / "mh01-black_main.jpg").read_bytes()


class Site:
    """A shop that answers its first API call with 503, and serves a bomb and broken images."""

    def __init__(self) -> None:
        self.api_calls: list[float] = []
        self.hits: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        good = _jpeg()
        self.files = {
            "/img/ok.jpg": ("image/jpeg", good),
            "/img/bomb.png": ("image/png", png_bomb()),
            "/img/truncated.jpg": ("image/jpeg", good[: len(good) // 3]),
            "/img/page.jpg": ("image/jpeg", b"<html><body>not found</body></html>"),
            "/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n"),
            "/shop/search": ("text/html", self._search()),
            "/shop/item/1": ("text/html", self._hostile_page()),
            "/shop/item/2": ("text/html", b"\x00\xff\xfe garbage <html><scr"),
        }

    def _products(self) -> bytes:
        image = lambda name: {"id": 1, "src": f"{self.base}/img/{name}", "name": name}  # noqa: E731
        good = {
            "id": 77, "name": "Trail Hoodie", "slug": "trail-hoodie",
            "permalink": f"{self.base}/product/trail-hoodie/", "sku": "TH-1",
            "description": "<p>A warm hoodie.</p>", "short_description": "",
            "prices": {"price": "2599", "regular_price": "2599", "sale_price": "2599",
                       "currency_code": "USD", "currency_minor_unit": 2},
            "images": [image(n) for n in ("ok.jpg", "bomb.png", "truncated.jpg", "page.jpg")],
            "is_in_stock": True,
        }  # fmt: skip
        return json.dumps([good, {"name": "no id, no prices"}, "not even an object"]).encode()

    def _search(self) -> bytes:
        return (
            b'<html><body><a href="/shop/item/1">1</a> <a href="/shop/item/2">2</a></body></html>'
        )

    def _hostile_page(self) -> bytes:
        title = "<script>alert(1)</script>\x1b[2J" + "Luma " * 100_000
        ld = json.dumps({"@type": "Product", "name": title, "sku": "X1",
                         "offers": {"price": "9.99", "priceCurrency": "USD"},
                         "image": [f"{self.base}/img/ok.jpg", "file:///etc/passwd",
                                   "http://169.254.169.254/latest/meta-data/"]})  # fmt: skip
        ld = ld.replace("</", "<\\/")  # as a real page must, or the script element ends there
        broken = '<script type="application/ld+json">{"@type": "Product", "name": </script>'
        html = f'<html><head>{broken}<script type="application/ld+json">{ld}</script></head></html>'
        return html.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                site.hits.append(path)
                if path == "/wp-json/wc/store/v1/products":
                    site.api_calls.append(time.monotonic())
                    if len(site.api_calls) == 1:
                        return self._send(503, "text/plain", b"busy", {"Retry-After": "2"})
                    return self._send(200, "application/json", site._products(),
                                      {"X-WP-TotalPages": "1"})  # fmt: skip
                if path == "/shop/search":  # compressed, as most sites send pages
                    body = gzip.compress(site.files[path][1])
                    return self._send(200, "text/html", body, {"Content-Encoding": "gzip"})
                if path == "/shop/moved":
                    return self._send(301, "text/plain", b"", {"Location": "/shop/search"})
                if path in site.files:
                    return self._send(200, *site.files[path])
                return self._send(404, "text/plain", b"no")

            def _send(
                self, status: int, kind: str, body: bytes, headers: dict | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Site:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _sweep(config: Path, name: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "listingguard", "sweep", "--json", "--marketplace", name,
         "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Site]:
    runner = CliRunner()
    folder = tmp_path_factory.mktemp("hostile") / "ws"
    assert runner.invoke(cli, ["init", str(folder)]).exit_code == 0
    config = folder / "config.toml"
    with Site() as site:
        config.write_text(
            config.read_text("utf-8")
            + f'\n[marketplaces.unwell-woo]\nkind = "woocommerce"\nstart_urls = ["{site.base}/"]\n'
            "local = true\ndelay = 0.0\n"
            f'\n[marketplaces.hostile-shop]\nkind = "structured"\n'
            f'start_urls = ["{site.base}/shop/moved"]\nlisting_links = ["/shop/item/"]\n'
            "local = true\ndelay = 0.0\n",
            "utf-8",
        )
        _sweep(config, "unwell-woo")
        _sweep(config, "hostile-shop")
        return config, site


def _rows(config: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(config.parent / "listingguard.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_503_is_retried_after_backing_off(swept: tuple[Path, Site]) -> None:
    config, site = swept
    assert len(site.api_calls) >= 2
    assert site.api_calls[1] - site.api_calls[0] >= 1.9  # Retry-After: 2 was honoured
    assert _rows(
        config, "SELECT listing_id, price, currency FROM listings WHERE marketplace = 'unwell-woo'"
    ) == [("77", 25.99, "USD")]  # the malformed entries were skipped, the good one kept


def test_broken_images_are_kept_as_evidence_with_their_reason(swept: tuple[Path, Site]) -> None:
    config, _ = swept
    images = dict(_rows(config, "SELECT url, error FROM images"))
    by_name = {url.rsplit("/", 1)[-1]: error for url, error in images.items()}
    assert by_name["ok.jpg"] is None
    assert "pixels" in by_name["bomb.png"]  # refused from its header, never decoded
    assert by_name["truncated.jpg"]  # refused by the fingerprinter (truncated)
    notes = dict(_rows(config, "SELECT url, note FROM captures WHERE kind = 'image'"))
    assert "not an image" in notes[next(u for u in notes if u.endswith("/page.jpg"))]
    linked = _rows(
        config,
        "SELECT COUNT(*) FROM listing_images li JOIN listings l ON l.id = li.listing_id "
        "WHERE l.marketplace = 'unwell-woo'",
    )[0][0]
    assert linked == 3  # ok, bomb, truncated: images (even unusable); the HTML page is not


def test_hostile_pages_are_stored_as_text_cut_to_size(swept: tuple[Path, Site]) -> None:
    config = swept[0]
    rows = _rows(config, "SELECT title, price FROM listings WHERE marketplace = 'hostile-shop'")
    assert len(rows) == 1  # the garbage page is no listing; the hostile one is
    title, price = rows[0]
    assert len(title) <= 2000 and "\x1b" not in title and price == 9.99
    # Neither the file: URL nor the metadata address in its gallery was fetched, local or not.
    fetched = {u for (u,) in _rows(config, "SELECT url FROM captures")}
    assert not [u for u in fetched if "169.254" in u or u.startswith("file:")]
    assert [u for u in fetched if u.endswith("/img/ok.jpg")]
    code = CliRunner().invoke(cli, ["evidence", "verify", "--config", str(config)]).exit_code
    assert code == 0


def test_evidence_keeps_redirects_and_compressed_bodies_as_sent(swept: tuple[Path, Site]) -> None:
    from warcio.archiveiterator import ArchiveIterator

    config = swept[0]
    records = []
    for path in (config.parent / "evidence" / "warc").rglob("*.warc.gz"):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type == "response":
                    raw = record.raw_stream.read()
                    records.append((record.rec_headers.get_header("WARC-Target-URI"),
                                    record.http_headers.get_statuscode(), raw))  # fmt: skip
    moved = [r for r in records if r[0].endswith("/shop/moved")]
    assert moved and moved[0][1] == "301"  # the redirect hop is archived
    search = [r for r in records if r[0].endswith("/shop/search")]
    assert search and search[0][2][:2] == b"\x1f\x8b"  # the body as sent: gzip
