"""The side-by-side image of an evidence pack: the owner's photo beside the listing image, with
the region where the matcher found the photo outlined.

A platform reviewer decides in seconds whether a photo was copied, so the picture must show the
two images at the same height and the matched area unmistakably. The matcher gives the region in
the pixels of the listing image as it was fingerprinted (``matcher.verify.Alignment.region``:
the image decoded by ``matcher.imagefile.decode``, EXIF orientation applied, and for a large
JPEG at the reduced size its draft decoding gave), so the caller passes that frame's size and
the box is scaled from it to whatever size is drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from matcher.imagefile import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode

HEIGHT = 560  # each image is drawn this tall (never enlarged past twice its size)
MAX_WIDTH = 720  # and at most this wide
GAP = 24
BAND = 40  # the label band above the images
OUTLINE = (230, 0, 38)
FRAME = (190, 190, 190)
LINE = 4


@dataclass(frozen=True)
class Limits:
    """Decoding limits for the two images (the owner's and the scraped one)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS


Box = tuple[int, int, int, int]


def scale_box(region: Box, frame: tuple[int, int], size: tuple[int, int]) -> Box:
    """``region`` (x0, y0, x1, y1 in a ``frame`` of width x height) in an image of ``size``,
    clipped to it.

    >>> scale_box((10, 20, 110, 220), (200, 400), (400, 800))
    (20, 40, 220, 440)
    """
    fw, fh = frame
    w, h = size
    if fw <= 0 or fh <= 0:
        raise ValueError(f"frame {frame!r} has no area")
    sx, sy = w / fw, h / fh
    x0, y0, x1, y1 = region
    box = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
    return (
        min(max(box[0], 0), w),
        min(max(box[1], 0), h),
        min(max(box[2], 0), w),
        min(max(box[3], 0), h),
    )


def _fit(im: Image.Image) -> Image.Image:
    w, h = im.size
    factor = min(HEIGHT / h, MAX_WIDTH / w, 2.0)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return im if size == im.size else im.resize(size, Image.Resampling.LANCZOS)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, width: int) -> None:
    """``text`` at ``xy``, cut with an ellipsis to fit ``width`` pixels."""
    font = _font(16)
    shown = text
    while shown and draw.textlength(shown, font=font) > width:
        shown = shown[:-2] + "…" if len(shown) > 2 else ""
    draw.text(xy, shown, fill=(20, 20, 20), font=font)


def compose(
    owned: Image.Image,
    listing: Image.Image,
    region: Box | None,
    frame: tuple[int, int] | None = None,
    *,
    owned_label: str = "Registered photo",
    listing_label: str = "Listing image",
) -> Image.Image:
    """The two images side by side on white, each framed, the region outlined on the listing
    image; ``frame`` is the size of the pixels ``region`` is given in (default: ``listing``'s)."""
    a, b = _fit(owned), _fit(listing)
    width = a.width + GAP + b.width + 2 * GAP
    height = BAND + max(a.height, b.height) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    ax, bx, top = GAP, 2 * GAP + a.width, BAND
    canvas.paste(a, (ax, top))
    canvas.paste(b, (bx, top))
    for x, im in ((ax, a), (bx, b)):
        draw.rectangle((x - 1, top - 1, x + im.width, top + im.height), outline=FRAME)
    _label(draw, (ax, 12), owned_label, a.width)
    _label(draw, (bx, 12), listing_label, b.width)
    if region is not None:
        x0, y0, x1, y1 = scale_box(region, frame or listing.size, b.size)
        if x1 > x0 and y1 > y0:
            # Drawn inside the box's edge so a region that fills the image stays visible.
            inner = (bx + x0, top + y0, bx + max(x0, x1 - 1), top + max(y0, y1 - 1))
            draw.rectangle(inner, outline=OUTLINE, width=LINE)
    return canvas


def side_by_side(
    owned: bytes,
    listing: bytes,
    region: Box | None,
    frame: tuple[int, int] | None = None,
    *,
    owned_limits: Limits = Limits(),
    listing_limits: Limits = Limits(),
    owned_label: str = "Registered photo",
    listing_label: str = "Listing image",
    quality: int = 90,
) -> bytes:
    """The side-by-side JPEG of two image files, decoded safely (``matcher.imagefile.decode``:
    limits checked before any pixel is decoded); raises ImageRejected for a file that is refused.

    ``frame`` is the size of the listing image's pixels the ``region`` is given in; default: the
    listing image decoded in full.
    """
    a, _ = decode(owned, max_bytes=owned_limits.max_bytes, max_pixels=owned_limits.max_pixels)
    b, _ = decode(listing, max_bytes=listing_limits.max_bytes, max_pixels=listing_limits.max_pixels)
    image = compose(
        a, b, region, frame or b.size, owned_label=owned_label, listing_label=listing_label
    )
    return to_jpeg(image, quality=quality)


def to_jpeg(image: Image.Image, *, quality: int = 90, max_side: int | None = None) -> bytes:
    """JPEG bytes of ``image``, shrunk to ``max_side`` on its long side if given (thumbnails)."""
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()
