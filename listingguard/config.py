"""The user's config.toml, loaded once at the entry point into frozen dataclasses.

Every key of the committed example ``config.toml`` is a field here; ``Loader`` (configschema)
turns mistakes into messages such as
``config.toml: marks[1].registrations[0].classes: expected a list of integers 1-45, got "25"``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from listingguard.configschema import Check, EnvVar, Loader, option
from listingguard.errors import ConfigError
from listingguard.files import FileRefused, read_regular
from matcher.textfile import TextRejected, check_mark, mark_identity

DEFAULT_CONFIG = Path("config.toml")
MAX_CONFIG_BYTES = 1_000_000

AssetKind = Literal["mark", "image", "copy", "logo"]
FileKind = Literal["image", "copy", "logo"]
Rights = Literal["owned", "licensed", "third_party"]
Severity = Literal["low", "medium", "high"]
SpiderKind = Literal["structured", "shopify", "woocommerce", "amazon", "ebay", "selectors"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_PHONE = re.compile(r"\+?[0-9()\-./\s]{6,}?(\s*(x|ext\.?)\s*\d{1,6})?")
_URL = re.compile(r"https?://[^\s/?#]+([/?#]\S*)?")


def is_territory(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code, or EU / WO (WIPO) / EM (EUIPO) as offices' regions."""
    return bool(_COUNTRY.fullmatch(code)) or code in ("EU", "WO", "EM")


def _nonempty(v: str) -> str | None:
    return None if v.strip() else "a non-empty string"


def _mark_problem(v: str) -> str | None:
    try:
        check_mark(v)
    except TextRejected as exc:
        return exc.reason
    return None


def _mark(v: str) -> str | None:
    problem = _mark_problem(v)
    return f"a word mark ({problem})" if problem else None


def _marks(v: tuple[str, ...]) -> str | None:
    for alias in v:
        if problem := _mark_problem(alias):
            return f"a list of word marks ({alias!r}: {problem})"
    return None


def _email(v: str) -> str | None:
    return None if _EMAIL.fullmatch(v) else "an email address"


def _emails(v: tuple[str, ...]) -> str | None:
    return None if all(_EMAIL.fullmatch(x) for x in v) else "a list of email addresses"


def _phone(v: str) -> str | None:
    ok = sum(c.isdigit() for c in v) >= 6 and _PHONE.fullmatch(v.strip())
    return None if ok else 'a phone number with its country code (e.g. "+1 555 0100")'


def _classes(v: tuple[int, ...]) -> str | None:
    ok = v and all(1 <= c <= 45 for c in v)
    return None if ok else "a list of integers 1-45"


def _countries(v: tuple[str, ...]) -> str | None:
    ok = v and all(is_territory(c) for c in v)
    return None if ok else 'a list of country codes (ISO 3166-1 alpha-2 like "US", or "EU", "WO")'


def _fraction(v: float) -> str | None:
    return None if 0.0 <= v <= 1.0 else "a number from 0 to 1"


def _positive(v: float) -> str | None:
    return None if v > 0 else "a number above 0"


def _cron(v: str) -> str | None:
    # APScheduler's own parser, so that what passes here is what the scheduler will run.
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(v)
    except ValueError:
        return 'a cron expression of five fields (e.g. "0 */6 * * *")'
    return None


