"""The review page through Flask's test client, on a real swept demo workspace: the queue and its
evidence, review moves, the allowlist, drafting and approving, downloads; and its defences
(CSRF, origin, Host, token, escaping of scraped strings, files only from the workspace).

One sweep of two storefronts is shared by the module; each test works in its own copy.
"""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from listingguard import store, web, weballow
from listingguard.cli import cli
from listingguard.config import load
from listingguard.links import http_url
from listingguard.web import create_app, host_name
from listingguard.weballow import toml_string
from tests.conftest import copy_workspace

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ATTR = 'x" onerror="window.__xss=1;alert(1)'


@pytest.fixture(scope="module")
def swept(two_shops: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the swept demo workspace (two storefronts); its folder."""
    return copy_workspace(two_shops[0], tmp_path_factory.mktemp("review") / "ws").parent


@pytest.fixture
def config(swept: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(swept, copy)
    return copy / "config.toml"


@pytest.fixture
def client(config: Path) -> FlaskClient:
    return create_app(config).test_client()


def rows(config: Path, sql: str, args: tuple = ()) -> list[dict]:
    db = store.open_store(config.parent / "listingguard.db")
    try:
        return list(db.query(sql, args))
    finally:
        db.close()


def status_of(config: Path, finding_id: int) -> str:
    return rows(config, "SELECT status FROM findings WHERE id = ?", (finding_id,))[0]["status"]


def new_ids(config: Path, kind: str | None = None, marketplace: str | None = None) -> list[int]:
    return [
        r["id"]
        for r in rows(
            config,
            "SELECT f.id FROM findings f JOIN listings l ON l.id = f.listing_id "
            "WHERE f.status = 'new' AND f.kind = IFNULL(?, f.kind) "
            "AND l.marketplace = IFNULL(?, l.marketplace) ORDER BY f.score DESC, f.id",
            (kind, marketplace),
        )
    ]


def token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of the session, as a page's forms carry it."""
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no form on {path}"
    return match[1]


def post(client: FlaskClient, path: str, csrf: str, **form: object) -> object:
    return client.post(path, data={"csrf": csrf, **form})


def test_the_queue_shows_new_findings_best_first_with_their_evidence(
    client: FlaskClient, config: Path
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    top = new_ids(config)[:20]
    shown = [int(i) for i in re.findall(r'<article class="finding[^"]*" id="finding-(\d+)"', html)]
    assert shown == top
    images = [i for i in top if i in new_ids(config, kind="image_copy")]
    assert images and html.count('<img src="data:image/jpeg;base64,') == len(images)
    assert '<mark class="copy">' in html  # copied sentences marked in the listing text
    assert "copies the photo" in html and "score 1.00" in html
    assert f'New <span class="count">{len(new_ids(config))}</span>' in html
    more = client.get("/?page=3").get_data(as_text=True)
    assert f'id="finding-{new_ids(config)[-1]}"' in more


def test_every_response_carries_the_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/notices", "/cases", "/review.css", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp  # no script at all: default-src 'none' covers it
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/no-such-page").status_code == 404


def test_confirm_dismiss_and_reopen_change_the_status(client: FlaskClient, config: Path) -> None:
    a, b = new_ids(config)[:2]
    csrf = token(client)
    response = post(client, "/findings/review", csrf, id=a, status="confirmed", next="/?page=1")
    assert response.status_code == 303 and response.headers["Location"] == "/?page=1"
    assert status_of(config, a) == "confirmed"
    post(client, "/findings/review", csrf, id=b, status="dismissed")
    assert status_of(config, b) == "dismissed"
    page = client.get("/?status=dismissed").get_data(as_text=True)
    assert f"Dismissed finding {b}." in page and f'id="finding-{b}"' in page
    post(client, "/findings/review", csrf, id=[a, b], status="new")
    assert (status_of(config, a), status_of(config, b)) == ("new", "new")
    # the return address is this site's only
    for away in ("//evil.example/", "/\t/evil.example", "/\n/x", "https://evil.example/"):
        response = post(client, "/findings/review", csrf, id=a, status="confirmed", next=away)
        assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_finding_on_an_authorised_seller_cannot_be_confirmed(
    client: FlaskClient, config: Path
) -> None:
    (mine, *_) = [
        r["id"] for r in rows(config, "SELECT id FROM findings WHERE status = 'authorised'")
    ]
    post(client, "/findings/review", token(client), id=mine, status="confirmed")
    assert status_of(config, mine) == "authorised"
    assert "authorised seller" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("csrf", "headers", "code"),
    [
        (None, {}, 400),
        ("wrong", {}, 400),
        ("right", {"Origin": "http://evil.example"}, 403),
        ("right", {"Origin": "null"}, 403),
        ("right", {"Sec-Fetch-Site": "cross-site"}, 403),
        ("right", {"Sec-Fetch-Site": "same-site"}, 403),  # another port of localhost
    ],
)
def test_a_state_change_needs_the_csrf_token_and_this_origin(
    client: FlaskClient, config: Path, csrf: str | None, headers: dict, code: int
) -> None:
    finding = new_ids(config)[0]
    real = token(client)
    form = {"id": finding, "status": "confirmed"}
    if csrf:
        form["csrf"] = real if csrf == "right" else csrf
    assert client.post("/findings/review", data=form, headers=headers).status_code == code
    assert status_of(config, finding) == "new"
    before = config.read_text("utf-8")
    response = client.post(f"/findings/{finding}/allow", data=form, headers=headers)
    assert response.status_code == code and config.read_text("utf-8") == before
    # and with both right, the same request goes through
    ok = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    client.post("/findings/review", data={**form, "csrf": real}, headers=ok)
    assert status_of(config, finding) == "confirmed"


def test_get_never_changes_anything(client: FlaskClient, config: Path) -> None:
    finding = new_ids(config)[0]
    before = config.read_text("utf-8")
    assert client.get(f"/findings/{finding}/allow").status_code == 200
    assert client.get("/findings/review", query_string={"id": finding}).status_code == 405
    assert client.get("/notices/draft").status_code == 405
    assert config.read_text("utf-8") == before and status_of(config, finding) == "new"


def test_a_seller_is_allowed_once_however_many_requests_ask(config: Path) -> None:
    """Two requests that both loaded the config before either wrote (a double click): the
    second finds the seller allowed when it holds the file, and writes nothing."""
    stale = load(config)
    finding = new_ids(config, marketplace="demo-html")[0]
    (listing,) = rows(
        config,
        "SELECT l.* FROM findings f JOIN listings l ON l.id = f.listing_id WHERE f.id = ?",
        (finding,),
    )
    db = store.open_store(config.parent / "listingguard.db")
    try:
        weballow.allow_seller(db, stale, listing, "first")
        once = config.read_text("utf-8")
        with pytest.raises(weballow.AllowError, match="already on the allowlist"):
            weballow.allow_seller(db, stale, listing, "second")
    finally:
        db.close()
    assert config.read_text("utf-8") == once and once.count("[[authorised]]") == len(
        load(config).authorised
    )


def test_the_address_served_on_is_a_host_name_answered(config: Path) -> None:
    app = create_app(config, bind="127.0.0.2")
    assert app.test_client().get("/notices", headers={"Host": "127.0.0.2:8765"}).status_code == 200
    assert app.test_client().get("/notices", headers={"Host": "evil.example"}).status_code == 400


def test_the_access_token_never_reaches_the_request_log() -> None:
    line = web.without_token("GET /notices?token=s3cret-0123456789&status=new HTTP/1.1")
    assert "s3cret" not in line and line.startswith("GET /notices?token=") and "status=new" in line


def test_allowing_a_seller_appends_an_authorised_entry(client: FlaskClient, config: Path) -> None:
    finding = new_ids(config, marketplace="demo-html")[0]
    (listing,) = rows(
        config,
        "SELECT l.* FROM findings f JOIN listings l ON l.id = f.listing_id WHERE f.id = ?",
        (finding,),
    )
    page = client.get(f"/findings/{finding}/allow").get_data(as_text=True)
    assert "[[authorised]]" in page and listing["seller_id"] in page
    before = config.read_text("utf-8")
    response = post(
        client, f"/findings/{finding}/allow", token(client, f"/findings/{finding}/allow")
    )
    assert response.status_code == 303
    text = config.read_text("utf-8")
    assert text.startswith(before)  # the file as it was, one table added at its end
    entry = load(config).authorised[-1]
    assert entry.seller_ids == (listing["seller_id"],) and entry.marketplaces == ("demo-html",)
    theirs = rows(
        config,
        "SELECT f.status FROM findings f JOIN listings l ON l.id = f.listing_id "
        "WHERE l.marketplace = 'demo-html' AND l.seller_id = ?",
        (listing["seller_id"],),
    )
    assert theirs and {r["status"] for r in theirs} == {"authorised"}
    assert "marked authorised" in client.get("/").get_data(as_text=True)
    assert "already covered" in client.get(f"/findings/{finding}/allow").get_data(as_text=True)
    post(client, f"/findings/{finding}/allow", token(client))
    assert "already on the allowlist" in client.get("/").get_data(as_text=True)
    assert config.read_text("utf-8") == text


@given(st.text())
def test_a_seller_name_is_written_as_a_toml_string_that_reads_back(name: str) -> None:
    assert tomllib.loads(f"name = {toml_string(name)}\n")["name"] == name


def test_draft_approve_file_and_download(client: FlaskClient, config: Path) -> None:
    finding = new_ids(config, kind="image_copy", marketplace="demo-html")[0]
    csrf = token(client)
    post(client, "/findings/review", csrf, id=finding, status="confirmed")
    confirmed = client.get("/?status=confirmed").get_data(as_text=True)
    assert 'formaction="/notices/draft"' in confirmed and "notice platform: amazon" in confirmed
    response = post(client, "/notices/draft", csrf, id=finding, platform="")
    assert response.status_code == 303
    (notice,) = rows(config, "SELECT * FROM notices")
    assert response.headers["Location"] == f"/notices/{notice['id']}"
    assert notice["status"] == "draft" and notice["platform"] == "amazon"
    page = client.get(f"/notices/{notice['id']}").get_data(as_text=True)
    (url,) = [r["url"] for r in rows(config, "SELECT l.url FROM findings f JOIN listings l "
                                     "ON l.id = f.listing_id WHERE f.id = ?", (finding,))]  # fmt: skip
    assert "Amazon" in page and url in page and "Approve" in page
    post(client, f"/notices/{notice['id']}/approve", csrf, by="Jordan Example")
    (notice,) = rows(config, "SELECT * FROM notices")
    assert (notice["status"], notice["approved_by"]) == ("approved", "Jordan Example")

    text = client.get(f"/notices/{notice['id']}/file")
    assert text.status_code == 200 and "attachment" in text.headers["Content-Disposition"]
    assert text.data == Path(notice["path"]).read_bytes()
    drafted = client.get(f"/notices/{notice['id']}/evidence")
    assert drafted.data == Path(notice["pack_path"]).read_bytes()
    built = post(client, f"/notices/{notice['id']}/pack", csrf)
    assert built.status_code == 303 and built.headers["Location"].startswith("/packs/pack-")
    pack = client.get(built.headers["Location"])
    assert pack.status_code == 200 and pack.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(pack.data)) as z:
        assert "manifest.json" in z.namelist() and "summary.html" in z.namelist()

    post(client, f"/notices/{notice['id']}/submitted", csrf, reference="CASE-1")
    (case,) = rows(config, "SELECT * FROM cases")
    cases = client.get("/cases").get_data(as_text=True)
    assert url in cases and "submitted" in cases and notice["platform"] in cases
    if case["deadline"]:
        assert case["deadline"] in cases


