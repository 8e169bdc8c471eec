"""Evidence packs: a zip of evidence files and a ``manifest.json`` of their SHA-256s, and its check.

A platform, a lawyer or a court receives the pack, not the workspace, so the pack has to prove
itself: the manifest names every member with its SHA-256, size and capture time, the captured
pages and images are the WARC records exactly as the crawler wrote them (a WARC tool reads them,
and their payload digests are checked again here), and a revisit record travels with the record
that holds its payload. Anything changed, missing or added is a problem that ``check`` names,
and so is a manifest that says of a capture what its WARC record does not (URL, record id,
time, HTTP status, payload digest). The manifest cannot vouch for the rest of itself (whoever
edits it can fix its hashes): the zip's own SHA-256, which ``write`` returns and a notice
records, pins the whole pack.

The pack is hostile input to whoever checks it: every member's size is checked from its header
before it is read, against fixed limits (``MAX_*``) and an absurd compression ratio, a record is
gunzipped in chunks up to its limit, and every problem is one short line.

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
import zlib
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
# A pack is checked by whoever receives it, on their machine, so its limits are fixed here and
# not taken from a config: generous next to the crawler's own caps (pages 8 MB, images 10 MB by
# default), small enough that a hostile pack costs seconds, not minutes and gigabytes.
MAX_RECORD_BYTES = 64_000_000  # a WARC record gunzipped: held in memory to be parsed
MAX_WARC_MEMBER_BYTES = MAX_RECORD_BYTES + MAX_RECORD_BYTES // 100  # gzip grows random data a bit
MAX_MEMBER_BYTES = 256_000_000  # any other member (a photo, the summary): hashed as it streams
MAX_RATIO = 200  # declared size over compressed size; deflate reaches ~1030 only on degenerate data
RATIO_FLOOR = 1_000_000  # a member smaller than this may compress as well as it likes
MAX_HEADER_BYTES = 65_536  # a record's WARC headers, and its HTTP headers (servers send < 16 KB)
MAX_PROBLEM_CHARS = 300  # every problem is cut to this: a hostile name or error text is not output
MAX_PROBLEMS = 100
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
        return f"{_short(repr(name), 120)} is not a safe relative path"
    return None


def _short(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying so: a problem names, it does not quote."""
    if len(text) <= limit:
        return text
    return text[: limit - 25] + f"... ({len(text) - limit + 25} more characters)"


