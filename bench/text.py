"""Benchmark: disguised marks in real listing titles and copied product text, against plain rapidfuzz.

    python bench/text.py [--data ../shared/data] [--quick] [--only marks|copy|speed] [--seed 7]

Marks: ~20 marks (3 letters to 10, two with more than one CJK alias) are disguised by every
dnstwist fuzzer that applies to a bare word and by our own families (leetspeak, spaced, dotted,
hyphen-split, fullwidth, mathematical letters, Cyrillic and Greek look-alikes, zero-width
characters, accents, case tricks, CJK alias inside unsegmented Chinese) and inserted at a random
token position into real Walmart/Amazon titles. Benign titles are the other half of the real
titles (none names a mark); "compatible with" titles insert a mention phrase and a mark in seven
languages. Copy: half the Luma product texts are owned; edited, shuffled, embedded and halved
copies are the positives, the other products' descriptions the negatives. Speed: 1,000 real brand
names against 100,000 titles, 10,000 owned texts against 1,000 queries, one process and a pool.

Every figure is printed beside the plain rapidfuzz baseline measured in the same run, and each
target line ends in met / missed. ``--marks FILE`` swaps in other marks (``Mark|alias|alias``
a line), so the same harness can be re-run on marks we have not seen.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import random
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Marks of our choice: short and long, Latin and CJK (aliases are what the mark owner registers).
MARKS: list[tuple[str, tuple[str, ...]]] = [
    ("DJI", ("大疆",)),
    ("Sony", ("ソニー",)),
    ("Nike", ()),
    ("Lego", ("乐高",)),
    ("Oppo", ()),
    ("Asus", ("华硕",)),
    ("Canon", ("佳能",)),
    ("Anker", ()),
    ("Dyson", ()),
    ("Rolex", ()),
    ("GoPro", ()),
    ("Gucci", ()),
    ("Adidas", ()),
    ("Garmin", ()),
    ("Lenovo", ("联想",)),
    ("Huawei", ("华为",)),
    ("Xiaomi", ("小米",)),
    ("Samsung", ("三星",)),
    ("Philips", ("飞利浦",)),
    ("Logitech", ("罗技",)),
    ("Sennheiser", ()),
]

DNSTWIST_FUZZERS = (
    "addition",
    "bitsquatting",
    "cyrillic",
    "homoglyph",
    "hyphenation",
    "insertion",
    "omission",
    "plural",
    "repetition",
    "replacement",
    "transposition",
    "vowel-swap",
)  # dnstwist's fuzzers less tld-swap, subdomain, dictionary and "various" (domain-only)
COMMON_ZIPF = 3.0  # a one-word variant this common in English (wordfreq) is dropped

MENTIONS: dict[str, list[str]] = {
    "en": [
        "compatible with {m}",
        "for {m}",
        "replacement for {m}",
        "fits {m}",
        "works with {m}",
    ],
    "es": ["compatible con {m}", "para {m}"],
    "de": ["kompatibel mit {m}", "für {m}"],
    "fr": ["compatible avec {m}", "pour {m}"],
    "pt": ["compatível com {m}"],
    "it": ["compatibile con {m}", "per {m}"],
    "zh": ["适用于{m}", "兼容{m}"],
}

ZERO_WIDTH = ("\u200b", "\u200d", "\u2060")
CHINESE_FILLER = (
    "正品",
    "新款",
    "官方",
    "旗舰店",
    "手机壳",
    "充电器",
    "无线耳机",
    "保护套",
    "数据线",
    "蓝牙音箱",
    "智能手表",
    "包邮",
    "原装",
    "特价",
    "运动鞋",
    "男女同款",
)


# ----------------------------------------------------------------------------------------------
# data


def norm_key(s: str) -> str:
    """Casefolded, accents stripped, every non-alphanumeric removed: "S.o-ny" -> "sony"."""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return "".join(c for c in s.casefold() if c.isalnum())


def load_titles(data: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name in ("tableA.csv", "tableB.csv"):
        with open(data / "titles" / name, encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def unique_titles(rows: list[dict[str, str]]) -> list[str]:
    seen: set[str] = set()
    out = []
    for r in rows:
        t = " ".join(r["title"].split())
        if t and t not in seen:
            seen.add(t)
            out.append(t)
    return out


def load_marks(path: Path | None) -> list[tuple[str, tuple[str, ...]]]:
    if path is None:
        return MARKS
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = [p.strip() for p in line.split("|") if p.strip()]
        if parts and not parts[0].startswith("#"):
            out.append((parts[0], tuple(parts[1:])))
    return out


# ----------------------------------------------------------------------------------------------
# disguises

LEET = {
    "a": "4@",
    "e": "3",
    "i": "1!",
    "o": "0",
    "s": "5$",
    "t": "7",
    "g": "9",
    "b": "8",
    "l": "1",
}
CYRILLIC = {
    "a": "а",
    "c": "с",
    "e": "е",
    "i": "і",
    "j": "ј",
    "o": "о",
    "p": "р",
    "s": "ѕ",
    "x": "х",
    "y": "у",
    "d": "ԁ",
    "h": "һ",
    "l": "ӏ",
    "g": "ԍ",
    "q": "ԛ",
    "w": "ԝ",
    "k": "к",
    "A": "А",
    "B": "В",
    "C": "С",
    "E": "Е",
    "H": "Н",
    "I": "І",
    "J": "Ј",
    "K": "К",
    "M": "М",
    "O": "О",
    "P": "Р",
    "S": "Ѕ",
    "T": "Т",
    "X": "Х",
    "Y": "Ү",
}
GREEK = {
    "A": "Α",
    "B": "Β",
    "E": "Ε",
    "Z": "Ζ",
    "H": "Η",
    "I": "Ι",
    "K": "Κ",
    "M": "Μ",
    "N": "Ν",
    "O": "Ο",
    "P": "Ρ",
    "T": "Τ",
    "Y": "Υ",
    "X": "Χ",
    "o": "ο",
    "v": "ν",
    "i": "ι",
    "k": "κ",
    "u": "υ",
    "p": "ρ",
    "a": "α",
}
# Mathematical alphanumerics without holes: bold, sans-serif, sans-serif bold, monospace.
MATH_STYLES = ((0x1D400, 0x1D7CE), (0x1D5A0, 0x1D7E2), (0x1D5D4, 0x1D7EC), (0x1D670, 0x1D7F6))
ACCENTS = ("\u0301", "\u0308", "\u0300", "\u0302", "\u0303", "\u030c", "\u030a")


def case_style(s: str, rng: random.Random) -> str:
    """The mark as a seller might type it: lower, Title or UPPER (ASCII letters only)."""
    style = rng.choice(("lower", "title", "upper"))
    if style == "lower":
        return "".join(c.lower() if c.isascii() else c for c in s)
    if style == "upper":
        return "".join(c.upper() if c.isascii() else c for c in s)
    return s[:1].upper() + "".join(c.lower() if c.isascii() else c for c in s[1:])


def _dnstwist(word: str) -> dict[str, set[str]]:
    import dnstwist

    fuzzer = dnstwist.Fuzzer(word.lower() + ".com")
    out = {}
    for name in DNSTWIST_FUZZERS:
        out[name] = {v for v in getattr(fuzzer, "_" + name.replace("-", "_"))() if v}
    return out


def _letters(mark: str) -> list[str]:
    return [c for c in mark if c.strip()]


def leetspeak(mark: str, rng: random.Random) -> str | None:
    pos = [i for i, c in enumerate(mark) if c.lower() in LEET]
    if not pos:
        return None
    chars = list(mark)
    # at most half the letters, so the word still reads as the mark ("n1ke", "4dida5")
    for i in rng.sample(pos, rng.randint(1, max(1, min(len(pos), len(_letters(mark)) // 2)))):
        chars[i] = rng.choice(LEET[chars[i].lower()])
    return "".join(chars)


def spaced(mark: str, rng: random.Random) -> str:
    return " ".join(_letters(mark))


def dotted(mark: str, rng: random.Random) -> str:
    return ".".join(_letters(mark)) + rng.choice(("", "."))


def hyphen_split(mark: str, rng: random.Random) -> str:
    letters = _letters(mark)
    if rng.random() < 0.5 or len(letters) < 4:
        return "-".join(letters)
    cut = rng.randint(2, len(letters) - 2)
    return "".join(letters[:cut]) + rng.choice((" - ", " -", "- ")) + "".join(letters[cut:])


def fullwidth(mark: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in mark)


def math_letters(mark: str, rng: random.Random) -> str:
    letter0, digit0 = rng.choice(MATH_STYLES)
    out = []
    for c in mark:
        if "A" <= c <= "Z":
            out.append(chr(letter0 + ord(c) - 65))
        elif "a" <= c <= "z":
            out.append(chr(letter0 + 26 + ord(c) - 97))
        elif "0" <= c <= "9":
            out.append(chr(digit0 + ord(c) - 48))
        else:
            out.append(c)
    return "".join(out)


def cyrillic_all(mark: str, rng: random.Random) -> str | None:
    for form in (mark, mark.upper(), mark.lower()):
        if all(c in CYRILLIC for c in form if c.strip()):
            return "".join(CYRILLIC.get(c, c) for c in form)
    return None


def cyrillic_mixed(mark: str, rng: random.Random) -> str | None:
    pos = [i for i, c in enumerate(mark) if c in CYRILLIC]
    if not pos:
        return None
    k = rng.randint(1, max(1, min(len(pos), len(mark) - 1)))
    chars = list(mark)
    for i in rng.sample(pos, k):
        chars[i] = CYRILLIC[chars[i]]
    return "".join(chars)


def greek(mark: str, rng: random.Random) -> str | None:
    form = rng.choice((mark.upper(), mark))
    pos = [i for i, c in enumerate(form) if c in GREEK]
    if not pos:
        return None
    chars = list(form)
    for i in rng.sample(pos, rng.randint(1, len(pos))):
        chars[i] = GREEK[chars[i]]
    return "".join(chars)


def zero_width(mark: str, rng: random.Random) -> str:
    chars = list(mark)
    for _ in range(rng.randint(1, 2)):
        chars.insert(rng.randint(1, len(chars) - 1), rng.choice(ZERO_WIDTH))
    return "".join(chars)


def accents(mark: str, rng: random.Random) -> str:
    pos = [i for i, c in enumerate(mark) if c.isascii() and c.isalpha()]
    chars = list(mark)
    for i in rng.sample(pos, rng.randint(1, min(2, len(pos)))):
        chars[i] = unicodedata.normalize("NFC", chars[i] + rng.choice(ACCENTS))
    return "".join(chars)


def case_tricks(mark: str, rng: random.Random) -> str | None:
    plain = {mark.lower(), mark.upper(), mark.title(), mark}
    for _ in range(20):
        kind = rng.random()
        if kind < 0.34:
            v = mark[:1].lower() + mark[1:].upper()  # nIKE
        elif kind < 0.67:
            v = "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(mark))
        else:
            v = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in mark)
        if v not in plain:
            return v
    return None


OWN_FAMILIES: dict[str, Callable[[str, random.Random], str | None]] = {
    "leetspeak": leetspeak,
    "spaced": spaced,
    "dotted": dotted,
    "hyphen-split": hyphen_split,
    "fullwidth": fullwidth,
    "math-letters": math_letters,
    "cyrillic-all": cyrillic_all,
    "cyrillic-mixed": cyrillic_mixed,
    "greek": greek,
    "zero-width": zero_width,
    "accents": accents,
    "case-tricks": case_tricks,
}


def disguises(
    marks: list[tuple[str, tuple[str, ...]]], per_family: int, rng: random.Random
) -> tuple[list[tuple[str, str, str]], Counter]:
    """(family, mark, disguised form) for every mark; and how many variants each filter dropped."""
    from wordfreq import zipf_frequency

    keys = {norm_key(m) for m, aliases in marks for m in (m, *aliases)}
    dropped: Counter = Counter()
    out: list[tuple[str, str, str]] = []
    for mark, aliases in marks:
        own = norm_key(mark)
        others = keys - {own, *(norm_key(a) for a in aliases)}
        words = mark.split()
        target = max(words, key=len)  # dnstwist fuzzes one bare word of a multi-word mark
        for family, variants in _dnstwist(target).items():
            keep = []
            for v in sorted(variants):
                full = mark.replace(target, v) if len(words) > 1 else v
                if full.lower() == mark.lower() or norm_key(full) in others:
                    dropped["spell a mark"] += 1
                elif v.isalnum() and zipf_frequency(v, "en") >= COMMON_ZIPF:
                    dropped["common English word"] += 1
                else:
                    keep.append(full)
            for v in rng.sample(keep, min(per_family, len(keep))):
                out.append((family, mark, case_style(v, rng)))
        for family, fn in OWN_FAMILIES.items():
            seen: set[str] = set()
            for _ in range(per_family * 6):
                if len(seen) >= per_family:
                    break
                base = mark if family == "case-tricks" else case_style(mark, rng)
                v = fn(base, rng)
                if v is None:
                    break
                if v in seen or v == mark or norm_key(v) in others:
                    continue
                seen.add(v)
                out.append((family, mark, v))
        cjk = [a for a in aliases if any("\u2e80" <= c <= "\u9fff" for c in a)]
        for _ in range(per_family if cjk else 0):
            pre = "".join(rng.sample(CHINESE_FILLER, rng.randint(1, 2)))
            post = "".join(rng.sample(CHINESE_FILLER, rng.randint(0, 2)))
            out.append(("cjk-in-chinese", mark, pre + rng.choice(cjk) + post))
    return out, dropped


def insert_at_random_token(title: str, piece: str, rng: random.Random) -> str:
    tokens = title.split()
    tokens.insert(rng.randint(0, len(tokens)), piece)
    return " ".join(tokens)


# ----------------------------------------------------------------------------------------------
# baselines

TOKEN_SPLIT = re.compile(r"[\W_]+")


def title_tokens(title: str) -> list[str]:
    return [t for t in TOKEN_SPLIT.split(title.lower()) if t]


def baseline_marks(titles: Sequence[str], strings: dict[str, str]) -> list[set[str]]:
    """Per title, the marks some token scores fuzz.ratio >= 80 against (mark or alias)."""
    import numpy as np
    from rapidfuzz import fuzz, process

    names = list(strings)
    choices = [strings[n] for n in names]
    tokens = sorted({t for title in titles for t in title_tokens(title)})
    scores = process.cdist(
        tokens, choices, scorer=fuzz.ratio, score_cutoff=80, dtype=np.uint8, workers=-1
    )
    hits: dict[str, set[str]] = {}
    for i, row in enumerate(scores):
        nz = np.nonzero(row)[0]
        if len(nz):
            hits[tokens[i]] = {names[j].split("\0")[0] for j in nz}
    return [set().union(*(hits.get(t, set()) for t in title_tokens(title))) for title in titles]


# ----------------------------------------------------------------------------------------------
# report


class Report:
    """Target lines: what, ours, baseline, target, met."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, bool | None]] = []

    def add(self, what: str, ours: str, base: str, target: str, met: bool | None) -> None:
        self.rows.append((what, ours, base, target, met))

    def print(self, title: str) -> None:
        w = max(len("target line"), *(len(r[0]) for r in self.rows))
        print(f"\n{title}")
        print(
            f"| {'target line':{w}s} | {'ours':>10s} | {'baseline':>10s} | {'target':>9s} | met |"
        )
        print(f"| {'-' * w} | {'-' * 9}: | {'-' * 9}: | {'-' * 8}: | --- |")
        for what, ours, base, target, met in self.rows:
            m = "—" if met is None else ("met" if met else "**missed**")
            print(f"| {what:{w}s} | {ours:>10s} | {base:>10s} | {target:>9s} | {m} |")


