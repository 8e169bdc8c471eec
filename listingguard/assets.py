"""The asset registry: what the owner holds (marks, photos, copy, logos), validated and keyed by SHA-256.

Files are identified by content, so registering a file twice (or under another name) changes
nothing. Every file gets an outcome — added, already registered, refused with a one-line reason,
or skipped — and one bad file never stops the others.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database

from listingguard import imaging, store
from listingguard.config import Assets, Config
from listingguard.files import FileRefused, read_regular
from matcher.textfile import TextRejected, check_mark, decode_text, mark_identity

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
)
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md"})
VALIDATION_SIDE = (
    512  # decoding at this size proves the whole file decodes, at a fraction of the cost
)

DEFAULT_LIMITS = Assets()

Status = Literal["added", "exists", "refused", "skipped"]


@dataclass(frozen=True)
class Licence:
    """Terms of a licensed asset: who granted it, where and on which platforms, until when."""

    licensor: str
    territories: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    expires: str | None = None  # ISO date

    def columns(self) -> dict[str, Any]:
        return {
            "licensor": self.licensor,
            "territories": list(self.territories),
            "platforms": list(self.platforms),
            "licence_expires": self.expires,
        }


@dataclass
class Outcome:
    """What happened to one input: a file path or a mark's text."""

    item: str
    status: Status
    reason: str = ""
    asset_id: int | None = None
    sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {"item": self.item, "status": self.status, "asset_id": self.asset_id}
        if self.sha256:
            out["sha256"] = self.sha256
        if self.reason:
            out["reason"] = self.reason
        return out | self.extra


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mark_key(text: str) -> str:
    """The SHA-256 that identifies a word mark: "Luma" and "LUMA" are one mark."""
    return sha256_bytes(mark_identity(text).encode("utf-8"))


