"""Evidence packs: a zip of evidence files and a ``manifest.json`` of their SHA-256s, and its check.

A platform, a lawyer or a court receives the pack, not the workspace, so the pack has to prove
itself: the manifest names every member with its SHA-256, size and capture time, the captured
pages and images are the WARC records exactly as the crawler wrote them (a WARC tool reads them,
and their payload digests are checked again here), and a revisit record travels with the record
that holds its payload. Anything changed, missing or added is a problem that ``check`` names.

This module is pure: files arrive as bytes with their metadata (``PackFile``); gathering them
from the store is ``listingguard.packs``'s job. Members are written in a fixed order with fixed
timestamps, to a temporary file renamed into place, so a crash never leaves half a pack.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from crawler.evidence import warc_digest

FORMAT = "listingguard-evidence-pack"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 20_000_000
MAX_WARC_MEMBER_BYTES = 1_100_000_000  # above the crawler's largest page or image cap
CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_STORED = (".jpg", ".jpeg", ".png", ".gz", ".pdf")  # compressed already: deflate gains nothing


@dataclass(frozen=True)
class CaptureInfo:
    """Where a WARC member came from: the capture it is, as the store recorded it."""

    url: str
    warc_record_id: str
    record_type: str  # "response", or "revisit" (its payload is in the member ``refers_to``)
    payload_sha256: str  # of the body as sent, what WARC-Payload-Digest names
    http_status: int | None = None
    content_type: str | None = None
    warc_file: str | None = None  # the workspace's WARC file and offset it was copied from
    warc_offset: int | None = None
    refers_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["record_type"] = self.record_type
        return out


@dataclass(frozen=True)
class PackFile:
    """One member of a pack: its path in the zip, its bytes, and what it is."""

    path: str
    data: bytes
    media_type: str
    role: str  # "page", "image" (captures), "side-by-side", "text", "summary"
    captured_at: str | None  # UTC; for a file made from captures, the latest of its sources
    description: str = ""
    capture: CaptureInfo | None = None
    sources: tuple[str, ...] = ()  # the members a derived file was made from

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def entry(self) -> dict[str, Any]:
        """The file's manifest entry."""
        out: dict[str, Any] = {
            "path": self.path,
            "sha256": self.sha256,
            "bytes": len(self.data),
            "media_type": self.media_type,
            "role": self.role,
            "captured_at": self.captured_at,
        }
        if self.description:
            out["description"] = self.description
        if self.capture is not None:
            out["capture"] = self.capture.as_dict()
        if self.sources:
            out["sources"] = list(self.sources)
        return out


@dataclass(frozen=True)
class Written:
    path: Path
    sha256: str  # of the whole zip, as a notice may record it
    files: int  # files the manifest lists (every member but the manifest)
    bytes: int
    manifest: dict[str, Any] = field(repr=False)


def _check_name(name: str) -> str | None:
    """Why ``name`` may not be a member's path (absolute, ``..``, a backslash), or None."""
    p = PurePosixPath(name)
    if not name or "\\" in name or p.is_absolute() or ".." in p.parts or name != p.as_posix():
        return f"{name!r} is not a safe relative path"
    return None


def manifest(files: list[PackFile], **meta: Any) -> dict[str, Any]:
    """The manifest of ``files``: the format, ``meta`` (findings, generator, created time...)
    and one entry per file in member order."""
    files_ = [f.entry() for f in files]
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **meta, "files": files_}


def _ordered(files: Iterable[PackFile]) -> list[PackFile]:
    """The fixed member order: the summary first, then by path."""
    return sorted(files, key=lambda f: (f.role != "summary", f.path))


