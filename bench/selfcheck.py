"""Pre-listing self-check (``listingguard check``) on a labelled sheet of real listings, and its speed.

A demo workspace (``listingguard demo``) is the owner "Luma" with its photos and copy; other
sellers' listings are in its store. Extra Luma photos of families the demo does not use are
registered as a competitor's (``--rights third_party``), as licensed with an expired licence,
with a German-only licence and with a valid one, and a competitor's word mark is added. Then a
sheet of at least 240 rows is built from real data (Walmart/Amazon titles, Luma copy and photos,
the store's captures), each row labelled ``block`` or ``not_block`` in a separate file by
construction and by an independent whole-word check of the bundled known-brands list, never
by the tool. The check runs on it (``--territory US --platform amazon``) and every row's verdict
is compared with its label, per group.

Speed: a sheet of ``--listings`` listings with 3 photos each (drawn from the 360 Luma photos, so
photos repeat) is checked end to end on a fresh copy of the workspace, then again (fingerprints
cached). The baseline, measured in the same run, is decoding and fingerprinting each distinct
photo once with the project's own analysis in a forkserver pool of 2 workers.

    python bench/selfcheck.py [--data ../shared/data] [--listings 500] [--keep DIR] [--build-only]

``--keep DIR`` keeps the sheets, labels and workspaces there; ``--build-only`` builds the
workspace and the labelled sheet without running the check.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parent.parent
KNOWN_BRANDS = ROOT / "matcher" / "data" / "known-brands.toml"
DEMO_CATALOGUE = ROOT / "listingguard" / "demo" / "catalogue"
SEED = 7
TODAY_CHECK = ["--territory", "US", "--platform", "amazon"]

# Seller brands of our own invention; checked below to be no known brand nor a typo of one.
NEUTRAL_BRANDS = ["Quillbrook", "Tarnvale", "Ostrimo", "Halvendra", "Pellwick"]
COMPETITOR_MARK = "Vexmoor"  # registered --kind mark --rights third_party
BANNED_TERMS = ["replica", "1:1", "dupe", "inspired by", "AAA quality", "高仿", "mirror quality"]
BANNED_SENTENCES = {
    "replica": "A replica of the original design.",
    "1:1": "A 1:1 copy of the original design.",
    "dupe": "A dupe of the original design at a fraction of the price.",
    "inspired by": "Inspired by the original designer model.",
    "AAA quality": "AAA quality, just like the original.",
    "高仿": "高仿 原版 同款.",
    "mirror quality": "Mirror quality, just like the original.",
}
# Counterfeit wording used to tell counterfeits in the store from other sellers' own listings.
COUNTERFEIT_WORDS = [
    *BANNED_TERMS,
    "aaa",
    "original quality",
    "same as the original",
    "same as in the shop",
    "factory outlet",
]
MENTION_PHRASES = ["for", "compatible with", "fits", "works with"]
LEET = {"o": "0", "i": "1", "e": "3", "a": "4"}
CYRILLIC = {
    "a": "а",
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "x": "х",
    "A": "А",
    "E": "Е",
    "O": "О",
    "P": "Р",
    "C": "С",
    "X": "Х",
}
ZWSP = "\u200b"
GENERIC_SENTENCES = [
    "Please check the model number and the dimensions before ordering.",
    "The package holds the item named in the title and a printed quick-start sheet.",
    "Packed in a plain recyclable carton.",
    "Our support team answers questions within one business day.",
    "Returns are accepted within 30 days in unused condition.",
    "Wipe clean with a soft dry cloth.",
    "Store in a cool and dry place away from direct sunlight.",
    "Colours may look slightly different on different screens.",
    "Each unit is inspected before it leaves our warehouse.",
    "Made to our own specification and tested in our workshop.",
    "Compact enough to fit in a drawer or a travel bag.",
]
GENERIC_BULLETS = [
    "Checked and packed by hand",
    "Plain recyclable packaging",
    "Ships within two business days",
    "Easy to clean with a dry cloth",
    "Dimensions listed in the product details",
    "Email support within one business day",
    "30-day returns in unused condition",
]
COLUMNS = [
    "sku",
    "title",
    "brand",
    "description",
    "bullet_point1",
    "bullet_point2",
    "bullet_point3",
    "images",
]
BLOCK_CHECKS = {
    "clean": None,
    "clean_luma": None,
    "third_party_mark": "third_party_mark",
    "disguised_mark": "third_party_mark",
    "mention": None,
    "banned_term": "banned_term",
    "others_photo": "image_source",
    "bad_licence": "image_source",
    "copied_text": "copied_text",
    "one_copied_sentence": None,
}


def norm(text: str) -> str:
    """Case folded, accents dropped, every run of non-alphanumerics one space, space-padded."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "


