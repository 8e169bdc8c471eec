"""Hostile and odd images: each is decoded to RGB or refused with a one-line reason, never a crash."""

from __future__ import annotations

import contextlib
import io
import time

import pytest
from conftest import encode, png_bomb
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from matcher.imagefile import ImageRejected, decode


def test_real_jpeg_decodes_to_rgb(real_jpeg: bytes) -> None:
    im, info = decode(real_jpeg)
    assert im.mode == "RGB"
    assert (info.format, info.width, info.height) == ("JPEG", *im.size)
    assert info.bytes == len(real_jpeg)


def test_draft_mode_decodes_smaller_but_reports_true_size(real_jpeg: bytes) -> None:
    full, info = decode(real_jpeg)
    small, info_small = decode(real_jpeg, max_side=200)
    assert max(small.size) < max(full.size)
    assert max(small.size) >= 200
    assert (info_small.width, info_small.height) == (info.width, info.height)


def test_truncated_jpeg_is_refused(real_jpeg: bytes) -> None:
    with pytest.raises(ImageRejected, match="truncated or corrupt"):
        decode(real_jpeg[: len(real_jpeg) // 2])


def test_png_bomb_is_refused_before_decoding() -> None:
    bomb = png_bomb()
    assert len(bomb) < 2_000_000
    start = time.perf_counter()
    with pytest.raises(ImageRejected, match=r"decompression bomb|MP limit"):
        decode(bomb)
    assert time.perf_counter() - start < 5  # refused from the header, not after decoding 900 MP


def test_image_over_the_pixel_limit_is_refused() -> None:
    data = encode(Image.new("RGB", (400, 300), "white"), "PNG")
    with pytest.raises(ImageRejected, match=r"400x300 pixels .* above the 0.1 MP limit"):
        decode(data, max_pixels=100_000)


def test_file_over_the_byte_limit_is_refused(real_jpeg: bytes) -> None:
    with pytest.raises(ImageRejected, match="above the"):
        decode(real_jpeg, max_bytes=1000)


def test_cmyk_jpeg_becomes_rgb_with_its_colour() -> None:
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=95)
    im, info = decode(data)
    assert info.mode == "CMYK" and im.mode == "RGB"
    r, g, b = im.getpixel((32, 24))
    assert r > 200 and g < 60 and b < 60  # CMYK 0/100/100/0 is red


def test_16bit_png_is_scaled_not_clipped() -> None:
    sixteen = Image.new("I;16", (256, 1))
    sixteen.putdata([x * 257 for x in range(256)])
    im, info = decode(encode(sixteen, "PNG"))
    assert info.mode.startswith("I")
    values = [im.getpixel((x, 0))[0] for x in (0, 128, 255)]
    assert values == [0, 128, 255]  # convert("L") would have clipped everything above 255 to white


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    im, info = decode(buf.getvalue())
    assert info.frames == 3
    assert im.getpixel((5, 5)) == (255, 0, 0)


def test_transparency_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    im, _ = decode(encode(rgba, "PNG"))
    assert im.getpixel((5, 5)) == (255, 255, 255)
    palette = Image.new("P", (10, 10), 0)
    palette.info["transparency"] = 0
    im, _ = decode(encode(palette, "PNG", transparency=0))
    assert im.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"this is not a photo, it is a text file\n", "not an image: the file holds text"),
        (b"<html><body>Access denied</body></html>", "not an image: the file holds text"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "unsupported image format EPS"),
        (b"\x00\x01\x02\x03" * 64, "not an image"),
    ],
)
def test_non_images_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected, match=reason):
        decode(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        im, _ = decode(data)
    except ImageRejected as exc:
        assert exc.reason and "\n" not in exc.reason
    else:
        assert im.mode == "RGB"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=4096), st.integers(min_value=1))
def test_corrupted_real_jpeg_never_crashes(real_jpeg: bytes, cut: int, seed: int) -> None:
    data = bytearray(real_jpeg[: max(cut * 16, 2)])
    if len(data) > 600:
        data[600 + seed % (len(data) - 600)] ^= 0xFF  # flip a byte inside the entropy-coded data
    with contextlib.suppress(ImageRejected):
        decode(bytes(data))
