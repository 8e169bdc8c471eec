"""Bot walls: is this response a CAPTCHA or challenge page instead of the page asked for?

The signatures are is-antibot's ``providers.json`` (``crawler/data/antibot-providers.json``, MIT),
read as data: each provider has detections of one kind (``headers``, ``cookies``, ``html``,
``url``, ``status_code``), a detection matches when any of its rules does, a detection may be
limited to some statuses (``statusCodes``) or to one site (``domain``, ``domainWithoutSuffix``),
and ``contains`` is case-insensitive while ``regex`` takes the rule's ``flags`` ("i" when absent).

is-antibot answers "is an anti-bot product involved?", and many of its rules fire on ordinary
pages too: Akamai's ``_abck`` cookie, PerimeterX's ``window._pxAppId`` sensor snippet (on the real
Wayfair product page in the tests), a reCAPTCHA or hCaptcha script for a login form. A crawler
that called those pages blocked would drop real listings. So a rule is one of two strengths:

* **conclusive**: it only ever appears on a challenge (``cf-mitigated: challenge``,
  Cloudflare's ``_cf_chl_opt``, a captcha URL, a rule the data limits to a site or to error
  statuses, and the few in ``_CONCLUSIVE``). It is a block on its own.
* **presence**: everything else. It is a block only when the response also looks like a wall:
  a refusal status (403, 429, 503, ...), or, for an html rule, a 2xx page that is thin (small,
  few visible words) and carries no product markup. A provider's cookie or header on a thin 200
  page is not enough: its edge sets them on every response, small ones included.

Cloudflare's ``cf-ray`` and ``server: cloudflare`` are on every page Cloudflare serves, and no
rule reads them. ``_EXTRA_PROVIDERS`` adds, in the same schema, the challenge markers the
providers document that the data lacks (DataDome's captcha host, Amazon's captcha form, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

HTML_WINDOW = 256 * 1024
"""Only the first 256 KiB of a body are read: challenge pages are small, product pages are not."""

REFUSAL_STATUSES = frozenset({401, 403, 405, 406, 418, 429, 503})
"""Statuses bot walls answer with; a presence rule on one of them is a block."""

THIN_BYTES = 64 * 1024
THIN_WORDS = 150
"""A 2xx page is thin when its body is under ``THIN_BYTES`` and shows under ``THIN_WORDS`` words.