def squash(text: str) -> str:
    return norm(text).replace(" ", "")


@dataclass
class Brands:
    """The bundled known-brands list, with the forms our independent whole-word check uses."""

    names: list[str]
    ambiguous: set[str]
    forms: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Brands:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        names = [b for v in data.values() for b in v.get("brands", ())]
        brands = cls(names, set(data["ambiguous"]["names"]))
        for b in names:
            brands.forms.append((b, norm(b)))
            if squash(b) != norm(b).strip() and len(squash(b)) >= 4:  # "Levi's" -> "levis"
                brands.forms.append((b, f" {squash(b)} "))
        return brands

    def named_in(self, text: str) -> list[str]:
        t = norm(text)
        return sorted({b for b, f in self.forms if f in t})

    def plain(self) -> list[str]:
        """Unambiguous one-word alphabetic brands of four or more letters, for disguises."""
        return [b for b in self.names if b not in self.ambiguous and b.isalpha() and len(b) >= 4]


def check_invented(name: str, brands: Brands) -> None:
    s = squash(name)
    for b in [*brands.names, "Luma", "LumaTech"]:
        if Levenshtein.distance(s, squash(b)) < 3 or (len(squash(b)) >= 4 and squash(b) in s):
            raise ValueError(f"{name!r} is too close to the brand {b!r}; pick another name")


