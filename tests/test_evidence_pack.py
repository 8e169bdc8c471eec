"""Evidence packs (issue 6, point 4): built from a real sweep of the demo marketplace, checked
by ``evidence verify PACK``, and failing on any changed byte, missing or added file.

One sweep of two storefronts (the second one re-fetches photos of the first, so it has revisit
records) is shared by the module; tests that change the workspace work on a copy of it.
"""

from __future__ import annotations

import doctest
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from listingguard import imaging, packs, store
from listingguard.demo import catalogue_source
from listingguard.errors import NotFound
from listingguard.workspace import open_workspace
from matcher.fingerprint import Fingerprint, fingerprint
from matcher.imagefile import decode
from matcher.imagematch import compare
from takedown import pack as pack_mod
from takedown import sidebyside
from tests.conftest import copy_workspace, run

HOSTILE = '<script>alert(1)</script> {{ 7*7 }} <img src=x onerror="alert(2)"> Lu\u200bma'


@pytest.fixture(scope="module")
def swept(two_shops: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the swept demo workspace; its config.toml."""
    return copy_workspace(two_shops[0], tmp_path_factory.mktemp("packs") / "ws")


def _one(config: Path, sql: str) -> int:
    db = store.open_store(config.parent / "listingguard.db")
    try:
        row = db.execute(sql).fetchone()
    finally:
        db.close()
    assert row, sql
    return row[0]


@pytest.fixture(scope="module")
def chosen(swept: Path) -> dict[str, int]:
    """One finding of each kind: an image copy found inside a bigger image (so its region is a
    real box), a trade mark, a text copy."""
    inset = (
        "SELECT f.id FROM findings f JOIN images i ON i.sha256 = f.detail->>'image_sha256' "
        "WHERE f.kind = 'image_copy' AND f.detail->>'basis' = 'aligned' "
        "AND (f.detail->'region'->>2 - f.detail->'region'->>0) < 0.8 * i.width ORDER BY f.id"
    )
    return {
        "image_copy": _one(swept, inset),
        "trademark": _one(swept, "SELECT id FROM findings WHERE kind = 'trademark' ORDER BY id"),
        "text_copy": _one(swept, "SELECT id FROM findings WHERE kind = 'text_copy' ORDER BY id"),
    }


@pytest.fixture(scope="module")
def pack(swept: Path, chosen: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = open_workspace(swept)
    try:
        result = packs.write_pack(ws, list(chosen.values()), tmp_path_factory.mktemp("out"))
    finally:
        ws.close()
    assert result.path.is_file() and result.files > 5
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    return result.path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _manifest(path: Path) -> dict[str, Any]:
    return json.loads(_members(path)["manifest.json"])


def _rewrite(src: Path, dst: Path, members: dict[str, bytes]) -> Path:
    """The pack with ``members`` instead, as a tamperer would remake it (CRCs all correct)."""
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


# -- what a pack holds ----------------------------------------------------------------------------


def test_a_pack_of_every_kind_verifies_and_its_manifest_is_true(
    pack: Path, swept: Path, chosen: dict[str, int]
) -> None:
    assert packs.verify_pack(pack) == []
    members = _members(pack)
    manifest = _manifest(pack)
    assert list(members)[:2] == ["manifest.json", "summary.html"]  # the fixed order
    listed = {e["path"]: e for e in manifest["files"]}
    assert set(listed) == set(members) - {"manifest.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(members[name]).hexdigest(), name
        assert entry["bytes"] == len(members[name])
        assert "captured_at" in entry
    assert [f["id"] for f in manifest["findings"]] == list(chosen.values())
    assert {f["kind"] for f in manifest["findings"]} == set(chosen)
    assert manifest["generator"].startswith("listingguard ")
    assert manifest["created_at"].endswith("Z")
    assert all(f["url"].startswith("http://127.0.0.1:") for f in manifest["findings"])
    roles = {e["role"] for e in listed.values()}
    assert {"page", "image", "side-by-side", "text", "summary", "asset"} <= roles
    pdf = manifest["pdf"]
    assert pdf["included"] == ("summary.pdf" in members)
    if not pdf["included"]:
        assert "reason" in pdf


def test_captures_are_the_workspace_warc_records_byte_for_byte(pack: Path, swept: Path) -> None:
    members = _members(pack)
    db = store.open_store(swept.parent / "listingguard.db")
    evidence = swept.parent / "evidence"
    captures = [e for e in _manifest(pack)["files"] if "capture" in e]
    assert captures
    for entry in captures:
        c = entry["capture"]
        row = db.execute(
            "SELECT captured_at, url, sha256 FROM captures WHERE warc_record_id = ?",
            [c["warc_record_id"]],
        ).fetchone()
        assert row == (entry["captured_at"], c["url"], c["payload_sha256"])
        data = members[entry["path"]]
        whole = (evidence / c["warc_file"]).read_bytes()
        assert whole[c["warc_offset"] : c["warc_offset"] + len(data)] == data
        assert gzip.decompress(data).startswith(b"WARC/1.1")
    db.close()


def test_a_revisit_travels_with_the_record_holding_its_payload(swept: Path, tmp_path) -> None:
    finding = _one(
        swept,
        "SELECT f.id FROM findings f JOIN listing_images li ON li.listing_id = f.listing_id "
        "JOIN captures c ON c.sha256 = li.image_sha256 AND c.url = li.url "
        "WHERE c.record_type = 'revisit' ORDER BY f.id",
    )
    ws = open_workspace(swept)
    try:
        result = packs.write_pack(ws, [finding], tmp_path / "p.zip", pdf=False)
    finally:
        ws.close()
    entries = {e["path"]: e for e in _manifest(result.path)["files"]}
    revisits = [e for e in entries.values() if e.get("capture", {}).get("record_type") == "revisit"]
    assert revisits
    for e in revisits:
        original = entries[e["capture"]["refers_to"]]["capture"]
        assert original["record_type"] == "response"
        assert original["payload_sha256"] == e["capture"]["payload_sha256"]
    assert packs.verify_pack(result.path) == []


def test_the_side_by_side_image_is_a_sane_picture_with_the_region_outlined(
    pack: Path, chosen: dict[str, int]
) -> None:
    members = _members(pack)
    data = members[f"findings/finding-{chosen['image_copy']}-side-by-side.jpg"]
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        assert 300 <= im.width <= 2 * (sidebyside.MAX_WIDTH + 2 * sidebyside.GAP)
        assert 200 <= im.height <= sidebyside.HEIGHT + sidebyside.BAND + sidebyside.GAP
        rgb = np.asarray(im.convert("RGB")).astype(int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 70) & (rgb[..., 2] < 90)
    assert red.sum() > 200  # the outline is drawn
    manifest = _manifest(pack)
    entry = next(e for e in manifest["files"] if e["role"] == "side-by-side")
    assert all(src in {e["path"] for e in manifest["files"]} for src in entry["sources"])


def test_the_text_evidence_marks_the_match(pack: Path, chosen: dict[str, int]) -> None:
    members = _members(pack)
    mark = members[f"findings/finding-{chosen['trademark']}-text.html"].decode()
    assert '<mark class="mark">' in mark
    copy = members[f"findings/finding-{chosen['text_copy']}-text.html"].decode()
    assert copy.count('<mark class="copy">') >= 2
    summary = members["summary.html"].decode()
    assert "data:image/jpeg;base64," in summary  # thumbnails embedded: one self-contained file
    assert "default-src 'none'" in summary


def test_hostile_scraped_text_stays_inert(swept: Path, tmp_path: Path) -> None:
    db = store.open_store(swept.parent / "listingguard.db")
    page = db.execute("SELECT capture_id FROM listing_captures ORDER BY capture_id").fetchone()[0]
    now = store.now()
    with store.transaction(db):
        lid = store.save_listing(
            db,
            {"marketplace": "demo-html", "listing_id": "hostile-1", "url": "http://x.test/<b>",
             "title": HOSTILE, "description": "{% raw %}{{ config }}", "seller_name": "<i>me</i>",
             "status": "active", "last_seen": now},
        )  # fmt: skip
        db.execute("INSERT INTO listing_captures VALUES (?, ?)", [lid, page])
        start = HOSTILE.index("Lu")
        detail = {"span": [start, len(HOSTILE)], "matched": HOSTILE[start:], "signals": []}
        fid, _ = store.save_finding(
            db,
            {"listing_id": lid, "asset_id": None, "kind": "trademark", "score": 0.9,
             "severity": "high", "explanation": "uses the mark as <b>Lu\u200bma</b>",
             "detail": json.dumps(detail)},
        )  # fmt: skip
    db.close()
    ws = open_workspace(swept)
    try:
        result = packs.write_pack(ws, [fid], tmp_path / "hostile.zip", pdf=False)
    finally:
        ws.close()
    members = _members(result.path)
    for name in ("summary.html", f"findings/finding-{fid}-text.html"):
        html = members[name].decode()
        assert "<script>" not in html and "<img src=x" not in html and "<i>me" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "{{ 7*7 }}" in html and "{% raw %}{{ config }}" in html
        assert "U+200B" in html  # the invisible character is shown, not hidden
    assert packs.verify_pack(result.path) == []


# -- tampering ------------------------------------------------------------------------------------


def _changed(data: bytes) -> bytes:
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


@pytest.mark.parametrize("role", ["page", "image", "side-by-side", "text", "summary", "asset"])
def test_one_byte_changed_in_any_member_fails(pack: Path, tmp_path: Path, role: str) -> None:
    members = _members(pack)
    name = next(e["path"] for e in _manifest(pack)["files"] if e["role"] == role)
    members[name] = _changed(members[name])
    problems = packs.verify_pack(_rewrite(pack, tmp_path / "t.zip", members))
    assert problems and all(p.startswith(name) for p in problems), problems
    assert "SHA-256" in problems[0]


def test_a_byte_flipped_in_the_zip_file_itself_fails(pack: Path, tmp_path: Path) -> None:
    raw = pack.read_bytes()
    with zipfile.ZipFile(pack) as zf:
        infos = zf.infolist()
    for info in infos:
        # The member's data follows its local header: 30 bytes, its name and extra field.
        at = info.header_offset
        name = int.from_bytes(raw[at + 26 : at + 28], "little")
        extra = int.from_bytes(raw[at + 28 : at + 30], "little")
        start = at + 30 + name + extra
        at = start + info.compress_size // 2
        bad = tmp_path / "flipped.zip"
        bad.write_bytes(raw[:at] + bytes([raw[at] ^ 0x40]) + raw[at + 1 :])
        assert packs.verify_pack(bad), info.filename


def test_a_removed_member_fails(pack: Path, tmp_path: Path) -> None:
    members = _members(pack)
    name = next(n for n in members if n.endswith(".warc.gz"))
    del members[name]
    problems = packs.verify_pack(_rewrite(pack, tmp_path / "t.zip", members))
    assert problems == [f"{name}: listed in the manifest but missing from the pack"]


def test_an_extra_member_fails(pack: Path, tmp_path: Path) -> None:
    members = _members(pack) | {"findings/extra.txt": b"added later"}
    problems = packs.verify_pack(_rewrite(pack, tmp_path / "t.zip", members))
    assert problems == ["findings/extra.txt: in the pack but not in the manifest"]


def test_a_warc_payload_changed_with_a_matching_manifest_still_fails(
    pack: Path, tmp_path: Path
) -> None:
    """A tamperer who also rewrites the manifest's file hash is caught by the payload digest."""
    members = _members(pack)
    manifest = json.loads(members["manifest.json"])
    entry = next(e for e in manifest["files"] if e["role"] == "page")
    record = gzip.decompress(members[entry["path"]])
    changed = gzip.compress(record[:-40] + _changed(record[-40:]))
    members[entry["path"]] = changed
    entry["sha256"], entry["bytes"] = hashlib.sha256(changed).hexdigest(), len(changed)
    members["manifest.json"] = json.dumps(manifest).encode()
    problems = packs.verify_pack(_rewrite(pack, tmp_path / "t.zip", members))
    assert len(problems) == 1 and "payload SHA-256" in problems[0], problems


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not a zip at all", "not a readable zip file"),
        (None, "manifest.json: missing"),
    ],
)
def test_what_is_not_a_pack_is_named(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "x.zip"
    if content is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("summary.html", "<p>hi</p>")
    else:
        path.write_bytes(content)
    problems = packs.verify_pack(path)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


# -- hostile packs: bombs and long messages -------------------------------------------------------

BOMB_HEADER = (
    b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: http://x.test/\r\n"
    b"WARC-Date: 2026-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:bomb>\r\n"
    b"Content-Type: application/http; msgtype=response\r\nContent-Length: 99000000\r\n\r\n"
    b"HTTP/1.1 200 OK\r\n\r\n"
)


def _gzip_of_zeros(size: int, head: bytes = BOMB_HEADER) -> bytes:
    """A gzip member of ``head`` and zeros up to ``size`` bytes, made without holding them."""
    gz = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts, left = [gz.compress(head)], size - len(head)
    block = bytes(1 << 20)
    while left > 0:
        parts.append(gz.compress(block[:left]))
        left -= len(block)
    return b"".join([*parts, gz.flush()])


def _bomb(path: Path, member: bytes, method: int = zipfile.ZIP_STORED) -> Path:
    """A pack of one WARC member whose manifest entry is right about it (size and SHA-256)."""
    entry = {
        "path": "captures/000001-page.warc.gz", "sha256": hashlib.sha256(member).hexdigest(),
        "bytes": len(member), "media_type": "application/warc", "role": "page",
        "captured_at": "2026-01-01T00:00:00Z",
        "capture": {"url": "http://x.test/", "warc_record_id": "<urn:uuid:bomb>",
                    "record_type": "response", "payload_sha256": "0" * 64, "http_status": 200},
    }  # fmt: skip
    manifest = {"format": pack_mod.FORMAT, "format_version": 1, "files": [entry]}
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr(entry["path"], member)
    return path


def _short_enough(problems: list[str]) -> None:
    assert problems
    assert all(len(p) <= pack_mod.MAX_PROBLEM_CHARS for p in problems), [len(p) for p in problems]


def test_a_small_zip_whose_record_inflates_past_the_cap_is_refused(tmp_path: Path) -> None:
    """The reviewer's bomb: a WARC member of a few dozen KB that gunzips to more than the
    limit is reported as too large, never inflated past it."""
    member = _gzip_of_zeros(pack_mod.MAX_RECORD_BYTES + 1_000_000)
    bomb = _bomb(tmp_path / "bomb.zip", member)
    assert bomb.stat().st_size < 200_000
    problems = packs.verify_pack(bomb)
    assert len(problems) == 1, problems
    assert "too large" in problems[0]
    assert f"inflates past {pack_mod.MAX_RECORD_BYTES} bytes" in problems[0]
    _short_enough(problems)


def test_a_zip_member_inflating_absurdly_is_not_read(tmp_path: Path) -> None:
    """10 MB of zeros deflated into a 10 KB zip (and 300 MB into 300 KB): refused from the
    sizes the zip declares, before anything is inflated."""
    bomb = _bomb(tmp_path / "deflated.zip", bytes(10_000_000), zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 20_000
    (problem,) = packs.verify_pack(bomb)
    assert "absurd compression ratio" in problem and "nothing is read" in problem
    _short_enough([problem])
    # The same member beside enough stored bytes that the zip as a whole looks sane: the
    # member's own ratio refuses it.
    path = tmp_path / "one-member.zip"
    entry = {"path": "zeros.html", "sha256": "0" * 64, "bytes": 10_000_000}
    manifest = {"format": pack_mod.FORMAT, "format_version": 1, "files": [entry]}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("filler.bin", os.urandom(100_000))
        zf.writestr("zeros.html", bytes(10_000_000), zipfile.ZIP_DEFLATED)
        zf.writestr("manifest.json", json.dumps(manifest))
    problems = packs.verify_pack(path)
    assert "zeros.html: 10000000 bytes compressed to" in problems[-1], problems
    assert "absurd compression ratio" in problems[-1]


def test_a_member_above_its_limit_is_too_large_unread(pack: Path, monkeypatch) -> None:
    """The declared size is compared with the limit before a byte is read: a WARC member
    above it (here, every capture: the limit is lowered) is reported as too large."""
    captures = [e["path"] for e in _manifest(pack)["files"] if "capture" in e]
    monkeypatch.setattr(pack_mod, "MAX_WARC_MEMBER_BYTES", 100)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(zf: zipfile.ZipFile, info: Any, *args: Any, **kw: Any) -> Any:
        opened.append(getattr(info, "filename", info))
        return real_open(zf, info, *args, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    problems = packs.verify_pack(pack)
    assert len(problems) == len(captures)
    for name, problem in zip(captures, problems, strict=True):
        assert problem.startswith(f"{name}: ") and "too large for a WARC member" in problem
    assert opened and not set(opened) & set(captures)


def test_the_reviewers_bomb_under_the_cap_is_a_short_problem(tmp_path: Path, runner) -> None:
    """A record of 10 MB of zeros: quickly not a WARC record, in one short line, where the
    exception text once quoted the zeros (40 MB of output)."""
    bomb = _bomb(tmp_path / "zeros.zip", _gzip_of_zeros(10_000_000, b""), zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 20_000
    (problem,) = packs.verify_pack(bomb)
    assert "not a WARC record" in problem
    nowhere = tmp_path / "no-workspace" / "config.toml"
    code, out, err = run(runner, nowhere, "evidence", "verify", str(bomb))
    assert code == 1 and "1 problem." in out
    assert len(err) < 1000


def test_problem_messages_are_short_and_few(pack: Path, tmp_path: Path, runner) -> None:
    """Hostile names, header values and error texts are cut short, and the problems capped."""
    members = _members(pack)
    manifest = json.loads(members["manifest.json"])
    entry = next(e for e in manifest["files"] if e["role"] == "page")
    entry["capture"]["url"] = "http://x.test/" + "a" * 100_000
    members["manifest.json"] = json.dumps(manifest).encode()
    for i in range(300):
        members[f"extra/{i:03d}-{'n' * 5000}.txt"] = b"x"
    bad = _rewrite(pack, tmp_path / "long.zip", members)
    problems = packs.verify_pack(bad)
    assert len(problems) == pack_mod.MAX_PROBLEMS + 1
    assert problems[-1].startswith("and ") and problems[-1].endswith("more problems")
    _short_enough(problems)
    urls = {k: v for k, v in members.items() if not k.startswith("extra/")}
    problems = packs.verify_pack(_rewrite(pack, tmp_path / "url.zip", urls))
    url_problem = next(p for p in problems if "WARC-Target-URI" in p)
    _short_enough([url_problem])
    nowhere = tmp_path / "no-workspace" / "config.toml"
    code, _out, err = run(runner, nowhere, "evidence", "verify", str(bad))
    assert code == 1 and len(err) < 60_000


# -- the manifest: checked against the records, pinned by the notice ------------------------------


def _edited(pack: Path, dst: Path, edit: Any) -> Path:
    """The pack with its manifest changed by ``edit`` and every member otherwise as it was."""
    members = _members(pack)
    manifest = json.loads(members["manifest.json"])
    edit(manifest)
    members["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    dst.parent.mkdir(parents=True, exist_ok=True)
    return _rewrite(pack, dst, members)


def _capture(manifest: dict[str, Any], role: str = "page") -> dict[str, Any]:
    return next(e for e in manifest["files"] if e["role"] == role)


EDITS = {
    "http_status": (lambda m: _capture(m)["capture"].update(http_status=404), "HTTP status"),
    "image http_status": (
        lambda m: _capture(m, "image")["capture"].update(http_status=500), "HTTP status",
    ),
    "content_type": (
        lambda m: _capture(m)["capture"].update(content_type="text/plain"), "Content-Type",
    ),
    "url": (
        lambda m: _capture(m)["capture"].update(url="http://127.0.0.1:1/other"), "WARC-Target-URI",
    ),
    "record id": (
        lambda m: _capture(m)["capture"].update(warc_record_id="<urn:uuid:0>"), "WARC-Record-ID",
    ),
    "capture time": (
        lambda m: _capture(m).update(captured_at="2020-01-01T00:00:00Z"), "WARC-Date",
    ),
    "derived capture time": (
        lambda m: _capture(m, "side-by-side").update(captured_at="2020-01-01T00:00:00Z"),
        "latest of its sources",
    ),
    "summary capture time": (
        lambda m: _capture(m, "summary").update(captured_at="2020-01-01T00:00:00Z"),
        "latest of its sources",
    ),
}  # fmt: skip


@pytest.mark.parametrize("what", list(EDITS))
def test_a_manifest_fact_the_record_contradicts_fails(
    pack: Path, tmp_path: Path, what: str
) -> None:
    edit, expected = EDITS[what]
    problems = packs.verify_pack(_edited(pack, tmp_path / "edited.zip", edit))
    assert problems and expected in problems[0], problems
    if what == "capture time":  # which the files made from the page repeat: they fail too
        return
    # The PDF printed from the summary (where Chromium is installed) is made from it: it fails too.
    printed = what == "summary capture time" and "summary.pdf" in _members(pack)
    assert len(problems) == 1 + printed, problems


def test_an_edited_http_status_fails_without_a_workspace(
    pack: Path, tmp_path: Path, runner: CliRunner
) -> None:
    bad = _edited(pack, tmp_path / "status.zip", EDITS["http_status"][0])
    nowhere = tmp_path / "no-workspace" / "config.toml"
    code, out, err = run(runner, nowhere, "evidence", "verify", str(bad))
    assert code == 1 and "HTTP status is 200, the manifest says 404" in err, err
    assert "1 problem." in out
    sha = hashlib.sha256(bad.read_bytes()).hexdigest()
    assert f"SHA-256 {sha}: compare it with the SHA-256 the notice gives" in out


def _drafted(swept: Path, tmp_path: Path, runner: CliRunner) -> tuple[Path, dict[str, Any]]:
    """A copy of the swept workspace with one confirmed trade mark finding drafted into a
    notice with its pack (as an operator does it); its config and the notice's row."""
    copy = tmp_path / "ws"
    shutil.copytree(swept.parent, copy)
    config = copy / "config.toml"
    finding = _one(
        config,
        "SELECT f.id FROM findings f JOIN listings l ON l.id = f.listing_id "
        "JOIN assets a ON a.id = f.asset_id WHERE f.kind = 'trademark' "
        "AND l.marketplace = 'demo-jsonld' AND f.status = 'new' AND a.name = 'Luma' "
        "ORDER BY f.score DESC, f.id",
    )
    code, out, err = run(runner, config, "findings", "confirm", str(finding))
    assert code == 0, out + err
    code, out, err = run(runner, config, "takedown", "draft", str(finding))
    assert code == 0, out + err
    db = store.open_store(copy / "listingguard.db")
    try:
        (notice,) = db.query("SELECT * FROM notices")
    finally:
        db.close()
    assert notice["pack_path"] and notice["pack_sha256"]
    return config, notice


def test_an_edited_manifest_title_fails_where_the_notice_records_the_pack(
    swept: Path, tmp_path: Path, runner: CliRunner
) -> None:
    config, notice = _drafted(swept, tmp_path, runner)
    recorded = Path(notice["pack_path"])
    sha, date = notice["pack_sha256"], notice["created_at"][:10]
    assert hashlib.sha256(recorded.read_bytes()).hexdigest() == sha
    code, out, err = run(runner, config, "evidence", "verify", str(recorded))
    assert code == 0 and "all unchanged" in out, err
    assert f"SHA-256 {sha}: the very pack recorded for notice {notice['id']} on {date}" in out
    assert sha in Path(notice["path"]).read_text()  # the notice's text gives it too

    def retitle(m: dict[str, Any]) -> None:
        m["listings"][0]["title"] = "An honest listing"
        m["findings"][0]["title"] = "An honest listing"

    # The platform's copy, as a tamperer sent it: same file name, every member's hash intact.
    bad = _edited(recorded, tmp_path / "received" / recorded.name, retitle)
    assert packs.verify_pack(bad) == []  # the manifest alone cannot tell
    code, out, err = run(runner, config, "evidence", "verify", str(bad))
    expected = (
        f"pack differs from the one recorded for notice {notice['id']} on {date}: "
        f"SHA-256 {sha} expected"
    )
    assert code == 1 and expected in err, err
    assert "1 problem." in out
    code, out, _ = run(runner, config, "evidence", "verify", str(bad), "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"] and report["problems"] == [expected]
    assert report["workspace"] and report["recorded"][0]["matches"] is False
    # Without the workspace it verifies, but says its SHA-256 for comparing with the notice.
    nowhere = tmp_path / "no-workspace" / "config.toml"
    code, out, _ = run(runner, nowhere, "evidence", "verify", str(bad))
    assert code == 0 and hashlib.sha256(bad.read_bytes()).hexdigest() in out
    assert sha not in out
    # The recorded pack under another name is still known by its SHA-256.
    renamed = tmp_path / "renamed.zip"
    shutil.copyfile(recorded, renamed)
    code, out, err = run(runner, config, "evidence", "verify", str(renamed))
    assert code == 0 and f"recorded for notice {notice['id']}" in out, err


# -- the writer -----------------------------------------------------------------------------------


def _files() -> list[pack_mod.PackFile]:
    return [
        pack_mod.PackFile("b/two.txt", b"two", "text/plain", "text", None),
        pack_mod.PackFile("summary.html", b"<p>s</p>", "text/html", "summary", None),
        pack_mod.PackFile("a/one.jpg", b"\xff\xd8one", "image/jpeg", "asset", None),
    ]


def test_the_writer_is_deterministic_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    when = "2026-01-02T03:04:05.000006Z"
    a = pack_mod.write(tmp_path / "a.zip", _files(), created_at=when)
    b = pack_mod.write(tmp_path / "b.zip", list(reversed(_files())), created_at=when)
    assert a.sha256 == b.sha256 and a.files == 3
    assert zipfile.ZipFile(a.path).namelist() == [
        "manifest.json", "summary.html", "a/one.jpg", "b/two.txt",
    ]  # fmt: skip
    assert pack_mod.check(a.path).problems == []
    for bad in ("../escape.txt", "/abs.txt", "manifest.json", "b/two.txt"):
        extra = pack_mod.PackFile(bad, b"x", "text/plain", "text", None)
        with pytest.raises(ValueError):
            pack_mod.write(tmp_path / "c.zip", [*_files(), extra], created_at=when)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "b.zip"]


def test_a_crash_while_writing_keeps_the_old_pack(tmp_path: Path, monkeypatch) -> None:
    when = "2026-01-02T03:04:05Z"
    old = pack_mod.write(tmp_path / "p.zip", _files(), created_at=when)
    before = old.path.read_bytes()

    def crash(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pack_mod, "_add", crash)
    with pytest.raises(OSError):
        pack_mod.write(tmp_path / "p.zip", _files(), created_at=when)
    assert old.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.zip"]


def test_a_warc_record_is_copied_as_its_gzip_member_and_no_more() -> None:
    first, big, last = gzip.compress(b"a" * 1000), gzip.compress(b"b" * 3_000_000), b"\x1f\x8b"
    blob = b"head" + first + big + last
    assert packs.copy_record(io.BytesIO(blob), 4, 10_000) == first
    assert packs.copy_record(io.BytesIO(blob), 4 + len(first), 5_000_000) == big
    with pytest.raises(ValueError, match="more than"):  # a bomb is stopped at the limit
        packs.copy_record(io.BytesIO(blob), 4 + len(first), 1_000_000)
    with pytest.raises(ValueError, match="truncated"):
        packs.copy_record(io.BytesIO(blob[:-10]), 4 + len(first), 5_000_000)


# -- the region: fingerprint frame to pixels ------------------------------------------------------


def test_the_region_is_scaled_from_the_frame_the_matcher_saw(swept: Path) -> None:
    """A big JPEG is fingerprinted from its draft decoding at half size or less, so the region
    the matcher gives must be scaled up to the image's own pixels, then to the drawing."""
    assert doctest.testmod(sidebyside).failed == 0
    owned_bytes = (catalogue_source() / "images" / "wg09-gr-0.jpg").read_bytes()
    owned_rgb, _ = decode(owned_bytes)
    inset = owned_rgb.resize((owned_rgb.width * 2, owned_rgb.height * 2))
    canvas = Image.new("RGB", (3000, 2400), (240, 236, 225))
    truth = (1700, 500, 1700 + inset.width, 500 + inset.height)
    canvas.paste(inset, truth[:2])
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=92)
    big = buf.getvalue()
    analysis = imaging.analyse(big, 10_000_000, 50_000_000)
    assert not isinstance(analysis, str)
    query = Fingerprint.from_bytes(analysis.data)
    match = compare(query, fingerprint(np.asarray(owned_rgb)))
    assert match.score >= 0.5 and match.detail["basis"] == "aligned"
    region = tuple(match.detail["region"])
    db = store.open_store(swept.parent / "listingguard.db")
    frame = packs.region_frame(db, "0" * 64, big, open_workspace(swept).config.crawler)
    db.close()
    assert frame == (query.width, query.height) and frame[0] < 3000  # not the full size
    box = sidebyside.scale_box(region, frame, canvas.size)  # type: ignore[arg-type]
    assert all(abs(a - b) <= 0.02 * 3000 for a, b in zip(box, truth, strict=True)), (box, truth)
    drawn = sidebyside.compose(owned_rgb, canvas, region, frame)  # type: ignore[arg-type]
    rgb = np.asarray(drawn).astype(int)
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 40) & (rgb[..., 2] < 80)
    ys, xs = np.nonzero(red)
    scale = sidebyside.HEIGHT / canvas.height
    left = 2 * sidebyside.GAP + round(owned_rgb.width * sidebyside.HEIGHT / owned_rgb.height)
    assert abs(xs.min() - (left + truth[0] * scale)) < 15
    assert abs(ys.min() - (sidebyside.BAND + truth[1] * scale)) < 15


# -- errors, PDF and the command line -------------------------------------------------------------


def test_an_unknown_finding_is_named(swept: Path, runner: CliRunner) -> None:
    ws = open_workspace(swept)
    try:
        with pytest.raises(NotFound, match="no finding with id 987654"):
            packs.write_pack(ws, [987654])
    finally:
        ws.close()
    code, _out, err = run(runner, swept, "evidence", "pack", "987654")
    assert code == 2 and "no finding with id 987654" in err


def test_a_changed_capture_is_not_packed(swept: Path, chosen: dict[str, int], tmp_path) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(swept.parent, copy)
    db = store.open_store(copy / "listingguard.db")
    name, offset = db.execute(
        "SELECT c.warc_file, c.warc_offset FROM findings f JOIN listing_captures lc "
        "ON lc.listing_id = f.listing_id JOIN captures c ON c.id = lc.capture_id WHERE f.id = ?",
        [chosen["trademark"]],
    ).fetchone()
    db.close()
    warc = copy / "evidence" / name
    data = warc.read_bytes()
    member = packs.copy_record(io.BytesIO(data), offset, 10_000_000)
    record = gzip.decompress(member)
    forged = gzip.compress(record[:-40] + _changed(record[-40:]))
    warc.write_bytes(data[:offset] + forged + data[offset + len(member) :])
    ws = open_workspace(copy / "config.toml")
    try:
        with pytest.raises(packs.EvidenceChanged, match="body changed"):
            packs.write_pack(ws, [chosen["trademark"]], tmp_path / "p.zip")
    finally:
        ws.close()
    assert not (tmp_path / "p.zip").exists()


def test_a_summary_pdf_where_a_browser_can_print(
    swept: Path, chosen: dict[str, int], tmp_path: Path, monkeypatch
) -> None:
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\nfor a in "$@"; do case $a in --print-to-pdf=*) '
        "printf '%%PDF-1.4 fake' > \"${a#--print-to-pdf=}\";; esac; done\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(fake.parent))
    ws = open_workspace(swept)
    try:
        result = packs.write_pack(ws, [chosen["trademark"]], tmp_path / "p.zip")
    finally:
        ws.close()
    assert result.pdf
    assert _members(result.path)["summary.pdf"].startswith(b"%PDF-")
    assert _manifest(result.path)["pdf"] == {"included": True, "renderer": "chromium"}
    assert packs.verify_pack(result.path) == []


def test_the_commands_pack_then_verify(
    swept: Path, chosen: dict[str, int], runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "notice.zip"
    ids = [str(i) for i in chosen.values()]
    code, out, err = run(runner, swept, "evidence", "pack", *ids, "--out", str(target))
    assert code == 0, err
    assert str(target) in out and "listingguard evidence verify" in out
    code, out, err = run(runner, swept, "evidence", "verify", str(target))
    assert code == 0 and "all unchanged" in out, err
    assert "no notice of this workspace records this pack" in out  # not a notice's pack
    nowhere = tmp_path / "no-workspace" / "config.toml"  # a pack is checked without one
    code, out, err = run(runner, nowhere, "evidence", "verify", str(target))
    assert code == 0 and "all unchanged" in out, err
    code, out, _ = run(runner, swept, "evidence", "verify", str(target), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["problems"] == []
    members = _members(target)
    name = next(n for n in members if n.endswith("-text.html"))
    members[name] = _changed(members[name])
    bad = _rewrite(target, tmp_path / "bad.zip", members)
    code, out, err = run(runner, swept, "evidence", "verify", str(bad))
    assert code == 1 and name in err and "1 problem." in out
    code, out, _ = run(runner, swept, "evidence", "pack", ids[0], "--json")
    written = json.loads(out)
    assert code == 0 and Path(written["path"]).parent == swept.parent / "evidence" / "packs"
    code, out, _ = run(runner, swept, "evidence", "verify")  # the workspace's own evidence
    assert code == 0 and "captures checked: all unchanged" in out