Measured: the challenge pages in the tests show 15-90 words; the smallest real listing page in
``tests/pages`` (craigslist, 23 KB) shows 182, and it carries Product markup besides.
"""

# Rules that are a challenge on their own although the data neither limits them to a site nor to
# error statuses, keyed by (provider, the rule's header, cookie, text or pattern).
_CONCLUSIVE = frozenset(
    {
        # Cloudflare documents cf-mitigated: challenge as the way to detect a challenge page;
        # _cf_chl_opt is the challenge page's own options object.
        ("cloudflare", "cf-mitigated"),
        ("cloudflare", "_cf_chl_opt"),
        ("vercel", "x-vercel-mitigated"),
        # Akamai's edge answering with an error instead of the object.
        ("akamai", "akamai-cache-status"),
        # DataDome's module verdict: 1 soft challenge, 2 hard block.
        ("datadome", "x-dd-b"),
        # AWS WAF sends x-amzn-waf-action (captcha, challenge) only with its puzzle pages.
        ("aws-waf", "x-amzn-waf-action"),
        # x5secdata only rides on AliExpress's "punish" slider page.
        ("aliexpress-captcha", "x5secdata"),
        ("anubis", '<script id="anubis_challenge"'),
        ("anubis", "/.within.website/x/cmd/anubis/"),
    }
)

# Challenge markers the providers show that is-antibot's data lacks, in its schema. All are
# conclusive: none appears on a served page.
_EXTRA_PROVIDERS: list[dict[str, Any]] = [
    {
        "name": "datadome",
        "label": "DataDome",
        "detections": [
            # The interstitial and captcha load from DataDome's captcha host
            # (geo.captcha-delivery.com, ct.captcha-delivery.com); the tag on served pages
            # loads from js.datadome.co instead.
            {"type": "html", "conclusive": True, "rules": [{"contains": "captcha-delivery.com"}]},
        ],
    },
    {
        "name": "perimeterx",
        "label": "PerimeterX",
        "detections": [
            # The element the "Press & Hold" challenge renders into (the Walmart block page).
            {"type": "html", "conclusive": True, "rules": [{"regex": "id=[\"']?px-captcha\\b"}]},
        ],
    },
    {
        "name": "amazon",
        "label": "Amazon",
        "detections": [
            # Amazon's captcha page: its heading and the form it posts to.
            {
                "type": "html",
                "domainWithoutSuffix": "amazon",
                "rules": [
                    {"contains": "Enter the characters you see below"},
                    {"contains": "/errors/validateCaptcha"},
                ],
            },
        ],
    },
    {
        "name": "akamai",
        "label": "Akamai",
        "detections": [
            # Akamai's "Access Denied" page: "Reference #18.5b2a2c17..." written in entities.
            {"type": "html", "conclusive": True, "rules": [{"contains": "Reference&#32;&#35;"}]},
        ],
    },
    {
        "name": "cloudflare",
        "label": "Cloudflare",
        "detections": [
            # The challenge page's title; a presence rule, as other sites may say it too.
            {"type": "html", "rules": [{"regex": "<title>\\s*Just a moment\\.\\.\\.\\s*</title>"}]},
        ],
    },
]

# Product markup: a page with it is a listing, however thin, never a wall.
_PRODUCT_MARKUP = re.compile(
    r"schema\.org/Product\b|\"@type\"\s*:\s*\[?\s*\"Product\"|og:type\"\s+content=\"product"
    r"|product:price:amount",
    re.IGNORECASE,
)
_HIDDEN = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Block:
    """A bot wall: the provider (is-antibot's name, e.g. "perimeterx") and the rule that fired."""

    provider: str
    reason: str


@dataclass
class _Response:
    """One response, normalised once: lower-case header names, cookies, text windows."""

    status: int
    headers: dict[str, list[str]]
    cookies: list[str]
    html: str
    html_lower: str
    url: str
    url_lower: str
    host: str
    size: int


_Test = Callable[[_Response], bool]


@dataclass(frozen=True)
class _Detection:
    provider: str
    label: str
    kind: str
    conclusive: bool
    statuses: frozenset[int]
    domain: str | None
    domain_without_suffix: str | None
    rules: tuple[tuple[str, _Test], ...]  # (description, test)


def detect(
    status: int,
    headers: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
    body: bytes | str,
    url: str,
) -> Block | None:
    """The bot wall this response is, or None for an ordinary response.

    ``headers`` is a mapping or a list of (name, value) pairs, names and values ``str`` or
    ``bytes``, a value possibly a list (as Scrapy's ``Headers`` give them).

    >>> detect(200, {"cf-ray": "8a1b2c3d4e5f-LHR", "server": "cloudflare"}, "<p>Hi</p>", "https://a.example/")
    >>> detect(403, {"cf-mitigated": "challenge"}, "", "https://a.example/").provider
    'cloudflare'
    """
    response = _response(status, headers, body, url)
    detections = _detections()
    for detection in detections:
        if detection.conclusive and (hit := _match(detection, response)):
            return Block(detection.provider, hit)
    refused = response.status in REFUSAL_STATUSES
    thin = None if refused else _thin(response)
    if not refused and thin is None:
        return None
    for detection in detections:
        # A cookie or a header the provider sends on every visit says nothing of a thin 200
        # page; its script on one does (the page is the provider's).
        if detection.conclusive or (not refused and detection.kind != "html"):
            continue
        if hit := _match(detection, response):
            return Block(detection.provider, f"{hit}, {thin or f'with status {response.status}'}")
    return None


def _match(detection: _Detection, response: _Response) -> str | None:
    """The description of the first rule of ``detection`` that fires, with the detection's kind."""
    if detection.statuses and response.status not in detection.statuses:
        return None
    if detection.domain and not _on_domain(response.host, detection.domain):
        return None
    if detection.domain_without_suffix and not _on_site(
        response.host, detection.domain_without_suffix
    ):
        return None
    for description, test in detection.rules:
        if test(response):
            return f"{detection.label}: {description}"
    return None


def _thin(response: _Response) -> str | None:
    """How a 2xx page is thin (small, few words shown, no product markup), or None."""
    if not 200 <= response.status < 300 or response.size >= THIN_BYTES:
        return None
    if _PRODUCT_MARKUP.search(response.html):
        return None
    words = len(_WORD.findall(_TAG.sub(" ", _HIDDEN.sub(" ", response.html))))
    if words >= THIN_WORDS:
        return None
    return f"on a thin page ({response.size} bytes, {words} words)"


def _on_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _on_site(host: str, name: str) -> bool:
    """Whether ``host`` is ``name`` under a public suffix: amazon.com, amazon.co.uk, not amazon.example.com.

    Without a public-suffix list, a suffix is one or two labels of at most three letters.
    """
    labels = host.split(".")
    for i, label in enumerate(labels[:-1]):
        rest = labels[i + 1 :]
        if label == name and len(rest) <= 2 and all(len(part) <= 3 for part in rest):
            return True
    return False


def _response(
    status: int, headers: Mapping[Any, Any] | Iterable[tuple[Any, Any]], body: bytes | str, url: str
) -> _Response:
    by_name: dict[str, list[str]] = {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        values = value if isinstance(value, list | tuple) else [value]
        by_name.setdefault(_text(name).strip().lower(), []).extend(_text(v) for v in values)
    cookies = [c for v in by_name.get("set-cookie", []) for c in _split_set_cookie(v)]
    if isinstance(body, bytes):
        size = len(body)
        html = body[:HTML_WINDOW].decode("utf-8", "replace")
    else:
        size = len(body.encode("utf-8", "replace")) if len(body) < THIN_BYTES else len(body)
        html = body[:HTML_WINDOW]
    url = url or ""
    return _Response(
        status=int(status),
        headers=by_name,
        cookies=cookies,
        html=html,
        html_lower=html.lower(),
        url=url,
        url_lower=url.lower(),
        host=(urlsplit(url).hostname or "").lower(),
        size=size,
    )


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _split_set_cookie(value: str) -> list[str]:
    """Cookies of one Set-Cookie value, which may join several with commas.

    A comma starts a new cookie only when a ``name=`` follows, so the comma in an
    ``Expires=Thu, 01 Jan 2026`` date stays put (as cookie-es's ``splitSetCookieString``).
    """
    parts = re.split(r",\s*(?=[^;,=\s]+=)", value)
    return [p.strip() for p in parts if p.strip()]


@cache
def _detections() -> tuple[_Detection, ...]:
    """is-antibot's detections, then ours, compiled once."""
    data = json.loads(files("crawler").joinpath("data/antibot-providers.json").read_text("utf-8"))
    providers = [*data["providers"], *_EXTRA_PROVIDERS]
    return tuple(
        compiled
        for provider in providers
        for detection in provider["detections"]
        for compiled in _compile(provider, detection)
    )


def _compile(provider: Mapping[str, Any], detection: Mapping[str, Any]) -> list[_Detection]:
    """One detection as up to two: its conclusive rules and its presence rules."""
    name, kind = provider["name"], detection["type"]
    gated = bool(
        detection.get("statusCodes")
        or detection.get("domain")
        or detection.get("domainWithoutSuffix")
    )
    whole = kind in ("url", "status_code") or gated or bool(detection.get("conclusive"))
    split: dict[bool, list[tuple[str, _Test]]] = {True: [], False: []}
    for rule in detection["rules"]:
        compiled = _compile_rule(kind, rule)
        if compiled is not None:
            split[whole or (name, _subject(rule)) in _CONCLUSIVE].append(compiled)
    return [
        _Detection(
            provider=name,
            label=provider.get("label", name),
            kind=kind,
            conclusive=conclusive,
            statuses=frozenset(detection.get("statusCodes") or ()),
            domain=detection.get("domain"),
            domain_without_suffix=detection.get("domainWithoutSuffix"),
            rules=tuple(rules),
        )
        for conclusive, rules in split.items()
        if rules
    ]


def _subject(rule: Mapping[str, Any]) -> str | None:
    for key in ("header", "headerNamePattern", "cookie", "contains", "regex"):
        if isinstance(rule.get(key), str):
            return rule[key]
    return None


def _flags(flags: str) -> int:
    value = 0
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in flags:
            value |= flag
    return value


def _compile_rule(kind: str, rule: Mapping[str, Any]) -> tuple[str, _Test] | None:
    """(description, test) of one rule, or None for a shape this module does not know."""
    if kind == "headers":
        return _compile_header_rule(rule)
    if kind == "cookies" and isinstance(rule.get("cookie"), str):
        prefix = rule["cookie"]
        return f"cookie {prefix!r} set", lambda r: any(c.startswith(prefix) for c in r.cookies)
    if kind == "status_code" and isinstance(rule.get("status"), int):
        status = rule["status"]
        return f"status {status}", lambda r: r.status == status
    if kind in ("html", "url"):
        if isinstance(rule.get("contains"), str):
            needle = rule["contains"].lower()
            if kind == "html":
                return f"html contains {rule['contains']!r}", lambda r: needle in r.html_lower
            return f"url contains {rule['contains']!r}", lambda r: needle in r.url_lower
        if isinstance(rule.get("regex"), str):
            pattern = re.compile(rule["regex"], _flags(rule.get("flags", "i")))
            if kind == "html":
                return f"html matches /{pattern.pattern}/", _regex_test(pattern)
            return f"url matches /{pattern.pattern}/", lambda r: bool(pattern.search(r.url))
    return None


def _regex_test(pattern: re.Pattern[str]) -> _Test:
    """A test of the page against ``pattern``, skipped when a text every match holds is absent.

    Case-insensitive patterns are slow in ``re`` (15 ms on 256 KiB); a substring test is not.
    """
    literal = _required_literal(pattern.pattern)
    if len(literal) < 3:
        return lambda r: bool(pattern.search(r.html))
    if pattern.flags & re.IGNORECASE:
        lower = literal.lower()
        return lambda r: lower in r.html_lower and bool(pattern.search(r.html))
    return lambda r: literal in r.html and bool(pattern.search(r.html))


def _required_literal(pattern: str) -> str:
    r"""The longest plain text outside any group, class or quantifier of ``pattern``.

    Every match contains it. "" when the pattern has a top-level alternation.

    >>> _required_literal(r"\b(?:window\.)?grecaptcha\s*\(")
    'grecaptcha'
    >>> _required_literal(r"awswaf\.com|\/awswaf\/")
    ''
    """
    best, run, depth, i = "", "", 0, 0
    while i < len(pattern):
        c, piece = pattern[i], None
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            piece = nxt if depth == 0 and not nxt.isalnum() else None
            i += 1
        elif c == "[":
            i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return ""
        elif c in "*+?{":
            run = run[:-1]  # the quantified character may be absent or repeated
            if c == "{":
                i = pattern.find("}", i) if "}" in pattern[i:] else len(pattern)
        elif c not in ".^$|" and depth == 0:
            piece = c
        if piece is None:
            best, run = max(best, run, key=len), ""
        else:
            run += piece
        i += 1
    return max(best, run, key=len)


def _compile_header_rule(rule: Mapping[str, Any]) -> tuple[str, _Test] | None:
    if isinstance(rule.get("headerNamePattern"), str):
        pattern = re.compile(rule["headerNamePattern"], _flags(rule.get("flags", "")))
        return (
            f"a header named like /{pattern.pattern}/",
            lambda r: any(pattern.search(name) for name in r.headers),
        )
    name = rule.get("header")
    if not isinstance(name, str):
        return None
    name = name.lower()

    def values(r: _Response) -> list[str]:
        return r.headers.get(name, [])

    if isinstance(rule.get("equals"), str):
        want = rule["equals"]
        return f"header {name}: {want}", lambda r: want in values(r)
    if isinstance(rule.get("startsWith"), str):
        start = rule["startsWith"]
        return f"header {name}: {start}...", lambda r: any(v.startswith(start) for v in values(r))
    if isinstance(rule.get("oneOf"), list):
        allowed = frozenset(str(v) for v in rule["oneOf"])
        return f"header {name} in {sorted(allowed)}", lambda r: any(v in allowed for v in values(r))
    if rule.get("exists") is True:
        if isinstance(rule.get("except"), str):
            skip = rule["except"].lower()
            return (
                f"header {name} (not {skip!r})",
                lambda r: any(v and v.lower() != skip for v in values(r)),
            )
        return f"header {name}", lambda r: any(values(r))
    return None
