"""`listingguard match text` on a real workspace: marks from config.toml, copy from a real catalogue."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import run

from listingguard.cli import cli

MATCH = {
    "type": "object",
    "required": ["asset", "kind", "score", "span", "detail"],
    "properties": {
        "asset": {"type": "string"},
        "kind": {"enum": ["trademark", "mention", "copy"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "span": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0},
            "minItems": 2,
            "maxItems": 2,
        },
        "detail": {"type": "object"},
        "asset_id": {"type": "integer"},
        "rights": {"enum": ["owned", "licensed", "third_party"]},
    },
}
RESULT = {
    "type": "object",
    "required": ["text", "matches", "signals"],
    "properties": {
        "text": {"type": "string"},
        "matches": {"type": "array", "items": MATCH},
        "signals": {"type": "array", "items": {"type": "object"}},
        "line": {"type": "integer", "minimum": 1},
        "error": {"type": "string"},
        "truncated": {"type": "integer"},
    },
    "additionalProperties": False,
}


@pytest.fixture
def descriptions(catalogue: Path) -> dict[str, str]:
    with (catalogue / "products.csv").open(encoding="utf-8") as f:
        return {row["family"]: row["description"] for row in csv.DictReader(f)}


@pytest.fixture
def shop(workspace: Path, runner: CliRunner, descriptions: dict[str, str], tmp_path: Path) -> Path:
    """The init workspace (marks Luma, ルマ, 露玛, LumaTech) with two products' copy and prices."""
    sheet = tmp_path / "catalogue.csv"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "name", "price", "currency", "images", "description"])
        w.writerow(["MH01", "Chaz Kangeroo Hoodie", "52", "USD", "", descriptions["MH01"]])
        w.writerow(["MJ01", "Beaumont Summit Kit", "42", "USD", "", descriptions["MJ01"]])
    code, out, err = run(runner, workspace, "assets", "import", str(sheet))
    assert code == 0, out + err
    return workspace


def lines(out: str) -> list[dict]:
    results = [json.loads(line) for line in out.splitlines()]
    for r in results:
        jsonschema.validate(r, RESULT)
    return results


def test_issue4_json_schema_and_order(
    runner: CliRunner, shop: Path, descriptions: dict[str, str]
) -> None:
    copied = "Great deal! " + descriptions["MH01"].replace("\n", " ")
    texts = ["Ｌｕｍａ yoga hoodie", "Strap compatible with Luma mats", copied, "plain blue mug"]
    code, out, err = run(runner, shop, "match", "text", *texts, "--json")
    assert code == 0, err
    results = lines(out)
    assert [r["text"] for r in results] == texts
    first, second, third, fourth = results
    assert (first["matches"][0]["asset"], first["matches"][0]["kind"]) == ("Luma", "trademark")
    assert first["matches"][0]["detail"]["disguise"] == ["compatibility_letters"]
    assert first["matches"][0]["rights"] == "owned"
    assert second["matches"][0]["kind"] == "mention"
    copy = [m for m in third["matches"] if m["kind"] == "copy"]
    assert copy and copy[0]["detail"]["product"]["sku"] == "MH01"
    a, b = copy[0]["span"]
    assert copied[a:b].startswith(descriptions["MH01"][:20])
    assert fourth["matches"] == []
    for r in results:
        for m in r["matches"]:
            assert m["score"] >= 0.5
            assert 0 <= m["span"][0] <= m["span"][1] <= len(r["text"])


def test_stdin_lines_in_order_and_invalid_utf8_named(runner: CliRunner, shop: Path) -> None:
    data = b"Lum\xe4 hoodie\nL.U.M.A leggings\n\xff\xfe\x00\nluma tee\r\n\n"
    result = runner.invoke(cli, ["match", "text", "-", "--json", "--config", str(shop)], input=data)
    assert result.exit_code == 1
    results = lines(result.stdout)
    assert [r.get("line") for r in results] == [1, None, 3, None, None]
    assert "not UTF-8" in results[0]["error"] and "0xE4" in results[0]["error"]
    assert results[0]["text"] == "Lum\ufffd hoodie" and results[0]["matches"] == []
    assert results[1]["matches"][0]["detail"]["disguise"] == ["spaced"]
    assert results[3]["text"] == "luma tee"
    assert results[4] == {"text": "", "matches": [], "signals": []}


