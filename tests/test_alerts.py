"""Alerts from a real sweep of the demo market, delivered to real local servers: an aiosmtpd
server with STARTTLS (a trustme CA the client is made to trust) and login, and an HTTP server
taking webhook POSTs. Nothing of smtplib or urllib is mocked.

One sweep of two storefronts is shared by the module; tests that change the store work on
their own copy of the swept workspace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import logging
import re
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from listingguard import alerts, deliver, findings, jobs, runs, store
from listingguard.config import Alerts, Config, EmailAlert, EnvVar, Owner, WebhookAlert, load
from tests.conftest import copy_workspace, run
from tests.test_sweep import demo_workspace, sweep

USER, PASSWORD = "alerts@luma.example", "correct horse battery staple"
TOKEN = "T0KEN-b4d5e6"
HOSTILE = "<script>alert(1)</script> Luma bag\r\nBcc: x@evil.example\x1b[2J"


@pytest.fixture(scope="module")
def swept(
    two_shops: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """This module's copy of the swept demo workspace (two storefronts), and the sweep's summary."""
    return copy_workspace(two_shops[0], tmp_path_factory.mktemp("swept") / "ws").parent, two_shops[
        1
    ]


@pytest.fixture
def ws(swept: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    """A copy of the swept workspace; returns its config.toml."""
    shutil.copytree(swept[0], tmp_path / "ws")
    return tmp_path / "ws" / "config.toml"


@pytest.fixture
def db(ws: Path) -> Iterator[Any]:
    """The copy's store."""
    database = store.open_store(ws.parent / "listingguard.db")
    yield database
    database.close()


def with_alerts(config: Config, **kwargs: Any) -> Config:
    changed = dataclasses.replace(config, alerts=Alerts(**kwargs))
    object.__setattr__(changed, "path", config.path)
    return changed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- building alerts from the store --------------------------------------------------------------


def _new(db: Any, summary: dict[str, Any], severities: tuple[str, ...]) -> list[int]:
    ids = [m["sweep"] for m in summary["marketplaces"]]
    marks = ", ".join("?" * len(ids))
    return [
        r[0]
        for r in db.execute(
            f"SELECT id FROM findings WHERE status = 'new' AND sweep_id IN ({marks}) "
            f"AND severity IN ({', '.join('?' * len(severities))}) ORDER BY id",
            [*ids, *severities],
        )
    ]


def test_a_sweep_alert_holds_the_new_findings_at_or_above_the_floor(swept, ws: Path, db) -> None:
    summary = swept[1]
    config = with_alerts(load(ws), min_severity="medium")
    wanted = _new(db, summary, ("medium", "high"))
    assert len(wanted) > alerts.TOP  # the demo has plenty, so the top is a cut
    alert = alerts.sweep_alert(db, config, summary, "reports/sweep.html")
    assert alert is not None and alert.kind == "sweep" and alert.report == "reports/sweep.html"
    assert alert.counts["new_findings"] == len(wanted)
    per_market = {m["marketplace"]: m["new_findings"] for m in alert.counts["marketplaces"]}
    assert set(per_market) == {"demo-jsonld", "demo-html"}
    assert sum(per_market.values()) == len(wanted)
    assert len(alert.findings) == alerts.TOP
    assert {f["id"] for f in alert.findings} <= set(wanted)
    order = [(alerts.RANK[f["severity"]], f["score"]) for f in alert.findings]
    assert order == sorted(order, reverse=True)
    assert set(alert.findings[0]) == {
        "id", "kind", "severity", "score", "title", "url", "marketplace", "seller", "explanation",
    }  # fmt: skip
    assert str(len(wanted)) in alert.subject and "demo-" not in alert.subject

    # Findings made low are left out at "medium"; at "low" they are back.
    low = wanted[::2]
    with store.transaction(db):
        db.execute(f"UPDATE findings SET severity = 'low' WHERE id IN ({', '.join(map(str, low))})")
    alert = alerts.sweep_alert(db, config, summary, None)
    assert alert is not None
    assert alert.counts["new_findings"] == len(wanted) - len(low)
    assert alert.counts["by_severity"].keys() == {"high", "medium"}
    assert not {f["id"] for f in alert.findings} & set(low)
    everything = alerts.sweep_alert(db, with_alerts(config, min_severity="low"), summary, None)
    assert everything is not None and everything.counts["new_findings"] == len(wanted)
    assert everything.counts["by_severity"]["low"] == len(low)


