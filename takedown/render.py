"""Render a notice for its channel: labelled text for web forms, an RFC 5322 message for email
channels, CSV for bulk sheets.

Templates and field expressions are data (``takedown/templates``, the platform files), compiled
by a sandboxed Jinja2 environment with StrictUndefined, so a misspelt field is an error rather
than a blank line in a legal notice. Scraped strings only ever arrive as variables: Jinja never
compiles them, so a listing titled ``{{ 7*7 }}`` is printed as written. CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import mimetypes
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from takedown.clock import describe
from takedown.model import Notice
from takedown.platforms import FormField, Platform

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def environment(extra: Path | None = None) -> SandboxedEnvironment:
    """Our templates, with a user's folder (beside its platform definitions) searched first."""
    loaders: list[Any] = [FileSystemLoader(str(extra))] if extra else []
    loaders.append(PackageLoader("takedown", "templates"))
    return SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def context(notice: Notice, platform: Platform) -> dict[str, Any]:
    """What templates and field expressions see."""
    basis = platform.bases[notice.basis]
    return {
        "notice": notice,
        "platform": platform,
        "basis": notice.basis,
        "basis_label": basis.label,
        "reporter": notice.reporter,
        "rights": notice.rights,
        "right": notice.rights[0],
        "targets": notice.targets,
        "date": notice.date.isoformat(),
        "counter": describe(clock) if (clock := platform.clock(notice.basis)) else "",
    }


def _value(env: SandboxedEnvironment, expression: str, ctx: dict[str, Any]) -> str:
    return env.from_string(expression).render(ctx).strip()


def _applies(f: FormField, notice: Notice) -> bool:
    return not f.bases or notice.basis in f.bases


def _full_context(env: SandboxedEnvironment, notice: Notice, platform: Platform) -> dict[str, Any]:
    """``context`` with the platform's statements rendered in it (fields quote them)."""
    ctx = context(notice, platform)
    ctx["statement"] = {k: _value(env, v, ctx) for k, v in platform.statements.items()}
    return ctx


def fields(
    env: SandboxedEnvironment,
    notice: Notice,
    which: tuple[FormField, ...],
    ctx: dict[str, Any],
) -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    """The notice's fields, then each target's, as (label, value) pairs in form order."""
    head = [
        (f.label, _value(env, f.value, ctx))
        for f in which
        if f.scope == "notice" and _applies(f, notice)
    ]
    per_target = []
    for i, target in enumerate(notice.targets, 1):
        tctx = {**ctx, "target": target, "index": i}
        per_target.append(
            [
                (f.label, _value(env, f.value, tctx))
                for f in which
                if f.scope == "target" and _applies(f, notice)
            ]
        )
    return head, per_target


def text(notice: Notice, platform: Platform, env: SandboxedEnvironment | None = None) -> str:
    """The notice as text: the platform's letter, or its web form labelled field by field."""
    env = env or environment()
    ctx = _full_context(env, notice, platform)
    ctx["head"], ctx["per_target"] = fields(env, notice, platform.fields, ctx)
    return env.get_template(platform.template).render(ctx)


def subject(notice: Notice, platform: Platform, env: SandboxedEnvironment | None = None) -> str:
    env = env or environment()
    expression = (
        platform.subject
        or "{{ platform.title }}: {{ basis_label }} ({{ reporter.company or reporter.name }})"
    )
    line = _value(env, expression, context(notice, platform))
    if notice.parts > 1:
        line += f" [{notice.part}/{notice.parts}]"
    return " ".join(line.split())


def eml(
    notice: Notice,
    platform: Platform,
    pack: Path | None,
    env: SandboxedEnvironment | None = None,
) -> bytes:
    """An RFC 5322 message (standard library), the evidence pack attached, ready to send from
    the reporter's own mail client: listingguard never sends it."""
    env = env or environment()
    msg = EmailMessage()
    reporter = notice.reporter
    msg["From"] = f"{reporter.name} <{reporter.email}>" if reporter.name else reporter.email
    if notice.recipient or platform.to:  # a form platform's notice kept as mail has no To
        msg["To"] = notice.recipient or platform.to
    msg["Subject"] = subject(notice, platform, env)
    msg["Date"] = format_datetime(dt.datetime.combine(notice.date, dt.time(9, 0), tzinfo=dt.UTC))
    domain = reporter.email.rpartition("@")[2] or "listingguard.invalid"
    msg["Message-ID"] = make_msgid("listingguard", domain=domain)
    msg["X-Listingguard-Platform"] = platform.name
    msg.set_content(text(notice, platform, env))
    if pack is not None:
        kind, _ = mimetypes.guess_type(pack.name)
        maintype, _, subtype = (kind or "application/zip").partition("/")
        msg.add_attachment(
            pack.read_bytes(), maintype=maintype, subtype=subtype, filename=pack.name
        )
    return msg.as_bytes()


def _cell(value: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula: scraped text must not."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_text(notice: Notice, platform: Platform, env: SandboxedEnvironment | None = None) -> str:
    """One row per listing for the platform's bulk sheet; notice-wide columns repeat per row."""
    env = env or environment()
    head, per_target = fields(
        env, notice, platform.csv_columns, _full_context(env, notice, platform)
    )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    labels = [label for label, _ in head] + [label for label, _ in (per_target or [[]])[0]]
    writer.writerow(labels)
    for row in per_target:
        writer.writerow([_cell(v) for _, v in head] + [_cell(v) for _, v in row])
    return buf.getvalue()
