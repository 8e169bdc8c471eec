"""``listingguard evidence pack``: the evidence of some findings, gathered into one verifiable zip.

A platform acts on a pack without access to our workspace, so the pack carries the proof itself:
the WARC records of each listing's pages and images copied byte for byte from the workspace
(each checked against the store first; a revisit travels with the record holding its payload),
the registered photo beside the listing image with the matched region outlined, the listing text
with the matched span marked, and a one-page summary. ``takedown.pack`` writes and checks the
zip, ``takedown.packhtml`` renders; this module gathers from the store and the evidence folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlite_utils import Database
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence import utc_now
from listingguard import __version__, imaging
from listingguard import evidence as evidence_mod
from listingguard.errors import ListingGuardError, NotFound
from listingguard.files import FileRefused, read_regular
from listingguard.findings import listing_text
from listingguard.workspace import Workspace
from matcher.imagefile import ImageRejected, decode
from takedown import pack as pack_mod
from takedown import packhtml, sidebyside
from takedown.pack import CaptureInfo, PackFile

CHUNK = 1 << 16
KIND_LABELS = {
    "trademark": "trade mark in the listing text",
    "image_copy": "copy of a registered photo",
    "text_copy": "copy of registered product text",
    "signal": "counterfeit signal",
}


class EvidenceChanged(ListingGuardError):
    """A capture in the evidence folder no longer matches the store, so it is not packed."""


@dataclass(frozen=True)
class PackResult:
    """A pack written: where, its SHA-256 (a notice records it), and what it holds."""

    path: Path
    sha256: str
    files: int  # files the manifest lists (every member but manifest.json)
    bytes: int
    finding_ids: tuple[int, ...]
    created_at: str
    pdf: bool
    notes: tuple[str, ...] = ()  # evidence that could not be included, and why

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "sha256": self.sha256, "files": self.files,
            "bytes": self.bytes, "findings": list(self.finding_ids),
            "created_at": self.created_at, "pdf": self.pdf, "notes": list(self.notes),
        }  # fmt: skip


def _findings(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    marks = ",".join("?" for _ in ids)
    rows = {
        r["id"]: r
        for r in db.query(
            "SELECT f.*, a.name AS asset, a.path AS asset_path, a.sha256 AS asset_sha256 "
            f"FROM findings f LEFT JOIN assets a ON a.id = f.asset_id WHERE f.id IN ({marks})",
            ids,
        )
    }
    missing = [str(i) for i in ids if i not in rows]
    if missing:
        raise NotFound(
            f"no finding with id {', '.join(missing)}; 'listingguard findings' lists them"
        )
    return [{**rows[i], "detail": json.loads(rows[i]["detail"] or "{}")} for i in ids]


def copy_record(fh: BinaryIO, offset: int, limit: int) -> bytes:
    """The gzip member (one WARC record) at ``offset``, byte for byte as the crawler wrote it;
    at most ``limit`` bytes decompressed, so a tampered file cannot be a bomb."""
    fh.seek(offset)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    raw = bytearray()
    size = 0
    while not inflate.eof:
        read = fh.read(CHUNK)
        raw += read
        data = read
        while not inflate.eof:  # until this input is used up and no output is pending
            out = inflate.decompress(data, CHUNK)
            size += len(out)
            if size > limit:
                raise ValueError(f"the record holds more than {limit} bytes")
            data = inflate.unconsumed_tail
            if not data and not out:
                break
        if not read and not inflate.eof:
            raise ValueError("the record is truncated")
    return bytes(raw[: len(raw) - len(inflate.unused_data)])


@dataclass
class _Gather:
    """The pack's files as they are collected; a capture once however many findings cite it."""

    ws: Workspace
    files: dict[str, PackFile] = field(default_factory=dict)
    by_capture: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def db(self) -> Database:
        return self.ws.db

    def capture(self, row: dict[str, Any]) -> str:
        """Copy one capture's WARC record into the pack, checked as ``evidence verify`` checks
        it (a revisit's original record with it); its path in the pack."""
        if row["id"] in self.by_capture:
            return self.by_capture[row["id"]]
        refers_to = None
        if row["record_type"] == "revisit":
            original = self.original(row["sha256"])
            if original is None:
                raise EvidenceChanged(
                    f"capture {row['id']} ({row['url'][:100]}): a revisit record whose original "
                    "payload is not in the evidence (see 'listingguard evidence verify')"
                )
            refers_to = self.capture(original)
        crawler = self.ws.config.crawler
        limit = max(crawler.max_page_bytes, crawler.max_image_bytes) + 1_000_000
        limit = min(limit, pack_mod.MAX_RECORD_BYTES)  # past it, no pack would verify
        where = f"capture {row['id']} ({row['url'][:100]}) in {row['warc_file']}"
        try:
            with (self.ws.config.workspace.evidence / row["warc_file"]).open("rb") as fh:
                data = copy_record(fh, row["warc_offset"], limit)
        except (OSError, TypeError, ValueError, zlib.error) as exc:
            problem: str | None = f"unreadable ({exc})"
        else:
            held = {**row, "warc_offset": 0, "payload_held": True}  # a revisit's: checked below
            problem = evidence_mod.check_record(io.BytesIO(data), held)
        if problem:
            raise EvidenceChanged(
                f"{where}: {problem}; not packed (see 'listingguard evidence verify')"
            )
        kind = "image" if row["kind"] == "image" else "page"
        path = f"captures/{row['id']:06d}-{kind}.warc.gz"
        info = CaptureInfo(
            url=row["url"], warc_record_id=row["warc_record_id"], record_type=row["record_type"],
            payload_sha256=row["sha256"], http_status=row["http_status"],
            content_type=row["content_type"], warc_file=row["warc_file"],
            warc_offset=row["warc_offset"], refers_to=refers_to,
        )  # fmt: skip
        what = f"WARC {row['record_type']} record of {row['url']}"
        self.add(PackFile(path, data, "application/warc", kind, row["captured_at"], what, info))
        self.by_capture[row["id"]] = path
        return path

    def pages(self, listing_id: int) -> list[str]:
        """The listing's first and latest page captures: since when it was shown, and that it
        still was."""
        rows = list(
            self.db.query(
                "SELECT c.* FROM listing_captures lc JOIN captures c ON c.id = lc.capture_id "
                "WHERE lc.listing_id = ? ORDER BY c.captured_at, c.id",
                [listing_id],
            )
        )
        return list(dict.fromkeys(self.capture(r) for r in rows[:1] + rows[-1:]))

    def original(self, sha: str) -> dict[str, Any] | None:
        """The response capture holding a payload: the image's own, or the first of them."""
        return next(
            self.db.query(
                "SELECT * FROM captures WHERE sha256 = ? AND record_type = 'response' "
                "ORDER BY id = (SELECT capture_id FROM images WHERE sha256 = ?) DESC, id LIMIT 1",
                [sha, sha],
            ),
            None,
        )

    def image(self, sha: str, url: str | None = None) -> list[str]:
        """The record holding the image's payload, then its latest capture at ``url`` when that
        is another record (a revisit, typically); empty when no capture holds the image."""
        original = self.original(sha)
        if original is None:
            self.notes.append(f"image {sha[:12]}: no capture holds its bytes; not in the pack")
            return []
        latest = next(
            self.db.query(
                "SELECT * FROM captures WHERE sha256 = ? AND url = ? "
                "ORDER BY captured_at DESC, id DESC LIMIT 1",
                [sha, url or ""],
            ),
            None,
        )
        rows = (
            [original] if latest is None or latest["id"] == original["id"] else [original, latest]
        )
        return [self.capture(r) for r in rows]

    def listing_images(self, listing_id: int) -> list[str]:
        rows = self.db.execute(
            "SELECT image_sha256, url FROM listing_images WHERE listing_id = ? ORDER BY position",
            [listing_id],
        ).fetchall()
        return [p for sha, url in rows for p in self.image(sha, url)]

    def payload(self, path: str) -> bytes:
        """The body the response record at ``path`` holds, decoded as the fingerprinter read it
        (``read_payload``), from the very bytes the pack holds."""
        limit = self.ws.config.crawler.max_image_bytes
        for record in ArchiveIterator(io.BytesIO(self.files[path].data)):
            body = record.content_stream().read(limit + 1)
            if len(body) > limit:
                raise ImageRejected(f"the image holds more than {limit} bytes")
            return body
        raise ValueError(f"{path} holds no WARC record")

    def add(self, f: PackFile) -> str:
        self.files[f.path] = f
        return f.path

    def latest(self, paths: list[str]) -> str | None:
        """The latest capture time of ``paths``: when the evidence a derived file shows was seen."""
        times = [t for p in paths if (t := self.files[p].captured_at)]
        return max(times) if times else None