def test_drafting_problems_are_shown_and_nothing_is_drafted(
    client: FlaskClient, config: Path
) -> None:
    finding = new_ids(config)[0]
    csrf = token(client)
    response = post(client, "/notices/draft", csrf, id=finding, platform="")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"finding {finding} is new, not confirmed" in page
    post(client, "/notices/draft", csrf, id=finding, platform="no-such-platform")
    assert "no platform &#39;no-such-platform&#39;" in client.get("/").get_data(as_text=True)
    assert not rows(config, "SELECT * FROM notices")


def test_files_are_served_only_from_inside_the_workspace(
    client: FlaskClient, config: Path, tmp_path: Path
) -> None:
    packs = config.parent / "evidence" / "packs"
    packs.mkdir(parents=True, exist_ok=True)
    (packs / "real.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    secret = tmp_path / "secret.zip"
    secret.write_bytes(b"not yours")
    (packs / "out.zip").symlink_to(secret)
    (packs / "db.zip").symlink_to(config.parent / "listingguard.db")
    assert client.get("/packs/real.zip").status_code == 200
    for path in (
        "/packs/out.zip",
        "/packs/db.zip",
        "/packs/../config.toml",
        "/packs/../../listingguard.db",
        "/packs/..%2f..%2flistingguard.db",
        "/packs/%2e%2e/%2e%2e/config.toml",
        f"/packs/{secret}",
        f"/packs/%2F{str(secret).lstrip('/')}",
        "/packs//etc/passwd",
        "/packs/real.zip%00.txt",
    ):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 404, path
        assert b"not yours" not in response.data and b"SQLite" not in response.data
    # a notice's recorded paths are checked too: a row pointing elsewhere is not served
    db = store.open_store(config.parent / "listingguard.db")
    with store.transaction(db):
        db["notices"].insert({"platform": "amazon", "legal_basis": "copyright", "status": "draft",
                              "format": "text", "created_at": "2025-01-01T00:00:00Z",
                              "updated_at": "2025-01-01T00:00:00Z", "path": str(secret),
                              "pack_path": "/etc/passwd"})  # fmt: skip
    db.close()
    (notice,) = rows(config, "SELECT id FROM notices")
    assert client.get(f"/notices/{notice['id']}/file").status_code == 404
    assert client.get(f"/notices/{notice['id']}/evidence").status_code == 404


def hostile(config: Path) -> int:
    """The best new finding's listing rewritten as a hostile seller would write it; its id."""
    finding = new_ids(config, kind="image_copy")[0]
    db = store.open_store(config.parent / "listingguard.db")
    with store.transaction(db):
        (lid, detail) = db.execute(
            "SELECT listing_id, detail FROM findings WHERE id = ?", [finding]
        ).fetchone()
        db["listings"].update(
            lid,
            {"title": HOSTILE_TITLE, "seller_name": HOSTILE_ATTR, "url": "javascript:alert(1)",
             "price": None, "listing_id": "{{ 7*7 }}"},
        )  # fmt: skip
        sha = re.search(r'"image_sha256": "([0-9a-f]+)"', detail)[1]  # type: ignore[index]
        db["images"].update(sha, {"url": HOSTILE_ATTR})
        other = next(
            o
            for (o,) in (
                db.execute("SELECT listing_id FROM findings WHERE id = ?", [i]).fetchone()
                for i in new_ids(config)
            )
            if o != lid
        )
        db["listings"].update(other, {"url": 'https://evil.example/"onmouseover="window.__xss=1"'})
    db.close()
    return finding


class Tags(HTMLParser):
    """Every tag of a page with its attributes, as a browser's parser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_scraped_strings_are_escaped_and_only_http_links(client: FlaskClient, config: Path) -> None:
    finding = hostile(config)
    html = client.get("/").get_data(as_text=True)
    assert f'id="finding-{finding}"' in html
    assert HOSTILE_TITLE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_ATTR not in html and "x&#34; onerror=&#34;window.__xss=1;alert(1)" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html  # data, never template source
    tags = Tags(html).tags
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed")]
    assert not [(t, a) for t, a in tags for name in a if name.startswith("on")]
    hrefs = [a["href"] or "" for t, a in tags if "href" in a]
    assert hrefs and all(h.startswith(("/", "http://", "https://")) for h in hrefs), hrefs
    assert "javascript:alert(1)" in html  # shown, as text
    assert 'https://evil.example/"onmouseover="window.__xss=1"' in hrefs  # one attribute value
    images = [a["src"] or "" for t, a in tags if t == "img"]
    assert images and all(src.startswith("data:image/jpeg;base64,") for src in images)
    allow = client.get(f"/findings/{finding}/allow").get_data(as_text=True)
    assert HOSTILE_ATTR not in allow and "x\\&#34; onerror=\\&#34;window.__xss=1;alert(1)" in allow


@pytest.mark.parametrize(
    ("host", "code"),
    [
        ("localhost", 200),
        ("127.0.0.1:8765", 200),
        ("localhost:8765", 200),
        ("[::1]:8765", 200),
        ("evil.example", 400),
        ("evil.example:8765", 400),
        ("127.0.0.1.evil.example", 400),
        ("localhost:80:80", 400),
    ],
)
def test_only_loopback_host_names_are_answered(client: FlaskClient, host: str, code: int) -> None:
    assert client.get("/notices", headers={"Host": host}).status_code == code


def test_a_token_is_required_when_set(config: Path) -> None:
    secret = "s3cret-token-0123456789"
    app = create_app(config, token=secret, bind="0.0.0.0")
    c = app.test_client()
    assert c.get("/notices").status_code == 401
    assert c.get("/notices?token=wrong").status_code == 401
    assert c.get("/notices", headers={"Authorization": "Bearer wrong"}).status_code == 401
    first = c.get("/notices?token=" + secret + "&x=1", headers={"Host": "192.168.1.5:8765"})
    assert first.status_code == 303 and first.headers["Location"] == "/notices?x=1"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and secret in cookie
    assert c.get("/notices", headers={"Host": "192.168.1.5:8765"}).status_code == 200
    other = app.test_client()
    assert other.get("/notices", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    # a token does not stand in for the CSRF token
    finding = new_ids(config)[0]
    data = {"id": finding, "status": "confirmed"}
    lan = {"Host": "192.168.1.5:8765"}
    assert c.post("/findings/review", data=data, headers=lan).status_code == 400
    assert status_of(config, finding) == "new"


@pytest.mark.parametrize(
    ("header", "name"),
    [("localhost", "localhost"), ("LocalHost:80", "localhost"), ("[::1]:1", "::1"),
     ("a:b", None), ("", None), ("[::1]x", None)],
)  # fmt: skip
def test_host_name(header: str, name: str | None) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(
    ("url", "link"),
    [("https://shop.example/item/1", True), ("http://127.0.0.1:8/x", True),
     ("javascript:alert(1)", False), ("JavaScript:alert(1)", False), ("data:text/html,x", False),
     ("//evil.example/", False), ("http://", False), ("https://a.example/\nx", False),
     (" javascript:alert(1)", False), (None, False)],
)  # fmt: skip
def test_only_http_addresses_become_links(url: str | None, link: bool) -> None:
    assert (http_url(url) is not None) is link


def invoke(*args: str, env: dict | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["review", *args], prog_name="listingguard", env=env)
    return result.exit_code, result.output


def test_review_refuses_an_open_address_without_a_token(config: Path) -> None:
    code, output = invoke("--host", "0.0.0.0", "--config", str(config))
    assert code == 2 and "not a loopback address" in output and "--token-env" in output
    code, output = invoke("--host", "0.0.0.0", "--token-env", "LG_UNSET", "--config", str(config))
    assert code == 2 and "LG_UNSET" in output
    code, output = invoke("--help")
    assert code == 0 and "Example:" in output and "listingguard review" in output


def test_review_serves_until_ctrl_c(config: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "listingguard", "review",
         "--port", "0", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("Review page: http://127.0.0.1:"), line + proc.stderr.read()  # type: ignore[union-attr]
        url = line.split(": ", 1)[1].strip()
        with urllib.request.urlopen(url + "notices", timeout=60) as response:
            assert (
                response.status == 200
                and "default-src 'none'" in response.headers["Content-Security-Policy"]
            )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "Stopped." in err
    finally:
        proc.kill()
        proc.wait()
