"""``listingguard evidence verify``: every stored capture re-read and re-hashed.

Evidence is only worth something if it can be shown to be unchanged since it was captured.
Each ``captures`` row names a WARC file, the offset of its record, the record id and the
SHA-256 of the body; verifying reads the record back and compares all three. A revisit record
has no body of its own: its payload digest header must still name the same SHA-256.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from crawler.evidence import warc_digest

CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    capture_id: int
    url: str
    warc_file: str | None
    problem: str


def check_record(f, row: dict) -> str | None:
    """What is wrong with the capture ``row`` as read from the open WARC file ``f``, or None;
    shared by ``evidence verify`` and the evidence packs, which check before copying."""
    try:
        f.seek(row["warc_offset"])
        record = next(iter(ArchiveIterator(f)), None)
    except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
        return f"unreadable record ({type(exc).__name__})"
    if record is None:
        return "no record at the stored offset (file truncated?)"
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    if record_id != row["warc_record_id"]:
        return "a different record is at the stored offset"
    if record.rec_headers.get_header("WARC-Target-URI") != row["url"]:
        return "the record names a different URL"
    if record.rec_headers.get_header("WARC-Date") != row["captured_at"]:
        return "the record's capture time has changed"
    if record.rec_type == "revisit":
        if record.rec_headers.get_header("WARC-Payload-Digest") != warc_digest(row["sha256"]):
            return "revisit record names a different payload"
        if not row.get("payload_held"):
            return "revisit record whose original payload is not in the evidence"
        return None
    digest = hashlib.sha256()
    try:
        stream = record.raw_stream  # the payload as sent, not decoded by its Content-Encoding
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    except (OSError, EOFError, ValueError) as exc:
        return f"body unreadable ({type(exc).__name__})"
    if digest.hexdigest() != row["sha256"]:
        return f"body changed: SHA-256 is now {digest.hexdigest()}, was {row['sha256']}"
    return None


def verify(db: Database, evidence_root: Path) -> tuple[int, list[Problem]]:
    """(captures checked, problems): every capture in the store, file by file."""
    rows = db.query(
        "SELECT c.id, c.url, c.captured_at, c.warc_file, c.warc_offset, c.warc_record_id, "
        "c.sha256, EXISTS (SELECT 1 FROM captures o WHERE o.sha256 = c.sha256 "
        "AND o.record_type = 'response') AS payload_held "
        "FROM captures c ORDER BY c.warc_file, c.warc_offset"
    )
    checked = 0
    problems: list[Problem] = []
    for name, group in itertools.groupby(rows, key=operator.itemgetter("warc_file")):
        path = evidence_root / name if name else None
        if path is None or not path.is_file():
            for row in group:
                checked += 1
                problems.append(Problem(row["id"], row["url"], name, "WARC file is missing"))
            continue
        with path.open("rb") as f:
            for row in group:
                checked += 1
                if problem := check_record(f, row):
                    problems.append(Problem(row["id"], row["url"], name, problem))
    return checked, problems
