"""Platform definitions: every bundled file loads, a broken one names its file and key, and each
renders a complete notice from the demo's findings, checked against a golden file.

The findings in ``tests/data/notice-findings.json`` are ones ``listingguard demo`` finds (the demo
market's random port replaced by 127.0.0.1:8700). The golden files are
``tests/golden/notices/<platform>-<basis>.txt`` and ``.csv``: every notice of the batch, in order.
After an intended change to a definition or a template, rewrite them and review the diff::

    UPDATE_GOLDEN=1 python -m pytest tests/test_platforms.py
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import email
import email.policy
import io
import json
import os
import re
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from takedown import drafting, platforms, render
from takedown.model import Evidence, Reporter, Right
from takedown.platforms import PlatformError

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "notices"
DATE = dt.date(2026, 12, 2)
REPORTER = Reporter(
    name="Jordan Example",
    email="brand-protection@luma.example",
    company="Luma Sportswear Ltd.",
    address="100 Example Street, Springfield, OR 97477, United States",
    phone="+1 555 0100",
    title="Brand Protection Manager",
    website="https://luma.example",
    signature="/Jordan Example/",
)
RECIPIENTS = {
    "dmca": "dmca-agent@host.example",
    "eu-dsa": "notices@host.example",
    "prc-ecl-42": "ipr@host.example",
}
PLATFORMS = platforms.load_all()
NAMES = sorted(
    e.name.removesuffix(".toml")
    for e in platforms.bundled_dir().iterdir()
    if e.name.endswith(".toml")
)
# Findings are marks or copies, so design bases (none bundled yet) have no golden file.
CASES = [(name, basis) for name in NAMES for basis in PLATFORMS[name].bases if basis != "design"]
EMAIL = [name for name in NAMES if PLATFORMS[name].channel == "email"]
SEPARATOR = "\n" + "=" * 72 + "\n"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _right(data: dict) -> Right:
    data = {
        **data,
        "jurisdictions": tuple(data.get("jurisdictions", ())),
        "classes": tuple(data.get("classes", ())),
    }
    if data.get("registered"):
        data["registered"] = dt.date.fromisoformat(data["registered"])
    return Right(**data)


def _finding(data: dict) -> drafting.Finding:
    return drafting.Finding(
        **{
            **data,
            "rights": tuple(_right(r) for r in data["rights"]),
            "evidence": tuple(Evidence(**e) for e in data["evidence"]),
        }
    )


FINDINGS = [
    _finding(d)
    for d in json.loads((HERE / "data" / "notice-findings.json").read_text("utf-8"))["findings"]
]


def draft(
    name: str,
    basis: str,
    findings=FINDINGS,
    reporter: Reporter = REPORTER,
    recipient: str | None = None,
):
    platform = PLATFORMS[name]
    if platform.target_url:  # Etsy takes etsy.com/listing/N URLs only
        findings = [
            dataclasses.replace(f, url=f"https://www.etsy.com/listing/{1000 + f.listing_row}")
            for f in findings
        ]
    batches = drafting.batches([f for f in findings if f.basis == basis], lambda f: name)
    assert len(batches) == 1, "the fixture cites one mark, so one batch per basis"
    to = RECIPIENTS.get(name, "") if recipient is None else recipient
    return drafting.notices(batches[0], platform, reporter, date=DATE, recipient=to)


def check_golden(path: Path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(actual)
        return
    assert path.exists(), f"{path.name} is missing: rewrite the golden files with UPDATE_GOLDEN=1"
    with open(path, encoding="utf-8", newline="") as f:
        assert actual == f.read(), (
            f"{path.name} differs: if the change is intended, UPDATE_GOLDEN=1"
        )


def test_every_bundled_definition_loads() -> None:
    assert sorted(PLATFORMS) == NAMES
    env = render.environment()
    for name, p in PLATFORMS.items():
        assert p.name == name and p.limit >= 1 and p.bases, name
        assert p.sources and all(s.startswith(("http://", "https://")) for s in p.sources), name
        assert p.notes and p.response is not None, name
        env.get_template(p.template)
        env.get_template(p.response.template)
        # Field expressions are compiled by Jinja: an unknown filter or a syntax error fails here.
        for f in (*p.fields, *p.csv_columns):
            env.from_string(f.value)
            assert set(f.bases) <= set(p.bases), (
                f"{name}: {f.label} names a basis the platform lacks"
            )
        for text in (*p.statements.values(), p.subject):
            env.from_string(text)


def test_issue_platforms_are_all_bundled() -> None:
    wanted = {
        "amazon",
        "ebay-vero",
        "alibaba-ipp",
        "temu",
        "tiktok-shop",
        "walmart",
        "etsy",
        "shopify",
        "mercadolibre",
    }
    assert wanted | {"dmca", "eu-dsa", "prc-ecl-42"} <= set(PLATFORMS)
    assert set(PLATFORMS["dmca"].bases) == {"copyright"}
    assert {"trademark", "copyright"} <= set(PLATFORMS["eu-dsa"].bases)
    assert PLATFORMS["prc-ecl-42"].languages == ("zh", "en")
    assert PLATFORMS["dmca"].to == "" and PLATFORMS["ebay-vero"].to == "vero@ebay.com"


def _amazon() -> dict:
    return tomllib.loads((platforms.bundled_dir() / "amazon.toml").read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["bases"].update(patent={"label": "Patent"}), "bases.patent"),
        (lambda d: d.pop("limit"), "limit"),
        (lambda d: d.update(limit=0), "limit"),
        (lambda d: d["fields"][0].pop("value"), "fields[0]"),
        (lambda d: d["fields"][1].update(colour="red"), "fields[1].colour"),
        (lambda d: d["fields"][2].update(scope="listing"), "fields[2].scope"),
        (lambda d: d["csv"]["columns"].clear(), "csv.columns"),
        (lambda d: d["channel"].update(kind="fax"), "channel.kind"),
        (lambda d: d["bases"]["copyright"]["counter"].pop("party"), "bases.copyright.counter"),
    ],
)
def test_broken_definition_names_file_and_key(tmp_path: Path, change, key: str) -> None:
    data = _amazon()
    change(data)
    with pytest.raises(PlatformError) as err:
        platforms.parse(data, "mine/amazon.toml")
    assert err.value.file == "mine/amazon.toml"
    assert any(p.startswith(key) for p in err.value.problems), err.value.problems
    assert f"mine/amazon.toml: {key}" in str(err.value)


def test_broken_file_in_a_user_folder_is_named(tmp_path: Path) -> None:
    text = (platforms.bundled_dir() / "amazon.toml").read_text("utf-8")
    (tmp_path / "amazon.toml").write_text(
        text.replace("[bases.trademark]", "[bases.trade-mark]"), "utf-8"
    )
    with pytest.raises(PlatformError, match=r"amazon\.toml: bases\.trade-mark: expected one of"):
        platforms.load_all(tmp_path)
    (tmp_path / "amazon.toml").write_text(
        text.replace('name = "amazon"', 'name = "amazon-de"'), "utf-8"
    )
    with pytest.raises(PlatformError, match="must match the file name"):
        platforms.load_all(tmp_path)


@pytest.mark.parametrize(("name", "basis"), CASES)
def test_golden_notice(name: str, basis: str) -> None:
    platform = PLATFORMS[name]
    notices = draft(name, basis)
    for notice in notices:
        assert drafting.missing(notice, platform) == [], f"{name}: the full reporter is incomplete"
    check_golden(
        GOLDEN / f"{name}-{basis}.txt", SEPARATOR.join(render.text(n, platform) for n in notices)
    )
    check_golden(
        GOLDEN / f"{name}-{basis}.csv", "".join(render.csv_text(n, platform) for n in notices)
    )


def _rights(change):
    return lambda fs: [
        dataclasses.replace(f, rights=tuple(change(r) for r in f.rights)) for f in fs
    ]


def _only_office(office: str, number: str = ""):
    def change(fs):
        out = []
        for f in fs:
            kept = tuple(r for r in f.rights if r.office == office)
            out.append(
                dataclasses.replace(
                    f,
                    rights=tuple(
                        dataclasses.replace(r, registration_number=number or r.registration_number)
                        for r in kept
                    ),
                )
            )
        return out

    return change


@pytest.mark.parametrize(
    ("name", "basis", "reporter", "findings", "expected"),
    [
        ("ebay-vero", "trademark", {"address": ""}, None, "reporter.address"),
        ("ebay-vero", "copyright", {"title": ""}, None, "reporter.title"),
        ("walmart", "trademark", {}, _only_office("EUIPO"), "rights.registration_number"),
        (
            "walmart",
            "trademark",
            {},
            _only_office("USPTO", "97123456"),
            "rights.registration_number:97123456",
        ),
        (
            "walmart",
            "trademark",
            {},
            lambda fs: [
                dataclasses.replace(f, seller_name="") if f.listing_id == "jl-110" else f
                for f in fs
            ],
            "targets[0].seller_name",
        ),
        ("etsy", "copyright", {"phone": ""}, None, "reporter.phone"),
        (
            "shopify",
            "trademark",
            {},
            _rights(lambda r: dataclasses.replace(r, classes=())),
            "rights.classes",
        ),
        (
            "alibaba-ipp",
            "trademark",
            {"role": "agent", "rights_owner": "Luma Sportswear Ltd."},
            None,
            "reporter.authorisation",
        ),
        (
            "tiktok-shop",
            "copyright",
            {},
            _rights(lambda r: dataclasses.replace(r, original_url="")),
            "rights.original_url",
        ),
        ("prc-ecl-42", "trademark", {"signature": ""}, None, "reporter.signature"),
        ("amazon", "trademark", {"role": "agent"}, None, "reporter.rights_owner"),
    ],
)
def test_a_missing_required_field_is_named(name, basis, reporter, findings, expected) -> None:
    fs = findings(list(FINDINGS)) if findings else FINDINGS
    notices = draft(name, basis, fs, dataclasses.replace(REPORTER, **reporter))
    assert expected in drafting.missing(notices[0], PLATFORMS[name])


def test_an_email_notice_without_a_recipient_is_named() -> None:
    notice = draft("dmca", "copyright", recipient="")[0]
    assert drafting.missing(notice, PLATFORMS["dmca"]) == ["recipient"]


def _many(count: int) -> list[drafting.Finding]:
    """``count`` trademark findings on distinct listings, each complete for every platform."""
    base = next(f for f in FINDINGS if f.kind == "trademark")
    return [
        dataclasses.replace(
            base,
            id=1000 + i,
            listing_row=1000 + i,
            listing_id=f"x-{i}",
            url=f"http://127.0.0.1:8700/html/listing/x-{i}",
        )
        for i in range(count)
    ]


@pytest.mark.parametrize(("name", "limit"), [("walmart", 10), ("amazon", 50), ("alibaba-ipp", 300)])
def test_notices_split_at_the_platform_limit(name: str, limit: int) -> None:
    assert PLATFORMS[name].limit == limit
    notices = draft(name, "trademark", _many(2 * limit + 1))
    assert [len(n.targets) for n in notices] == [limit, limit, 1]
    assert [(n.part, n.parts) for n in notices] == [(1, 3), (2, 3), (3, 3)]
    assert all(drafting.missing(n, PLATFORMS[name]) == [] for n in notices)
    assert render.subject(notices[2], PLATFORMS[name]).endswith("[3/3]")


@pytest.mark.parametrize("name", NAMES)
def test_no_notice_carries_more_than_the_limit(name: str) -> None:
    limit = PLATFORMS[name].limit
    basis = next(iter(PLATFORMS[name].bases))
    findings = [
        dataclasses.replace(f, kind="trademark" if basis == "trademark" else "image_copy")
        for f in _many(limit + 1)
    ]
    if basis == "copyright":
        copy = next(f for f in FINDINGS if f.kind == "image_copy")
        findings = [
            dataclasses.replace(f, rights=copy.rights, evidence=copy.evidence) for f in findings
        ]
    assert [len(n.targets) for n in draft(name, basis, findings)] == [limit, 1]


TITLE = "=cmd|' /C calc'!A0 {{ 7*7 }} {% raw %} <script>alert(1)</script>"
SELLER = '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize(("name", "basis"), CASES)
def test_hostile_scraped_text_is_literal_in_text_and_neutralised_in_csv(
    name: str, basis: str
) -> None:
    platform = PLATFORMS[name]
    hostile = [
        dataclasses.replace(
            f, title=TITLE, seller_name=SELLER, explanation=f"{f.explanation} {{% endfor %}}"
        )
        for f in FINDINGS
    ]
    notice = draft(name, basis, hostile)[0]
    text = render.text(notice, platform)
    for literal in ("{{ 7*7 }}", "{% raw %}", "<script>alert(1)</script>", SELLER, "{% endfor %}"):
        assert literal in text, f"{name}: {literal!r} not printed as written"
    rows = list(csv.reader(io.StringIO(render.csv_text(notice, platform))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA)], f"{name}: a cell would run as a formula"
    assert "'" + SELLER in cells


def test_prc_notice_is_in_chinese_and_english() -> None:
    for basis in ("trademark", "copyright"):
        text = render.text(draft("prc-ecl-42", basis)[0], PLATFORMS["prc-ecl-42"])
        assert "初步证据" in text and "Preliminary evidence of infringement" in text
        assert "第四十二条" in text and "Article 42" in text
        chinese = re.findall(r"[\u4e00-\u9fff]", text)
        english = re.findall(r"\b(?:the|notice|listings|rights)\b", text)
        assert len(chinese) > 200 and len(english) > 20


@pytest.mark.parametrize("name", EMAIL)
def test_eml_parses_with_the_standard_library(tmp_path: Path, name: str) -> None:
    platform = PLATFORMS[name]
    pack = tmp_path / "pack.zip"
    with zipfile.ZipFile(pack, "w") as z:
        z.writestr("manifest.json", "{}")
    basis = "copyright" if "copyright" in platform.bases else next(iter(platform.bases))
    notice = dataclasses.replace(draft(name, basis)[0], pack=pack.name)
    msg = email.message_from_bytes(render.eml(notice, platform, pack), policy=email.policy.default)
    assert msg["To"] == (RECIPIENTS.get(name) or platform.to)
    assert msg["Subject"] == render.subject(notice, platform)
    assert msg["From"].addresses[0].addr_spec == REPORTER.email
    body = msg.get_body(("plain",)).get_content()
    assert body.replace("\r\n", "\n") == render.text(notice, platform)
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == "pack.zip"
    assert attachment.get_content() == pack.read_bytes()


# The clocks and answer windows the issue names, as the platforms' own pages state them.
CLOCKS = {
    "dmca": (10, True, "complainant", 14),
    "etsy": (10, True, "complainant", 14),
    "shopify": (10, True, "complainant", 14),
    "prc-ecl-42": (15, False, "complainant", 0),
    "ebay-vero": (5, True, "complainant", 0),
    "mercadolibre": (4, False, "complainant", 0),
    "alibaba-ipp": (3, True, "respondent", 0),
}
RESPONSES = {
    "dmca": ("dmca-counter", 0, False),
    "etsy": ("dmca-counter", 0, False),
    "prc-ecl-42": ("declaration", 0, False),
    "alibaba-ipp": ("declaration", 3, True),
    "tiktok-shop": ("appeal", 30, False),
    "ebay-vero": ("appeal", 5, True),
    "mercadolibre": ("appeal", 4, False),
    "shopify": ("appeal", 2, False),
    "walmart": ("appeal", 0, False),
    "temu": ("appeal", 0, False),
}


@pytest.mark.parametrize("name", NAMES)
def test_counter_clock_and_response_window(name: str) -> None:
    p = PLATFORMS[name]
    clock = p.clock("copyright") if "copyright" in p.bases else p.counter
    if name in CLOCKS:
        assert clock is not None
        assert (clock.days, clock.business, clock.party, clock.max_days) == CLOCKS[name]
        assert clock.source.startswith("http")
    elif name in ("walmart", "temu", "tiktok-shop", "eu-dsa"):
        assert clock is None, f"{name}: no clock was found on the platform's pages"
    if name in ("amazon", "etsy"):
        assert p.clock("trademark") is None, "counter-notices are taken on copyright only"
    if name == "shopify":
        tm = p.clock("trademark")
        assert tm is not None and (tm.days, tm.business, tm.party) == (2, False, "respondent")
    assert p.response is not None
    assert p.response.template == f"{p.response.kind}.txt.j2"
    assert p.response.how
    if name in RESPONSES:
        assert (p.response.kind, p.response.days, p.response.business) == RESPONSES[name]


def _respond_context(name: str, **complaint) -> dict:
    seller = dataclasses.replace(
        REPORTER, name="Ana Seller", company="Ana's Shop", signature="/Ana Seller/"
    )
    return {
        "platform": PLATFORMS[name],
        "reporter": seller,
        "date": "2026-12-03",
        "deadline": "2026-12-08",
        "complaint": SimpleNamespace(
            **{
                "reference": "C-1",
                "complainant": "Other Brand Inc.",
                "received": "2026-12-01",
                "basis": "copyright",
                "listing_url": "https://shop.example/p/1",
                "listing_title": "Our own {{ 7*7 }} backpack",
                "claim": "copies our photo {% raw %}",
                **complaint,
            }
        ),
        "proofs": [
            SimpleNamespace(
                kind="earliest_capture",
                description="our photo, captured on our site",
                date="2024-05-01",
                sha256="ab" * 32,
                url="https://ana.example/p.jpg",
            ),
            SimpleNamespace(
                kind="registration",
                description="US copyright registration VA 1-234",
                date="2024-06-01",
                sha256="",
                url="",
            ),
        ],
    }


@pytest.mark.parametrize("name", NAMES)
def test_response_template_renders_the_complaint_as_written(name: str) -> None:
    ctx = _respond_context(name)
    text = render.environment().get_template(PLATFORMS[name].response.template).render(ctx)
    for literal in (
        "Our own {{ 7*7 }} backpack",
        "copies our photo {% raw %}",
        "https://shop.example/p/1",
        "ab" * 32,
        "2026-12-08",
    ):
        assert literal in text, f"{name}: {literal!r}"


def test_dmca_counter_notice_has_the_512g3_elements() -> None:
    text = render.environment().get_template("dmca-counter.txt.j2").render(_respond_context("dmca"))
    for element in (
        "Signature: /Ana Seller/",
        "https://shop.example/p/1",
        "under penalty of perjury",
        "mistake or misidentification",
        REPORTER.address,
        REPORTER.phone,
        "consent to the jurisdiction of the Federal District Court",
        "any judicial district in which",
        "accept service of process from Other Brand Inc.",
    ):
        assert element in text, element


def test_declaration_is_bilingual_with_preliminary_evidence() -> None:
    text = (
        render.environment()
        .get_template("declaration.txt.j2")
        .render(_respond_context("prc-ecl-42"))
    )
    assert "不侵权声明" in text and "Declaration of Non-Infringement" in text
    assert "初步证据" in text and "Preliminary evidence of non-infringement" in text
    assert "最早发布记录" in text