def pct(x: float) -> str:
    return f"{x:.2%}"


# ----------------------------------------------------------------------------------------------
# marks quality


def marks_quality(args: argparse.Namespace) -> list:
    from matcher.marks import MarkMatcher, MarkSpec

    rng = random.Random(args.seed)
    marks = load_marks(args.marks)
    keys = [norm_key(s) for m, al in marks for s in (m, *al)]
    titles = unique_titles(load_titles(args.data))
    clean = [t for t in titles if not any(k in norm_key(t) for k in keys)]
    named = len(titles) - len(clean)
    # left out by that rule although no token is a mark ("bankers box", "mini keyboard"):
    # measured apart, as hard negatives outside the target
    inside = [
        t
        for t in titles
        if any(k in norm_key(t) for k in keys) and not set(map(norm_key, t.split())) & set(keys)
    ]
    rng.shuffle(clean)
    half = len(clean) // 2
    host, benign = clean[:half], clean[half:]
    if args.quick:
        benign = benign[:3000]
    print(
        f"titles: {len(titles)} distinct real titles; {named} name a mark or alias "
        "(normalised title contains the normalised mark: casefold, accents stripped, "
        "non-alphanumerics removed) and are left out;"
    )
    print(
        f"        the other {len(clean)} split by a seeded shuffle: {len(host)} hosts for "
        f"insertion, {len(benign)} benign"
    )

    variants, dropped = disguises(marks, args.per_family, rng)
    disguised = [
        (f, m, v, insert_at_random_token(rng.choice(host), v, rng)) for f, m, v in variants
    ]
    print(
        f"disguises: {len(disguised)} titles, up to {args.per_family} variants a mark and family "
        f"(seeded); dropped dnstwist variants: "
        + ", ".join(f"{n} {why}" for why, n in dropped.items())
        + f" (one-word variants with wordfreq zipf_frequency(v, 'en') >= {COMMON_ZIPF})"
    )

    compat = []
    for lang, templates in MENTIONS.items():
        for mark, aliases in marks:
            cjk = [a for a in aliases if any("\u2e80" <= c <= "\u9fff" for c in a)]
            for tpl in templates:
                for _ in range(args.per_mention):
                    form = (
                        rng.choice(cjk)
                        if lang == "zh" and cjk and rng.random() < 0.5
                        else case_style(mark, rng)
                    )
                    phrase = tpl.format(m=form)
                    compat.append(
                        (lang, mark, insert_at_random_token(rng.choice(host), phrase, rng))
                    )

    specs = [MarkSpec(text=m, aliases=al, asset_id=i) for i, (m, al) in enumerate(marks)]
    start = time.perf_counter()
    matcher = MarkMatcher(specs)
    build = time.perf_counter() - start
    start = time.perf_counter()
    ours_d = matcher.find_many([t for *_, t in disguised])
    ours_b = matcher.find_many(benign)
    ours_c = matcher.find_many([t for *_, t in compat])
    ours_i = matcher.find_many(inside)
    n_all = len(disguised) + len(benign) + len(compat) + len(inside)
    print(
        f"matcher: {len(specs)} marks built in {build * 1000:.0f} ms; "
        f"{n_all} titles matched in {time.perf_counter() - start:.1f} s"
    )

    strings = {f"{m}\0{s}": s.lower() for m, al in marks for s in (m, *al)}
    base_d = baseline_marks([t for *_, t in disguised], strings)
    base_b = baseline_marks(benign, strings)
    base_c = baseline_marks([t for *_, t in compat], strings)
    base_i = baseline_marks(inside, strings)

    def found(matches, mark: str) -> bool:
        return any(
            x.asset == mark and x.kind in ("trademark", "mention") and x.score >= 0.5
            for x in matches
        )

    by_family: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    for (family, mark, v, _), ours, base in zip(disguised, ours_d, base_d, strict=True):
        hit = found(ours, mark)
        by_family[family].append((hit, mark in base))
        if not hit:
            misses[family].append(f"{mark}: {v!r}")
    print(f"\n{'disguise family':18s} {'n':>5s} {'ours':>7s} {'baseline':>9s}")
    fam_min, fam_min_name = 1.0, ""
    for family, rs in by_family.items():
        r_ours = sum(o for o, _ in rs) / len(rs)
        r_base = sum(b for _, b in rs) / len(rs)
        if r_ours < fam_min:
            fam_min, fam_min_name = r_ours, family
        print(f"{family:18s} {len(rs):5d} {r_ours:7.3f} {r_base:9.3f}")
    allr = [r for rs in by_family.values() for r in rs]
    rec_ours = sum(o for o, _ in allr) / len(allr)
    rec_base = sum(b for _, b in allr) / len(allr)
    base_min = min(sum(b for _, b in rs) / len(rs) for rs in by_family.values())
    print(f"{'all disguises':18s} {len(allr):5d} {rec_ours:7.3f} {rec_base:9.3f}")

    fp_ours = [
        (t, [x for x in ms if x.score >= 0.5])
        for t, ms in zip(benign, ours_b, strict=True)
        if any(x.score >= 0.5 for x in ms)
    ]
    fp_base = sum(bool(b) for b in base_b)
    rate_ours, rate_base = len(fp_ours) / len(benign), fp_base / len(benign)
    print(
        f"\nbenign titles: {len(benign)}; false matches ours {len(fp_ours)} ({pct(rate_ours)}), "
        f"baseline {fp_base} ({pct(rate_base)})"
    )
    fp_in = sum(any(x.score >= 0.5 for x in ms) for ms in ours_i) / max(1, len(inside))
    fb_in = sum(bool(b) for b in base_i) / max(1, len(inside))
    print(
        f"left out: {len(inside)} titles hold a mark only inside or across words (no token "
        f"spells it); false matches ours {pct(fp_in)}, baseline {pct(fb_in)} (not a target)"
    )
    for t, ms in fp_ours[: args.examples]:
        print(f"  false match: {t!r} -> " + ", ".join(f"{x.asset}/{x.kind}" for x in ms))
    show = random.Random(args.seed + 2)
    for family, ms in misses.items():
        if args.examples and ms:
            print(f"  missed {family}: " + "; ".join(show.sample(ms, min(len(ms), args.examples))))

    print(f"\n{'compatible with':18s} {'n':>5s} {'ours: trademark':>16s} {'mention':>8s} "
          f"{'baseline: trademark':>20s}")  # fmt: skip
    per_lang: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for (lang, mark, _), ours, base in zip(compat, ours_c, base_c, strict=True):
        tm = any(x.asset == mark and x.kind == "trademark" and x.score >= 0.5 for x in ours)
        mention = any(x.asset == mark and x.kind == "mention" and x.score >= 0.5 for x in ours)
        per_lang[lang].append((tm, mention, mark in base))
    for lang, rs in per_lang.items():
        n = len(rs)
        print(
            f"{lang:18s} {n:5d} {sum(r[0] for r in rs) / n:16.3f} "
            f"{sum(r[1] for r in rs) / n:8.3f} {sum(r[2] for r in rs) / n:20.3f}"
        )
    allc = [r for rs in per_lang.values() for r in rs]
    tm_ours = sum(r[0] for r in allc) / len(allc)
    tm_base = sum(r[2] for r in allc) / len(allc)
    worst_lang = max(per_lang, key=lambda k: sum(r[0] for r in per_lang[k]) / len(per_lang[k]))
    worst = sum(r[0] for r in per_lang[worst_lang]) / len(per_lang[worst_lang])
    print(
        f"{'all languages':18s} {len(allc):5d} {tm_ours:16.3f} "
        f"{sum(r[1] for r in allc) / len(allc):8.3f} {tm_base:20.3f}"
    )

    return [
        ("disguised-mark recall, all families", f"{rec_ours:.3f}", f"{rec_base:.3f}", ">= 0.95",
         rec_ours >= 0.95),
        (f"lowest family recall ({fam_min_name})", f"{fam_min:.3f}", f"{base_min:.3f}",
         ">= 0.85", fam_min >= 0.85),
        ("benign real titles falsely matched", pct(rate_ours), pct(rate_base), "<= 0.20%",
         rate_ours <= 0.002),
        (f"  titles with a mark inside words (n={len(inside)})", pct(fp_in), pct(fb_in), "—",
         None),
        ("'compatible with' reported as trademark", pct(tm_ours), pct(tm_base), "<= 5%",
         tm_ours <= 0.05),
        (f"  worst language ({worst_lang})", pct(worst), "", "—", None),
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------
# copy quality

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“])")


def sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        out += [s.strip() for s in SENTENCE.split(line) if s.strip()]
    return out


def load_luma(data: Path) -> tuple[list[list[tuple[str, str]]], int, int]:
    """Products as groups of (name, description): rows sharing a description are one text named
    after all its families; near-copies (word-set Jaccard >= 0.5, one shop's template) stay
    separate texts but in one group, so a split never puts them on opposite sides."""
    with open(data / "luma" / "products.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_text: dict[str, list[str]] = {}
    for r in rows:
        text = r["description"].strip()
        if text:
            by_text.setdefault(text, []).append(f"{r['family']} {r['name']}")
    texts = list(by_text)
    words = [set(re.findall(r"\w+", t.lower())) for t in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if len(words[i] & words[j]) / len(words[i] | words[j]) >= 0.5:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        groups[root(i)].append(i)
    named = [[(" / ".join(by_text[texts[i]]), texts[i]) for i in idx] for idx in groups.values()]
    return named, len(rows), len(texts)


def edit_words(text: str, frac: float, pool: list[str], rng: random.Random) -> str:
    words = text.split()
    for _ in range(max(1, round(frac * len(words)))):
        op = rng.choice(("replace", "delete", "insert"))
        i = rng.randrange(len(words))
        if op == "replace":
            words[i] = rng.choice(pool)
        elif op == "delete" and len(words) > 1:
            del words[i]
        else:
            words.insert(i, rng.choice(pool))
    return " ".join(words)


def shuffle_sentences(text: str, rng: random.Random) -> str:
    s = sentences(text)
    order = list(range(len(s)))
    while len(s) > 1 and order == sorted(order):
        rng.shuffle(order)
    return "\n".join(s[i] for i in order)


def halve(text: str, rng: random.Random) -> str:
    s = sentences(text)
    if len(s) < 2:
        w = text.split()
        return " ".join(w[: len(w) // 2] if rng.random() < 0.5 else w[len(w) // 2 :])
    cum, total = [], 0
    for x in s:
        total += len(x.split())
        cum.append(total)
    k = min(range(1, len(s)), key=lambda k: abs(cum[k - 1] - total / 2))
    return "\n".join(s[:k] if rng.random() < 0.5 else s[k:])


def embed(text: str, filler: list[str], rng: random.Random) -> str:
    n = len(text.split())
    need = rng.uniform(1.0, 2.0) * n  # the whole is 2-3x the owned text
    pieces, got = [], 0
    while got < need:
        p = rng.choice(filler)
        pieces.append(p)
        got += len(p.split())
    pieces.insert(rng.randint(0, len(pieces)), text)
    return " ".join(pieces)


def copy_quality(args: argparse.Namespace) -> list:
    from rapidfuzz import fuzz, utils

    from matcher.copytext import CopyIndex, OwnedCopy

    rng = random.Random(args.seed)
    groups, n_rows, n_texts = load_luma(args.data)
    titles = unique_titles(load_titles(args.data))
    order = list(range(len(groups)))
    rng.shuffle(order)
    halves = (order[: len(order) // 2], order[len(order) // 2 :])
    folds = 1 if args.quick else 2
    print(
        f"luma: {n_rows} rows (families), {n_texts} distinct descriptions (families sharing one "
        f"text are one owned text), {len(groups)} groups (near-copies, word-set Jaccard >= 0.5, "
        "kept on one side); groups split in half by a seeded shuffle; "
        f"{folds} fold(s) (the second swaps the owned and negative halves)"
    )
    kinds = ("edit10", "edit25", "shuffled", "embedded", "halved")
    res: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    neg: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    kept = []
    examples: list[str] = []
    for fold in range(folds):
        own_idx, neg_idx = halves[fold], halves[1 - fold]
        owned = [item for i in own_idx for item in groups[i]]
        negs = [text for i in neg_idx for _, text in groups[i]]
        index = CopyIndex(OwnedCopy(name=n, text=t, asset_id=i) for i, (n, t) in enumerate(owned))
        pool = [w for t in negs for w in t.split()]  # replacement words from other descriptions
        filler = [s for t in negs for s in sentences(t)] + [
            t.capitalize() + "." for t in rng.sample(titles, 2000)
        ]
        owned_proc = [utils.default_process(t) for _, t in owned]

        def base_score(q: str, j: int | None, _op: list[str] = owned_proc) -> bool:
            qp = utils.default_process(q)
            if j is not None:
                return fuzz.token_set_ratio(qp, _op[j]) >= args.copy_threshold
            return any(fuzz.token_set_ratio(qp, o) >= args.copy_threshold for o in _op)

        for j, (name, text) in enumerate(owned):
            for _ in range(args.per_copy):
                made = {
                    "edit10": edit_words(text, 0.10, pool, rng),
                    "edit25": edit_words(text, 0.25, pool, rng),
                    "shuffled": shuffle_sentences(text, rng),
                    "embedded": embed(text, filler, rng),
                    "halved": halve(text, rng),
                }
                kept.append(len(made["halved"].split()) / len(text.split()))
                for kind, q in made.items():
                    ours = any(
                        m.kind == "copy" and m.score >= 0.5 and m.asset == name
                        for m in index.find(q)
                    )
                    res[kind].append((ours, base_score(q, j)))
                    if not ours and len(examples) < args.examples:
                        examples.append(f"missed {kind} of {name}: {q[:90]!r}")
        for t in negs:
            controls = (
                ("whole", t),
                ("halved", halve(t, rng)),
                ("embedded", embed(t, filler, rng)),
            )
            for kind, q in controls:
                ms = [m for m in index.find(q) if m.score >= 0.5]
                neg[kind].append((bool(ms), base_score(q, None)))
                if ms and len(examples) < 2 * args.examples:
                    examples.append(f"false copy match: {q[:60]!r} -> {ms[0].asset}")

    print(
        f"baseline: rapidfuzz token_set_ratio(default_process(query), default_process(owned)) "
        f">= {args.copy_threshold} against every owned text"
    )
    print(f"\n{'copy positives':18s} {'n':>5s} {'ours':>7s} {'baseline':>9s}")
    rec = {}
    for kind in kinds:
        rs = res[kind]
        rec[kind] = (sum(o for o, _ in rs) / len(rs), sum(b for _, b in rs) / len(rs))
        print(f"{kind:18s} {len(rs):5d} {rec[kind][0]:7.3f} {rec[kind][1]:9.3f}")
    print(f"(halved keeps {sum(kept) / len(kept):.0%} of the words on average)")
    print(f"\n{'copy negatives':18s} {'n':>5s} {'ours FP':>7s} {'baseline':>9s}")
    fp = {}
    for kind, rs in neg.items():
        fp[kind] = (sum(o for o, _ in rs) / len(rs), sum(b for _, b in rs) / len(rs))
        print(f"{kind:18s} {len(rs):5d} {fp[kind][0]:7.3f} {fp[kind][1]:9.3f}")
    for e in examples:
        print("  " + e)
    n_neg = len(neg["whole"])
    rows = []
    for kind, target in (("edit10", 0.95), ("edit25", 0.85), ("embedded", 0.95),
                         ("shuffled", 0.95), ("halved", 0.95)):  # fmt: skip
        o, b = rec[kind]
        rows.append((f"copy recall, {kind}", f"{o:.3f}", f"{b:.3f}", f">= {target}", o >= target))
    o, b = fp["whole"]
    rows.append(
        (f"other products' descriptions matched (n={n_neg})", pct(o), pct(b), "<= 1%", o <= 0.01)
    )
    o, b = fp["halved"]
    rows.append(("  the same, halved (not a target)", pct(o), pct(b), "—", None))
    o, b = fp["embedded"]
    rows.append(("  the same, embedded in filler (not a target)", pct(o), pct(b), "—", None))
    return rows


# ----------------------------------------------------------------------------------------------
# speed

_WORKER: dict[str, object] = {}
WARM_UP = "usb 2.0 cable warm-up call 6 ft"


def _init_marks(specs: list, barrier) -> None:
    from matcher.marks import MarkMatcher

    _WORKER["m"] = MarkMatcher(specs)
    _WORKER["m"].find_many([WARM_UP])  # lazily loaded tables count as building, not matching
    barrier.wait(600)


def _run_marks(chunk: list[str]) -> int:
    return sum(x.score >= 0.5 for ms in _WORKER["m"].find_many(chunk) for x in ms)


def _init_copy(owned: list, barrier) -> None:
    from matcher.copytext import CopyIndex

    _WORKER["c"] = CopyIndex(owned)
    _WORKER["c"].find(WARM_UP)
    barrier.wait(600)


def _run_copy(chunk: list[str]) -> int:
    return sum(m.score >= 0.5 for q in chunk for m in _WORKER["c"].find(q))


def _pool_rate(init, initarg, run, chunks: list[list[str]], n: int) -> tuple[float, float]:
    """Items/s over a 2-process fork pool, each worker building its own matcher (not timed)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(3)
    start = time.perf_counter()
    with ctx.Pool(2, initializer=init, initargs=(initarg, barrier)) as pool:
        barrier.wait(600)
        ready = time.perf_counter() - start
        start = time.perf_counter()
        pool.map(run, chunks, chunksize=1)
        rate = n / (time.perf_counter() - start)
    return rate, ready


def speed_titles(args: argparse.Namespace) -> list:
    import numpy as np
    from rapidfuzz import fuzz, process

    from matcher.marks import MarkMatcher, MarkSpec

    rng = random.Random(args.seed)
    rows = load_titles(args.data)
    brands = Counter(b for r in rows if (b := " ".join(r["brand"].lower().split())))
    names = [b for b, _ in brands.most_common(1000)]
    real = unique_titles(rows)
    n = 10_000 if args.quick else 100_000
    titles = list(real)
    while len(titles) < n:  # repeats have their words shuffled: same vocabulary, new strings
        toks = rng.choice(real).split()
        rng.shuffle(toks)
        titles.append(" ".join(toks))
    titles = titles[:n]
    rng.shuffle(titles)
    specs = [MarkSpec(text=b, asset_id=i) for i, b in enumerate(names)]
    mean_tokens = sum(len(title_tokens(t)) for t in titles) / len(titles)
    print(
        f"\ntitles throughput: {len(names)} marks (most frequent distinct lower-cased brand "
        f"names of the titles data) x {len(titles)} titles ({len(real)} real ones, the rest "
        f"word-shuffled repeats; {mean_tokens:.1f} tokens a title)"
    )
    chunks = [titles[i : i + 5000] for i in range(0, len(titles), 5000)]
    pool_rate, ready = _pool_rate(_init_marks, specs, _run_marks, chunks, len(titles))
    start = time.perf_counter()
    matcher = MarkMatcher(specs)
    build = time.perf_counter() - start
    start = time.perf_counter()
    matcher.find_many([WARM_UP])
    first = time.perf_counter() - start
    start = time.perf_counter()
    matcher.find_many(chunks[0])
    cold = len(chunks[0]) / (time.perf_counter() - start)
    for chunk in chunks[1:]:
        matcher.find_many(chunk)
    single = len(titles) / (time.perf_counter() - start)

    sample = titles[: 60 if args.quick else 200]
    lower = [b.lower() for b in names]
    start = time.perf_counter()
    for t in sample:
        hit = False
        for tok in title_tokens(t):
            for m in lower:
                if fuzz.ratio(tok, m) >= 80:
                    hit = True
        _ = hit
    naive = len(sample) / (time.perf_counter() - start)
    start = time.perf_counter()
    toks = sorted({tok for t in titles for tok in title_tokens(t)})
    process.cdist(toks, lower, scorer=fuzz.ratio, score_cutoff=80, dtype=np.uint8, workers=2)
    cdist_rate = len(titles) / (time.perf_counter() - start)
    print(
        f"MarkMatcher built in {build:.2f} s, first call (one title) {first:.2f} s, both untimed "
        f"below; pool workers ready in {ready:.2f} s"
    )
    print(
        f"find_many, one process:        {single:10,.0f} titles/s (chunks of 5,000; the first "
        f"chunk, caches cold: {cold:,.0f} titles/s)"
    )
    print(f"find_many, 2-process pool:     {pool_rate:10,.0f} titles/s (fork, chunks of 5,000)")
    print(
        f"baseline naive fuzz.ratio loop: {naive:9,.0f} titles/s (one process, "
        f"{len(sample)} titles, extrapolated)"
    )
    print(
        f"reference: unique tokens + one process.cdist (2 workers), match logic not included: "
        f"{cdist_rate:,.0f} titles/s"
    )
    q = " (quick: 10k titles)" if args.quick else ""
    return [
        ("titles/s against 1,000 marks, one process" + q, f"{single:,.0f}", f"{naive:,.0f}",
         ">= 20,000", single >= 20_000),
        ("titles/s against 1,000 marks, 2-process pool" + q, f"{pool_rate:,.0f}", f"{naive:,.0f}",
         ">= 20,000", pool_rate >= 20_000),
    ]  # fmt: skip


def speed_copy(args: argparse.Namespace) -> list:
    from rapidfuzz import fuzz, utils

    from matcher.copytext import CopyIndex, OwnedCopy

    rng = random.Random(args.seed + 1)
    groups, _, _ = load_luma(args.data)
    titles = unique_titles(load_titles(args.data))
    real = [t for g in groups for _, t in g]
    luma_sents = [s for t in real for s in sentences(t)]
    n_owned, n_q = (2000, 200) if args.quick else (10_000, 1000)

    def synthetic() -> str:
        return " ".join(
            rng.choice(luma_sents) if rng.random() < 0.4 else rng.choice(titles).capitalize() + "."
            for _ in range(rng.randint(4, 8))
        )

    texts = real + [synthetic() for _ in range(n_owned - len(real))]
    owned = [OwnedCopy(name=f"text-{i}", text=t, asset_id=i) for i, t in enumerate(texts)]
    pool_words = [w for t in real for w in t.split()]
    queries = [
        edit_words(rng.choice(texts), 0.10, pool_words, rng) if i % 2 else synthetic()
        for i in range(n_q)
    ]
    mean_words = sum(len(t.split()) for t in texts) / len(texts)
    print(
        f"\ncopy throughput: {len(texts)} owned texts ({len(real)} real Luma descriptions, the "
        f"rest seeded mixes of 4-8 real sentences and titles; {mean_words:.0f} words on average), "
        f"{len(queries)} queries (half 10%-edited owned texts, half new mixes)"
    )
    chunks = [queries[i : i + 100] for i in range(0, len(queries), 100)]
    pool_rate, ready = _pool_rate(_init_copy, owned, _run_copy, chunks, len(queries))
    start = time.perf_counter()
    index = CopyIndex(owned)
    build = time.perf_counter() - start
    start = time.perf_counter()
    index.find(WARM_UP)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for q in queries:
        index.find(q)
    single = len(queries) / (time.perf_counter() - start)
    proc = [utils.default_process(t) for t in texts]
    sample = queries[: 5 if args.quick else 20]
    start = time.perf_counter()
    for q in sample:
        qp = utils.default_process(q)
        _ = [o for o in proc if fuzz.token_set_ratio(qp, o) >= args.copy_threshold]
    naive = len(sample) / (time.perf_counter() - start)
    print(
        f"CopyIndex built in {build:.2f} s, first call {first:.2f} s, both untimed below; "
        f"pool workers ready in {ready:.2f} s"
    )
    print(f"find, one process:             {single:10,.1f} descriptions/s")
    print(f"find, 2-process pool:          {pool_rate:10,.1f} descriptions/s (fork, chunks of 100)")
    print(
        f"baseline naive token_set_ratio loop: {naive:,.2f} descriptions/s (one process, "
        f"{len(sample)} queries, owned texts preprocessed once)"
    )
    q = " (quick: 2k owned)" if args.quick else ""
    return [
        ("descriptions/s vs 10,000 owned, one process" + q, f"{single:,.0f}", f"{naive:,.1f}",
         ">= 500", single >= 500),
        ("descriptions/s vs 10,000 owned, 2-proc pool" + q, f"{pool_rate:,.0f}", f"{naive:,.1f}",
         ">= 500", pool_rate >= 500),
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------


def _isolated(fn: Callable[[argparse.Namespace], list], args: argparse.Namespace) -> list:
    """Run a section in a forked child, so no section sees caches another one warmed."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", fn(args)))
        except BaseException as exc:  # the parent reports it and goes on
            import traceback

            traceback.print_exc()
            send.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()

    sys.stdout.flush()
    proc = ctx.Process(target=child)
    proc.start()
    status, payload = recv.recv() if recv.poll(3600) else ("error", "no answer")
    proc.join()
    if status == "error":
        print(f"section {fn.__name__} failed: {payload}")
        return [(f"{fn.__name__} (failed)", "—", "—", "—", False)]
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--only", choices=("marks", "copy", "speed"))
    parser.add_argument("--marks", type=Path, help="marks file: 'Mark|alias|alias' a line")
    parser.add_argument("--per-family", type=int, help="variants a mark and family (default 16)")
    parser.add_argument("--per-mention", type=int, help="titles a mark and phrase (default 2)")
    parser.add_argument("--per-copy", type=int, help="positives an owned text and kind (3)")
    parser.add_argument("--copy-threshold", type=int, default=80, help="baseline cut-off")
    parser.add_argument("--examples", type=int, default=3, help="misses and false matches shown")
    args = parser.parse_args()
    args.per_family = args.per_family or (3 if args.quick else 16)
    args.per_mention = args.per_mention or (1 if args.quick else 2)
    args.per_copy = args.per_copy or (1 if args.quick else 3)
    print("command: python " + " ".join(sys.argv))
    print(f"data: {args.data.resolve()}; seed {args.seed}; {mp.cpu_count()} cores")
    report = Report()
    sections = {
        "marks": [marks_quality],
        "copy": [copy_quality],
        "speed": [speed_titles, speed_copy],
    }
    for name, fns in sections.items():
        if args.only and args.only != name:
            continue
        if name != "speed":
            print(f"\n== {name} ==")
        elif not args.only or args.only == "speed":
            print("\n== speed ==")
        for fn in fns:
            for row in _isolated(fn, args):
                report.add(*row)
    report.print("Summary (ours beside the plain rapidfuzz baseline of the same run):")


if __name__ == "__main__":
    main()
