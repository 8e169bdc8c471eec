"""Delivering an alert: email through SMTP with STARTTLS, and a JSON webhook for chat tools.

Each channel is tried again when a failure may pass (a refused connection, an SMTP 4xx, an HTTP
429 or 5xx) and not when it will not (a configuration problem, a wrong password, no STARTTLS,
another HTTP 4xx). Delivery never raises: a sweep must not fail because the mail server is down.
The webhook URL carries a token, so it is never logged; only its host is.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from listingguard import __version__
from listingguard.alerts import TIMEOUT_S, Alert, clean
from listingguard.config import Config
from listingguard.errors import ConfigError

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 60.0  # the longest a webhook's Retry-After may make a sweep wait


@dataclass(frozen=True)
class Delivery:
    """How one channel went: ``attempts`` is 0 when the configuration stopped it first."""

    channel: str  # "email" or "webhook"
    ok: bool
    attempts: int
    error: str | None


class _Failed(Exception):
    """One attempt failed; ``retry`` when another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool, wait: float = 0.0) -> None:
        super().__init__(message)
        self.retry = retry
        self.wait = wait


Attempt = Callable[[], None]


def send(
    config: Config,
    alert: Alert,
    *,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], Any] = time.sleep,
    stop: threading.Event | None = None,
) -> list[Delivery]:
    """Deliver ``alert`` on every enabled channel; never raises.

    A failure that may pass (a refused connection, an SMTP 4xx, an HTTP 429 or 5xx) is tried
    again up to ``retries`` more times, waiting ``backoff``, then twice that, and so on; one
    that will not (a configuration problem, a wrong password, no STARTTLS, another HTTP 4xx) is
    not. Each failure is logged; one channel failing never stops the other. Once ``stop`` is
    set (the scheduler is stopping) a failed channel is not tried again, and a wait ends.
    """
    if stop is not None:
        sleep = stop.wait
    out = []
    if config.alerts.email.enabled:
        out.append(_deliver("email", lambda: _email(config, alert), retries, backoff, sleep, stop))
    if config.alerts.webhook.enabled:
        out.append(
            _deliver("webhook", lambda: _webhook(config, alert), retries, backoff, sleep, stop)
        )
    return out


def _deliver(
    channel: str,
    prepare: Callable[[], tuple[str, Attempt]],
    retries: int,
    backoff: float,
    sleep: Callable[[float], Any],
    stop: threading.Event | None = None,
) -> Delivery:
    """Prepare a channel (a configuration problem is not retried), then attempt, with backoff.

    ``prepare`` returns where the alert goes, as it may be logged, and the attempt."""
    try:
        where, attempt = prepare()
    except ConfigError as exc:
        logger.warning("%s alert not sent: %s", channel, exc)
        return Delivery(channel, False, 0, str(exc))
    except Exception as exc:  # never raise: a sweep outlives its alert
        logger.warning("%s alert not sent: %s", channel, type(exc).__name__)
        return Delivery(channel, False, 0, f"unexpected error: {type(exc).__name__}")
    most = max(retries, 0) + 1
    for n in range(1, most + 1):
        try:
            attempt()
        except _Failed as exc:
            stopping = stop is not None and stop.is_set()
            if not exc.retry or n == most or stopping:
                logger.warning(
                    "%s alert to %s not sent: %s (attempt %d of %d, %s)",
                    channel, where, exc, n, most,
                    "stopping" if stopping else "given up" if exc.retry else "not retried",
                )  # fmt: skip
                return Delivery(channel, False, n, str(exc))
            wait = max(backoff * 2 ** (n - 1), exc.wait)
            logger.warning(
                "%s alert to %s failed: %s (attempt %d of %d); retrying in %.1f s",
                channel, where, exc, n, most, wait,
            )  # fmt: skip
            sleep(wait)
        else:
            logger.info("%s alert sent to %s (attempt %d)", channel, where, n)
            return Delivery(channel, True, n, None)
    raise AssertionError("unreachable")  # pragma: no cover


def email_message(config: Config, alert: Alert) -> EmailMessage:
    """The alert as a message: plain text with an HTML alternative; headers from config only."""
    conf = config.alerts.email
    msg = EmailMessage()
    msg["Subject"] = clean(alert.subject)
    msg["From"] = conf.sender
    msg["To"] = ", ".join(conf.recipients)
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = email.utils.make_msgid(
        "listingguard", domain=conf.sender.rpartition("@")[2]
    )
    msg.set_content(alert.text())
    msg.add_alternative(alert.html(), subtype="html")
    return msg


