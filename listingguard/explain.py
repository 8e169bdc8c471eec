"""One human-readable explanation of a match, for the terminal, the findings table and reports.

A reviewer decides from the explanation whether to confirm a finding, so it says what was seen:
how a mark was disguised, which phrase made it a mention, which signals raised it, or how an
image was aligned with the owner's photo.
"""

from __future__ import annotations

from typing import Any


def copied(detail: dict[str, Any]) -> str:
    return f"{len(detail.get('sentences', []))} sentences copied"


def text_reasons(match: dict[str, Any]) -> list[str]:
    """Why a text match was made, in short phrases: the disguise, the mention phrase, the
    signals and the severity."""
    d = match["detail"]
    reasons = [", ".join(d.get("disguise", [])) or ("exact" if match["kind"] != "copy" else "")]
    if d.get("mention"):
        reasons.append(f"after {d['mention']['phrase']!r}")
    for s in d.get("signals", []):
        reasons.append(s["signal"] + (f" {s['phrase']!r}" if "phrase" in s else ""))
    if d.get("severity"):
        reasons.append(f"severity {d['severity']}")
    return [r for r in reasons if r]


def image_evidence(detail: dict[str, Any]) -> str:
    """How a listing image was found to copy an owned photo."""
    if detail.get("basis") == "aligned":
        how = f"{detail['inliers']} inliers, correlation {detail['correlation']}"
        return how + (", mirrored" if detail.get("mirrored") else "")
    return f"PDQ distance {detail.get('pdq_distance')}"


def text_finding(match: dict[str, Any]) -> str:
    """One line for a text finding: what was matched and why."""
    d = match["detail"]
    if match["kind"] == "copy":
        return f"copies the text of {match['asset']}: {copied(d)}"
    shown = d.get("matched", "")
    return f"uses the mark {match['asset']} as {shown!r}: " + "; ".join(text_reasons(match))


def image_finding(match: dict[str, Any]) -> str:
    return f"copies the photo {match['asset']}: {image_evidence(match['detail'])}"
