"""The command line as a new user meets it: help with examples, init, demo, version, scrapy project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import ROOT

from listingguard.cli import cli


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += all_commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(c) or "listingguard")
def test_every_command_has_help_with_an_example(
    runner: CliRunner, command: tuple[str, ...]
) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"listingguard {' '.join(command)}".strip() in result.output


@pytest.mark.parametrize("command", [c for c in all_commands() if c], ids=" ".join)
def test_readme_documents_every_command(command: tuple[str, ...]) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"listingguard {' '.join(command)}" in readme


def test_readme_starts_with_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert "listingguard demo" in blocks[0]
    assert "pytest" in blocks[1]


def test_init_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    config = tmp_path / "config.toml"
    assert (tmp_path / "listingguard.db").exists()
    assert (tmp_path / "assets" / "images").is_dir()
    config.write_text(config.read_text() + "\n# my edits\n")
    result = runner.invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 2 and "pass --force" in result.stderr
    assert "# my edits" in config.read_text()
    runner.invoke(cli, ["assets", "add", "--kind", "mark", "Acme", "--config", str(config)])
    result = runner.invoke(cli, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 0
    assert "# my edits" not in config.read_text()
    listed = runner.invoke(cli, ["assets", "list", "--json", "--config", str(config)])
    assert "Acme" in {m["text"] for m in json.loads(listed.stdout)}  # the database was kept


def test_demo_builds_a_workspace_and_reruns_idempotently(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = runner.invoke(cli, ["demo", "--dir", str(target), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"mark": 2, "image": 27, "copy": 12, "logo": 0}
    assert len(summary["products"]) == 12 and not summary["refused"]
    assert (target / "catalogue" / "LICENSE-OSL-3.0.txt").exists()
    best = [m["matches"][0]["asset"] if m["matches"] else None for m in summary["image_matches"]]
    assert best == ["mh01-gray_main.jpg", "ms09-black_main.jpg", "mh01-gray_main.jpg", None]
    texts = [[(m["asset"], m["kind"]) for m in t["matches"]] for t in summary["text_matches"]]
    assert texts == [[("Luma", "trademark")]] * 5 + [
        [("Luma", "mention")],
        [("MH01 description", "copy")],
        [],
    ]
    # The demo sweeps its marketplace and grades the findings against the market's truth.
    swept = summary["sweep"]["marketplaces"]
    assert {m["marketplace"] for m in swept} == {
        "demo-jsonld",
        "demo-html",
        "demo-shopify",
        "demo-woo",
    }
    assert all(m["status"] == "finished" and m["listings"] > 0 for m in swept)
    grade = summary["grade"]
    assert not grade["misses"], grade["misses"]
    assert set(grade["labels"]) == {"genuine", "counterfeit", "mention", "unrelated", "blocked"}
    # ... and self-checks the brand's next listings before they go live.
    verdicts = {r["id"]: r["verdict"] for r in summary["selfcheck"]["listings"]}
    assert verdicts == {"LUMA-NEW-1": "ok", "LUMA-NEW-2": "warn", "LUMA-NEW-3": "block",
                        "LUMA-NEW-4": "block", "LUMA-NEW-5": "block"}  # fmt: skip
    checks = {r["id"]: {p["check"] for p in r["problems"] if p["severity"] == "block"}
              for r in summary["selfcheck"]["listings"]}  # fmt: skip
    assert checks["LUMA-NEW-3"] == {"image_source"} and checks["LUMA-NEW-4"] == {"copied_text"}
    again = runner.invoke(cli, ["demo", "--dir", str(target), "--json"])
    rerun = json.loads(again.stdout)
    assert rerun["counts"] == summary["counts"]
    assert rerun["sweep"]["new_findings"] == 0 and not rerun["grade"]["misses"]
    listed = runner.invoke(
        cli, ["assets", "list", "--json", "--config", str(target / "config.toml")]
    )
    assert len(json.loads(listed.stdout)) == 41


def test_demo_refuses_a_folder_that_is_not_a_workspace(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(cli, ["demo", "--dir", str(tmp_path)])
    assert (
        result.exit_code == 2
        and "the folder is not empty and is not a demo workspace" in result.stderr
    )


def test_demo_as_a_new_user_runs_it(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "listingguard", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Chaz Kangeroo Hoodie" in proc.stdout and "27 photos" in proc.stdout
    assert "counterfeits found with every kind of evidence" in proc.stdout
    assert "Before listing: the self-check of 5 draft listings" in proc.stdout
    folder = re.search(r"Demo workspace: (\S+)", proc.stdout)[1]
    assert (Path(folder) / "listingguard.db").exists()


def test_version_and_unknown_command(runner: CliRunner) -> None:
    assert re.match(r"listingguard, version \d+\.\d+", runner.invoke(cli, ["--version"]).output)
    result = runner.invoke(cli, ["sweeep"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_scrapy_finds_the_crawler_project() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "settings", "--get", "BOT_NAME"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "listingguard"


def test_readme_configuration_reference_lists_every_key() -> None:
    from listingguard.config import Config
    from listingguard.configschema import leaf_paths

    readme = (ROOT / "README.md").read_text("utf-8")
    missing = [p for p in leaf_paths(Config) if f"`{p.replace('.*.', '.NAME.')}`" not in readme]
    assert not missing