def _email(config: Config, alert: Alert) -> tuple[str, Attempt]:
    conf = config.alerts.email
    tls = conf.starttls or conf.port == 465
    if conf.username and not tls:
        raise ConfigError(
            str(config.path),
            [
                "alerts.email.username: a login needs starttls = true or port 465 "
                "(the password would cross the network in clear)"
            ],
        )
    password = (
        config.secret(conf.password_env, "alerts.email.password_env") if conf.username else ""
    )
    msg = email_message(config, alert)

    def attempt() -> None:
        try:
            if conf.port == 465 and not conf.starttls:
                context = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    conf.host, conf.port, timeout=TIMEOUT_S, context=context
                )
            else:
                smtp = smtplib.SMTP(conf.host, conf.port, timeout=TIMEOUT_S)
            with smtp:
                if conf.starttls:
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise _Failed("the server does not offer STARTTLS", retry=False)
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if conf.username:
                    smtp.login(conf.username, password)
                smtp.send_message(msg, from_addr=conf.sender, to_addrs=list(conf.recipients))
        except _Failed:
            raise
        except smtplib.SMTPAuthenticationError as exc:  # retrying could lock the account
            raise _Failed(f"login refused: {_reply(exc)}", retry=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _Failed(
                f"recipients refused: {', '.join(sorted(exc.recipients))}",
                retry=any(400 <= code < 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _Failed(f"SMTP error: {_reply(exc)}", retry=400 <= exc.smtp_code < 500) from None
        except ssl.SSLCertVerificationError as exc:
            raise _Failed(
                f"TLS certificate not trusted: {exc.verify_message}", retry=False
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise _Failed(f"disconnected: {clean(exc)}", retry=True) from None
        except smtplib.SMTPException as exc:  # e.g. no authentication method in common
            raise _Failed(f"SMTP error: {clean(exc)}", retry=False) from None
        except OSError as exc:  # refused, unreachable, timed out, TLS failed
            reason = clean(exc) or type(exc).__name__
            raise _Failed(f"connection failed: {reason}", retry=True) from None
        except Exception as exc:  # a bug here must not take the sweep down with it
            logger.debug("email alert: unexpected error", exc_info=True)
            raise _Failed(f"unexpected error: {type(exc).__name__}", retry=False) from None

    return f"{conf.host}:{conf.port}", attempt


def _reply(exc: smtplib.SMTPResponseException) -> str:
    message = exc.smtp_error
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{exc.smtp_code} {clean(text)}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; following it would turn the POST into a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _webhook(config: Config, alert: Alert) -> tuple[str, Attempt]:
    url = config.secret(config.alerts.webhook.url_env, "alerts.webhook.url_env")
    problem = [f"alerts.webhook.url_env: {config.alerts.webhook.url_env} must hold an http(s) URL"]
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ConfigError(str(config.path), problem) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(str(config.path), problem)
    if parts.scheme == "http" and host not in ("127.0.0.1", "::1", "localhost"):
        logger.warning(
            "webhook alert to %s over http: its token crosses the network in clear", host
        )
    body = json.dumps(alert.as_json(), ensure_ascii=False).encode("utf-8")
    opener = urllib.request.build_opener(_NoRedirect)
    headers = {"Content-Type": "application/json", "User-Agent": f"listingguard/{__version__}"}

    def redact(reason: object) -> str:  # the URL's path and query carry the token
        text = str(reason)
        for secret in (url, parts.path, parts.query):
            if secret and secret != "/":
                text = text.replace(secret, "…")
        return clean(text)

    def attempt() -> None:
        try:
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)
            with opener.open(request, timeout=TIMEOUT_S) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            status, after = exc.code, (exc.headers or {}).get("Retry-After", "")
            exc.close()
            if status == 429 or status >= 500:
                wait = min(float(after), MAX_RETRY_AFTER_S) if after.strip().isdigit() else 0.0
                raise _Failed(f"HTTP {status}", retry=True, wait=wait) from None
            raise _Failed(f"HTTP {status}", retry=False) from None
        except urllib.error.URLError as exc:
            raise _Failed(f"connection failed: {redact(exc.reason)}", retry=True) from None
        except (OSError, http.client.HTTPException) as exc:
            reason = redact(exc) or type(exc).__name__
            raise _Failed(f"connection failed: {reason}", retry=True) from None
        except Exception as exc:  # never a traceback: its message may hold the URL
            raise _Failed(f"unexpected error: {type(exc).__name__}", retry=False) from None

    return host, attempt
