"""Global perceptual hashes for fast candidates: pHash (64 bits), PDQ (256 bits), an edge pHash.

Global hashes find near-identical copies (resized, re-encoded, recoloured) in microseconds but
miss crops, mirrors and collages, and put different products on one white background close
together; they only nominate candidates, which ``verify`` then checks. Distances are Hamming
distances in bits: ``hamming(a, b)``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pdqhash

from matcher.features import resize_long


def _dct_hash(gray32: np.ndarray) -> int:
    """pHash (Zauner 2010, as imagehash): 32x32 DCT, top-left 8x8, above the median."""
    dct = cv2.dct(gray32.astype(np.float32))[:8, :8]
    bits = (dct > np.median(dct)).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def phash(gray: np.ndarray) -> int:
    """64-bit pHash of a grey image (uint8)."""
    return _dct_hash(cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA))


def edge_hash(gray: np.ndarray) -> int:
    """pHash of the gradient magnitude: insensitive to colour, hue and brightness changes."""
    small = resize_long(gray, 128)[0].astype(np.float32)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1)
    return _dct_hash(cv2.resize(cv2.magnitude(gx, gy), (32, 32), interpolation=cv2.INTER_AREA))


def pdq(rgb: np.ndarray) -> tuple[bytes, int]:
    """PDQ (Meta's ThreatExchange) hash and quality; input resized to 256x256 first.

    Hashing a fixed-size image makes PDQ independent of the decode resolution (measured: a
    draft-mode decode moved stock PDQ by up to 60 bits, a 256x256 resize by at most 6).
    """
    small = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA)
    bits, quality = pdqhash.compute(small)
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


def hamming(a: int | bytes, b: int | bytes) -> int:
    """Bits that differ between two hashes of the same kind."""
    if isinstance(a, int) and isinstance(b, int):
        return (a ^ b).bit_count()
    x = np.frombuffer(bytes(a), np.uint8) ^ np.frombuffer(bytes(b), np.uint8)
    return int(np.unpackbits(x).sum())


def to_signed(h: int) -> int:
    """A 64-bit hash as SQLite's signed INTEGER."""
    return h - (1 << 64) if h >= 1 << 63 else h


def from_signed(h: int) -> int:
    return h + (1 << 64) if h < 0 else h