def test_findings_an_earlier_sweep_found_are_not_alerted_again(swept, ws: Path, db) -> None:
    """A listing matched again (its seller changed the price) moves its findings to this
    sweep; those that were waiting for review since an earlier sweep are not news."""
    summary = swept[1]
    config = with_alerts(load(ws), min_severity="low")
    first = alerts.sweep_alert(db, config, summary, None)
    assert first is not None
    earlier = [f["id"] for f in first.findings][::2]
    with store.transaction(db):
        db.execute(
            "UPDATE findings SET first_seen = '2026-01-01T00:00:00Z' "
            f"WHERE id IN ({', '.join(map(str, earlier))})"
        )
    again = alerts.sweep_alert(db, config, summary, None)
    assert again is not None and again.counts["new_findings"] == first.counts["new_findings"] - len(
        earlier
    )
    assert not {f["id"] for f in again.findings} & set(earlier)


def test_no_sweep_alert_without_new_findings(swept, ws: Path, db) -> None:
    summary = swept[1]
    config = with_alerts(load(ws), min_severity="high")
    assert alerts.sweep_alert(db, config, summary, None) is not None
    assert alerts.sweep_alert(db, config, {"marketplaces": []}, None) is None
    with store.transaction(db):
        db.execute("UPDATE findings SET severity = 'medium' WHERE severity = 'high'")
    assert alerts.sweep_alert(db, config, summary, None) is None  # none at the floor
    config = with_alerts(config, min_severity="low")
    with store.transaction(db):
        db.execute("UPDATE findings SET status = 'confirmed' WHERE status = 'new'")
    assert alerts.sweep_alert(db, config, summary, None) is None  # reviewed already


def test_the_digest_counts_findings_first_seen_since(ws: Path, db) -> None:
    config = with_alerts(load(ws), min_severity="low")
    ids = [r[0] for r in db.execute("SELECT id FROM findings WHERE status != 'authorised'")]
    old = ids[::3]
    with store.transaction(db):
        db.execute(
            "UPDATE findings SET first_seen = '2026-01-05T08:00:00Z' "
            f"WHERE id IN ({', '.join(map(str, old))})"
        )
    everything = alerts.digest_alert(db, config, None, "reports/digest.html")
    assert everything is not None and everything.kind == "digest"
    assert everything.counts["new_findings"] == len(ids)
    assert everything.counts["awaiting_review"] == len(ids)  # nothing reviewed yet
    assert everything.counts["open_cases"] == 0 and everything.counts["outcomes"] == {}
    recent = alerts.digest_alert(db, config, "2026-06-01T00:00:00Z", None)
    assert recent is not None
    assert recent.counts["new_findings"] == len(ids) - len(old)
    assert recent.counts["awaiting_review"] == len(ids)  # however old, they still wait
    assert not {f["id"] for f in recent.findings} & set(old)
    assert sum(recent.counts["by_severity"].values()) == len(ids) - len(old)
    assert "Awaiting review: " + str(len(ids)) in recent.text()
    same = alerts.digest_alert(db, config, "2026-06-01T02:00:00+02:00", None)
    assert same is not None and same.counts == recent.counts  # any offset, compared in UTC

    with store.transaction(db):
        db.execute("UPDATE findings SET status = 'dismissed' WHERE status = 'new'")
    assert alerts.digest_alert(db, config, "2999-01-01T00:00:00Z", None) is None
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        alerts.digest_alert(db, config, "yesterday", None)