# -- the evidence of one finding ------------------------------------------------------------------


def _owned_photo(g: _Gather, f: dict[str, Any]) -> bytes | None:
    """The registered photo's file, if it is still the one registered (else a note says why)."""
    try:
        data = read_regular(f["asset_path"], g.ws.config.assets.max_image_bytes)
    except (OSError, FileRefused, TypeError) as exc:
        g.notes.append(f"finding {f['id']}: the registered photo cannot be read ({exc})")
        return None
    if hashlib.sha256(data).hexdigest() != f["asset_sha256"]:
        g.notes.append(f"finding {f['id']}: {f['asset_path']} changed since it was registered")
        return None
    return data


def region_frame(db: Database, sha: str, listing: bytes, limits: Any) -> tuple[int, int]:
    """The size of the pixels a finding's region is given in: the listing image as it was
    fingerprinted. A large JPEG is fingerprinted from its reduced draft decoding, so this is not
    always the image's full size; the stored fingerprint says, or else the same decoding again."""
    fp = imaging.load_fingerprint(db, sha)
    if fp is not None:
        return fp.width, fp.height
    rgb, _ = decode(
        listing,
        max_bytes=limits.max_image_bytes,
        max_pixels=limits.max_image_pixels,
        max_side=imaging.DECODE_SIDE,
    )
    return rgb.size


