"""config.toml: the example is complete and valid; every class of mistake names the file and key."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from listingguard import config
from listingguard.configschema import leaf_paths
from listingguard.errors import ConfigError
from listingguard.workspace import template_config

EXAMPLE = (ROOT / "config.toml").read_text("utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text))
    return str(info.value).splitlines()


def replace(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


def test_example_config_loads_with_paths_relative_to_its_folder(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, EXAMPLE))
    assert cfg.owner.company == "Luma Sportswear Ltd."
    assert cfg.marks[0].registrations[0].classes == (25, 28)
    assert cfg.workspace.database == tmp_path.resolve() / "listingguard.db"
    assert cfg.assets.folders[0].path == tmp_path.resolve() / "assets" / "images"


def _toml_paths(data: object, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else key
            if prefix in ("marketplaces", "selfcheck.rules"):  # tables of named tables
                path = f"{prefix}.*"
            out |= _toml_paths(value, path) if isinstance(value, dict | list) else {path}
            if isinstance(value, list) and not (value and isinstance(value[0], dict)):
                out.add(path)
            if isinstance(value, dict):  # a free-form table (marketplaces.*.selectors) is a key
                out.add(path)
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        for item in data:
            out |= _toml_paths(item, prefix + "[]")
    return out


def test_example_config_has_every_key() -> None:
    documented = _toml_paths(tomllib.loads(EXAMPLE))
    missing = set(leaf_paths(config.Config)) - documented
    assert not missing, f"config.toml lacks: {sorted(missing)}"


def test_init_template_is_the_example_config() -> None:
    assert template_config() == EXAMPLE


def test_syntax_error_gives_the_line(tmp_path: Path) -> None:
    text = replace('company = "Luma Sportswear Ltd."', 'company = "Luma Sportswear Ltd.')
    line = EXAMPLE[: EXAMPLE.index("company =")].count("\n") + 1
    (msg,) = problems(tmp_path, text)
    assert msg.startswith(f"{tmp_path / 'config.toml'}: line {line}, column")
    assert "TOML syntax error" in msg


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    msgs = problems(tmp_path, replace("email = ", "emial = "))
    assert msgs[0].endswith('owner.emial: unknown key; did you mean "email"?')
    assert msgs[1].endswith("owner.email: required key is missing (expected a string)")


def test_unknown_key_without_a_near_one_lists_the_known_keys(tmp_path: Path) -> None:
    msgs = problems(tmp_path, replace("[matching]\n", "[matching]\nzzz = 1\n"))
    assert any(
        "matching.zzz: unknown key; known keys: min_score, low_price_ratio" in m for m in msgs
    )


def test_wrong_type_names_the_key_path_and_what_was_expected(tmp_path: Path) -> None:
    text = replace("classes = [18, 25, 28]", 'classes = "25"')
    (msg,) = problems(tmp_path, text)
    assert msg == (
        f"{tmp_path / 'config.toml'}: marks[0].registrations[1].classes: "
        'expected a list of integers 1-45, got "25"'
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "classes = [25, 28]",
            "classes = [25, 46]",
            "marks[0].registrations[0].classes: expected a list of integers 1-45, got [25, 46]",
        ),
        (
            "classes = [25, 28]",
            'classes = [25, "28"]',
            'marks[0].registrations[0].classes[1]: expected an integer, got "28"',
        ),
        (
            'rights = "owned"',
            'rights = "own"',
            'assets.folders[0].rights: expected one of "owned", "licensed", "third_party", got "own" (did you mean "owned"?)',
        ),
        ("port = 587", 'port = "587"', 'alerts.email.port: expected an integer, got "587"'),
        (
            "port = 587",
            "port = 70000",
            "alerts.email.port: expected a port number 1-65535, got 70000",
        ),
        (
            'jurisdictions = ["US"]',
            'jurisdictions = ["usa"]',
            "marks[0].registrations[0].jurisdictions: expected a list of country codes",
        ),
        (
            'email = "brand-protection@luma.example"',
            'email = "nobody"',
            'owner.email: expected an email address, got "nobody"',
        ),
        (
            "registered = 2019-04-16",
            'registered = "April 2019"',
            'registered: expected a date (YYYY-MM-DD), got "April 2019"',
        ),
        (
            'sweep = "0 */6 * * *"',
            'sweep = "every 6 hours"',
            "schedule.sweep: expected a cron expression of five fields",
        ),
        (
            'timezone = "UTC"',
            'timezone = "Mars/Olympus"',
            "schedule.timezone: expected an IANA time zone",
        ),
        (
            "min_score = 0.5",
            "min_score = 5",
            "matching.min_score: expected a number from 0 to 1, got 5",
        ),
        (
            "enabled = true\nlocal",
            "enabled = 1\nlocal",
            "marketplaces.demo-jsonld.enabled: expected true or false, got 1",
        ),
        (
            'kind = "structured"',
            'kind = "json-ld"',
            'marketplaces.demo-jsonld.kind: expected one of "structured"',
        ),
    ],
)
def test_wrong_values(tmp_path: Path, old: str, new: str, expected: str) -> None:
    msgs = problems(tmp_path, replace(old, new))
    assert any(expected in m for m in msgs), msgs


def test_a_value_where_a_table_belongs(tmp_path: Path) -> None:
    start, end = EXAMPLE.index("[owner]"), EXAMPLE.index("# Word marks")
    msgs = problems(tmp_path, "owner = 3\n" + EXAMPLE[:start] + EXAMPLE[end:])
    assert msgs == [f"{tmp_path / 'config.toml'}: owner: expected a table, got 3"]


def test_missing_required_key(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path, replace('email = "brand-protection@luma.example"\n', ""))
    assert msg.endswith("owner.email: required key is missing (expected a string)")


def test_missing_owner_table(tmp_path: Path) -> None:
    start = EXAMPLE.index("[owner]")
    end = EXAMPLE.index("# Word marks")
    msgs = problems(tmp_path, EXAMPLE[:start] + EXAMPLE[end:])
    assert any(m.endswith("owner: required key is missing (expected a table)") for m in msgs)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = replace("email = ", "emial = ")
    text = text.replace("classes = [18, 25, 28]", 'classes = "25"').replace(
        "port = 587", 'port = "x"'
    )
    assert len(problems(tmp_path, text)) == 4  # the unknown key, the missing email, classes, port


def test_a_secret_written_in_the_file_is_refused(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path, replace('password_env = "SMTP_PASSWORD"      #', 'password = "hunter2"  #')
    )
    assert "alerts.email.password: secrets are not stored in the config file" in msg
    assert 'password_env = "PASSWORD"' in msg


def test_a_webhook_url_written_in_the_file_is_refused(tmp_path: Path) -> None:
    text = replace(
        'url_env = "LISTINGGUARD_WEBHOOK_URL"', 'url = "https://hooks.example/T0/B0/abc"'
    )
    (msg,) = problems(tmp_path, text)
    assert "alerts.webhook.url: secrets are not stored in the config file" in msg


def test_a_bad_secret_reference_is_refused(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        replace('password_env = "SMTP_PASSWORD"      #', 'password_env = "my smtp password"  #'),
    )
    assert "alerts.email.password_env: expected the name of an environment variable" in msg


def test_an_enabled_channel_needs_its_keys(tmp_path: Path) -> None:
    text = replace('enabled = false\nhost = "smtp.example.com"', 'enabled = true\nhost = ""')
    (msg,) = problems(tmp_path, text)
    assert msg.endswith("alerts.email.host: required when alerts.email.enabled = true")


def test_secret_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config.load(write(tmp_path, EXAMPLE))
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with pytest.raises(
        ConfigError,
        match=r"alerts\.email\.password_env: environment variable SMTP_PASSWORD is not set",
    ):
        cfg.secret(cfg.alerts.email.password_env, "alerts.email.password_env")
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    assert cfg.secret(cfg.alerts.email.password_env, "alerts.email.password_env") == "s3cret"


def test_duplicate_marks_and_empty_allowlist_entries(tmp_path: Path) -> None:
    text = replace('text = "LumaTech"', 'text = "LUMA"').replace(
        'seller_ids = ["springfield-outdoor"]', "seller_ids = []"
    )
    msgs = problems(tmp_path, text)
    assert any("marks[1].text: 'LUMA' is already marks[0]" in m for m in msgs)
    assert any("authorised[1]: name at least one of seller_ids" in m for m in msgs)


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file; create one with 'listingguard init'"):
        config.load(tmp_path / "nope.toml")
    path = tmp_path / "config.toml"
    path.write_bytes(EXAMPLE.encode("utf-8").replace(b"Luma Sportswear", b"Lum\xe9 Sportswear"))
    with pytest.raises(ConfigError, match=r"line \d+: not UTF-8 text"):
        config.load(path)


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "listingguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_reports_config_errors_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    write(tmp_path, replace("classes = [18, 25, 28]", 'classes = "25"'))
    proc = _run(["assets", "list"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        == 'config.toml: marks[0].registrations[1].classes: expected a list of integers 1-45, got "25"'
    )


def test_config_check_resolves_enabled_secrets(tmp_path: Path) -> None:
    write(tmp_path, replace("[alerts.email]\nenabled = false", "[alerts.email]\nenabled = true"))
    env = {k: v for k, v in os.environ.items() if k != "SMTP_PASSWORD"}
    proc = subprocess.run(
        [sys.executable, "-m", "listingguard", "config", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "alerts.email.password_env: environment variable SMTP_PASSWORD is not set" in proc.stderr
    proc = _run(["config", "check"], tmp_path, {"SMTP_PASSWORD": "x"})
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