def write(path: Path, files: Iterable[PackFile], *, created_at: str, **meta: Any) -> Written:
    """Write the pack to ``path`` (replacing it atomically) and return its SHA-256.

    ``created_at`` (UTC ISO 8601) is the time every member carries, so the same inputs make the
    same bytes. Member paths must be safe relative paths, unique, and not the manifest's.
    """
    ordered = _ordered(files)
    seen: set[str] = set()
    for f in ordered:
        problem = _check_name(f.path)
        if problem or f.path == MANIFEST or f.path in seen:
            raise ValueError(problem or f"member path {f.path!r} is taken")
        seen.add(f.path)
    data = manifest(ordered, created_at=created_at, **meta)
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    stamp = _zip_time(created_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                _add(zf, MANIFEST, body, stamp)
                for f in ordered:
                    _add(zf, f.path, f.data, stamp)
            fh.flush()
            os.fsync(fh.fileno())
            if hasattr(os, "fchmod"):  # mkstemp's 0600 would keep a pack from being shared
                os.fchmod(fh.fileno(), 0o644)
            size = fh.tell()
            fh.seek(0)
            digest = hashlib.sha256()
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return Written(path, digest.hexdigest(), len(ordered), size, data)


def _zip_time(created_at: str) -> tuple[int, int, int, int, int, int]:
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)", created_at)
    if not m:
        raise ValueError(f"created_at {created_at!r} is not an ISO 8601 UTC time")
    year, *rest = (int(x) for x in m.groups())
    return (max(1980, year), *rest)  # type: ignore[return-value]


def _add(zf: zipfile.ZipFile, name: str, data: bytes, stamp: tuple[int, ...]) -> None:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    info.create_system = 3  # Unix, so the permission bits below are read as such
    info.external_attr = 0o644 << 16
    stored = name.lower().endswith(_STORED)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system syncs folders; the rename is done either way
    finally:
        os.close(fd)