def image_evidence(g: _Gather, f: dict[str, Any], url: str) -> tuple[list[str], bytes | None]:
    """An image_copy finding's files: the listing image's capture, the registered photo, and
    the two side by side with the matched region outlined (also returned, for the summary)."""
    d = f["detail"]
    captured = g.image(d["image_sha256"]) if d.get("image_sha256") else []
    if not captured:
        g.notes.append(f"finding {f['id']}: the listing image is not in the evidence")
        return [], None
    held = captured[0]
    owned = _owned_photo(g, f)
    if owned is None:
        return [held], None
    suffix = Path(f["asset_path"]).suffix.lower()
    media = {".png": "image/png", ".webp": "image/webp", ".gif": "image/gif"}.get(suffix)
    asset = g.add(
        PackFile(
            f"assets/asset-{f['asset_id']}{suffix[:6]}", owned, media or "image/jpeg", "asset",
            None, f"the registered photo {f['asset']} (asset {f['asset_id']})",
        )
    )  # fmt: skip
    aligned = d.get("basis") == "aligned" and isinstance(d.get("region"), list)
    region = tuple(int(v) for v in d["region"][:4]) if aligned else None
    whole = "" if region else " (matched as a whole: global hash)"
    mirrored = " (a mirrored copy)" if d.get("mirrored") and region else ""
    c = g.ws.config
    try:
        listing = g.payload(held)
        frame = region_frame(g.db, d["image_sha256"], listing, c.crawler) if region else None
        jpeg = sidebyside.side_by_side(
            owned, listing, region, frame,  # type: ignore[arg-type]
            owned_limits=sidebyside.Limits(c.assets.max_image_bytes, c.assets.max_image_pixels),
            listing_limits=sidebyside.Limits(c.crawler.max_image_bytes, c.crawler.max_image_pixels),
            owned_label=f"Registered photo: {f['asset']}",
            listing_label=f"Listing image{mirrored}{whole}",
        )  # fmt: skip
    except ImageRejected as exc:
        g.notes.append(f"finding {f['id']}: no side-by-side image ({exc.reason})")
        return [held, asset], None
    how = "the matched region outlined" if region else "matched as a whole (global hash)"
    path = g.add(
        PackFile(
            f"findings/finding-{f['id']}-side-by-side.jpg", jpeg, "image/jpeg", "side-by-side",
            g.files[held].captured_at, f"the registered photo beside the image of {url}, {how}",
            sources=(held, asset),
        )
    )  # fmt: skip
    return [held, asset, path], jpeg


