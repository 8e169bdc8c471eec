"""Safe image decoding: hostile files (bombs, truncation, odd modes) are refused with a reason, never crash.

Every image that reaches the matcher — an owned photo or a scraped listing image — goes through
``decode``. Limits are checked before pixels are decoded (the header gives the size), only
common web formats are opened (Pillow's EPS or PSD plugins are attack surface a product photo
never needs), and whatever the mode (CMYK, 16-bit, palette with transparency, animation) the
result is 8-bit RGB composited on white, the background product photos are shot on.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
DEFAULT_MAX_BYTES = 25_000_000
DEFAULT_MAX_PIXELS = 50_000_000


class ImageRejected(ValueError):
    """An image that cannot be used; ``reason`` is one line a user understands."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ImageInfo:
    """What the header and decoding told about an image (stored with the asset)."""

    format: str
    width: int
    height: int
    mode: str
    frames: int
    bytes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "frames": self.frames,
            "bytes": self.bytes,
        }


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def decode(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = None,
) -> tuple[Image.Image, ImageInfo]:
    """Decode image bytes into an 8-bit RGB image, or raise ImageRejected saying why.

    ``max_side`` lets JPEG decoding skip detail that will be thrown away (Pillow's draft mode
    decodes at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients, several times faster);
    the returned image is then at least ``max_side`` on its long side where the source was.
    """
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    if len(data) > max_bytes:
        raise ImageRejected(f"file is {_mb(len(data))}, above the {_mb(max_bytes)} limit")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning is replaced by the max_pixels check below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected(_unidentified(data)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"corrupt image header: {exc}") from None
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageRejected(f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise ImageRejected(
            f"{width}x{height} pixels ({width * height / 1e6:.3g} MP) is above the "
            f"{max_pixels / 1e6:.3g} MP limit (a decompression bomb or an oversized image)"
        )
    info = ImageInfo(
        format=im.format or "?",
        width=width,
        height=height,
        mode=im.mode,
        frames=_frames(im),
        bytes=len(data),
    )
    try:
        if max_side and im.format == "JPEG":
            im.draft("RGB", (max_side, max_side))
        im.load()
        rgb = to_rgb(im)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"truncated or corrupt image data ({info.format}: {exc})") from None
    except MemoryError:
        raise ImageRejected("image too large to decode in memory") from None
    return rgb, info


def _frames(im: Image.Image) -> int:
    """How many frames; a malformed multi-frame header (seen: a TIFF) counts as one."""
    try:
        return int(getattr(im, "n_frames", 1))
    except Exception:  # Pillow's plugins raise several types here; the first frame still decodes
        return 1


def _unidentified(data: bytes) -> str:
    head = data[:512]
    if head.startswith(b"%!PS") or head.startswith(b"\xc5\xd0\xd3\xc6"):
        return "unsupported image format EPS (allowed: " + ", ".join(FORMATS) + ")"
    if head.lstrip().startswith((b"<", b"{", b"[")) or all(
        32 <= b < 127 or b in (9, 10, 13) for b in head
    ):
        return "not an image: the file holds text"
    return "not an image, or a format other than " + ", ".join(FORMATS)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composited on white.

    16-bit and float greyscale are scaled to their own range rather than clipped (Pillow's
    ``convert("L")`` clips I;16 values above 255 to white). Animated images give their first
    frame; EXIF orientation is applied so a phone photo is upright.
    """
    if getattr(im, "is_animated", False):
        im.seek(0)
    # A broken EXIF block is no reason to refuse the pixels.
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        im = ImageOps.exif_transpose(im) or im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = _scale_to_8bit(im)
    if im.mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in ("LA", "La", "PA"):
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "RGBa"):
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im.convert("RGBA")).convert("RGB")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return im


def _scale_to_8bit(im: Image.Image) -> Image.Image:
    import numpy as np

    arr = np.asarray(im.convert("F") if im.mode.startswith("I;16") else im, dtype=np.float64)
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if im.mode.startswith("I;16") or (im.mode == "I" and lo >= 0 and hi <= 65535):
        scaled = arr / 257.0 if hi > 255 else arr
    else:
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")