# -- checking a pack ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackCheck:
    """What ``check`` found: members listed in the manifest, and every problem (empty: intact)."""

    path: Path
    files: int
    problems: list[str]
    sha256: str | None = None
    manifest: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(path: Path) -> PackCheck:
    """Check a pack: every manifest entry present with its SHA-256 and size, no member the
    manifest does not list, and every captured WARC record whole, its payload digest the one the
    manifest names (a revisit's payload held by the member it refers to).

    The pack is hostile input: sizes are compared before anything is read, and no member is read
    past the size its header gives.
    """
    digest = _file_sha256(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return PackCheck(path, 0, [f"not a readable zip file ({exc})"], digest)
    with zf:
        problems: list[str] = []
        infos: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if info.filename in infos:
                problems.append(f"{info.filename}: the zip holds this name twice")
            if problem := _check_name(info.filename):
                problems.append(f"{info.filename}: {problem}")
            infos[info.filename] = info
        data, problem = _manifest(zf, infos.get(MANIFEST))
        if data is None:
            return PackCheck(path, 0, [*problems, problem or "no manifest"], digest)
        entries, entry_problems = _entries(data)
        problems += entry_problems
        for name in infos:
            if name != MANIFEST and name not in entries:
                problems.append(f"{name}: in the pack but not in the manifest")
        for name, entry in entries.items():
            info = infos.get(name)
            if info is None:
                problems.append(f"{name}: listed in the manifest but missing from the pack")
                continue
            problems += _check_member(zf, info, entry, entries)
    return PackCheck(path, len(entries), problems, digest, data)


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _manifest(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo | None
) -> tuple[dict[str, Any] | None, str | None]:
    if info is None:
        return None, f"{MANIFEST}: missing: this is not an evidence pack"
    if info.file_size > MAX_MANIFEST_BYTES:
        return None, f"{MANIFEST}: {info.file_size} bytes, above the {MAX_MANIFEST_BYTES} limit"
    try:
        data = json.loads(zf.read(info).decode("utf-8"))
    except Exception as exc:  # hostile input: a bad CRC, bad JSON or bad UTF-8 are all "unreadable"
        return None, f"{MANIFEST}: unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None, f"{MANIFEST}: not the manifest of a listingguard evidence pack"
    if data.get("format_version") != FORMAT_VERSION:
        return None, f"{MANIFEST}: format version {data.get('format_version')!r}, expected 1"
    return data, None


def _entries(data: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The manifest's file entries by path, and what is wrong with any of them."""
    files = data.get("files")
    if not isinstance(files, list):
        return {}, [f"{MANIFEST}: 'files' is not a list"]
    entries: dict[str, dict[str, Any]] = {}
    problems = []
    for i, e in enumerate(files):
        name = e.get("path") if isinstance(e, dict) else None
        if not isinstance(name, str):
            problems.append(f"{MANIFEST}: files[{i}] has no path")
            continue
        if not (isinstance(e.get("sha256"), str) and _SHA256.fullmatch(e["sha256"])):
            problems.append(f"{name}: the manifest gives no valid SHA-256")
        elif not isinstance(e.get("bytes"), int) or isinstance(e.get("bytes"), bool):
            problems.append(f"{name}: the manifest gives no size")
        elif name in entries or name == MANIFEST:
            problems.append(f"{name}: listed twice in the manifest")
        else:
            entries[name] = e
    return entries, problems


def _check_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    entry: dict[str, Any],
    entries: dict[str, dict[str, Any]],
) -> list[str]:
    name = info.filename
    if info.file_size != entry["bytes"]:
        return [f"{name}: {info.file_size} bytes, the manifest says {entry['bytes']}"]
    capture = entry.get("capture")
    keep = isinstance(capture, dict) and info.file_size <= MAX_WARC_MEMBER_BYTES
    digest = hashlib.sha256()
    held = bytearray()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                if keep:
                    held += chunk
    except Exception as exc:  # a bad CRC, a corrupt deflate stream, an encrypted member
        return [f"{name}: unreadable ({type(exc).__name__}: {exc})"]
    if digest.hexdigest() != entry["sha256"]:
        return [f"{name}: SHA-256 is {digest.hexdigest()}, the manifest says {entry['sha256']}"]
    problems = [
        f"{name}: made from {src}, which is not in the pack"
        for src in entry.get("sources") or []
        if src not in entries
    ]
    if isinstance(capture, dict):
        if not keep:
            return [*problems, f"{name}: a WARC member above {MAX_WARC_MEMBER_BYTES} bytes"]
        problems += [f"{name}: {p}" for p in check_record(bytes(held), entry, entries)]
    return problems


def check_record(
    data: bytes, entry: dict[str, Any], entries: dict[str, dict[str, Any]]
) -> list[str]:
    """What is wrong with one WARC member against its manifest entry (empty: nothing).

    It must hold exactly one record with the manifest's record id, URL and capture time; a
    response's payload as sent must hash to the manifest's payload SHA-256 (and its
    WARC-Payload-Digest name it); a revisit must name that digest and refer to a response member
    of the pack holding the same payload.
    """
    capture = entry["capture"]
    want = capture.get("payload_sha256")
    if not (isinstance(want, str) and _SHA256.fullmatch(want)):
        return ["the manifest gives no payload SHA-256 for the capture"]
    try:
        records = ArchiveIterator(io.BytesIO(data))
        record = next(iter(records), None)
        if record is None:
            return ["no WARC record in the member"]
        headers = record.rec_headers
        payload = hashlib.sha256()
        if record.rec_type == "response":
            while chunk := record.raw_stream.read(CHUNK):  # as sent, not decoded
                payload.update(chunk)
        extra = next(iter(records), None)
    except Exception as exc:  # hostile input: warcio raises many types on a corrupt record
        return [f"not a readable WARC record ({type(exc).__name__}: {exc})"]
    problems = []
    if extra is not None:
        problems.append("more than one WARC record in the member")
    expected = {
        "WARC-Record-ID": capture.get("warc_record_id"),
        "WARC-Target-URI": capture.get("url"),
        "WARC-Date": entry.get("captured_at"),
        "WARC-Payload-Digest": warc_digest(want),
    }
    for header, value in expected.items():
        if headers.get_header(header) != value:
            problems.append(
                f"the record's {header} is {headers.get_header(header)!r}, not {value!r}"
            )
    if record.rec_type != capture.get("record_type"):
        problems.append(
            f"a {record.rec_type} record, the manifest says {capture.get('record_type')}"
        )
    elif record.rec_type == "response" and payload.hexdigest() != want:
        problems.append(f"payload SHA-256 is {payload.hexdigest()}, the manifest says {want}")
    elif record.rec_type == "revisit":
        original = entries.get(capture.get("refers_to") or "")
        held = (original or {}).get("capture") or {}
        if held.get("record_type") != "response" or held.get("payload_sha256") != want:
            problems.append("a revisit whose payload is not held by a response record in the pack")
    elif record.rec_type not in ("response", "revisit"):
        problems.append(f"a {record.rec_type} record is not a capture")
    return problems