def text_evidence(
    g: _Gather, f: dict[str, Any], listing: dict[str, Any], pages: list[str]
) -> tuple[list[str], list[packhtml.Segment]]:
    """A text finding's file: the listing text as it was matched, the match marked; and the
    excerpt the summary shows."""
    text = listing_text(listing)
    d = f["detail"]
    spans = packhtml.text_spans(f["kind"], d)
    notes = []
    span = d.get("span") if isinstance(d.get("span"), list) else None
    if span and d.get("matched") and text[span[0] : span[1]] != d["matched"]:
        notes.append("the listing text changed after it was matched: the marks may be off")
    copies = [
        {"listing": packhtml.highlight(text[s["span"][0] : s["span"][1]], []),
         "owned": s.get("owned", ""), "similarity": s.get("similarity")}
        for s in (d.get("sentences", []) if f["kind"] == "text_copy" else [])
    ]  # fmt: skip
    signals = [s for s in d.get("signals", []) if isinstance(s, dict) and "span" not in s]
    html = packhtml.render(
        "pack-text.html.j2",
        finding=_view(f, listing),
        segments=packhtml.highlight(text, spans),
        copies=copies,
        signals=[_signal_text(s) for s in signals],
        notes=notes,
        captured_at=g.latest(pages) or "",
        pages=pages,
    )
    path = g.add(
        PackFile(
            f"findings/finding-{f['id']}-text.html", html, "text/html; charset=utf-8", "text",
            g.latest(pages), f"the text of {listing['url']} with the match marked",
            sources=tuple(pages),
        )
    )  # fmt: skip
    return [path], packhtml.excerpt(text, spans)


def _signal_text(s: dict[str, Any]) -> str:
    if s.get("signal") == "impersonation":
        return f"the seller name {s.get('seller', '')!r} imitates the mark {s.get('mark', '')}"
    return "; ".join(f"{k}: {v}" for k, v in s.items())


def _view(f: dict[str, Any], listing: dict[str, Any]) -> dict[str, Any]:
    """What the templates and the manifest say of a finding and its listing."""
    price = listing.get("price")
    return {
        "id": f["id"], "kind": f["kind"], "kind_label": KIND_LABELS.get(f["kind"], f["kind"]),
        "score": round(f["score"], 4), "severity": f["severity"] or "", "status": f["status"],
        "explanation": f["explanation"] or "", "asset": f["asset"] or "",
        "first_seen": f["first_seen"], "last_seen": f["last_seen"], "url": listing["url"],
        "marketplace": listing["marketplace"], "listing_id": listing["listing_id"],
        "title": listing.get("title") or "",
        "seller": listing.get("seller_name") or listing.get("seller_id") or "",
        "price": f"{price:g} {listing.get('currency') or ''}".strip() if price is not None else "",
    }  # fmt: skip


