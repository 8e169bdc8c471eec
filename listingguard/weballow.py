"""Allowing a seller from the review page: an ``[[authorised]]`` entry appended to config.toml.

config.toml is where the allowlist lives (``listingguard.allowlist`` reads it), so the review
page writes there too, as a person would: one new table at the end of the file, the rest of the
file untouched. The new text is parsed and validated before anything is written. The seller's
open findings then get the status a sweep gives findings on an authorised seller.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from listingguard import config as config_mod
from listingguard import store
from listingguard.allowlist import authorised_seller
from listingguard.config import Authorised, Config
from listingguard.errors import ListingGuardError

MAX_NAME = 200
_WRITING = threading.Lock()  # one writer of config.toml at a time (the server is threaded)


class AllowError(ListingGuardError):
    """The seller cannot be added to the allowlist; says why."""


@dataclass(frozen=True)
class Allowed:
    entry: Authorised
    findings: tuple[int, ...]  # marked authorised now
    in_notices: tuple[int, ...]  # left as they are: their notices will refuse to go on


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def entry_for(listing: dict[str, Any]) -> Authorised:
    """The entry that allows this listing's seller on its marketplace: by seller id where the
    marketplace shows one (names are not unique), else by the seller's name."""
    seller_id = (listing.get("seller_id") or "").strip()
    seller_name = (listing.get("seller_name") or "").strip()
    if not (seller_id or seller_name):
        raise AllowError(f"listing {listing.get('url')} names no seller: nothing to allow")
    name = (seller_name or seller_id)[:MAX_NAME]
    return Authorised(
        name=name,
        kind="seller",
        marketplaces=(listing["marketplace"],),
        seller_ids=(seller_id,) if seller_id else (),
        seller_names=() if seller_id else (seller_name,),
    )


def entry_toml(entry: Authorised, note: str) -> str:
    """The entry as the table appended to config.toml, after a comment saying where it came from."""

    def strings(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(toml_string(v) for v in values) + "]"

    return (
        f"\n# {note}\n[[authorised]]\nname = {toml_string(entry.name)}\nkind = {toml_string(entry.kind)}\n"
        f"marketplaces = {strings(entry.marketplaces)}\nseller_ids = {strings(entry.seller_ids)}\n"
        f"seller_names = {strings(entry.seller_names)}\ndomains = []\n"
    )


def append_entry(
    config_path: Path, entry: Authorised, note: str, listing: dict[str, Any]
) -> Config:
    """Append ``entry`` to the config file and return the configuration it now gives; a
    ConfigError (nothing written) if the file would not load afterwards, an AllowError if the
    file as it is now already allows the seller (a second click, another request: checked under
    the lock, with the file locked against other processes)."""
    with _WRITING, config_path.open("r+", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        text = config_path.read_text("utf-8-sig")
        if authorised_seller(config_mod.parse(text, config_path), listing) is not None:
            raise AllowError(f"{entry.name} is already on the allowlist ([[authorised]])")
        sep = "" if not text or text.endswith("\n") else "\n"
        block = sep + entry_toml(entry, note)
        updated = config_mod.parse(text + block, config_path)
        if updated.authorised[-1] != entry:
            raise AllowError(f"{config_path}: the new [[authorised]] entry did not read back")
        with config_path.open("a", encoding="utf-8") as fh:
            fh.write(block)
    return updated


def allow_seller(db: Database, config: Config, listing: dict[str, Any], note: str) -> Allowed:
    """Allow the seller of ``listing``: the config entry, then the seller's new and confirmed
    findings on that marketplace marked ``authorised`` (as a sweep would mark them), except those
    in an open notice, which that notice's approval or filing will refuse."""
    entry = entry_for(listing)
    if authorised_seller(config, listing) is not None:
        raise AllowError(f"{entry.name} is already on the allowlist ([[authorised]])")
    updated = append_entry(config.path, entry, note, listing)
    rows = list(
        db.query(
            "SELECT f.id, l.marketplace, l.url, l.seller_id, l.seller_name, l.seller_url, "
            "(SELECT MIN(n.id) FROM notice_findings nf JOIN notices n ON n.id = nf.notice_id "
            " WHERE nf.finding_id = f.id AND n.status IN ('draft', 'approved', 'submitted')) "
            "AS notice FROM findings f JOIN listings l ON l.id = f.listing_id "
            "WHERE l.marketplace = ? AND f.status IN ('new', 'confirmed')",
            [listing["marketplace"]],
        )
    )
    covered = [r for r in rows if authorised_seller(updated, r) is not None]
    marked = [r["id"] for r in covered if r["notice"] is None]
    with store.transaction(db):
        db.conn.executemany(
            "UPDATE findings SET status = 'authorised', reviewed_at = ? WHERE id = ?",
            [(store.now(), i) for i in marked],
        )
    notices = sorted({r["notice"] for r in covered if r["notice"] is not None})
    return Allowed(entry, tuple(marked), tuple(notices))


def note_for(finding_id: int) -> str:
    return f"added by `listingguard review` on {dt.date.today().isoformat()} (finding {finding_id})"
