"""The edits counterfeiters make to a brand's product photos, as functions ``(image, rng) -> image``.

Used by ``bench/images.py`` to make positive queries. Parameters are drawn from ``rng`` within
each edit's range, so a run does not test one fixed crop or one angle.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

Edit = Callable[[Image.Image, random.Random, list[Image.Image]], Image.Image]


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def resize40(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return im.resize(
        (max(1, im.width * 2 // 5), max(1, im.height * 2 // 5)), Image.Resampling.BILINEAR
    )


def jpeg20(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    import io

    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=20)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _crop(im: Image.Image, rng: random.Random, fraction: float) -> Image.Image:
    """Remove ``fraction`` of each side's length, off-centre (most of it from one side)."""
    w, h = im.size
    cw, ch = int(w * (1 - fraction)), int(h * (1 - fraction))
    x = int((w - cw) * rng.choice([rng.uniform(0, 0.25), rng.uniform(0.75, 1)]))
    y = int((h - ch) * rng.choice([rng.uniform(0, 0.25), rng.uniform(0.75, 1)]))
    return im.crop((x, y, x + cw, y + ch))


def crop15(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return _crop(im, rng, 0.15)


def crop35(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return _crop(im, rng, 0.35)


def mirror(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return ImageOps.mirror(im)


def rotate7(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return im.rotate(
        rng.choice([-7, 7]), expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC
    )


def rotate20(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return im.rotate(
        rng.choice([-20, 20]), expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC
    )


def brightness_contrast(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.7, 1.3))
    return ImageEnhance.Contrast(im).enhance(rng.uniform(0.7, 1.4))


def hue_shift(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    h, s, v = im.convert("HSV").split()
    shift = rng.randint(40, 215)
    h = h.point(lambda x: (x + shift) % 256)
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def greyscale(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return im.convert("L").convert("RGB")


def banner(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    im = im.copy()
    d = ImageDraw.Draw(im)
    bh = int(im.height * rng.uniform(0.12, 0.2))
    colour = rng.choice([(200, 20, 20), (20, 20, 20), (240, 200, 0)])
    d.rectangle((0, im.height - bh, im.width, im.height), fill=colour)
    d.text(
        (im.width * 0.05, im.height - bh * 0.8),
        "HOT SALE 70% OFF FREE SHIPPING",
        fill="white",
        font=_font(int(bh * 0.5)),
    )
    return im


def watermark(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    size = max(12, im.width // 14)
    alpha = rng.randint(60, 110)
    for y in range(0, im.height, size * 3):
        for x in range(-size * 4, im.width, size * 7):
            d.text(
                (x + (y // (size * 3)) % 2 * size * 3, y),
                "BestDeals",
                fill=(120, 120, 120, alpha),
                font=_font(size),
            )
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def pad(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    side = int(max(im.size) * rng.uniform(1.3, 1.6))
    colour = tuple(rng.randint(0, 255) for _ in range(3))
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    return canvas


def inset(im: Image.Image, rng: random.Random, others: list[Image.Image]) -> Image.Image:
    """The photo at half size on another background (another photo, blurred and tinted)."""
    background = others[0].resize(im.size).convert("RGB")
    background = ImageEnhance.Color(background).enhance(0.3)
    small = im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR)
    x = rng.randint(0, im.width - small.width)
    y = rng.randint(0, im.height - small.height)
    background.paste(small, (x, y))
    return background


def collage(im: Image.Image, rng: random.Random, others: list[Image.Image]) -> Image.Image:
    """A 2x2 collage: the photo in one cell, three other photos in the others."""
    cell = (im.width // 2, im.height // 2)
    tiles = [o.resize(cell) for o in others[:3]]
    tiles.insert(rng.randrange(4), im.resize(cell, Image.Resampling.BILINEAR))
    canvas = Image.new("RGB", (cell[0] * 2, cell[1] * 2), "white")
    for i, t in enumerate(tiles):
        canvas.paste(t.convert("RGB"), ((i % 2) * cell[0], (i // 2) * cell[1]))
    return canvas


def stretch(im: Image.Image, rng: random.Random, _: list[Image.Image]) -> Image.Image:
    return im.resize((int(im.width * 1.25), im.height), Image.Resampling.BILINEAR)


EDITS: dict[str, Edit] = {
    "resize40": resize40,
    "jpeg20": jpeg20,
    "crop15": crop15,
    "crop35": crop35,
    "mirror": mirror,
    "rotate7": rotate7,
    "rotate20": rotate20,
    "brightness_contrast": brightness_contrast,
    "hue_shift": hue_shift,
    "greyscale": greyscale,
    "banner": banner,
    "watermark": watermark,
    "pad": pad,
    "inset": inset,
    "collage": collage,
    "stretch": stretch,
}


def light_reencode(im: Image.Image, rng: random.Random) -> Image.Image:
    """What a negative query gets: another seller's photo, resized a little and re-encoded."""
    import io

    scale = rng.uniform(0.7, 1.0)
    im = im.resize((int(im.width * scale), int(im.height * scale)), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=rng.randint(70, 90))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