def evidence_views(
    ws: Workspace, finding_ids: list[int], *, max_side: int = 480
) -> list[dict[str, Any]]:
    """Each finding as a pack's summary shows it, without writing a pack: its listing, the
    registered photo beside the listing image with the region outlined (``thumb``, a data URI;
    ``jpeg``, the bytes) or the listing text with the match marked (``excerpt``), and ``notes``
    on evidence that could not be shown. The review page and the sweep report show this, so a
    reviewer sees what a platform would be sent; evidence that fails its check is a note there,
    not an error, since nothing is being sent yet. NotFound names an unknown finding id."""
    views = []
    for f in _findings(ws.db, list(dict.fromkeys(int(i) for i in finding_ids))):
        g = _Gather(ws)
        listing = ws.db["listings"].get(f["listing_id"])
        view = {**_view(f, listing), "thumb": None, "jpeg": None, "excerpt": None}
        try:
            if f["kind"] == "image_copy":
                _, view["jpeg"] = image_evidence(g, f, listing["url"])
            else:  # the excerpt only: the marked page is the pack's, not needed to show it
                spans = packhtml.text_spans(f["kind"], f["detail"])
                view["excerpt"] = packhtml.excerpt(listing_text(listing), spans)
        except EvidenceChanged as exc:
            g.notes.append(f"finding {f['id']}: {exc}")
        if view["jpeg"]:
            view["thumb"] = packhtml.data_uri(view["jpeg"], max_side)
        views.append({**view, "notes": g.notes})
    return views


# -- the pack -------------------------------------------------------------------------------------


def default_path(folder: Path, ids: list[int], created_at: str) -> Path:
    """``pack-<ids>-<UTC time>.zip`` in ``folder``, made unique there."""
    shown = "-".join(map(str, ids[:5])) + (f"-and-{len(ids) - 5}-more" if len(ids) > 5 else "")
    stamp = created_at.replace("-", "").replace(":", "").replace(".", "-")
    path, n = folder / f"pack-{shown}-{stamp}.zip", 2
    while path.exists():
        path, n = folder / f"pack-{shown}-{stamp}-{n}.zip", n + 1
    return path


def _summary(
    g: _Gather, views: list[dict[str, Any]], created: str, pdf: bool
) -> tuple[list[PackFile], dict[str, Any]]:
    """summary.html, and summary.pdf where a browser can print it; the manifest's PDF note."""
    latest = g.latest([p for p, f in g.files.items() if f.capture])
    html = packhtml.render(
        "summary.html.j2",
        created_at=created,
        generator=f"listingguard {__version__}",
        owner=g.ws.config.owner,
        findings=views,
        files=[
            {
                "path": f.path,
                "sha256": f.sha256,
                "captured_at": f.captured_at or "",
                "url": f.capture.url if f.capture else "",
            }
            for f in sorted(g.files.values(), key=lambda f: f.path)
        ],
        notes=g.notes,
    )
    out = [PackFile("summary.html", html, "text/html; charset=utf-8", "summary", latest,
                    "a one-page summary of the findings and their evidence")]  # fmt: skip
    browser = packhtml.find_renderer() if pdf else None
    if browser is None:
        looked = ", ".join(packhtml.RENDERERS)
        why = f"no PDF renderer on PATH ({looked})" if pdf else "not asked for"
        return out, {"included": False, "reason": why}
    printed, why = packhtml.print_pdf(html, browser)
    if printed is None:
        return out, {"included": False, "reason": why}
    out.append(PackFile("summary.pdf", printed, "application/pdf", "summary", latest,
                        "the summary printed to PDF", sources=("summary.html",)))  # fmt: skip
    return out, {"included": True, "renderer": Path(browser).name}


