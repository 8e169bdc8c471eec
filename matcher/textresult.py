"""The one result type of text matching: which asset a text uses, how, where, and how sure.

Mark detection (``matcher.marks``) and copy detection (``matcher.copytext``) both answer with
``TextMatch``; ``score`` is calibrated so that 0.5 is the decision threshold for every kind, and
``span`` is a half-open range of character offsets into the text as it was given (before any
normalisation), so evidence can quote exactly what the listing shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TextKind = Literal["trademark", "mention", "copy"]
TEXT_KINDS: tuple[TextKind, ...] = ("trademark", "mention", "copy")


@dataclass(frozen=True)
class TextMatch:
    """One use of an owned asset in a text.

    ``asset`` is the asset's name (a mark's text, a copy asset's name) and ``asset_id`` its id
    in the store when the caller knows it. ``detail`` explains the decision in plain data: how a
    mark was disguised, the context words, the copied sentences, the thresholds that applied.
    The fields are fixed once made; ``detail`` is a plain dict that the matcher that made the
    match may still add to (signals known only later, such as the seller's name) before it
    returns it.
    """

    asset: str
    kind: TextKind
    score: float
    span: tuple[int, int]
    detail: dict[str, Any] = field(default_factory=dict)
    asset_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TEXT_KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {TEXT_KINDS}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score!r} is outside 0..1")
        start, end = self.span
        if not 0 <= start <= end:
            raise ValueError(f"span {self.span!r} is not a range of offsets")

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of ``listingguard match text --json``."""
        out: dict[str, Any] = {
            "asset": self.asset,
            "kind": self.kind,
            "score": round(self.score, 4),
            "span": [self.span[0], self.span[1]],
            "detail": self.detail,
        }
        if self.asset_id is not None:
            out["asset_id"] = self.asset_id
        return out
