"""Platform definitions: what each platform's complaint channel takes, as data files.

A platform changes its form more often than we release, and a brand team may need one we do
not ship, so the facts (legal bases, required fields, listings per notice, channel, labels,
reason codes, counter-notice clocks, sources) live in ``takedown/platforms/*.toml``, and a
user's own folder (``takedown.platforms`` in config.toml) may add or override files. Field
values are short Jinja expressions written by us or the user, never by a scraped page.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

Channel = Literal["form", "email", "csv"]
_PARSER = SandboxedEnvironment()
BASES = ("trademark", "copyright", "design")
FORMATS = ("text", "eml", "csv")
RESPONSE_KINDS = ("dmca-counter", "appeal", "declaration")


class PlatformError(Exception):
    """A platform definition is unusable; names the file and the key."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {p}" for p in problems))


@dataclass(frozen=True)
class FormField:
    """One field of the platform's form: its label there and the expression that fills it.
    ``scope = "target"`` fields repeat for each listing."""

    label: str
    value: str
    scope: Literal["notice", "target"] = "notice"
    bases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Basis:
    """How a platform takes one legal basis: reason codes by location, accepted offices."""

    label: str
    reason_codes: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    offices: tuple[str, ...] = ()
    registration_pattern: str = ""
    counter: Clock | None = None


@dataclass(frozen=True)
class Clock:
    """A counter-notice or response window: who must act, within how many (business) days."""

    days: int
    business: bool
    party: Literal["respondent", "complainant"]
    rule: str
    max_days: int = 0
    source: str = ""


@dataclass(frozen=True)
class Response:
    """What the seller side files when its own listing is reported: a DMCA counter-notice, an
    appeal, or a declaration of non-infringement, within a window."""

    kind: Literal["dmca-counter", "appeal", "declaration"]
    template: str
    days: int = 0
    business: bool = False
    how: str = ""


@dataclass(frozen=True)
class Platform:
    name: str
    title: str
    operator: str
    channel: Channel
    url: str
    limit: int
    bases: dict[str, Basis]
    required: tuple[str, ...]
    fields: tuple[FormField, ...]
    csv_columns: tuple[FormField, ...]
    sources: tuple[str, ...]
    to: str = ""
    subject: str = ""
    template: str = "form.txt.j2"
    languages: tuple[str, ...] = ("en",)
    marketplace_kinds: tuple[str, ...] = ()
    required_for_agent: tuple[str, ...] = ()
    statements: dict[str, str] = field(default_factory=dict)
    counter: Clock | None = None
    response: Response | None = None
    notes: str = ""
    target_url: str = ""
    path: str = ""

    def clock(self, basis: str) -> Clock | None:
        """The counter-notice clock for a basis: its own (Amazon and Etsy take counter-notices
        on copyright only), else the platform's."""
        b = self.bases.get(basis)
        return (b.counter if b else None) or self.counter

    def required_for(self, basis: str, role: str) -> tuple[str, ...]:
        """Every path a notice on ``basis`` must fill, for an owner or an agent."""
        extra = self.required_for_agent if role == "agent" else ()
        return self.required + self.bases[basis].required + extra


def _get(data: dict[str, Any], key: str, kind: type, problems: list[str], default: Any = None):
    value = data.get(key, default)
    if value is None:
        problems.append(f"{key}: required key is missing")
        return kind()
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{key}: expected a list of strings")
            return ()
        return tuple(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        problems.append(f"{key}: expected {kind.__name__}, got {value!r}")
        return kind()
    return value


def _fields(items: Any, key: str, problems: list[str]) -> tuple[FormField, ...]:
    if not isinstance(items, list):
        problems.append(f"{key}: expected an array of tables")
        return ()
    out = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict) or not {"label", "value"} <= item.keys():
            problems.append(f"{where}: needs label and value")
            continue
        unknown = item.keys() - {"label", "value", "scope", "bases"}
        if unknown:
            problems.append(f"{where}.{sorted(unknown)[0]}: unknown key")
        scope = item.get("scope", "notice")
        if scope not in ("notice", "target"):
            problems.append(f'{where}.scope: expected "notice" or "target"')
        out.append(FormField(item["label"], item["value"], scope, tuple(item.get("bases", ()))))
    return tuple(out)