def write_pack(
    ws: Workspace, finding_ids: list[int], out: Path | None = None, *, pdf: bool = True
) -> PackResult:
    """Write the evidence pack of ``finding_ids`` to ``out`` (a file, or a folder to put it in;
    default ``evidence/packs/`` of the workspace) and say where it is and its SHA-256.

    NotFound names an unknown finding id; EvidenceChanged a capture that no longer matches the
    store. ``pdf=False`` leaves the PDF out even where a browser could print it.
    """
    ids = list(dict.fromkeys(int(i) for i in finding_ids))
    if not ids:
        raise ListingGuardError("no finding given; 'listingguard findings' lists their ids")
    findings = _findings(ws.db, ids)
    created = utc_now()
    g = _Gather(ws)
    rows: dict[int, dict[str, Any]] = {}  # the listings, as stored
    listings: list[dict[str, Any]] = []  # and as the manifest names them, with their captures
    pages: dict[int, list[str]] = {}
    for lid in dict.fromkeys(f["listing_id"] for f in findings):
        rows[lid] = ws.db["listings"].get(lid)
        pages[lid] = g.pages(lid)
        listings.append({**_listing(rows[lid]), "pages": pages[lid]})
        listings[-1]["images"] = g.listing_images(lid)
        if not pages[lid]:
            g.notes.append(f"listing {rows[lid]['url']}: no capture of its page is held")
    views, entries = [], []
    for f in findings:
        listing, shown = rows[f["listing_id"]], pages[f["listing_id"]]
        view = {**_view(f, listing), "thumb": None, "excerpt": None}
        if f["kind"] == "image_copy":
            paths, jpeg = image_evidence(g, f, listing["url"])
            view["thumb"] = packhtml.data_uri(jpeg) if jpeg else None
        else:
            paths, view["excerpt"] = text_evidence(g, f, listing, shown)
        views.append(view)
        kept = {k: v for k, v in view.items() if k not in ("thumb", "excerpt", "kind_label")}
        entries.append({**kept, "files": list(dict.fromkeys([*shown, *paths]))})
    summary, pdf_note = _summary(g, views, created, pdf)
    if out is None or out.is_dir():
        out = default_path(out or ws.config.workspace.evidence / "packs", ids, created)
    written = pack_mod.write(
        out,
        [*g.files.values(), *summary],
        created_at=created,
        generator=f"listingguard {__version__}",
        findings=entries,
        listings=listings,
        pdf=pdf_note,
        notes=g.notes,
    )
    return PackResult(
        written.path, written.sha256, written.files, written.bytes, tuple(ids), created,
        pdf_note["included"], tuple(g.notes),
    )  # fmt: skip


def _listing(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("marketplace", "listing_id", "url", "canonical_url", "title", "seller_id",
            "seller_name", "price", "currency", "first_seen", "last_seen", "status")  # fmt: skip
    return {k: row.get(k) for k in keep}


def verify_pack(path: Path) -> list[str]:
    """The problems of the pack at ``path``; empty when every file is as its manifest says."""
    return pack_mod.check(path).problems


def check_pack(path: Path) -> pack_mod.PackCheck:
    """``verify_pack`` with the number of files checked and the pack's own SHA-256."""
    return pack_mod.check(path)


# -- the pack a notice recorded -------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A notice that records a pack: by the pack's file name, or by its SHA-256."""

    notice_id: int
    created_at: str  # when the notice was drafted, and its pack written
    sha256: str  # the SHA-256 the notice recorded for its pack
    path: str

    @property
    def date(self) -> str:
        return (self.created_at or "")[:10] or "an unknown date"

    def as_dict(self, sha256: str | None) -> dict[str, Any]:
        return {
            "notice": self.notice_id,
            "created_at": self.created_at,
            "sha256": self.sha256,
            "path": self.path,
            "matches": self.sha256 == sha256,
        }


def recorded(db: Database, path: Path, sha256: str | None) -> list[Recorded]:
    """The notices of the store whose pack has the file name of ``path`` or the SHA-256
    ``sha256``, by id.

    The manifest cannot vouch for itself (whoever edits it can fix its hashes), so the pack is
    pinned from outside: a notice records its pack's SHA-256 when it is drafted.
    """
    rows = db.execute(
        "SELECT id, created_at, pack_path, pack_sha256 FROM notices "
        "WHERE pack_sha256 IS NOT NULL ORDER BY id"
    ).fetchall()
    return [
        Recorded(nid, created or "", sha, pack_path or "")
        for nid, created, pack_path, sha in rows
        if sha == sha256 or (pack_path and Path(pack_path).name == path.name)
    ]


def pin_problems(sha256: str | None, found: list[Recorded]) -> list[str]:
    """What is wrong with a pack whose SHA-256 is ``sha256`` against the notices that record a
    pack of its name: nothing when any of them recorded this very SHA-256."""
    if any(r.sha256 == sha256 for r in found):
        return []
    return [
        f"pack differs from the one recorded for notice {r.notice_id} on {r.date}: "
        f"SHA-256 {r.sha256} expected"
        for r in found
    ]