def test_the_digest_tells_cases_due_and_takedown_outcomes(ws: Path, db) -> None:
    runner = CliRunner()
    (fid,) = [
        r[0]
        for r in db.execute(
            "SELECT f.id FROM findings f JOIN listings l ON l.id = f.listing_id WHERE "
            "f.kind = 'image_copy' AND l.marketplace = 'demo-html' AND f.status = 'new' "
            "ORDER BY f.score DESC, f.id LIMIT 1"
        )
    ]

    def cli(*args: str) -> None:
        code, out, err = run(runner, ws, *args)
        assert code == 0, out + err

    cli("findings", "confirm", str(fid))
    cli("takedown", "draft", str(fid), "--platform", "dmca", "--no-pack")
    (nid,) = [str(r[0]) for r in db.execute("SELECT id FROM notices")]
    cli("takedown", "approve", nid, "--by", "Jordan Example")
    cli("takedown", "mark", nid, "submitted", "--on", "2026-11-16")
    cli("takedown", "mark", nid, "countered", "--on", "2026-11-20")  # complainant: 4 December
    config = load(ws)

    def digest(since: str | None, today: dt.date) -> alerts.Alert:
        alert = alerts.digest_alert(db, config, since, None, today=today)
        assert alert is not None
        return alert

    calm = digest(None, dt.date(2026, 11, 27))
    assert calm.counts["open_cases"] == 1 and calm.counts["cases_due"] == []
    assert calm.counts["outcomes"] == {"countered": 1}
    soon = digest(None, dt.date(2026, 12, 2)).counts["cases_due"]
    assert [(d["deadline"], d["overdue"], d["status"]) for d in soon] == [
        ("2026-12-04", False, "countered")
    ]
    late = digest(None, dt.date(2026, 12, 5))
    assert late.counts["cases_due"][0]["overdue"]
    assert "deadline 2026-12-04 (past)" in late.text() and "(1 due)" in late.subject
    assert digest("2026-11-21T00:00:00Z", dt.date(2026, 12, 5)).counts["outcomes"] == {}

    cli("takedown", "mark", nid, "removed", "--on", "2026-11-30")
    done = digest("2026-11-21T00:00:00Z", dt.date(2026, 12, 5))
    assert done.counts["outcomes"] == {"removed": 1}
    assert done.counts["open_cases"] == 0 and done.counts["cases_due"] == []