def _clock(c: Any, key: str, problems: list[str]) -> Clock | None:
    if c is None:
        return None
    try:
        clock = Clock(
            days=int(c["days"]),
            business=bool(c["business"]),
            party=c["party"],
            rule=c["rule"],
            max_days=int(c.get("max_days", 0)),
            source=c.get("source", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(f"{key}: needs days, business, party and rule ({exc})")
        return None
    if clock.party not in ("respondent", "complainant"):
        problems.append(f'{key}.party: expected "respondent" or "complainant"')
    if clock.days < 0 or clock.max_days < 0:
        problems.append(f"{key}.days: expected a number of days, 0 or more")
    return clock


def parse(data: dict[str, Any], path: str) -> Platform:
    """A Platform from a definition's TOML data; every problem is named by key."""
    p: list[str] = []
    channel = data.get("channel", {})
    if not isinstance(channel, dict):
        raise PlatformError(path, ["channel: expected a table"])
    kind = channel.get("kind")
    if kind not in ("form", "email", "csv"):
        p.append('channel.kind: expected "form", "email" or "csv"')
    bases: dict[str, Basis] = {}
    for name, b in (data.get("bases") or {}).items():
        if name not in BASES:
            p.append(f"bases.{name}: expected one of {', '.join(BASES)}")
            continue
        bases[name] = Basis(
            counter=_clock(b.get("counter"), f"bases.{name}.counter", p),
            label=b.get("label", name),
            reason_codes=dict(b.get("reason_codes", {})),
            required=tuple(b.get("required", ())),
            offices=tuple(b.get("offices", ())),
            registration_pattern=b.get("registration_pattern", ""),
        )
    if not bases:
        p.append("bases: at least one legal basis is required")
    limit = data.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        p.append("limit: expected a positive integer (listings per notice)")
    counter = _clock(data.get("counter"), "counter", p)
    response = None
    if "response" in data:
        r = data["response"]
        try:
            response = Response(
                kind=r["kind"],
                template=r["template"],
                days=int(r.get("days", 0)),
                business=bool(r.get("business", False)),
                how=r.get("how", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            p.append(f"response: needs kind and template ({exc})")
        if response is not None and response.kind not in RESPONSE_KINDS:
            p.append(f"response.kind: expected one of {', '.join(RESPONSE_KINDS)}")
    csv = data.get("csv", {})
    platform = Platform(
        name=_get(data, "name", str, p),
        title=_get(data, "title", str, p),
        operator=_get(data, "operator", str, p),
        channel=kind or "form",
        url=channel.get("url", ""),
        to=channel.get("to", ""),
        subject=channel.get("subject", ""),
        limit=limit if isinstance(limit, int) else 1,
        bases=bases,
        required=_get(data, "required", tuple, p),
        required_for_agent=_get(data, "required_for_agent", tuple, p, ()),
        fields=_fields(data.get("fields", []), "fields", p),
        csv_columns=_fields(csv.get("columns", []), "csv.columns", p),
        sources=_get(data, "sources", tuple, p),
        template=data.get("template", "form.txt.j2"),
        languages=_get(data, "languages", tuple, p, ["en"]),
        marketplace_kinds=_get(data, "marketplace_kinds", tuple, p, ()),
        statements=dict(data.get("statements", {})),
        counter=counter,
        response=response,
        notes=data.get("notes", ""),
        target_url=data.get("target_url", ""),
        path=path,
    )
    if platform.target_url:
        try:
            re.compile(platform.target_url)
        except re.error as exc:
            p.append(f"target_url: not a regular expression ({exc})")
    for key, items in (("fields", platform.fields), ("csv.columns", platform.csv_columns)):
        for i, f in enumerate(items):
            try:
                _PARSER.parse(f.value)
            except TemplateSyntaxError as exc:
                p.append(f"{key}[{i}].value: not a valid expression ({exc.message})")
    for name, text in platform.statements.items():
        try:
            _PARSER.parse(text)
        except TemplateSyntaxError as exc:
            p.append(f"statements.{name}: not a valid expression ({exc.message})")
    if platform.template == "form.txt.j2" and not platform.fields:
        p.append("fields: a form platform needs its fields (or a template of its own)")
    if not platform.csv_columns:
        p.append("csv.columns: every platform lists its bulk-sheet columns")
    if p:
        raise PlatformError(path, p)
    return platform


def _load_file(path: Path | Any) -> Platform:
    name = str(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PlatformError(name, [f"cannot read: {exc}"]) from None
    platform = parse(data, name)
    stem = path.name.removesuffix(".toml")
    if platform.name != stem:
        raise PlatformError(name, [f"name: {platform.name!r} must match the file name {stem!r}"])
    return platform


def bundled_dir() -> Any:
    return resources.files("takedown") / "platforms"


def load_all(extra: Path | None = None) -> dict[str, Platform]:
    """The bundled definitions, then the user's folder (a file there replaces ours)."""
    found = {}
    for entry in sorted(bundled_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = _load_file(entry)
    if extra is not None:
        if not extra.is_dir():
            raise PlatformError(str(extra), ["takedown.platforms: not a folder"])
        for entry in sorted(extra.glob("*.toml")):
            found[entry.stem] = _load_file(entry)
    templates = resources.files("takedown") / "templates"
    for p in found.values():
        for key, name in (
            ("template", p.template),
            ("response.template", p.response and p.response.template),
        ):
            if (
                name
                and not (templates / name).is_file()
                and not (extra and (extra / name).is_file())
            ):
                raise PlatformError(p.path, [f"{key}: no template {name!r} (bundled or beside it)"])
    return found