def _timezone(v: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 'an IANA time zone (e.g. "UTC", "Asia/Shanghai")'
    return None


def _urls(v: tuple[str, ...]) -> str | None:
    return None if all(_URL.fullmatch(u) for u in v) else "a list of http(s) URLs"


@dataclass(frozen=True)
class Workspace:
    """Where the database and the files a sweep writes live (relative to config.toml's folder)."""

    database: Path = Path("listingguard.db")
    evidence: Path = Path("evidence")
    reports: Path = Path("reports")
    notices: Path = Path("notices")


def _optional(check: Check) -> Check:
    """A check for a key that may be left empty: takedown validation says which platform needs it."""
    return lambda v: None if v == "" else check(v)


@dataclass(frozen=True)
class Owner:
    """The rights owner or its agent, as every notice names them.

    Only the name and email are needed to sweep (the crawler's user agent names a contact). The
    other keys are what notices carry; each platform definition says which it requires, and
    ``takedown draft`` names the missing key and the platform that needs it, so a seller who
    only self-checks is not asked for a postal address.
    """

    legal_name: str = option(check=_nonempty)
    email: str = option(check=_email)
    company: str = ""
    address: str = ""
    phone: str = option("", check=_optional(_phone))
    signature: str = ""
    title: str = ""
    role: Literal["owner", "agent"] = "owner"
    rights_owner: str = ""
    authorisation: str = ""
    website: str = option("", check=_optional(lambda v: _urls((v,))))


@dataclass(frozen=True)
class Registration:
    """One registration of a word mark at an office (USPTO, EUIPO, CNIPA, WIPO, ...)."""

    office: str = option(check=_nonempty)
    number: str = option(check=_nonempty)
    classes: tuple[int, ...] = option(check=_classes, expected="a list of integers 1-45")
    jurisdictions: tuple[str, ...] = option(check=_countries)
    registered: dt.date | None = None


@dataclass(frozen=True)
class Mark:
    """A word mark the owner holds, with its spellings in other scripts and its registrations."""

    text: str = option(check=_mark)
    aliases: tuple[str, ...] = option((), check=_marks)
    registrations: tuple[Registration, ...] = ()
    max_edits: int | None = option(
        None, check=lambda v: None if 0 <= v <= 3 else "an integer 0-3 (typo edits allowed)"
    )


@dataclass(frozen=True)
class AssetFolder:
    """A folder registered by ``listingguard assets add`` when it is given no paths."""

    path: Path
    kind: FileKind = "image"
    rights: Rights = "owned"


@dataclass(frozen=True)
class Assets:
    """Asset folders and the limits that keep hostile files from exhausting the machine."""

    folders: tuple[AssetFolder, ...] = ()
    max_image_bytes: int = option(25_000_000, check=_positive)
    max_image_pixels: int = option(50_000_000, check=_positive)
    max_text_bytes: int = option(1_000_000, check=_positive)


@dataclass(frozen=True)
class Catalogue:
    """Column names of the owner's catalogue sheet for ``listingguard assets import``."""

    sku: str = "family"
    name: str = "name"
    price: str = "price"
    currency: str = "currency"
    default_currency: str = option(
        "USD",
        check=lambda v: (
            None if re.fullmatch(r"[A-Z]{3}", v) else 'an ISO 4217 currency code (e.g. "USD")'
        ),
    )
    category: str = "category"
    images: str = "images"
    decimal_separator: Literal[".", ","] = "."
    image_separator: str = option(";", check=_nonempty)
    description: str = "description"
    images_dir: str = "images"


@dataclass(frozen=True)
class Authorised:
    """An authorised seller or licensee: their listings are never reported."""

    name: str = option(check=_nonempty)
    kind: Literal["seller", "licensee"] = "seller"
    marketplaces: tuple[str, ...] = ()
    seller_ids: tuple[str, ...] = ()
    seller_names: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    until: dt.date | None = None


def _count(low: int, high: int) -> Check:
    return lambda v: None if low <= v <= high else f"an integer {low}-{high}"


def _patterns(v: tuple[str, ...]) -> str | None:
    for pattern in v:
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"a list of regular expressions ({pattern!r}: {exc})"
    return None


def _currency(v: str) -> str | None:
    return None if re.fullmatch(r"[A-Z]{3}", v) else 'an ISO 4217 currency code (e.g. "USD")'


@dataclass(frozen=True)
class Marketplace:
    """One marketplace to sweep: where to start, which spider, and how politely.

    ``delay`` and ``concurrency`` left unset take the ``[crawler]`` defaults (polite: 1 s, 2 at
    once per domain); the local demo turns the delay off.
    """

    kind: SpiderKind
    start_urls: tuple[str, ...] = option((), check=_urls)
    enabled: bool = True
    local: bool = False
    schedule: str | None = option(None, check=_cron)
    delay: float | None = option(
        None, check=lambda v: None if 0 <= v <= 3600 else "seconds, from 0 to 3600"
    )
    concurrency: int | None = option(None, check=_count(1, 64))
    max_pages: int = option(20, check=_count(1, 100_000))
    max_listings: int = option(0, check=_count(0, 10_000_000))
    listing_links: tuple[str, ...] = option((), check=_patterns)
    next_page: str | None = None
    query: str = ""
    currency: str | None = option(None, check=_currency)
    selectors: dict[str, str] = dataclasses.field(default_factory=dict)
    platform: str = ""


@dataclass(frozen=True)
class Crawler:
    """Defaults and safety caps for every crawl; hostile sites send endless or huge answers."""

    delay: float = option(1.0, check=lambda v: None if 0 <= v <= 3600 else "seconds, 0-3600")
    concurrency: int = option(2, check=_count(1, 64))
    timeout: float = option(30.0, check=lambda v: None if 1 <= v <= 600 else "seconds, 1-600")
    retries: int = option(3, check=_count(0, 10))
    max_page_bytes: int = option(8_000_000, check=_count(10_000, 1_000_000_000))
    max_image_bytes: int = option(10_000_000, check=_count(1_000, 1_000_000_000))
    max_image_pixels: int = option(50_000_000, check=_count(1_000, 1_000_000_000))
    images_per_listing: int = option(12, check=_count(0, 100))


@dataclass(frozen=True)
class ImageMatching:
    """Image copy detection (matcher.imagematch.ImageThresholds); defaults measured in bench/images.py."""

    correlation: float = option(
        0.77, check=lambda v: None if -1 <= v <= 1 else "a number from -1 to 1"
    )
    slope: float = option(25.0, check=_positive)
    min_inliers: int = option(10, check=lambda v: None if 4 <= v <= 500 else "an integer 4-500")
    min_tiles: int = option(3, check=lambda v: None if 1 <= v <= 16 else "an integer 1-16")
    pdq_distance: int = option(16, check=lambda v: None if 0 <= v <= 128 else "an integer 0-128")
    candidates: int = option(5, check=lambda v: None if 1 <= v <= 50 else "an integer 1-50")


def is_language(code: str) -> bool:
    """A language code wordfreq has word frequencies for (its lists back the common-word veto)."""
    import wordfreq

    return code in wordfreq.available_languages()


def _languages(v: tuple[str, ...]) -> str | None:
    import wordfreq

    known = wordfreq.available_languages()
    if not v or not all(is_language(code) for code in v):
        return f'a list of language codes wordfreq knows (e.g. "en", "de", "zh"): {", ".join(sorted(known))}'
    return None


@dataclass(frozen=True)
class TextMatching:
    """Mark and copy matching (matcher.marks.MarkOptions); defaults measured in bench/text.py."""

    languages: tuple[str, ...] = option(("en",), check=_languages)
    common_word_zipf: float = option(
        3.0, check=lambda v: None if 0 <= v <= 8 else "a Zipf frequency from 0 to 8"
    )


@dataclass(frozen=True)
class Matching:
    """Decision thresholds; scores are calibrated so that 0.5 is the decision point."""

    min_score: float = option(0.5, check=_fraction)
    low_price_ratio: float = option(0.5, check=_fraction)
    image: ImageMatching = ImageMatching()
    text: TextMatching = TextMatching()


@dataclass(frozen=True)
class Schedule:
    """Default cron expressions for sweeps, takedown re-checks and the daily digest."""

    timezone: str = option("UTC", check=_timezone)
    sweep: str = option("0 */6 * * *", check=_cron)
    recheck: str = option("30 6 * * *", check=_cron)
    digest: str = option("0 7 * * *", check=_cron)
    # A run the scheduler could not start within this many seconds of its time (it was down,
    # or another job held the store) is recorded as missed; the next one comes as scheduled.
    misfire_grace: int = option(3600, check=_count(1, 7 * 86_400))


@dataclass(frozen=True)
class EmailAlert:
    """SMTP alerts; the password is read from the environment variable named by password_env."""

    enabled: bool = False
    host: str = ""
    port: int = option(587, check=lambda v: None if 0 < v < 65536 else "a port number 1-65535")
    starttls: bool = True
    username: str = ""
    password_env: EnvVar | None = None
    sender: str = ""
    recipients: tuple[str, ...] = option((), check=_emails)


@dataclass(frozen=True)
class WebhookAlert:
    """A JSON webhook (chat tools); its URL carries a token, so it too comes from the environment."""

    enabled: bool = False
    url_env: EnvVar | None = None


@dataclass(frozen=True)
class Alerts:
    min_severity: Severity = "high"
    email: EmailAlert = EmailAlert()
    webhook: WebhookAlert = WebhookAlert()


@dataclass(frozen=True)
class Takedown:
    """What notices need beyond the owner: where the originals are published, who receives
    notices sent by email, and extra platform definitions."""

    works_url: str = option("", check=_optional(lambda v: _urls((v,))))
    recipients: dict[str, str] = dataclasses.field(default_factory=dict)
    platforms: str = ""


def _regex(v: str) -> str | None:
    if not v:
        return None
    try:
        re.compile(v)
    except re.error as exc:
        return f"a Python regular expression ({exc})"
    return None


@dataclass(frozen=True)
class Columns:
    """Header names of listing sheets for ``listingguard check``, tried in order.

    Names are compared without case, spaces or punctuation ("Image Src" is "imagesrc"), and may
    end in ``*`` or hold ``[0-9]`` (fnmatch): "bulletpoint*" takes bullet_point1..5. The defaults
    read the bulk-upload sheets of Amazon, eBay, Shopify, Walmart, AliExpress and Temu.
    """

    id: tuple[str, ...] = (
        "sku", "itemsku", "sellersku", "skuid", "customlabel", "customlabelsku", "handle",
        "listingid", "productid", "id",
    )  # fmt: skip
    title: tuple[str, ...] = (
        "title", "itemname", "productname", "producttitle", "name", "subject", "itemtitle",
    )  # fmt: skip
    description: tuple[str, ...] = (
        "description", "productdescription", "bodyhtml", "body", "longdescription",
        "itemdescription", "detaileddescription",
    )  # fmt: skip
    bullets: tuple[str, ...] = (
        "bulletpoint*", "bullet[0-9]*", "keyfeature*", "keyproductfeatures*", "feature[0-9]*",
        "highlights", "sellingpoint*",
    )  # fmt: skip
    brand: tuple[str, ...] = ("brand", "brandname", "cbrand", "vendor", "manufacturer")
    images: tuple[str, ...] = (
        "images", "image", "imagesrc", "imageurl*", "mainimageurl", "otherimageurl*",
        "image[0-9]*", "picurl", "pictureurl*", "photo", "photos", "photourl*", "mainimage",
        "additionalimage*", "variantimage",
    )  # fmt: skip
    platform: tuple[str, ...] = ("platform", "marketplace", "channel")
    territory: tuple[str, ...] = ("territory", "territories", "country", "sitecountry", "shipto")
    separator: str = option(";", check=_nonempty)  # between images in one cell ("|" always too)


@dataclass(frozen=True)
class ListingRule:
    """One platform listing rule of config.toml, as in matcher/data/listing-rules.toml."""

    id: str = option(check=_nonempty)
    reason: str = option(check=_nonempty)
    field: Literal["title", "bullets", "description", "any"] = "any"
    severity: Literal["block", "warn", "info"] = "warn"
    phrases: tuple[str, ...] = ()
    pattern: str = option("", check=_regex)


@dataclass(frozen=True)
class PlatformRules:
    """A platform's title length and extra rules; a user's table adds to the bundled one."""

    title_max: int | None = option(None, check=lambda v: None if v > 0 else "a positive integer")
    rules: tuple[ListingRule, ...] = ()


@dataclass(frozen=True)
class SelfCheck:
    """``listingguard check``: where the listings will be sold, which brands are someone else's,
    and how listing sheets are read."""

    platform: str = ""  # listings without a platform column are checked against its rules
    territories: tuple[str, ...] = option((), check=lambda v: _countries(v) if v else None)
    known_brands: bool = True  # the bundled list of widely known brands
    extra_brands: tuple[str, ...] = option((), check=_marks)
    ignore_brands: tuple[str, ...] = ()
    ignore_categories: tuple[str, ...] = ()
    banned_terms: tuple[str, ...] = ()
    copied_share_block: float = option(0.5, check=_fraction)
    columns: Columns = Columns()
    rules: dict[str, PlatformRules] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``path`` is the file it came from (errors and relative paths)."""

    owner: Owner
    workspace: Workspace = Workspace()
    marks: tuple[Mark, ...] = ()
    assets: Assets = Assets()
    catalogue: Catalogue = Catalogue()
    authorised: tuple[Authorised, ...] = ()
    marketplaces: dict[str, Marketplace] = dataclasses.field(default_factory=dict)
    crawler: Crawler = Crawler()
    matching: Matching = Matching()
    schedule: Schedule = Schedule()
    alerts: Alerts = Alerts()
    takedown: Takedown = Takedown()
    selfcheck: SelfCheck = SelfCheck()
    path: Path = dataclasses.field(default=DEFAULT_CONFIG, init=False, compare=False)

    def secret(self, env_name: EnvVar | None, key: str) -> str:
        """The secret that the environment variable named at ``key`` holds; a ConfigError if unset."""
        if env_name is None:
            raise ConfigError(str(self.path), [f"{key}: required key is missing"])
        value = os.environ.get(env_name)
        if not value:
            raise ConfigError(
                str(self.path), [f"{key}: environment variable {env_name} is not set"]
            )
        return value


def _relative_paths(config: Config, base: Path) -> Config:
    """Workspace paths that the dataclass defaults left relative are made relative to the file."""
    ws = config.workspace
    fixed = {
        f.name: getattr(ws, f.name)
        if getattr(ws, f.name).is_absolute()
        else base / getattr(ws, f.name)
        for f in dataclasses.fields(ws)
    }
    return dataclasses.replace(config, workspace=Workspace(**fixed))


def _cross_checks(config: Config) -> list[str]:
    """Rules that involve several keys at once."""
    problems = []
    email = config.alerts.email
    if email.enabled:
        for key in ("host", "sender", "recipients", "password_env"):
            if not getattr(email, key):
                problems.append(f"alerts.email.{key}: required when alerts.email.enabled = true")
        if email.sender and not _EMAIL.fullmatch(email.sender):
            problems.append(f'alerts.email.sender: expected an email address, got "{email.sender}"')
    if config.alerts.webhook.enabled and not config.alerts.webhook.url_env:
        problems.append("alerts.webhook.url_env: required when alerts.webhook.enabled = true")
    for i, a in enumerate(config.authorised):
        if not (a.seller_ids or a.seller_names or a.domains):
            problems.append(
                f"authorised[{i}]: name at least one of seller_ids, seller_names or domains"
            )
    problems += _marketplace_checks(config)
    for name, address in config.takedown.recipients.items():
        if not _EMAIL.fullmatch(address):
            problems.append(
                f'takedown.recipients.{name}: expected an email address, got "{address[:60]}"'
            )
    problems += _selfcheck_checks(config)
    seen: dict[str, int] = {}
    for i, m in enumerate(config.marks):
        key = mark_identity(m.text)
        if key in seen:
            problems.append(f"marks[{i}].text: {m.text!r} is already marks[{seen[key]}]")
        seen.setdefault(key, i)
    return problems


def _selfcheck_checks(config: Config) -> list[str]:
    """Categories of the brand list that exist, rules that can fire."""
    from matcher.brands import categories

    sc = config.selfcheck
    problems = [
        f'selfcheck.ignore_categories: "{c}" is not a category of the brand list '
        f"(one of {', '.join(sorted(categories()))})"
        for c in sc.ignore_categories
        if c not in categories()
    ]
    for name, table in sc.rules.items():
        for i, rule in enumerate(table.rules):
            key = f"selfcheck.rules.{name}.rules[{i}]"
            if bool(rule.phrases) == bool(rule.pattern):
                problems.append(f"{key}: give either phrases or pattern (one of them)")
    return problems


def _marketplace_checks(config: Config) -> list[str]:
    """Keys a spider kind needs, and selectors that would fail on the first page."""
    from crawler.extract.selectors import validate

    problems = []
    for name, m in config.marketplaces.items():
        key = f"marketplaces.{name}"
        if m.enabled and not m.start_urls:
            problems.append(f"{key}.start_urls: required when the marketplace is enabled")
        if m.kind == "selectors":
            if not m.selectors:
                problems.append(f'{key}.selectors: required for kind = "selectors"')
            problems += [f"{key}.selectors.{p}" for p in validate(m.selectors)]
        elif m.selectors:
            problems.append(f'{key}.selectors: only used by kind = "selectors"')
    return problems


def parse(text: str, path: Path) -> Config:
    """Parse config text; ``path`` names the file in errors and anchors relative paths."""
    name = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if where:
            message = message[: where.start()].strip()
            raise ConfigError(
                name, [f"line {where[1]}, column {where[2]}: TOML syntax error: {message}"]
            ) from None
        message = message.replace("(at end of document)", "").strip()
        last = text.count("\n") + (0 if text.endswith("\n") else 1)
        raise ConfigError(
            name, [f"line {max(last, 1)} (end of file): TOML syntax error: {message}"]
        ) from None
    except RecursionError:
        raise ConfigError(name, ["TOML syntax error: values nested too deeply"]) from None
    base = path.parent.resolve()
    loader = Loader(base)
    config = loader.load(Config, data)
    if config is not None:
        loader.problems += _cross_checks(config)
    if loader.problems or config is None:
        raise ConfigError(name, loader.problems)
    config = _relative_paths(config, base)
    object.__setattr__(config, "path", path)
    return config


def load(path: Path | str = DEFAULT_CONFIG) -> Config:
    """Read and validate a config file; every problem is reported at once in a ConfigError."""
    path = Path(path)
    try:
        raw = read_regular(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError(
            str(path),
            ["no such file; create one with 'listingguard init', or pass --config PATH"],
        ) from None
    except FileRefused as exc:
        raise ConfigError(str(path), [str(exc)]) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            str(path), [f"line {line}: not UTF-8 text (TOML files are UTF-8)"]
        ) from None
    return parse(text, path)


def as_dict(config: Config) -> dict[str, Any]:
    """The configuration as plain data (paths as strings), for ``--json`` output."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config)) | {"path": str(config.path)}
