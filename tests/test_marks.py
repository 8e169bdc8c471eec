"""Mark detection on real-looking titles: every disguise family, mentions, signals, hostile text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.marks import MarkMatcher, MarkSpec, edit_budget
from matcher.normalize import normalize

MARKS = [
    MarkSpec("Nike"),
    MarkSpec("Samsung"),
    MarkSpec("Xiaomi", ("小米",)),
    MarkSpec("Logitech"),
    MarkSpec("Sony"),
    MarkSpec("Lego"),
    MarkSpec("Bose"),
    MarkSpec("Rolex"),
    MarkSpec("Adidas"),
    MarkSpec("Philips"),
    MarkSpec("GoPro"),
    MarkSpec("Chanel"),
    MarkSpec("DJI"),
    MarkSpec("Oppo"),
    MarkSpec("Hewlett Packard"),
    MarkSpec("Luma", ("ルマ", "露玛"), list_price="52 USD"),
]


@pytest.fixture(scope="module")
def matcher() -> MarkMatcher:
    return MarkMatcher(MARKS)


def best(matcher: MarkMatcher, text: str, **kw: object):
    found = [m for m in matcher.analyse(text, **kw).matches if m.score >= 0.5]  # type: ignore[arg-type]
    return found[0] if found else None


# (text, mark, the part of the text the match must cover, a disguise it must name)
DISGUISED = [
    ("Mens N1KE Air running shoes", "Nike", "N1KE", "leet"),
    ("S4MSUNG Galaxy S21 case", "Samsung", "S4MSUNG", "leet"),
    ("N i k e Air Max 90 sneakers", "Nike", "N i k e", "spaced"),
    ("Genuine N.I.K.E trainers size 9", "Nike", "N.I.K.E", "spaced"),
    ("S-O-N-Y wireless headphones", "Sony", "S-O-N-Y", "spaced"),
    ("Sam-sung fast charger 25W", "Samsung", "Sam-sung", "split"),
    ("Ｎｉｋｅ hoodie black", "Nike", "Ｎｉｋｅ", "compatibility_letters"),
    ("𝐒𝐚𝐦𝐬𝐮𝐧𝐠 Galaxy Buds", "Samsung", "𝐒𝐚𝐦𝐬𝐮𝐧𝐠", "compatibility_letters"),
    ("Ѕаmѕung phone cover", "Samsung", "Ѕаmѕung", "mixed_script"),  # Cyrillic Ѕ, а, ѕ
    ("Орро A5 phone", "Oppo", "Орро", "confusable"),  # all Cyrillic
    ("Nіke Air shoes", "Nike", "Nіke", "mixed_script"),  # Cyrillic і
    ("ΝΙΚΕ football boots", "Nike", "ΝΙΚΕ", "confusable"),  # Greek capitals
    ("Ni\u200bke Air zero width", "Nike", "Ni\u200bke", "invisible_characters"),
    ("Sa\u2060msung\u200d tablet", "Samsung", "Sa\u2060msung\u200d", "invisible_characters"),
    ("Nïké running socks", "Nike", "Nïké", "accents"),
    ("nIKE sports bag", "Nike", "nIKE", None),
    ("Samsnug Galaxy S10 screen", "Samsung", "Samsnug", "typo_1_edit"),  # transposition
    ("Logitceh wireless mouse", "Logitech", "Logitceh", "typo_1_edit"),
    ("Logiteck M185 mouse", "Logitech", "Logiteck", "typo_1_edit"),
    ("Logtech keyboard K120", "Logitech", "Logtech", "typo_1_edit"),  # omission
    ("Logitechh keyboard", "Logitech", "Logitechh", "typo_1_edit"),  # repetition
    ("Lgoitehc webcam", "Logitech", "Lgoitehc", "typo_2_edits"),  # two transpositions
    ("Samsungs galaxy", "Samsung", "Samsungs", "typo_1_edit"),  # plural
    ("Adeedas running shoes", "Adidas", "Adeedas", "phonetic"),
    ("Fillips electric shaver", "Philips", "Fillips", "phonetic"),
    ("小米手机 红米 Note 9", "Xiaomi", "小米", None),
    ("全新露玛瑜伽垫", "Luma", "露玛", None),
    ("Rolexwatch for men", "Rolex", "Rolexwatch", "embedded"),
    ("HewlettPackard ink 61", "Hewlett Packard", "HewlettPackard", "glued"),
    ("Hewlet Packard toner", "Hewlett Packard", "Hewlet Packard", "typo_1_edit"),
    ("Go Pro Hero 9 action camera", "GoPro", "Go Pro", "split"),
    ("DJ1 Mavic drone", "DJI", "DJ1", "leet"),
    ("🇳🇮🇰🇪 flag shoes", "Nike", "🇳🇮🇰🇪", None),
]


@pytest.mark.parametrize(("text", "mark", "shown", "disguise"), DISGUISED)
def test_issue4_each_disguise_family_is_found_and_named(
    matcher: MarkMatcher, text: str, mark: str, shown: str, disguise: str | None
) -> None:
    m = best(matcher, text)
    assert m is not None, text
    assert m.asset == mark
    assert m.kind == "trademark"
    assert text[m.span[0] : m.span[1]] == shown
    if disguise:
        assert disguise in m.detail["disguise"]
    else:
        assert not {"typo_1_edit", "typo_2_edits", "phonetic"} & set(m.detail["disguise"])


@pytest.mark.parametrize(
    "text",
    [
        "rose gold wrist watch",  # Bose, one edit
        "logo print t-shirt",  # Lego
        "song book for kids",  # Sony
        "YouTube channel starter kit",  # Chanel
        "I like this bike",  # Nike
        "GoPro" and "6.0 pro max edition",  # digits stay digits
        "gx301 r 16x 4 model",  # model numbers are not leetspeak
        "Samsonite suitcase",  # a longer word that shares a prefix
        "Sonos speaker",
        "Nikon D3500 camera",
    ],
)
def test_issue4_common_words_and_other_brands_are_not_marks(
    matcher: MarkMatcher, text: str
) -> None:
    assert best(matcher, text) is None


def test_a_common_word_that_is_the_mark_still_matches(matcher: MarkMatcher) -> None:
    m = best(matcher, "Lego Classic creative bricks")
    assert m is not None and m.asset == "Lego" and m.detail["disguise"] == []
    assert m.score > 0.95


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Case compatible with Samsung Galaxy S20", "en"),
        ("Replacement for Logitech remote", "en"),
        ("Charger for Samsung phones", "en"),
        ("Screen protector fits Samsung Galaxy", "en"),
        ("Funda compatible con Samsung A52", "es"),
        ("Cargador para Samsung Galaxy", "es"),
        ("Hülle kompatibel mit Samsung S21", "de"),
        ("Ladekabel für Samsung", "de"),
        ("Coque compatible avec Samsung", "fr"),
        ("Chargeur pour Samsung", "fr"),
        ("Capa compatível com Samsung", "pt"),
        ("Cover compatibile con Samsung", "it"),
        ("Caricatore per Samsung", "it"),
        ("适用于小米手机的保护壳", "zh"),
        ("兼容小米充电器", "zh"),
    ],
)
def test_issue4_mentions_in_each_language(matcher: MarkMatcher, text: str, language: str) -> None:
    m = best(matcher, text)
    assert m is not None
    assert m.kind == "mention", text
    assert m.detail["mention"]["language"] == language
    assert m.detail["severity"] == "low"


def test_mention_carries_over_a_list_of_marks(matcher: MarkMatcher) -> None:
    kinds = {
        m.asset: m.kind for m in matcher.find("Cable compatible with Samsung, Sony and Logitech")
    }
    assert kinds == {"Samsung": "mention", "Sony": "mention", "Logitech": "mention"}


@pytest.mark.parametrize(
    "text", ["Nike shoes for men", "Samsung Galaxy with charger", "Sony headphones for kids"]
)
def test_for_after_the_mark_is_not_a_mention(matcher: MarkMatcher, text: str) -> None:
    m = best(matcher, text)
    assert m is not None and m.kind == "trademark"


@pytest.mark.parametrize(
    "text",
    [
        "Replica Rolex Submariner 1:1",
        "Rolex mirror quality watch",
        "高仿小米手环",
        "Chanel bag dupe",
    ],
)
def test_counterfeit_words_next_to_a_mark_raise_severity(matcher: MarkMatcher, text: str) -> None:
    m = best(matcher, text)
    assert m is not None and m.kind == "trademark"
    assert any(s["signal"] == "counterfeit_words" for s in m.detail["signals"])
    assert m.detail["severity"] == "high"


def test_counterfeit_words_alone_are_no_match(matcher: MarkMatcher) -> None:
    assert matcher.find("Replica vintage poster 1:1 scale AAA batteries") == []


def test_a_plain_use_is_medium_severity(matcher: MarkMatcher) -> None:
    m = best(matcher, "Rolex Submariner steel watch")
    assert m is not None and m.detail["severity"] == "medium" and m.detail["signals"] == []


def test_seller_name_imitating_a_mark_is_impersonation(matcher: MarkMatcher) -> None:
    result = matcher.analyse("Air running shoes Nike", seller="N1keOfficial Store")
    assert [s["mark"] for s in result.signals if s["signal"] == "impersonation"] == ["Nike"]
    assert result.matches[0].detail["severity"] == "high"
    assert matcher.analyse("Air running shoes", seller="Sunrise Trading").signals == []


def test_price_far_below_the_list_price_is_a_signal(matcher: MarkMatcher) -> None:
    cheap = best(matcher, "Luma yoga hoodie", price="$9.99")
    assert cheap is not None
    low = [s for s in cheap.detail["signals"] if s["signal"] == "low_price"]
    assert low and low[0]["share"] == pytest.approx(9.99 / 52, abs=1e-3)
    assert cheap.detail["severity"] == "high"
    fair = best(matcher, "Luma yoga hoodie", price="$45.00")
    assert fair is not None and fair.detail["signals"] == []
    other = best(matcher, "Luma yoga hoodie", price="9,99 €")
    assert other is not None
    assert [s["signal"] for s in other.detail["signals"]] == ["price"]  # not comparable


def test_mixed_script_words_are_a_signal_of_their_own(matcher: MarkMatcher) -> None:
    result = matcher.analyse("Тhe best shoes")  # a Cyrillic Т in an English word, no mark
    assert result.matches == []
    assert result.signals[0]["signal"] == "mixed_script"
    assert result.signals[0]["token"] == "Тhe"


def test_spans_point_into_the_text_as_given(matcher: MarkMatcher) -> None:
    text = "Ｎｅｗ ｽﾆｰｶｰ 👟 e\u0301te\u0301 — N\u200bi\u200bk\u200be Air, 𝐒𝐚𝐦𝐬𝐮𝐧𝐠 case"
    found = {m.asset: text[m.span[0] : m.span[1]] for m in matcher.find(text)}
    assert found == {"Nike": "N\u200bi\u200bk\u200be", "Samsung": "𝐒𝐚𝐦𝐬𝐮𝐧𝐠"}


def test_find_many_equals_find(matcher: MarkMatcher) -> None:
    texts = [t for t, *_ in DISGUISED] + ["nothing here", ""]
    assert matcher.find_many(texts) == [matcher.find(t) for t in texts]


def test_budget_grows_with_length_and_can_be_set_per_mark() -> None:
    assert [edit_budget(n) for n in (2, 3, 4, 7, 8, 12)] == [0, 0, 1, 1, 2, 2]
    strict = MarkMatcher([MarkSpec("Logitech", max_edits=0)])
    assert strict.find("Logitceh mouse") == []
    assert strict.find("Logitech mouse")[0].score > 0.95
    loose = MarkMatcher([MarkSpec("DJI", max_edits=1)])
    assert loose.find("DJX drone")[0].detail["edits"] == 1


def test_marks_with_digits_are_matched_as_written() -> None:
    m = MarkMatcher([MarkSpec("3M")])
    assert [x.asset for x in m.find("3M Command strips")] == ["3M"]
    assert m.find("em dash keyboard") == []


def test_no_marks_match_nothing() -> None:
    assert MarkMatcher([]).find("Nike Samsung") == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01\x02\x1b[31m",
        "\ud800 lone surrogate",
        "\u202eekiN\u202c reversed",
        "a" * 50_000,
        ("Nike " * 2_000_000)[:10_000_000],
        "N " * 100_000,
        "🇳" * 1000,
    ],
)
def test_hostile_text_gives_a_result_never_a_crash(matcher: MarkMatcher, text: str) -> None:
    result = matcher.analyse(text)
    for m in result.matches:
        assert 0 <= m.span[0] <= m.span[1] <= len(text)


@settings(max_examples=150, deadline=None)
@given(
    before=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    after=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
def test_property_a_mark_between_any_words_is_found(
    matcher: MarkMatcher, before: str, after: str
) -> None:
    text = f"{before} Logitech {after}"
    found = [m for m in matcher.find(text) if m.asset == "Logitech"]
    assert found, text
    assert "Logitech" in text[found[0].span[0] : found[0].span[1]]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_property_spans_are_within_the_text(matcher: MarkMatcher, text: str) -> None:
    for m in matcher.find(text):
        assert 0 <= m.span[0] <= m.span[1] <= len(text)
        assert 0.0 <= m.score <= 1.0


def test_normalised_key_keeps_digit_tokens() -> None:
    assert normalize("6.0 pro 4k n1ke").folded == [
        "6",
        "0",
        "pro",
        "4k",
        "nike",
    ]


# -- regressions from the review of issue 4 ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Nike compatible shoes replica",
        "Compatible Nike sneakers 1:1",
        "Gift for Nike lovers replica",
        "Samsung compatible case mirror quality",
    ],
)
def test_counterfeit_words_overrule_a_mention(matcher: MarkMatcher, text: str) -> None:
    m = best(matcher, text)
    assert m is not None and m.kind == "trademark", text
    assert m.detail["mention_overruled"]["phrase"]
    assert m.detail["severity"] == "high"


@pytest.mark.parametrize(
    "text", ["Luma Relaxed Fit Tee", "Luma slim fit hoodie", "Luma type C cable"]
)
def test_fit_and_type_after_a_mark_are_no_mention(matcher: MarkMatcher, text: str) -> None:
    m = best(matcher, text)
    assert m is not None and m.kind == "trademark"


@pytest.mark.parametrize(
    "text",
    [
        "Ladrillos compatibles con Lego",
        "Briques compatibles avec Lego",
        "Blocos compatíveis com Lego",
        "Mattoncini compatibili con Lego",
        "Lego-kompatible Bausteine",
        "Bausteine Lego kompatibel",
    ],
)
def test_inflected_mention_phrases(matcher: MarkMatcher, text: str) -> None:
    m = best(matcher, text)
    assert m is not None and m.kind == "mention", text


def test_a_disguised_mention_is_not_low_severity(matcher: MarkMatcher) -> None:
    m = best(matcher, "Case compatible with S4MSUNG Galaxy")
    assert m is not None and m.kind == "mention" and m.detail["severity"] == "medium"


@pytest.mark.parametrize(
    ("mark", "text", "found"),
    [
        ("H&M", "H&M shirt basic", True),
        ("AT&T", "AT&T prepaid phone", True),
        ("X", "2 x AA batteries", False),
        ("X", "Size X-Large hoodie", True),
        ("X", "size x-large hoodie", False),
        ("C++", "Vitamin C serum 30ml", False),
        ("3M", "USB-C Kabel 3m lang", False),
        ("3M", "Cable HDMI 3 m", False),
        ("3M", "3M Command hooks", True),
    ],
)
def test_marks_of_one_or_two_characters_count_only_as_written(
    mark: str, text: str, found: bool
) -> None:
    assert bool(MarkMatcher([MarkSpec(mark)]).find(text)) is found


@pytest.mark.parametrize(
    ("text", "language"),
    [("Der böse Wolf Kostüm", None), ("Cañón de juguete", None), ("uma camiseta da moda", "pt")],
)
def test_foreign_words_are_not_disguised_marks(text: str, language: str | None) -> None:
    m = MarkMatcher([MarkSpec("Bose"), MarkSpec("Canon"), MarkSpec("Luma")])
    assert m.find(text, language=language) == []


def test_a_mark_in_another_script_written_exactly_is_no_disguise() -> None:
    (m,) = MarkMatcher([MarkSpec("Москва")]).find("Москва сувенир")
    assert m.detail["disguise"] == [] and m.score > 0.95


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("N-1-K-E shoes", "N-1-K-E"),
        ("N.1.K.E", "N.1.K.E"),
        ("N|I|K|E", "N|I|K|E"),
        ("N,I,K,E sneakers", "N,I,K,E"),
        ("🅽🅸🅺🅴 trainers", "🅽🅸🅺🅴"),
        ("⒩⒤⒦⒠ trainers", "⒩⒤⒦⒠"),
        ("N\u3164ike air", "N\u3164ike"),
        ("N\u2800i\u2800k\u2800e air", "N\u2800i\u2800k\u2800e"),
        ("Νικε shoes", "Νικε"),
        ("NikeAir Max", "NikeAir"),
        ("Nike2024 edition", "Nike2024"),
    ],
)
def test_more_disguises_from_the_review(matcher: MarkMatcher, text: str, shown: str) -> None:
    m = best(matcher, text)
    assert m is not None and m.asset == "Nike", text
    assert text[m.span[0] : m.span[1]] == shown


def test_span_keeps_a_trailing_combining_mark(matcher: MarkMatcher) -> None:
    text = "Luma\u0301 hoodie"
    m = best(matcher, text)
    assert m is not None and text[m.span[0] : m.span[1]] == "Luma\u0301"
    assert "accents" in m.detail["disguise"]


def test_find_many_keeps_typos_when_the_cache_overflows(monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.marks

    monkeypatch.setattr(matcher.marks, "CACHE_LIMIT", 50)
    m = MarkMatcher([MarkSpec("Logitech")])
    texts = ["Logitceh mouse"] + [f"zq{i}xw word{i}" for i in range(200)]
    assert [x.asset for x in m.find_many(texts)[0]] == ["Logitech"]


@pytest.mark.parametrize("price", ["$1e308", "-5", "$-1", "free"])
def test_prices_that_are_not_prices_raise_no_signal(matcher: MarkMatcher, price: str) -> None:
    m = best(matcher, "Luma yoga hoodie", price=price)
    assert m is not None and m.detail["signals"] == []


@pytest.mark.parametrize(
    ("mark", "text", "shown"),
    [
        ("Fossil", "Fossesil watch leather", "Fossesil"),  # dnstwist plural: "es" after an s
        ("Toshiba", "Toseshiba laptop", "Toseshiba"),
        ("Ikea", "IK4EA shelf", "IK4EA"),  # a digit slipped into a short mark
        ("Ikea", "ike@ shelf", "ike@"),
        ("Garmin", "ǵARᴍIN watch", "ǵARᴍIN"),  # small capital M
        ("Olympus", "OLYrnPUS camera", "OLYrnPUS"),  # "rn" for "m"
        ("Sennheiser", "S e n n h e i s e r headset", "S e n n h e i s e r"),
        ("Saturn", "Satu-rn lamp", "Satu-rn"),  # a look-alike pair split over words
        ("Bosch", "ьоѕсһ drill", "ьоѕсһ"),  # Cyrillic soft sign for b
        ("HP", "ＨＰ laptop", "ＨＰ"),
        ("HP", "НР laptop", "НР"),
    ],
)
def test_disguises_measured_on_other_marks(mark: str, text: str, shown: str) -> None:
    (m,) = MarkMatcher([MarkSpec(mark)]).find(text)
    assert text[m.span[0] : m.span[1]] == shown


@pytest.mark.parametrize(
    ("mark", "text"),
    [("Rolex", "Rolodex card file"), ("HP", "hp laptop"), ("HP", "H P laptop")],
)
def test_near_misses_that_stay_misses(mark: str, text: str) -> None:
    assert MarkMatcher([MarkSpec(mark)]).find(text) == []


def test_context_phrases_know_their_words_and_offsets() -> None:
    from matcher.context import Context

    text = "Blue phone case, fits most models — compatible with Samsung 适用于小米 replica"
    n = normalize(text)
    ctx = Context(n)
    strong = {
        p.text: (n.key[p.start : p.end], n.words[p.first : p.last]) for p in ctx.phrases("strong")
    }
    assert strong["fits"] == ("fits", ["fits"])
    assert strong["compatible with"] == ("compatible with", ["compatible", "with"])
    assert strong["适用于"][0] == "适用于"
    (fake,) = ctx.phrases("fake")
    assert (fake.text, n.words[fake.first : fake.last]) == ("replica", ["replica"])
    assert [p.text for p in ctx.phrases("weak")] == []  # "for" inside no word: "format" etc.


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1$@|!€ .-_,小米\u200bＮ", max_size=40))
def test_property_word_offsets_are_the_token_matches(text: str) -> None:
    from matcher.normalize import TOKEN

    n = normalize(text)
    assert list(zip(n.starts, n.ends, strict=True)) == [m.span() for m in TOKEN.finditer(n.key)]
