"""Shared fixtures: a CLI runner, a real workspace on disk, real image files (good and hostile)."""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from listingguard.cli import cli
from listingguard.demo import catalogue_source
from listingguard.demo.market import DemoMarket
from listingguard.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTINGGUARD_CONFIG", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def market() -> Iterator[DemoMarket]:
    """The demo marketplace on 127.0.0.1, one per test module (a module may define its own)."""
    with DemoMarket(catalogue_source()) as m:
        yield m


@pytest.fixture(scope="session")
def two_shops(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo's JSON-LD and HTML storefronts swept once for the whole run (the market is gone
    afterwards): the workspace's folder and the sweep's summary. Shared by several modules, so
    never changed: ``copy_workspace`` it first."""
    from tests.test_sweep import demo_workspace, sweep

    base = tmp_path_factory.mktemp("two-shops") / "ws"
    with DemoMarket(catalogue_source()) as market:
        summary = sweep(demo_workspace(base, market.base_url, ("demo-jsonld", "demo-html")))
    return base, summary


def copy_workspace(folder: Path, to: Path) -> Path:
    """A copy of the workspace in ``folder`` (its paths are relative to its config.toml) at
    ``to``; the copy's config.toml."""
    shutil.copytree(folder, to)
    return to / "config.toml"


def rows(config: Path, sql: str, args: tuple = ()) -> list[dict]:
    """The rows a query gives on the workspace of ``config``, as dicts."""
    ws = open_workspace(config)
    try:
        return list(ws.db.query(sql, args))
    finally:
        ws.close()


def run(runner: CliRunner, config: Path, *args: str) -> tuple[int, str, str]:
    """Run a command on the workspace of ``config``: (exit code, stdout, stderr).

    An exception other than the command's own exit is raised, so a traceback fails the test.
    """
    result = runner.invoke(cli, [*args, "--config", str(config)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def catalogue() -> Path:
    """The bundled demo catalogue (real Luma product photos and copy)."""
    return catalogue_source()


@pytest.fixture
def workspace(tmp_path: Path, runner: CliRunner) -> Path:
    """A fresh workspace made by ``listingguard init``; returns its config.toml."""
    result = runner.invoke(cli, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    return tmp_path / "ws" / "config.toml"


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid PNG of width x height black 1-bit pixels that compresses to a few hundred KB.

    Built chunk by chunk so that making it never needs the pixels in memory.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="session")
def real_jpeg() -> bytes:
    return (catalogue_source() / "images" / "mh01-black_main.jpg").read_bytes()


@pytest.fixture
def hostile_dir(tmp_path: Path, real_jpeg: bytes) -> Path:
    """A folder of photos as a brand owner's shared drive might hold them: good, odd and hostile."""
    d = tmp_path / "hostile"
    d.mkdir()
    (d / "good.jpg").write_bytes(real_jpeg)
    (d / "truncated.jpg").write_bytes(real_jpeg[: len(real_jpeg) // 2])
    (d / "bomb.png").write_bytes(png_bomb())
    (d / "cmyk.jpg").write_bytes(encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG"))
    sixteen = Image.new("I;16", (64, 48))
    sixteen.putdata([(x * 1024) % 65536 for x in range(64 * 48)])
    (d / "sixteen.png").write_bytes(encode(sixteen, "PNG"))
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "green", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (d / "animated.gif").write_bytes(gif.getvalue())
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("this is not a photo, it is a text file\n")
    sub = d / "sub"
    sub.mkdir()
    (sub / "loop").symlink_to("..", target_is_directory=True)  # a folder loop
    os.symlink(d / "a.jpg", d / "b.jpg")  # a file loop: a.jpg -> b.jpg -> a.jpg
    os.symlink(d / "b.jpg", d / "a.jpg")
    (d / "README.md").write_text("notes beside the photos")
    return d