def _error(exc: BaseException) -> str:
    """An exception as a problem's reason: its type and the start of its text."""
    return _short(f"{type(exc).__name__}: {exc}", 160)


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
    manifest does not list, every captured WARC record whole, its payload digest, URL, record
    id, time and HTTP status the ones the manifest names (a revisit's payload held by the member
    it refers to), and a derived file's capture time the latest of its sources'.

    The pack is hostile input: sizes are compared before anything is read (a member larger than
    its kind's limit, or inflating absurdly, is a problem and is not read), no member is read
    past the size its header gives, and every problem is a short line.
    """
    digest = _file_sha256(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return PackCheck(path, 0, [f"not a readable zip file ({_error(exc)})"], digest)
    with zf:
        problems, entries, data = _check_zip(zf, path)
    return PackCheck(path, len(entries), _report(problems), digest, data)


def _report(problems: list[str]) -> list[str]:
    """The problems, each cut short, and at most ``MAX_PROBLEMS`` of them."""
    out = [_short(p) for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        out.append(f"and {len(problems) - MAX_PROBLEMS} more problems")
    return out


def _check_zip(
    zf: zipfile.ZipFile, path: Path
) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, Any] | None]:
    problems: list[str] = []
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = _short(info.filename, 120)
        if info.filename in infos:
            problems.append(f"{name}: the zip holds this name twice")
        if problem := _check_name(info.filename):
            problems.append(f"{name}: {problem}")
        infos[info.filename] = info
    declared = sum(i.file_size for i in infos.values())
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if declared > RATIO_FLOOR and declared > MAX_RATIO * size:
        # Members sharing compressed data (an overlapping zip bomb) are caught here.
        problems.append(
            f"the members declare {declared} bytes in a zip of {size}: "
            "an absurd compression ratio, so nothing is read"
        )
        return problems, {}, None
    data, problem = _manifest(zf, infos.get(MANIFEST))
    if data is None:
        return [*problems, problem or "no manifest"], {}, None
    entries, entry_problems = _entries(data)
    problems += entry_problems
    for name in infos:
        if name != MANIFEST and name not in entries:
            problems.append(f"{_short(name, 120)}: in the pack but not in the manifest")
    # Records may inflate in all to the ratio a zip member may have: a pack of many small
    # records each inflating to the limit costs no more than one large member.
    total = max(MAX_RECORD_BYTES, MAX_RATIO * size)
    budget = [total, total]
    for name, entry in entries.items():
        info = infos.get(name)
        if info is None:
            problems.append(
                f"{_short(name, 120)}: listed in the manifest but missing from the pack"
            )
            continue
        problems += _check_member(zf, info, entry, entries, budget)
    problems += _check_derived(entries)
    return problems, entries, data


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _unreadable(info: zipfile.ZipInfo, limit: int, what: str) -> str | None:
    """Why a member is not to be read at all, from its header alone: larger than ``limit``
    (too large for ``what`` it is), inflating absurdly, encrypted, or compressed other than
    stored or deflated (bzip2 and LZMA inflate without bound in one step); or None."""
    if info.file_size > limit:
        return f"{info.file_size} bytes, too large for {what} (the limit is {limit}): not read"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * info.compress_size:
        return (
            f"{info.file_size} bytes compressed to {info.compress_size}: an absurd compression "
            "ratio, so it is not read"
        )
    if info.flag_bits & 0x1:
        return "encrypted: not read"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compression method {info.compress_type}: a pack is only stored or deflated"
    return None


def _manifest(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo | None
) -> tuple[dict[str, Any] | None, str | None]:
    if info is None:
        return None, f"{MANIFEST}: missing: this is not an evidence pack"
    if problem := _unreadable(info, MAX_MANIFEST_BYTES, "the manifest"):
        return None, f"{MANIFEST}: {problem}"
    try:
        data = json.loads(zf.read(info).decode("utf-8"))
    except Exception as exc:  # hostile input: a bad CRC, bad JSON or bad UTF-8 are all "unreadable"
        return None, f"{MANIFEST}: unreadable ({_error(exc)})"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None, f"{MANIFEST}: not the manifest of a listingguard evidence pack"
    if data.get("format_version") != FORMAT_VERSION:
        shown = _short(repr(data.get("format_version")), 40)
        return None, f"{MANIFEST}: format version {shown}, expected {FORMAT_VERSION}"
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
        shown = _short(name, 120)
        if not (isinstance(e.get("sha256"), str) and _SHA256.fullmatch(e["sha256"])):
            problems.append(f"{shown}: the manifest gives no valid SHA-256")
        elif not isinstance(e.get("bytes"), int) or isinstance(e.get("bytes"), bool):
            problems.append(f"{shown}: the manifest gives no size")
        elif name in entries or name == MANIFEST:
            problems.append(f"{shown}: listed twice in the manifest")
        else:
            entries[name] = e
    return entries, problems


def _check_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    entry: dict[str, Any],
    entries: dict[str, dict[str, Any]],
    budget: list[int],
) -> list[str]:
    """A member's problems; ``budget`` holds the bytes its WARC records may still inflate to
    (the pack's records together, so that many small bombs add up to no more than one)."""
    name = _short(info.filename, 120)
    if info.file_size != entry["bytes"]:
        return [f"{name}: {info.file_size} bytes, the manifest says {entry['bytes']}"]
    keep = isinstance(entry.get("capture"), dict)
    limit, what = (MAX_WARC_MEMBER_BYTES, "a WARC member") if keep else (MAX_MEMBER_BYTES, "a file")
    if problem := _unreadable(info, limit, what):
        return [f"{name}: {problem}"]
    digest = hashlib.sha256()
    held = bytearray()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                if keep:
                    held += chunk
    except Exception as exc:  # a bad CRC, a corrupt deflate stream, an encrypted member
        return [f"{name}: unreadable ({_error(exc)})"]
    if digest.hexdigest() != entry["sha256"]:
        return [f"{name}: SHA-256 is {digest.hexdigest()}, the manifest says {entry['sha256']}"]
    sources = entry.get("sources") if isinstance(entry.get("sources"), list) else []
    problems = [
        f"{name}: made from {_short(str(src), 120)}, which is not in the pack"
        for src in sources
        if not isinstance(src, str) or src not in entries
    ]
    if keep:
        limit = min(MAX_RECORD_BYTES, budget[0])
        found, inflated = _check_record(held, entry, entries, limit)
        if inflated > limit and limit < MAX_RECORD_BYTES:
            found = [f"not read: the pack's records inflate past {budget[1]} bytes in all"]
        budget[0] -= min(inflated, limit)
        problems += [f"{name}: {p}" for p in found]
    return problems


def _check_derived(entries: dict[str, dict[str, Any]]) -> list[str]:
    """A file made from captures carries the latest capture time of its sources (the summary:
    of every capture in the pack), which the manifest repeats; a different one is a problem."""
    problems = []

    def latest(paths: Iterable[Any]) -> str | None:
        times = [
            t
            for p in paths
            if isinstance(p, str) and isinstance(t := entries.get(p, {}).get("captured_at"), str)
        ]
        return max(times) if times else None

    captures = [p for p, e in entries.items() if isinstance(e.get("capture"), dict)]
    for name, e in entries.items():
        sources = e.get("sources")
        if isinstance(e.get("capture"), dict):
            continue
        if isinstance(sources, list) and sources:
            expected = latest(sources)
        elif e.get("role") == "summary":
            expected = latest(captures)
        else:
            continue
        if e.get("captured_at") != expected:
            shown = _short(repr(e.get("captured_at")), 60)
            problems.append(
                f"{_short(name, 120)}: the manifest gives its capture time as {shown}, but the "
                f"latest of its sources is {expected!r}"
            )
    return problems


def _gunzip(data: bytes | bytearray, limit: int) -> tuple[bytes, bool]:
    """The WARC member's gzip member (its record) gunzipped in chunks, and whether anything
    follows it; _TooLarge once past ``limit`` bytes, so a record that inflates without end is
    stopped there."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    while not inflate.eof:
        chunk = inflate.decompress(pending, CHUNK)
        out += chunk
        if len(out) > limit:
            raise _TooLarge(len(out))
        pending = inflate.unconsumed_tail
        if not pending and not chunk:
            break
    if not inflate.eof:
        raise ValueError("the gzip data is truncated")
    return bytes(out), bool(inflate.unused_data)


class _TooLarge(ValueError):
    """The record inflates past the limit; ``args[0]``: the bytes inflated when stopped."""


def check_record(
    data: bytes, entry: dict[str, Any], entries: dict[str, dict[str, Any]]
) -> list[str]:
    """What is wrong with one WARC member (gzip, as the crawler wrote it) against its manifest
    entry (empty: nothing).

    It must hold exactly one record with the manifest's record id, URL, capture time and HTTP
    status, gunzipping to at most ``MAX_RECORD_BYTES``; a response's payload as sent must hash
    to the manifest's payload SHA-256 (and its WARC-Payload-Digest name it); a revisit must name
    that digest and refer to a response member of the pack holding the same payload.
    """
    return _check_record(data, entry, entries, MAX_RECORD_BYTES)[0]


def _check_record(
    data: bytes | bytearray, entry: dict[str, Any], entries: dict[str, dict[str, Any]], limit: int
) -> tuple[list[str], int]:
    """``check_record``, the record gunzipped to at most ``limit`` bytes; and how many it was."""
    capture = entry["capture"]
    want = capture.get("payload_sha256")
    if not (isinstance(want, str) and _SHA256.fullmatch(want)):
        return ["the manifest gives no payload SHA-256 for the capture"], 0
    try:
        raw, more = _gunzip(data, limit)
    except _TooLarge as exc:
        inflated = exc.args[0]
        return [f"too large: the record inflates past {limit} bytes, so it is not read"], inflated
    except (ValueError, zlib.error) as exc:
        return [f"not a gzip-compressed WARC record ({_error(exc)})"], 0
    problems = _parse_record(raw, entry, entries)
    if more:
        problems.append("more than one WARC record in the member (data follows its gzip member)")
    return problems, len(raw)


def _parse_record(
    raw: bytes, entry: dict[str, Any], entries: dict[str, dict[str, Any]]
) -> list[str]:
    capture = entry["capture"]
    want = capture["payload_sha256"]
    # Only short headers go to warcio (a header line costs it microseconds): not a second gzip
    # layer, not junk, not a million HTTP header lines.
    end = raw.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES) if raw.startswith(b"WARC/") else -1
    if end < 0:
        return [f"not a WARC record (no WARC header in its first {MAX_HEADER_BYTES} bytes)"]
    http = b"application/http" in raw[:end].lower()
    if http and raw.find(b"\r\n\r\n", end + 4, end + 4 + MAX_HEADER_BYTES) < 0:
        return [f"the record's HTTP headers do not end within {MAX_HEADER_BYTES} bytes"]
    try:
        records = ArchiveIterator(io.BytesIO(raw))
        record = next(iter(records), None)
        if record is None:
            return ["no WARC record in the member"]
        headers = record.rec_headers
        http = record.http_headers
        payload = hashlib.sha256()
        if record.rec_type == "response":
            while chunk := record.raw_stream.read(CHUNK):  # as sent, not decoded
                payload.update(chunk)
        extra = next(iter(records), None)
    except Exception as exc:  # hostile input: warcio raises many types on a corrupt record
        return [f"not a readable WARC record ({_error(exc)})"]
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
                f"the record's {header} is {_short(repr(headers.get_header(header)), 100)}, "
                f"the manifest says {_short(repr(value), 100)}"
            )
    status = _status(http)
    if status != capture.get("http_status"):
        problems.append(
            f"the record's HTTP status is {_short(repr(status), 40)}, the manifest says "
            f"{_short(repr(capture.get('http_status')), 40)}"
        )
    content_type = http.get_header("Content-Type") if http is not None else None
    if content_type != capture.get("content_type"):
        problems.append(
            f"the record's Content-Type is {_short(repr(content_type), 80)}, the manifest says "
            f"{_short(repr(capture.get('content_type')), 80)}"
        )
    if record.rec_type != capture.get("record_type"):
        problems.append(
            f"a {_short(str(record.rec_type), 40)} record, the manifest says "
            f"{_short(str(capture.get('record_type')), 40)}"
        )
    elif record.rec_type == "response" and payload.hexdigest() != want:
        problems.append(f"payload SHA-256 is {payload.hexdigest()}, the manifest says {want}")
    elif record.rec_type == "revisit":
        refers_to = capture.get("refers_to")
        original = entries.get(refers_to) if isinstance(refers_to, str) else None
        held = (original or {}).get("capture") or {}
        if held.get("record_type") != "response" or held.get("payload_sha256") != want:
            problems.append("a revisit whose payload is not held by a response record in the pack")
    elif record.rec_type not in ("response", "revisit"):
        problems.append(f"a {_short(str(record.rec_type), 40)} record is not a capture")
    return problems


def _status(http: Any) -> int | None:
    """The HTTP status of a record's status line, or None (no HTTP headers, or no number)."""
    if http is None:
        return None
    code = http.get_statuscode()
    return int(code) if isinstance(code, str) and code.isdigit() and len(code) <= 3 else None