def test_scraped_text_cannot_forge_lines_or_ping_a_channel() -> None:
    finding = {
        "id": 7, "kind": "trademark", "severity": "high", "score": 0.97,
        "title": HOSTILE + "\u202egpj.exe <!channel> @here ![x](http://track.example/p.gif)",
        "url": "javascript:alert(1)", "marketplace": "demo", "seller": "Bad\nSeller",
        "explanation": "x" * 5000,
    }  # fmt: skip
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [finding], None)
    text = alert.text()
    assert not any(line.startswith("Bcc:") for line in text.splitlines())
    assert "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert "<!channel>" not in text and "@here" not in text and "](" not in text
    assert "<script>" not in text and "Bad Seller" in text
    assert max(len(line) for line in text.splitlines()) < alerts.MAX_FIELD + 20
    page = alert.html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript' not in page  # a URL that is not http(s) is not linked
    payload = alert.as_json()
    assert next(iter(payload)) == "text" and payload["text"] == text
    json.dumps(payload)


def _sweep_counts() -> dict[str, Any]:
    market = {"marketplace": "demo", "sweep": 1, "new_findings": 1, "pages": 3, "listings": 2}
    return {
        "new_findings": 1,
        "by_severity": {"high": 1},
        "min_severity": "high",
        "marketplaces": [market | {"blocked": 0, "errors": 0, "status": "finished"}],
    }


# -- email to a real SMTP server ----------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping each message's envelope."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def _login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client trusts the test CA, as it would a public one, through SSL_CERT_FILE."""
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    loaded = ssl.create_default_context().get_ca_certs()
    assert [c for c in loaded if "trustme" in str(c.get("issuer"))]  # the variable is honoured


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on 127.0.0.1 requiring STARTTLS, then a login."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    inbox, port = Inbox(), free_port()
    server = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=_login, auth_required=True,
    )  # fmt: skip
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server that offers no STARTTLS."""
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def email_config(port: int, **changes: Any) -> EmailAlert:
    settings: dict[str, Any] = {
        "enabled": True, "host": "127.0.0.1", "port": port, "starttls": True, "username": USER,
        "password_env": EnvVar("LG_TEST_SMTP_PASSWORD"), "sender": USER,
        "recipients": ("brand@luma.example", "legal@luma.example"),
    }  # fmt: skip
    return EmailAlert(**(settings | changes))


OWNER = Owner(legal_name="Luma Goods Ltd", email="brand@luma.example")


def test_an_email_alert_reaches_the_server_over_starttls(
    swept, ws: Path, db, smtp, trusted, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("LG_TEST_SMTP_PASSWORD", PASSWORD)
    summary = swept[1]
    config = with_alerts(load(ws), min_severity="medium", email=email_config(port))
    (top,) = db.execute(
        "SELECT f.listing_id FROM findings f WHERE f.status = 'new' AND f.severity = 'high' "
        "ORDER BY f.score DESC, f.id LIMIT 1"
    ).fetchall()
    with store.transaction(db):
        db.execute("UPDATE listings SET title = ? WHERE id = ?", [HOSTILE, top[0]])
    alert = alerts.sweep_alert(db, config, summary, "/srv/reports/sweep-12.html")
    assert alert is not None and any("<script>" in f["title"] for f in alert.findings)

    (delivery,) = deliver.send(config, alert, sleep=lambda s: None)
    assert delivery == deliver.Delivery("email", True, 1, None)
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == USER
    assert envelope.rcpt_tos == ["brand@luma.example", "legal@luma.example"]  # no Bcc added
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["Subject"] == alert.subject and msg["From"] == USER
    assert msg["To"] == "brand@luma.example, legal@luma.example"
    assert msg["Date"] and msg["Message-ID"].endswith("@luma.example>")
    assert msg["Bcc"] is None and "x@evil" not in str(msg.items())
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    for m in alert.counts["marketplaces"]:
        assert f"{m['marketplace']} (sweep {m['sweep']}): {m['new_findings']} new" in text
    assert all(f"(finding {f['id']})" in text for f in alert.findings)
    assert "Report: /srv/reports/sweep-12.html" in text and "/srv/reports/sweep-12.html" in page
    assert not any(line.startswith("Bcc:") for line in text.splitlines())
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_wrong_password_is_not_retried(smtp, trusted, monkeypatch, caplog) -> None:
    inbox, port = smtp
    monkeypatch.setenv("LG_TEST_SMTP_PASSWORD", "wrong password")
    config = Config(owner=OWNER, alerts=Alerts(email=email_config(port)))
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [], None)
    with caplog.at_level(logging.WARNING, logger="listingguard.deliver"):
        (delivery,) = deliver.send(config, alert, sleep=lambda s: None)
    assert not delivery.ok and delivery.attempts == 1
    assert delivery.error and delivery.error.startswith("login refused: 535")
    assert "login refused" in caplog.text and "wrong password" not in caplog.text
    assert inbox.envelopes == []


def test_a_server_without_starttls_gets_nothing(plain_smtp, monkeypatch, caplog) -> None:
    inbox, port = plain_smtp
    monkeypatch.setenv("LG_TEST_SMTP_PASSWORD", PASSWORD)
    config = Config(owner=OWNER, alerts=Alerts(email=email_config(port)))
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [], None)
    with caplog.at_level(logging.WARNING, logger="listingguard.deliver"):
        (delivery,) = deliver.send(config, alert, sleep=lambda s: None)
    assert delivery == deliver.Delivery("email", False, 1, "the server does not offer STARTTLS")
    assert "STARTTLS" in caplog.text and inbox.envelopes == []


def test_an_untrusted_certificate_is_refused(smtp, monkeypatch) -> None:
    _, port = smtp
    monkeypatch.setenv("LG_TEST_SMTP_PASSWORD", PASSWORD)
    config = Config(owner=OWNER, alerts=Alerts(email=email_config(port)))
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [], None)
    (delivery,) = deliver.send(config, alert, sleep=lambda s: None)
    assert not delivery.ok and delivery.attempts == 1
    assert delivery.error and "certificate not trusted" in delivery.error


def test_configuration_problems_are_reported_not_retried(monkeypatch, caplog) -> None:
    monkeypatch.delenv("LG_TEST_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("LG_TEST_WEBHOOK", raising=False)
    hook = WebhookAlert(enabled=True, url_env=EnvVar("LG_TEST_WEBHOOK"))
    config = Config(owner=OWNER, alerts=Alerts(email=email_config(free_port()), webhook=hook))
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [], None)
    with caplog.at_level(logging.WARNING, logger="listingguard.deliver"):
        mail, web = deliver.send(config, alert, sleep=lambda s: pytest.fail("no retry"))
    assert (mail.channel, mail.ok, mail.attempts) == ("email", False, 0)
    assert "alerts.email.password_env: environment variable LG_TEST_SMTP_PASSWORD" in mail.error
    assert (web.channel, web.ok, web.attempts) == ("webhook", False, 0)
    assert "alerts.webhook.url_env" in web.error
    assert "LG_TEST_SMTP_PASSWORD is not set" in caplog.text

    monkeypatch.setenv("LG_TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("LG_TEST_WEBHOOK", "file:///etc/passwd")
    clear = email_config(25, starttls=False)
    config = Config(owner=OWNER, alerts=Alerts(email=clear, webhook=hook))
    mail, web = deliver.send(config, alert)
    assert mail.attempts == 0 and "password would cross the network in clear" in mail.error
    assert web.attempts == 0 and "must hold an http(s) URL" in web.error
    assert deliver.send(Config(owner=OWNER), alert) == []  # no channel enabled


def test_a_refused_connection_is_retried_with_backoff() -> None:
    config = Config(owner=OWNER, alerts=Alerts(email=email_config(free_port(), username="")))
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [], None)
    waits: list[float] = []
    (delivery,) = deliver.send(config, alert, retries=3, backoff=2.0, sleep=waits.append)
    assert not delivery.ok and delivery.attempts == 4
    assert delivery.error and delivery.error.startswith("connection failed")
    assert waits == [2.0, 4.0, 8.0]


# -- the webhook ---------------------------------------------------------------------------------


class Hook(ThreadingHTTPServer):
    """Takes webhook POSTs on 127.0.0.1, answering with the statuses given, then 200."""

    def __init__(self, statuses: list[int | tuple[int, dict[str, str]]]) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.statuses = list(statuses)
        self.posts: list[tuple[str, str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/{TOKEN}"


class _HookHandler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, self.headers["Content-Type"], body))
        answer = self.server.statuses.pop(0) if self.server.statuses else 200
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        self.send_response(status)
        for name, value in {**headers, "Content-Length": "2"}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    server = Hook(getattr(request, "param", []))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LG_TEST_WEBHOOK", server.url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


HOOK_CONFIG = Config(
    owner=OWNER,
    alerts=Alerts(webhook=WebhookAlert(enabled=True, url_env=EnvVar("LG_TEST_WEBHOOK"))),
)


@pytest.mark.parametrize("hook", [[500, 500]], indirect=True)
def test_a_webhook_answering_500_twice_is_delivered_on_the_third_attempt(
    hook: Hook, caplog
) -> None:
    alert = alerts.Alert("sweep", "listingguard: 1 new finding", _sweep_counts(), [], "r.html")
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="listingguard.deliver"):
        (delivery,) = deliver.send(HOOK_CONFIG, alert, sleep=waits.append)
    assert delivery == deliver.Delivery("webhook", True, 3, None)
    assert waits == [2.0, 4.0] and len(hook.posts) == 3
    path, kind, body = hook.posts[-1]
    assert path == f"/hooks/{TOKEN}" and kind == "application/json"
    payload = json.loads(body)
    assert list(payload) == ["text", "kind", "subject", "counts", "findings", "report"]
    assert payload == json.loads(json.dumps(alert.as_json()))
    assert "HTTP 500" in caplog.text and "127.0.0.1" in caplog.text
    assert TOKEN not in caplog.text  # the URL carries the token: only the host is logged


@pytest.mark.parametrize("hook", [[(429, {"Retry-After": "5"})]], indirect=True)
def test_a_webhook_asking_to_slow_down_is_waited_for(hook: Hook) -> None:
    alert = alerts.Alert("sweep", "s", _sweep_counts(), [], None)
    waits: list[float] = []
    (delivery,) = deliver.send(HOOK_CONFIG, alert, sleep=waits.append)
    assert delivery.ok and delivery.attempts == 2 and waits == [5.0]


@pytest.mark.parametrize("hook", [[400, 302]], indirect=True)
def test_a_webhook_refusing_the_payload_is_not_retried(hook: Hook, caplog) -> None:
    alert = alerts.Alert("sweep", "s", _sweep_counts(), [], None)
    with caplog.at_level(logging.WARNING, logger="listingguard.deliver"):
        (delivery,) = deliver.send(HOOK_CONFIG, alert, sleep=lambda s: pytest.fail("no retry"))
    assert delivery == deliver.Delivery("webhook", False, 1, "HTTP 400")
    assert "HTTP 400" in caplog.text and TOKEN not in caplog.text
    (redirected,) = deliver.send(HOOK_CONFIG, alert)  # a redirect is not followed
    assert redirected == deliver.Delivery("webhook", False, 1, "HTTP 302")
    assert len(hook.posts) == 2


def test_a_closed_webhook_port_fails_without_raising(monkeypatch, caplog) -> None:
    monkeypatch.setenv("LG_TEST_WEBHOOK", f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}")
    alert = alerts.Alert("sweep", "s", _sweep_counts(), [], None)
    with caplog.at_level(logging.WARNING, logger="listingguard.deliver"):
        (delivery,) = deliver.send(HOOK_CONFIG, alert, retries=2, sleep=lambda s: None)
    assert not delivery.ok and delivery.attempts == 3
    assert delivery.error and delivery.error.startswith("connection failed")
    assert TOKEN not in caplog.text and TOKEN not in delivery.error


def test_a_failing_channel_never_stops_the_other(hook: Hook, monkeypatch) -> None:
    monkeypatch.setenv("LG_TEST_SMTP_PASSWORD", PASSWORD)
    both = dataclasses.replace(
        HOOK_CONFIG.alerts, email=email_config(free_port(), username="")
    )  # nothing listens on the SMTP port
    alert = alerts.Alert("sweep", "s", _sweep_counts(), [], None)
    mail, web = deliver.send(Config(owner=OWNER, alerts=both), alert, sleep=lambda s: None)
    assert (mail.channel, mail.ok, mail.attempts) == ("email", False, 4)
    assert web == deliver.Delivery("webhook", True, 1, None) and len(hook.posts) == 1


# -- the jobs that send them ---------------------------------------------------------------------


def alerting(config: Path, min_severity: str = "medium") -> None:
    """Turn the workspace's webhook alerts on (its URL in LG_TEST_WEBHOOK)."""
    text = config.read_text("utf-8")
    text = re.sub(r'(?m)^min_severity = "high"', f'min_severity = "{min_severity}"', text)
    text = re.sub(
        r'(?ms)^\[alerts\.webhook\]\nenabled = false\nurl_env = "[A-Z_]+"',
        '[alerts.webhook]\nenabled = true\nurl_env = "LG_TEST_WEBHOOK"',
        text,
    )
    config.write_text(text, "utf-8")
    assert load(config).alerts.webhook.enabled


