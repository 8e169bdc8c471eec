"""The HTML of an evidence pack: listing text with the match marked, the summary, its PDF.

Scraped text is hostile. It reaches the HTML only as variables of autoescaped templates (never
as template source, so ``{{ 7*7 }}`` in a title stays as written), invisible characters are shown
as their code points (a zero-width space inside a mark is the disguise a reviewer must see),
and the templates' Content-Security-Policy lets no script run and nothing load: thumbnails are
embedded as ``data:`` URIs, so the summary is one self-contained file.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from PIL import Image

from takedown.sidebyside import to_jpeg

RENDERERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 90
EXCERPT = 160  # characters of listing text the summary shows on each side of a match
HIDDEN = ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")  # Unicode categories shown as code points

Span = tuple[int, int, str]  # start, end (character offsets), class: "mark", "copy", "signal"
Segment = dict[str, Any]  # {"cls": class or None, "parts": [{"text", "code"}]}


def visible(text: str) -> list[dict[str, Any]]:
    """``text`` in parts; an invisible or control character is a part of its own, ``code`` set
    and its text the code point (``U+200B``). Newlines and tabs stay as they are."""
    parts: list[dict[str, Any]] = []
    for ch in text:
        hidden = ch not in "\n\t" and unicodedata.category(ch) in HIDDEN
        if hidden:
            parts.append({"text": f"U+{ord(ch):04X}", "code": True})
        elif parts and not parts[-1]["code"]:
            parts[-1]["text"] += ch
        else:
            parts.append({"text": ch, "code": False})
    return parts


def highlight(text: str, spans: list[Span]) -> list[Segment]:
    """``text`` cut into segments, those inside a span carrying its class; where spans overlap
    the one that starts first wins. Spans are character offsets, as the text matchers give."""
    cuts: list[Span] = []
    end = 0
    for start, stop, cls in sorted(spans):
        start, stop = max(start, end, 0), min(stop, len(text))
        if stop > start:
            cuts.append((start, stop, cls))
            end = stop
    out: list[Segment] = []
    pos = 0
    for start, stop, cls in cuts:
        if start > pos:
            out.append({"cls": None, "parts": visible(text[pos:start])})
        out.append({"cls": cls, "parts": visible(text[start:stop])})
        pos = stop
    if pos < len(text):
        out.append({"cls": None, "parts": visible(text[pos:])})
    return out


def text_spans(kind: str, detail: dict[str, Any]) -> list[Span]:
    """Where a text finding sits in the listing text: the mark (``detail["span"]``) or the copied
    sentences, and any signal with a place of its own (look-alike letters)."""
    spans: list[Span] = []
    if kind == "text_copy":
        spans += [(s["span"][0], s["span"][1], "copy") for s in detail.get("sentences", [])]
    elif isinstance(detail.get("span"), list):
        spans.append((detail["span"][0], detail["span"][1], "mark"))
    for s in detail.get("signals", []):
        if isinstance(s, dict) and isinstance(s.get("span"), list):
            spans.append((s["span"][0], s["span"][1], "signal"))
    return [(int(a), int(b), c) for a, b, c in spans]


def excerpt(text: str, spans: list[Span], radius: int = EXCERPT) -> list[Segment]:
    """The window of ``text`` around its first match (not a signal), marked; for the summary."""
    main = [s for s in spans if s[2] != "signal"] or spans
    if not main:
        return highlight(text[: 2 * radius], [])
    first = min(main)
    start = max(0, first[0] - radius)
    stop = min(len(text), max(first[1], first[0]) + radius)
    shifted = [(a - start, b - start, c) for a, b, c in spans if a < stop and b > start]
    segments = highlight(text[start:stop], shifted)
    if start:
        segments.insert(0, {"cls": None, "parts": [{"text": "… ", "code": False}]})
    if stop < len(text):
        segments.append({"cls": None, "parts": [{"text": " …", "code": False}]})
    return segments


@functools.cache
def environment(loader: BaseLoader | None = None) -> SandboxedEnvironment:
    """The pack templates (``takedown/templates/pack-*.j2``, ``summary*.j2``), or those of
    ``loader`` (the glue's HTML reports): autoescaped HTML, a missing variable an error,
    sandboxed like the notice templates."""
    return SandboxedEnvironment(
        loader=loader or PackageLoader("takedown", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> bytes:
    return environment().get_template(template).render(**context).encode("utf-8")


def data_uri(jpeg: bytes, max_side: int = 480) -> str:
    """A thumbnail of a JPEG as a ``data:`` URI, so the summary needs no other file."""
    with Image.open(io.BytesIO(jpeg)) as im:
        small = to_jpeg(im, quality=80, max_side=max_side)
    return "data:image/jpeg;base64," + base64.b64encode(small).decode("ascii")


def find_renderer() -> str | None:
    """A browser that can print HTML to PDF, if one is on PATH."""
    return next((p for name in RENDERERS if (p := shutil.which(name))), None)


def print_pdf(html: bytes, browser: str) -> tuple[bytes | None, str]:
    """The HTML printed to PDF by a headless browser: (PDF, "") or (None, why not).

    The page is opened from a private temporary folder with a profile of its own; it holds no
    script and loads nothing, as its Content-Security-Policy says.
    """
    name = Path(browser).name
    with tempfile.TemporaryDirectory(prefix="lg-pdf-") as tmp:
        page, pdf = Path(tmp) / "summary.html", Path(tmp) / "summary.pdf"
        page.write_bytes(html)
        args = [
            browser, "--headless", "--disable-gpu", "--disable-extensions", "--no-first-run",
            "--no-pdf-header-footer", f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium will not start as root with its sandbox
        try:
            proc = subprocess.run(
                args, capture_output=True, timeout=PDF_TIMEOUT_S, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"{name} could not print the summary ({type(exc).__name__})"
        data = pdf.read_bytes() if pdf.is_file() else b""
    if not data.startswith(b"%PDF-"):
        return None, f"{name} made no PDF (exit code {proc.returncode})"
    return data, ""