def shown(path: Path | str) -> str:
    """A path as text that can be stored and printed: undecodable bytes of a file name as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def text_key(text: str) -> str:
    """The SHA-256 that identifies a copy text, ignoring trailing white space and line endings."""
    return sha256_bytes("\n".join(ln.rstrip() for ln in text.strip().splitlines()).encode("utf-8"))


def walk(paths: Iterable[Path], suffixes: frozenset[str]) -> Iterator[Outcome | Path]:
    """Files under ``paths``: a Path for each candidate, an Outcome for what cannot be read.

    Files named explicitly are always tried; inside folders only files with one of ``suffixes``
    are (a README beside the photos is skipped, not refused). Hidden files and folders are
    skipped. Symbolic links are followed, but each real folder is visited once, so a link that
    points back up the tree cannot loop.
    """
    seen_dirs: set[str] = set()
    for top in paths:
        try:
            mode = top.stat().st_mode
        except OSError as exc:
            yield _unreadable(top, exc)
            continue
        if not stat.S_ISDIR(mode):
            yield top
        else:
            errors: list[OSError] = []
            for root, dirs, files in os.walk(top, followlinks=True, onerror=errors.append):
                while errors:
                    yield _unreadable(Path(errors[0].filename or root), errors.pop(0))
                real = os.path.realpath(root)
                if real in seen_dirs:
                    dirs[:] = []
                    continue
                seen_dirs.add(real)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    path = Path(root) / name
                    if name.startswith("."):
                        continue
                    if path.suffix.lower() not in suffixes:
                        yield Outcome(shown(path), "skipped", "not an asset file by its name")
                        continue
                    yield path
            while errors:
                yield _unreadable(Path(errors[0].filename or top), errors.pop(0))


def _unreadable(path: Path, exc: OSError) -> Outcome:
    if exc.errno == errno.ELOOP:
        return Outcome(shown(path), "refused", "symbolic link loop")
    if exc.errno == errno.ENOENT:
        reason = "broken symbolic link" if path.is_symlink() else "no such file or folder"
        return Outcome(shown(path), "refused", reason)
    return Outcome(shown(path), "refused", f"cannot read: {exc.strerror or exc}")


def register_files(
    db: Database,
    paths: Iterable[Path],
    *,
    kind: Literal["image", "copy", "logo"],
    rights: str = "owned",
    limits: Assets = DEFAULT_LIMITS,
    name: str | None = None,
    licence: Licence | None = None,
    product_id: int | None = None,
    source: str = "cli",
    executor: Executor | None = None,
) -> Iterator[Outcome]:
    """Register image, logo or copy files (folders recursively); yields one Outcome per file, in order.

    Images are decoded and fingerprinted by ``executor`` (a process pool) when one is given;
    the store is written here, one committed file at a time, so an interrupted run keeps what
    it registered.
    """
    fields = {"kind": kind, "rights": rights, "product_id": product_id, "source": source}
    if licence:
        fields.update(licence.columns())
    suffixes = TEXT_SUFFIXES if kind == "copy" else IMAGE_SUFFIXES
    jobs = (
        (entry,) if isinstance(entry, Outcome) else _start(db, entry, kind, limits, executor)
        for entry in walk(paths, suffixes)
    )
    yield from imaging.in_order(
        jobs, lambda *job: _finish(db, job, name=name, fields=fields), executor
    )


def _start(
    db: Database, path: Path, kind: str, limits: Assets, executor: Executor | None
) -> tuple[Any, ...]:
    """Read and hash a file: ``(outcome,)`` when that settles it, else
    ``(path, what, sha256, result)`` with the result possibly still running in the pool."""
    max_bytes = limits.max_text_bytes if kind == "copy" else limits.max_image_bytes
    try:
        data = read_regular(path, max_bytes)
    except OSError as exc:
        return (_unreadable(path, exc),)
    except FileRefused as exc:
        return (Outcome(shown(path), "refused", str(exc)),)
    if kind == "copy":
        try:
            text = decode_text(data, max_bytes=max_bytes)
        except TextRejected as exc:
            return (Outcome(shown(path), "refused", exc.reason),)
        return (path, "copy", text_key(text), {"text": text})
    sha = sha256_bytes(data)
    found = store.asset_by_sha(db, kind, sha)
    if found and not found["retired_at"] and imaging.has_fingerprint(db, sha):
        return (_exists(path, found),)
    # New, or registered but never fingerprinted (its file was gone at backfill): analyse.
    return (path, "image", sha, imaging.submit(executor, data, limits))


def _finish(
    db: Database, job: tuple[Any, ...], *, name: str | None, fields: dict[str, Any]
) -> Outcome:
    """Write what was learnt of one file: the asset row and, for images, its fingerprint."""
    if len(job) == 1:
        return job[0]
    path, what, sha, result = job
    if what == "image":
        result = imaging.outcome(result)
    if isinstance(result, str):
        return Outcome(shown(path), "refused", result)
    record = {
        **fields,
        "sha256": sha,
        "path": shown(path.resolve()),
        "name": name or shown(path.name),
    }
    with store.transaction(db):
        found = store.asset_by_sha(db, record["kind"], sha)
        if found and not found["retired_at"]:
            if what == "image" and not imaging.has_fingerprint(db, sha):
                imaging.save(db, sha, result)  # an asset whose fingerprint could not be made
                db["assets"].update(found["id"], {"path": record["path"]})
            return _exists(path, found)
        if what == "copy":
            record["text"] = result["text"]
        else:
            record["media"] = result.media
            imaging.save(db, sha, result)
        asset_id, _ = store.add_asset(db, record)
    return Outcome(shown(path), "added", asset_id=asset_id, sha256=sha)


def _exists(path: Path | str, found: dict[str, Any]) -> Outcome:
    return Outcome(
        shown(path),
        "exists",
        f"already registered as asset {found['id']} ({found['name']})",
        asset_id=found["id"],
        sha256=found["sha256"],
    )


def register_text(
    db: Database,
    text: str,
    *,
    kind: Literal["mark", "copy"],
    name: str,
    rights: str = "owned",
    product_id: int | None = None,
    source: str = "cli",
    licence: Licence | None = None,
    extra: dict[str, Any] | None = None,
    max_bytes: int = DEFAULT_LIMITS.max_text_bytes,
) -> Outcome:
    """Register a word mark or a copy text given as a string (command line, catalogue, config)."""
    try:
        value = (
            check_mark(text)
            if kind == "mark"
            else decode_text(text.encode("utf-8"), max_bytes=max_bytes)
        )
    except TextRejected as exc:
        label = text[:60].encode("utf-8", "backslashreplace").decode("utf-8") or '""'
        return Outcome(label, "refused", exc.reason)
    value = value if kind == "mark" else value.strip()
    sha = mark_key(value) if kind == "mark" else text_key(value)
    record: dict[str, Any] = {
        "kind": kind,
        "name": name or value,
        "rights": rights,
        "sha256": sha,
        "text": value,
        "product_id": product_id,
        "source": source,
        **(extra or {}),
    }
    if licence:
        record.update(licence.columns())
    label = value if kind == "mark" else name
    with store.transaction(db):
        found = store.asset_by_sha(db, kind, sha)
        if found and not found["retired_at"]:
            return _exists(label, found)
        asset_id, _ = store.add_asset(db, record)
    return Outcome(label, "added", asset_id=asset_id, sha256=sha)


def _mark_fields(mark: Any) -> dict[str, Any]:
    """What the store keeps of a config mark: its text and aliases as registered (NFC, trimmed)."""
    return {
        "text": check_mark(mark.text),
        "aliases": [check_mark(a) for a in mark.aliases],
        "registrations": [
            {
                "office": r.office,
                "number": r.number,
                "classes": list(r.classes),
                "jurisdictions": list(r.jurisdictions),
                "registered": r.registered.isoformat() if r.registered else None,
            }
            for r in mark.registrations
        ],
    }


def sync_config_marks(db: Database, config: Config) -> None:
    """Make the store's owned marks follow ``[[marks]]`` of config.toml (registrations included).

    A mark deleted from the file is removed from the store, or retired if findings cite it.
    Nothing is written when the store already agrees, so read-only commands take no write lock.
    """
    wanted = {mark_key(m.text): m for m in config.marks}
    rows = {
        r["sha256"]: r
        for r in db.query(
            "SELECT id, sha256, text, source, rights, aliases, registrations, retired_at "
            "FROM assets WHERE kind = 'mark' AND (source = 'config' OR sha256 IN "
            f"({', '.join('?' for _ in wanted)}))",
            list(wanted),
        )
    }

    def current(sha: str, mark: Any) -> bool:
        row = rows.get(sha)
        fields = _mark_fields(mark)
        return bool(
            row
            and not row["retired_at"]
            and (row["text"], row["source"], row["rights"]) == (fields["text"], "config", "owned")
            and json.loads(row["aliases"] or "[]") == fields["aliases"]
            and json.loads(row["registrations"] or "[]") == fields["registrations"]
        )

    stale = [
        r
        for sha, r in rows.items()
        if sha not in wanted and r["source"] == "config" and not r["retired_at"]
    ]
    if all(current(sha, m) for sha, m in wanted.items()) and not stale:
        return
    with store.transaction(db):
        for mark in config.marks:
            fields = _mark_fields(mark)
            outcome = register_text(
                db, mark.text, kind="mark", name=fields["text"], source="config", extra=fields
            )
            if outcome.asset_id is not None:
                db["assets"].update(
                    outcome.asset_id, {**fields, "source": "config", "rights": "owned"}
                )
        for row in stale:
            store.remove_asset(db, row["id"])


def resolve(db: Database, ref: str) -> dict[str, Any] | None:
    """An asset by id, or by a SHA-256 prefix of at least 8 hex digits (unique)."""
    if ref.isascii() and ref.isdigit():
        if len(ref) > 18:
            return None
        return next(iter(db.query("SELECT * FROM assets WHERE id = ?", [int(ref)])), None)
    ref = ref.lower()
    if len(ref) < 8 or any(c not in "0123456789abcdef" for c in ref):
        return None
    rows = list(db.query("SELECT * FROM assets WHERE sha256 LIKE ? LIMIT 2", [ref + "%"]))
    return rows[0] if len(rows) == 1 else None
