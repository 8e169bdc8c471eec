"""Every response kept as captured, in WARC files (warcio), with its SHA-256 and UTC time.

A finding is only as good as the proof behind it: months later a platform or a court may ask
what the page showed. WARC is the archival standard for that, readable by any WARC tool. Records
are gzip members appended to one file per crawl process, flushed one by one, so a crawl killed
mid-write leaves every earlier record whole (a torn last record is never referenced: its
capture row is written only after the record).

Payloads whose SHA-256 the store already holds (the same product photo fetched again in the next
sweep) are written as ``revisit`` records (identical-payload-digest profile): the headers and
time are kept, the bytes are stored once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter


class _Sha256Writer(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests (it defaults to SHA-1)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def warc_digest(sha256_hex: str) -> str:
    """The WARC form of a SHA-256 digest: ``sha256:`` and base32, as warcio writes it."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


@dataclass(frozen=True)
class Capture:
    """Where one fetched response is kept; the ``captures`` row is made from it."""

    url: str
    captured_at: str
    http_status: int
    content_type: str | None
    sha256: str
    bytes: int
    warc_file: str
    warc_offset: int
    warc_record_id: str
    record_type: str  # "response", or "revisit" when the payload was stored before

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class WarcLog:
    """Appends response records to one WARC file; ``root`` makes the stored path relative."""

    def __init__(self, path: Path, root: Path | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.name = str(path.relative_to(root)) if root else str(path)
        self._file: BinaryIO = path.open("ab")
        self._writer = _Sha256Writer(self._file, gzip=True, warc_version="1.1")

    def write(
        self,
        url: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        protocol: str = "HTTP/1.1",
        revisit_of: tuple[str, str] | None = None,
        sha256: str | None = None,
    ) -> Capture:
        """Write one response; ``revisit_of`` (URL, WARC date) stores a known payload as a revisit."""
        sha = sha256 or hashlib.sha256(body).hexdigest()
        when = utc_now()
        http = StatusAndHeaders(f"{status} {reason_phrase(status)}", headers, protocol=protocol)
        warc_headers = {"WARC-Date": when, "WARC-Payload-Digest": warc_digest(sha)}
        if revisit_of:
            record = self._writer.create_revisit_record(
                url,
                warc_digest(sha),
                revisit_of[0],
                revisit_of[1],
                http_headers=http,
                warc_headers_dict={"WARC-Date": when},
            )
        else:
            record = self._writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
        offset = self._file.tell()
        self._writer.write_record(record)
        self._file.flush()
        return Capture(
            url=url,
            captured_at=when,
            http_status=status,
            content_type=_header(headers, "content-type"),
            sha256=sha,
            bytes=len(body),
            warc_file=self.name,
            warc_offset=offset,
            warc_record_id=record.rec_headers.get_header("WARC-Record-ID"),
            record_type="revisit" if revisit_of else "response",
        )

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


def read_payload(path: Path, offset: int, max_bytes: int | None = None) -> tuple[str, bytes]:
    """(record type, payload) of the record at ``offset``: the body as it was fetched.

    ``max_bytes`` stops a tampered or corrupt record from being read whole into memory.
    """
    with path.open("rb") as f:
        f.seek(offset)
        for record in ArchiveIterator(f):
            stream = record.content_stream()
            body = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
            if max_bytes is not None and len(body) > max_bytes:
                raise ValueError(f"record at {offset} holds more than {max_bytes} bytes")
            return record.rec_type, body
    raise ValueError(f"no WARC record at offset {offset}")


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def reason_phrase(status: int) -> str:
    """The standard phrase of an HTTP status ("Not Found"), for a status line."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