def test_hostile_texts_get_a_result(runner: CliRunner, shop: Path) -> None:
    huge = ("Luma " + "x" * 995) * 10_000  # 10 MB on one line
    data = (huge + "\n\x00\x01\x1b[2J\u202eamuL\n").encode("utf-8")
    result = runner.invoke(cli, ["match", "text", "-", "--json", "--config", str(shop)], input=data)
    assert result.exit_code == 0, result.stderr
    big, controls = lines(result.stdout)
    assert big["truncated"] == 100_000 and big["matches"][0]["asset"] == "Luma"
    assert controls["matches"] == []


def test_seller_and_price_signals(runner: CliRunner, shop: Path) -> None:
    code, out, _ = run(
        runner, shop, "match", "text", "Luma hoodie", "--seller", "LumaOfficial", "--price",
        "$9.99", "--json",
    )  # fmt: skip
    assert code == 0
    (result,) = lines(out)
    signals = {s["signal"] for s in result["matches"][0]["detail"]["signals"]}
    assert signals == {"impersonation", "low_price"}
    assert result["matches"][0]["detail"]["severity"] == "high"


def test_table_output_escapes_scraped_text(runner: CliRunner, shop: Path) -> None:
    code, out, _ = run(runner, shop, "match", "text", "[bold red]Luma[/bold red] tee")
    assert code == 0
    assert "[bold red]Luma[/bold red]" in out
    assert "trademark" in out


def test_unknown_language_is_refused(runner: CliRunner, shop: Path) -> None:
    code, _, err = run(runner, shop, "match", "text", "Luma", "--language", "xx")
    assert code == 2 and "language" in err


def test_min_score_is_honoured(runner: CliRunner, shop: Path) -> None:
    _, out, _ = run(runner, shop, "match", "text", "Lumma tee", "--json")
    (typo,) = lines(out)
    score = typo["matches"][0]["score"]
    assert 0.5 <= score < 0.95
    _, out, _ = run(runner, shop, "match", "text", "Lumma tee", "--json", "--min-score", "0.95")
    assert lines(out)[0]["matches"] == []


def test_config_max_edits_applies(runner: CliRunner, workspace: Path) -> None:
    text = workspace.read_text("utf-8").replace(
        'text = "Luma"\n', 'text = "Luma"\nmax_edits = 0\n', 1
    )
    workspace.write_text(text, "utf-8")
    _, out, _ = run(runner, workspace, "match", "text", "Lumma tee", "Luma tee", "--json")
    typo, exact = lines(out)
    assert typo["matches"] == [] and exact["matches"][0]["asset"] == "Luma"


def test_issue4_terminal_escapes_in_scraped_text_are_shown_not_run(
    runner: CliRunner, shop: Path
) -> None:
    text = "[red]Luma[/red] x\x1b[2J\x1b]0;pwned\x07 hoodie"
    code, out, _ = run(runner, shop, "match", "text", text, "--seller", "Luma\x1b[2JOfficial")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out and "[red]Luma[/red]" in out


def test_authorised_seller_is_no_impersonation(runner: CliRunner, shop: Path) -> None:
    config = shop.read_text("utf-8")
    config += '\n[[authorised]]\nname = "Luma Official Store"\nseller_names = ["LumaOfficial"]\n'
    shop.write_text(config, "utf-8")
    args = ("match", "text", "Luma hoodie", "--json", "--seller")
    _, out, _ = run(runner, shop, *args, "LumaOfficial")
    assert lines(out)[0]["signals"] == []
    _, out, _ = run(runner, shop, *args, "LumaOutlet")
    assert [s["signal"] for s in lines(out)[0]["signals"]] == ["impersonation"]