def test_a_scheduled_sweep_writes_its_report_and_alerts_with_it(market, hook, tmp_path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    alerting(config)
    summary = jobs.sweep_job(load(config), "demo-woo")
    assert summary["alerts"] == [{"channel": "webhook", "ok": True, "attempts": 1, "error": None}]
    ((_, _, body),) = hook.posts
    payload = json.loads(body)
    report = Path(summary["report"])
    assert payload["kind"] == "sweep" and payload["report"] == str(report) and report.is_file()
    assert str(report) in payload["text"]
    db = store.open_store(config.parent / "listingguard.db")
    alerted = db.execute(
        "SELECT COUNT(*) FROM findings WHERE status = 'new' AND severity IN ('medium', 'high')"
    ).fetchone()[0]
    db.close()
    assert alerted > 0 and len(payload["findings"]) == min(alerted, alerts.TOP)
    assert {f["id"] for f in payload["findings"]} <= set(range(1, 10_000))


def test_the_digest_says_each_thing_once(market, hook, tmp_path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    sweep(config)
    alerting(config)
    db = store.open_store(config.parent / "listingguard.db")
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def digest(n: int) -> dict:
        """A digest run as the scheduler records it (runs.finished keeps its watermark)."""
        fired = when + dt.timedelta(hours=n)
        runs.started(db, "digest", fired)
        result = jobs.digest_job(load(config))
        runs.finished(db, "digest", fired, "finished", watermark=result["until"])
        return result

    first = digest(1)
    assert [d["ok"] for d in first["sent"]] == [True] and len(hook.posts) == 1
    sent = json.loads(hook.posts[0][2])
    assert sent["kind"] == "digest" and sent["counts"]["new_findings"] > 0
    # A finding found while that digest was being delivered belongs to the next one.
    (late,) = db.execute("SELECT id FROM findings WHERE status = 'new' LIMIT 1").fetchone()
    with store.transaction(db):
        db.execute("UPDATE findings SET first_seen = ? WHERE id = ?", [first["until"], late])
    time.sleep(1.1)  # the store's times are to the second: the next digest is taken later
    assert [d["ok"] for d in digest(2)["sent"]] == [True]
    counts = json.loads(hook.posts[1][2])["counts"]
    assert counts["new_findings"] == 1 and counts["awaiting_review"] > 1  # the rest still wait
    waiting = [r[0] for r in db.execute("SELECT id FROM findings WHERE status = 'new'")]
    assert findings.review(db, load(config), waiting, "dismissed") == []
    assert digest(3)["sent"] == [] and len(hook.posts) == 2  # all quiet: nothing sent
    db.close()


def test_an_alert_that_cannot_be_delivered_never_fails_the_sweep(
    market, monkeypatch, tmp_path
) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    alerting(config)
    monkeypatch.setenv("LG_TEST_WEBHOOK", f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}")
    summary = jobs.sweep_job(load(config), "demo-woo")
    (delivery,) = summary["alerts"]
    assert not delivery["ok"] and delivery["attempts"] == 4  # retried, then given up
    assert Path(summary["report"]).is_file()
    assert [m["status"] for m in summary["marketplaces"]] == ["finished"]