def has_term(text: str, terms: list[str]) -> bool:
    t = norm(text)
    return any(norm(w) in t if w.isascii() else w in text for w in terms)


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+|•", text or "")
    return [p.strip() for p in parts if len(norm(p).split()) >= 4]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(cmd: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode not in (0, 1):
        raise RuntimeError(
            f"{' '.join(cmd[:6])} ... exited {proc.returncode}:\n{proc.stderr[-3000:]}"
        )
    return proc


def cli(*args: str, ws: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(
        [sys.executable, "-m", "listingguard", *args, "--config", str(ws / "config.toml")],
        check=check,
    )


# ---- the workspace -------------------------------------------------------------------------


@dataclass
class Workspace:
    path: Path
    db: Path
    evidence: Path
    owned_sha: set[str]
    owner_copy: set[str]  # normalised sentences of the owner's copy
    authorised: set[str]  # seller names and ids of [[authorised]]


def open_workspace(ws: Path) -> Workspace:
    config = tomllib.loads((ws / "config.toml").read_text(encoding="utf-8"))
    db = ws / config["workspace"]["database"]
    con = sqlite3.connect(db)
    owned = {r[0] for r in con.execute("select sha256 from assets where kind='image'")}
    texts = [r[0] for r in con.execute("select text from assets where kind='copy'")]
    texts += [r[0] for r in con.execute("select description from products")]
    con.close()
    authorised = set()
    for a in config.get("authorised", []):
        authorised |= {
            a["name"].lower(),
            *(s.lower() for s in a.get("seller_names", [])),
            *(s.lower() for s in a.get("seller_ids", [])),
        }
    return Workspace(
        ws,
        db,
        ws / config["workspace"]["evidence"],
        owned,
        {norm(s) for t in texts for s in sentences(t)},
        authorised,
    )


def other_sellers_listings(w: Workspace) -> list[dict]:
    """Listings in the store of sellers who are not the owner nor authorised, with their own copy:
    no sentence of the owner's copy and no counterfeit wording in the title or description."""
    con = sqlite3.connect(w.db)
    con.row_factory = sqlite3.Row
    out = []
    for r in con.execute("select * from listings where status='active' order by id"):
        names = {(r["seller_name"] or "").lower(), (r["seller_id"] or "").lower()}
        if any("luma" in n for n in names) or names & w.authorised:
            continue
        text = f"{r['title'] or ''}\n{r['description'] or ''}"
        if has_term(text, COUNTERFEIT_WORDS):
            continue
        if any(norm(s) in w.owner_copy for s in sentences(r["description"])):
            continue
        out.append(dict(r))
    con.close()
    return out


def captured_images(w: Workspace, listing_ids: list[int]) -> dict[str, bytes]:
    """The bytes of these listings' images, read back from the WARC captures (SHA-256 checked)."""
    from warcio.archiveiterator import ArchiveIterator

    con = sqlite3.connect(w.db)
    rows = con.execute(
        f"""select distinct i.sha256, c.warc_file, c.warc_offset from listing_images li
            join images i on i.sha256 = li.image_sha256 join captures c on c.id = i.capture_id
            where li.listing_id in ({",".join("?" * len(listing_ids))}) and i.error is null
              and c.record_type = 'response'""",
        listing_ids,
    ).fetchall()
    con.close()
    out = {}
    for sha, warc, offset in rows:
        with (w.evidence / warc).open("rb") as f:
            f.seek(offset)
            record = next(iter(ArchiveIterator(f)))
            data = record.raw_stream.read()
        if sha256(data) != sha:
            raise ValueError(f"capture of {sha} in {warc} reads back as {sha256(data)}")
        out[sha] = data
    return out


@dataclass
class Extras:
    third_party: list[Path]
    expired: list[Path]
    de_only: list[Path]
    valid: list[Path]
    unregistered: list[Path]


def luma_families(data: Path) -> list[dict]:
    with (data / "luma" / "products.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def demo_families() -> tuple[set[str], set[str]]:
    codes, names = set(), set()
    for sheet in ("products.csv", "others.csv"):
        with (DEMO_CATALOGUE / sheet).open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                codes.add(r["family"])
                names.add(norm(r["name"]))
    return codes, names


def register_extras(w: Workspace, data: Path, rng: random.Random) -> Extras:
    """Register photos of Luma families the demo does not use; whole families go to one use,
    so that a colour variant of a photo never carries other rights than the photo."""
    codes, names = demo_families()
    images = data / "luma" / "images"
    fams = [
        f for f in luma_families(data) if f["family"] not in codes and norm(f["name"]) not in names
    ]
    fams.sort(key=lambda f: f["family"])
    rng.shuffle(fams)
    pick = lambda fs: [images / n for f in fs for n in f["images"].split(";")]  # noqa: E731
    extras = Extras(
        pick(fams[0:4]), pick(fams[4:7]), pick(fams[7:10]), pick(fams[10:13]), pick(fams[13:])
    )
    for p in (
        extras.third_party + extras.expired + extras.de_only + extras.valid + extras.unregistered
    ):
        if sha256(p.read_bytes()) in w.owned_sha:
            raise ValueError(f"{p} is already an owned asset of the demo")
    ws = w.path
    cli("assets", "add", *map(str, extras.third_party), "--rights", "third_party", ws=ws)
    licensed = ["--rights", "licensed", "--licensor", "Studio X", "--platform", "amazon"]
    for files, territory, expires in (
        (extras.expired, "US", "2025-06-30"),
        (extras.de_only, "DE", "2030-01-01"),
        (extras.valid, "US", "2030-01-01"),
    ):
        cli("assets", "add", *map(str, files), *licensed, "--territory", territory,
            "--expires", expires, ws=ws)  # fmt: skip
    cli("assets", "add", "--kind", "mark", "--rights", "third_party", COMPETITOR_MARK, ws=ws)
    return extras


# ---- the labelled sheet --------------------------------------------------------------------


@dataclass
class Row:
    group: str
    title: str
    brand: str
    description: str = ""
    bullets: tuple[str, str, str] = ("", "", "")
    images: list[str] = field(default_factory=list)  # paths relative to the sheet folder
    note: str = ""


class SheetBuilder:
    """Builds the labelled rows; images are copied into the sheet's ``images/`` folder."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder = folder
        self.rng = rng
        (folder / "images").mkdir(parents=True, exist_ok=True)
        self.rows: list[Row] = []

    def image(self, data: bytes | Path, name: str) -> str:
        target = self.folder / "images" / name
        if not target.exists():
            target.write_bytes(data.read_bytes() if isinstance(data, Path) else data)
        return f"images/{name}"

    def generic_text(self) -> tuple[str, tuple[str, str, str]]:
        desc = " ".join(self.rng.sample(GENERIC_SENTENCES, 3))
        b = self.rng.sample(GENERIC_BULLETS, 3)
        return desc, (b[0], b[1], b[2])

    def add(
        self,
        group: str,
        title: str,
        brand: str,
        *,
        description: str | None = None,
        bullets: tuple[str, str, str] | None = None,
        images: list[str] | None = None,
        note: str = "",
    ) -> Row:
        desc, bul = self.generic_text()
        row = Row(
            group,
            title,
            brand,
            desc if description is None else description,
            bul if bullets is None else bullets,
            images or [],
            note,
        )
        self.rows.append(row)
        return row

    def write(self) -> tuple[Path, Path]:
        sheet, labels = self.folder / "sheet.csv", self.folder / "labels.csv"
        counters: Counter[str] = Counter()
        with (
            sheet.open("w", encoding="utf-8", newline="") as fs,
            labels.open("w", encoding="utf-8", newline="") as fl,
        ):
            ws, wl = csv.writer(fs), csv.writer(fl)
            ws.writerow(COLUMNS)
            wl.writerow(["row", "sku", "group", "expected", "check", "note"])
            for n, r in enumerate(self.rows, start=2):
                counters[r.group] += 1
                sku = f"{r.group.upper().replace('_', '')[:8]}-{counters[r.group]:03d}"
                ws.writerow([sku, r.title, r.brand, r.description, *r.bullets, ";".join(r.images)])
                check = BLOCK_CHECKS[r.group]
                wl.writerow(
                    [n, sku, r.group, "block" if check else "not_block", check or "", r.note]
                )
        return sheet, labels


def real_titles(data: Path) -> list[dict]:
    rows = []
    for table in ("tableA.csv", "tableB.csv"):
        with (data / "titles" / table).open(encoding="utf-8") as f:
            rows += [dict(r, table=table) for r in csv.DictReader(f)]
    return rows


def strip_own_brand(r: dict) -> str | None:
    """The title without its own brand, when the title starts with it (else None)."""
    b = norm(r["brand"]).strip()
    words = r["title"].split()
    if len(b) < 3:
        return None
    for k in range(1, min(4, len(words)) + 1):
        if norm(" ".join(words[:k])).strip() == b:
            rest = " ".join(words[k:]).lstrip(" -,:")
            return rest if len(rest.split()) >= 3 else None
    return None


def mention_only(title: str, brands: Brands) -> str | None:
    """The one known brand the title names, when every occurrence follows a mention phrase."""
    found = brands.named_in(title)
    if len(found) != 1:
        return None
    t, f = norm(title), norm(found[0])
    total = t.count(f)
    mentioned = sum(t.count(norm(p).rstrip() + f) for p in MENTION_PHRASES)
    return found[0] if total and total == mentioned else None


def disguise(brand: str, how: str, rng: random.Random) -> str | None:
    letters = list(brand)
    if how == "leet":
        pos = [i for i, c in enumerate(letters) if c.lower() in LEET]
        if not pos:
            return None
        for i in rng.sample(pos, rng.randint(1, len(pos))):
            letters[i] = LEET[letters[i].lower()]
    elif how == "cyrillic":
        pos = [i for i, c in enumerate(letters) if c in CYRILLIC]
        if not pos:
            return None
        for i in rng.sample(pos, rng.randint(1, min(2, len(pos)))):
            letters[i] = CYRILLIC[letters[i]]
    elif how == "typo":
        if len(brand) < 6:
            return None
        i = rng.randrange(1, len(brand) - 1)
        op = rng.choice(["substitute", "delete", "swap"])
        if op == "substitute":
            c = rng.choice([x for x in "abcdefghijklmnopqrstuvwxyz" if x != letters[i].lower()])
            letters[i] = c.upper() if letters[i].isupper() else c
        elif op == "delete":
            del letters[i]
        elif letters[i] != letters[i + 1]:
            letters[i], letters[i + 1] = letters[i + 1], letters[i]
        else:
            return None
    elif how == "spaced":
        return " ".join(brand)
    elif how == "zero_width":
        i = rng.randrange(1, len(brand))
        letters.insert(i, ZWSP)
    out = "".join(letters)
    return None if out.lower() == brand.lower() else out


def build_sheet(
    folder: Path, data: Path, w: Workspace, extras: Extras, brands: Brands, rng: random.Random
) -> tuple[Path, Path, list[Row]]:
    b = SheetBuilder(folder, rng)
    neutral = lambda: rng.choice(NEUTRAL_BRANDS)  # noqa: E731
    titles = real_titles(data)
    rng.shuffle(titles)

    # Clean titles: start with their own brand (stripped), name no known brand, no banned term.
    clean: list[str] = []
    for r in titles:
        t = strip_own_brand(r)
        if (
            t
            and not brands.named_in(r["title"])
            and not has_term(t, COUNTERFEIT_WORDS)
            and COMPETITOR_MARK.lower() not in t.lower()
        ):
            clean.append(t)
    clean_iter = iter(clean)

    def luma_photo(p: Path) -> str:
        return b.image(p, f"luma-{p.name}")

    unregistered = extras.unregistered
    for i in range(100):
        kind = i % 10
        if kind < 4:
            imgs, note = [], "no photo"
        elif kind < 7:
            imgs = [luma_photo(p) for p in rng.sample(unregistered, rng.randint(1, 2))]
            note = "unregistered photos (warn)"
        elif kind < 9:
            imgs, note = [luma_photo(rng.choice(extras.valid))], "validly licensed photo"
        else:
            owned = [
                p
                for p in sorted((w.path / "catalogue" / "images").iterdir())
                if sha256(p.read_bytes()) in w.owned_sha
            ]
            p = rng.choice(owned)
            imgs, note = [b.image(p, f"owned-{p.name}")], "owned photo"
        b.add("clean", next(clean_iter), neutral(), images=imgs, note=note)

    # Clean Luma listings: the owner's own names, copy and registered photos.
    with (w.path / "catalogue" / "products.csv").open(encoding="utf-8") as f:
        products = list(csv.DictReader(f))
    for variant in range(2):
        for p in products:
            files = [w.path / "catalogue" / "images" / n for n in p["images"].split(";")]
            files = [f for f in files if sha256(f.read_bytes()) in w.owned_sha]
            lines = [x.strip(" •") for x in p["description"].splitlines() if x.strip()]
            prose, points = lines[0], [x for x in lines[1:]] + ["", "", ""]
            if variant == 0:
                title, desc, bullets = f"Luma {p['name']}", prose, tuple(points[:3])
                imgs = files
            else:
                title, desc = f"{p['name']} by Luma", p["description"]
                bullets, imgs = ("Genuine Luma product", "Sold by Luma", ""), files[:1]
            b.add(
                "clean_luma",
                title,
                "Luma",
                description=desc,
                bullets=bullets,  # type: ignore[arg-type]
                images=[b.image(f, f"owned-{f.name}") for f in imgs],
                note=p["family"],
            )

    # Third-party marks: real titles naming their own known brand, sold under a neutral brand.
    per_brand: Counter[str] = Counter()
    for r in titles:
        if sum(per_brand.values()) >= 22:
            break
        own = [x for x in brands.names if norm(x) == norm(r["brand"]) and x not in brands.ambiguous]
        # The titles are lower-cased: "3m" there may be 3M or three metres, and marks of one or
        # two characters count only written as registered, so they are left out of this group.
        own = [x for x in own if len(squash(x)) >= 3]
        if own and norm(r["title"]).startswith(norm(own[0])) and per_brand[own[0]] < 2:
            per_brand[own[0]] += 1
            b.add("third_party_mark", r["title"], neutral(), note=f"title names {own[0]}")
    for x in rng.sample([x for x in brands.names if x not in brands.ambiguous], 4):
        b.add("third_party_mark", next(clean_iter), x, note=f"brand column {x}")
    b.add("third_party_mark", next(clean_iter), COMPETITOR_MARK, note="competitor mark as brand")
    b.add("third_party_mark", next(clean_iter), COMPETITOR_MARK, note="competitor mark as brand")
    b.add(
        "third_party_mark",
        f"{COMPETITOR_MARK} {next(clean_iter)}",
        neutral(),
        note="competitor mark in title",
    )
    b.add(
        "third_party_mark",
        f"{next(clean_iter)} by {COMPETITOR_MARK}",
        neutral(),
        note="competitor mark in title",
    )

    # Disguised known brands, placed in the title (two in three) or the brand column.
    plain = brands.plain()
    disguised: set[str] = set()
    for how in ("leet", "typo", "spaced", "cyrillic", "zero_width", "leet", "typo", "cyrillic"):
        made = 0
        for x in rng.sample(plain, len(plain)):
            if made == 4:
                break
            d = None if x in disguised else disguise(x, how, rng)
            if d is None or squash(d) in {squash(y) for y in brands.names if y != x}:
                continue
            made += 1
            disguised.add(x)
            if rng.random() < 2 / 3:
                b.add("disguised_mark", f"{d} {next(clean_iter)}", neutral(), note=f"{how}: {x}")
            else:
                b.add("disguised_mark", next(clean_iter), d, note=f"{how} brand: {x}")

    # Mentions: real titles whose only known brand follows "for"/"compatible with" (warn).
    made = Counter()
    for r in titles:
        t = strip_own_brand(r)
        if not t or has_term(t, COUNTERFEIT_WORDS):
            continue
        m = mention_only(t, brands)
        phrase = "compatible with" if "compatible with" in t.lower() else "for"
        if m and made[phrase] < 8 and sum(made.values()) < 16:
            made[phrase] += 1
            b.add("mention", t, neutral(), note=f"{phrase} {m}")
    while sum(made.values()) < 16:  # too few real "compatible with" titles: say so in the note
        x = rng.choice([y for y in plain if y in {"Garmin", "Fitbit", "GoPro", "Nikon", "Dyson"}])
        made["generated"] += 1
        b.add(
            "mention",
            f"Replacement strap compatible with {x} {next(clean_iter)}",
            neutral(),
            note=f"generated: compatible with {x}",
        )

    # Banned counterfeit terms in the title or in the copy.
    for i in range(22):
        term = BANNED_TERMS[i % len(BANNED_TERMS)]
        t = next(clean_iter)
        if i % 4 == 3:
            desc, bullets = b.generic_text()
            b.add(
                "banned_term",
                t,
                neutral(),
                description=f"{desc} {BANNED_SENTENCES[term]}",
                bullets=bullets,
                note=f"description: {term}",
            )
        elif term in ("高仿", "1:1"):
            b.add("banned_term", f"{term} {t}", neutral(), note=f"title: {term}")
        elif term == "inspired by":
            b.add("banned_term", f"{t}, inspired by the original", neutral(), note=f"title: {term}")
        else:
            b.add("banned_term", f"{t} {term}", neutral(), note=f"title: {term}")

    # Someone else's photos: other sellers' own photos captured in the store, and photos
    # registered as a competitor's.
    others = other_sellers_listings(w)
    captured = captured_images(w, [r["id"] for r in others])
    for sha in captured:
        if sha in w.owned_sha:
            raise ValueError(f"the other seller's photo {sha} is an owned asset")
    cap_names = sorted(captured)
    for i in range(2 * len(cap_names)):
        sha = cap_names[i % len(cap_names)]
        ref = b.image(captured[sha], f"store-{sha[:12]}.jpg")
        b.add(
            "others_photo",
            next(clean_iter),
            neutral(),
            images=[ref],
            note=f"captured from another seller: {sha[:12]}",
        )
    for p in rng.sample(extras.third_party, min(12, len(extras.third_party))):
        b.add(
            "others_photo",
            next(clean_iter),
            neutral(),
            images=[luma_photo(p)],
            note=f"third_party asset {p.name}",
        )

    # Licences that do not cover the listing: expired, or for Germany only.
    for kind, photos in (("expired 2025-06-30", extras.expired), ("territory DE", extras.de_only)):
        for p in rng.sample(photos, min(9, len(photos))):
            b.add(
                "bad_licence",
                next(clean_iter),
                neutral(),
                images=[luma_photo(p)],
                note=f"{kind}: {p.name}",
            )

    # Copied copy: another seller's description, whole; or one of its sentences in own text.
    texts: dict[str, dict] = {}
    for r in others:
        texts.setdefault(norm(r["description"]), r)
    sources = [r for r in texts.values() if len(sentences(r["description"])) >= 2]
    store_sentences = {norm(s) for r in others for s in sentences(r["description"])}
    if any(norm(s) in store_sentences for s in GENERIC_SENTENCES):
        raise ValueError("a generic sentence of this bench is in the store")
    print(
        f"other sellers' listings with their own copy: {len(others)} "
        f"({', '.join(r['marketplace'] + '/' + r['listing_id'] for r in others)}); "
        f"their captured photos: {len(captured)}; distinct descriptions: {len(sources)}"
    )
    for i in range(16):
        r = sources[i % len(sources)]
        b.add(
            "copied_text",
            next(clean_iter),
            neutral(),
            description=r["description"],
            note=f"description of listing {r['marketplace']}/{r['listing_id']}",
        )
    for i in range(5):
        r = sources[i % len(sources)]
        copied = max(sentences(r["description"]), key=len)
        own = rng.sample(GENERIC_SENTENCES, 4)
        own.insert(2, copied)
        b.add(
            "one_copied_sentence",
            next(clean_iter),
            neutral(),
            description=" ".join(own),
            note=f"one sentence of {r['marketplace']}/{r['listing_id']}",
        )

    sheet, labels = b.write()
    return sheet, labels, b.rows


# ---- the check and the confusion table -----------------------------------------------------


def run_check(sheet: Path, ws: Path) -> tuple[dict | None, float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = cli("check", str(sheet), "--json", *TODAY_CHECK, ws=ws, check=False)
    seconds = time.perf_counter() - start
    try:
        report = json.loads(proc.stdout)  # exit 2 (an input unreadable) still reports the rest
    except json.JSONDecodeError:
        report = None
    return report, seconds, proc


def reasons(listing: dict, severity: str | None = None) -> str:
    return "; ".join(
        f"[{p.get('check')}/{p.get('severity')}] {p.get('field')}: {p.get('reason')}"
        f"{' (' + str(p.get('text'))[:60] + ')' if p.get('text') else ''}"
        for p in listing.get("problems", [])
        if severity is None or p.get("severity") == severity
    )


def confusion(labels_path: Path, report: dict) -> None:
    with labels_path.open(encoding="utf-8") as f:
        labels = list(csv.DictReader(f))
    by_sku = {x["id"]: x for x in report["listings"]}
    table: dict[str, Counter] = defaultdict(Counter)
    false_blocks, misses, wrong_check, missing = [], [], [], []
    for lab in labels:
        got = by_sku.get(lab["sku"])
        t = table[lab["group"]]
        t["rows"] += 1
        if got is None:
            missing.append(lab)
            continue
        t[f"verdict_{got['verdict']}"] += 1
        blocked = got["verdict"] == "block"
        t["blocked" if blocked else "not_blocked"] += 1
        fired = {p.get("check") for p in got.get("problems", []) if p.get("severity") == "block"}
        if lab["expected"] == "block":
            if not blocked:
                misses.append((lab, got))
            elif lab["check"] in fired:
                t["expected_check"] += 1
            else:
                wrong_check.append((lab, got))
        elif blocked:
            false_blocks.append((lab, got))
    head = (
        f"{'group':<20} {'label':<9} {'rows':>4} {'blocked':>7} {'not':>4} {'check✓':>6}  verdicts"
    )
    print(head)
    print("-" * len(head))
    for group, check in BLOCK_CHECKS.items():
        t = table.get(group)
        if not t:
            continue
        verdicts = " ".join(
            f"{v}={t[f'verdict_{v}']}"
            for v in ("block", "warn", "ok", "error")
            if t[f"verdict_{v}"]
        )
        print(
            f"{group:<20} {'block' if check else 'not_block':<9} {t['rows']:>4} {t['blocked']:>7} "
            f"{t['not_blocked']:>4} {t['expected_check'] if check else '':>6}  {verdicts}"
        )
    block_rows = sum(t["rows"] for g, t in table.items() if BLOCK_CHECKS[g])
    nb_rows = sum(t["rows"] for g, t in table.items() if not BLOCK_CHECKS[g])
    caught = sum(t["blocked"] for g, t in table.items() if BLOCK_CHECKS[g])
    right = sum(t["expected_check"] for g, t in table.items() if BLOCK_CHECKS[g])
    print(
        f"\nblock rows blocked: {caught}/{block_rows} (recall {100 * caught / max(block_rows, 1):.1f}%), "
        f"with the expected check: {right}/{block_rows}"
    )
    print(f"not_block rows blocked (false blocks): {len(false_blocks)}/{nb_rows}")
    print("verdicts of all rows:", dict(Counter(x["verdict"] for x in report["listings"])))
    print("summary:", report.get("summary"))
    if missing:
        print(f"\n{len(missing)} rows missing from the output:", [m["sku"] for m in missing][:20])
    for title, items in (
        ("FALSE BLOCKS", false_blocks),
        ("MISSES", misses),
        ("BLOCKED BY ANOTHER CHECK", wrong_check),
    ):
        if items:
            print(f"\n{title} ({len(items)}):")
        for lab, got in items:
            print(
                f"  row {lab['row']} {lab['sku']} [{lab['group']}: {lab['note']}] "
                f"{got.get('title', '')[:70]!r} -> {got['verdict']}"
            )
            print(f"      {reasons(got) or '(no problems)'}")


# ---- speed ---------------------------------------------------------------------------------


def build_speed_sheet(folder: Path, data: Path, n: int, rng: random.Random) -> tuple[Path, int]:
    photos = sorted((data / "luma" / "images").glob("*.jpg"))
    with (data / "titles" / "tableB.csv").open(encoding="utf-8") as f:
        titles = [r["title"] for r in csv.DictReader(f)]
    folder.mkdir(parents=True, exist_ok=True)
    sheet = folder / "speed.csv"
    used: set[Path] = set()
    with sheet.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for i in range(n):
            imgs = rng.sample(photos, 3)
            used |= set(imgs)
            desc = " ".join(rng.sample(GENERIC_SENTENCES, 3))
            out.writerow(
                [
                    f"SPEED-{i:04d}",
                    rng.choice(titles),
                    rng.choice(NEUTRAL_BRANDS),
                    desc,
                    *rng.sample(GENERIC_BULLETS, 3),
                    ";".join(str(p) for p in imgs),
                ]
            )
    return sheet, len(used)


def bare_fingerprinting(sheet: Path) -> tuple[float, int]:
    from listingguard import imaging

    with sheet.open(encoding="utf-8") as f:
        paths = sorted({p for r in csv.DictReader(f) for p in r["images"].split(";") if p})
    start = time.perf_counter()
    datas = [Path(p).read_bytes() for p in paths]
    with imaging.workers(2) as ex:
        n = len(datas)
        if ex is None:
            results = [imaging.analyse(d, 25_000_000, 50_000_000) for d in datas]
        else:
            results = list(ex.map(imaging.analyse, datas, [25_000_000] * n, [50_000_000] * n))
    seconds = time.perf_counter() - start
    refused = [r for r in results if isinstance(r, str)]
    if refused:
        print(f"baseline: {len(refused)} photos refused, e.g. {refused[0]}")
    return seconds, len(paths)


def speed(work: Path, ws_fresh: Path, data: Path, n: int, rng: random.Random) -> None:
    sheet, distinct = build_speed_sheet(work / "speed", data, n, rng)
    report, cold, proc = run_check(sheet, ws_fresh)
    if report is None:
        print(f"speed: check exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return
    report2, warm, _ = run_check(sheet, ws_fresh)
    base, d = bare_fingerprinting(sheet)
    verdicts = dict(Counter(x["verdict"] for x in report["listings"]))
    print(
        f"speed sheet: {n} listings, {3 * n} image references, {distinct} distinct photos; "
        f"verdicts {verdicts}"
    )
    print(
        f"check: {cold:.1f} s for {n} listings (target ≤ 60 s); bare fingerprinting of the {d} "
        f"distinct images: {base:.1f} s; ratio {cold / base:.2f}"
    )
    print(
        f"check again (fingerprints cached): {warm:.1f} s; ratio {warm / base:.2f}"
        f"  (summary seconds: {report['summary'].get('seconds')}, "
        f"{(report2 or {}).get('summary', {}).get('seconds')})"
    )


# ---- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="keep sheets, labels and workspaces here")
    parser.add_argument("--build-only", action="store_true", help="do not run the check")
    args = parser.parse_args()
    print(f"command: python bench/selfcheck.py --listings {args.listings}")
    brands = Brands.load(KNOWN_BRANDS)
    for name in [*NEUTRAL_BRANDS, COMPETITOR_MARK]:
        check_invented(name, brands)
    rng = random.Random(SEED)
    tmp = None
    if args.keep:
        work = args.keep.resolve()
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="selfcheck-")
        work = Path(tmp.name)
    try:
        ws = work / "ws"
        start = time.perf_counter()
        run([sys.executable, "-m", "listingguard", "demo", "--dir", str(ws)])
        w = open_workspace(ws)
        extras = register_extras(w, args.data, rng)
        print(
            f"workspace: {ws} ({time.perf_counter() - start:.0f} s); registered "
            f"{len(extras.third_party)} third_party, {len(extras.expired)} expired, "
            f"{len(extras.de_only)} DE-only and {len(extras.valid)} valid licensed photos, "
            f"mark {COMPETITOR_MARK!r} (third_party); {len(extras.unregistered)} photos unregistered"
        )
        ws_fresh = work / "ws-speed"
        shutil.copytree(ws, ws_fresh)
        sheet, labels, rows = build_sheet(work / "sheet", args.data, w, extras, brands, rng)
        groups = Counter(r.group for r in rows)
        print(f"sheet: {sheet} ({len(rows)} rows), labels: {labels}")
        print("groups:", ", ".join(f"{g} {groups[g]}" for g in BLOCK_CHECKS))
        if args.build_only:
            return
        report, seconds, proc = run_check(sheet, ws)
        if report is None:
            print(f"check exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-5000:]}")
            return
        print(f"check of the labelled sheet: {seconds:.1f} s, exit {proc.returncode}")
        if proc.stderr.strip():
            print("stderr:", proc.stderr.strip()[-2000:])
        print()
        confusion(labels, report)
        print()
        speed(work, ws_fresh, args.data, args.listings, rng)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
