"""An image's fingerprint: global hashes, ORB features (as shown and mirrored) and a grey thumbnail.

``fingerprint(rgb)`` is the one recipe for every image, owned photo or listing image, so any two
fingerprints are comparable both ways and verification needs no pixels but these. It is computed
once per SHA-256 and stored; ``VERSION`` changes whenever the recipe does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np

from matcher import features, hashes
from matcher.features import Features

VERSION = 1


@dataclass(frozen=True)
class Fingerprint:
    width: int
    height: int
    phash: int
    edge_hash: int
    pdq: bytes
    pdq_quality: int
    features: Features
    mirrored: Features  # features of the left-right mirrored image: ORB is not mirror-invariant
    thumb: np.ndarray  # grey, THUMB_SIDE on the long side

    def to_bytes(self) -> bytes:
        """Compact storage: arrays in an npz, coordinates as float16, the thumbnail as PNG."""
        ok, png = cv2.imencode(".png", self.thumb)
        if not ok:
            raise ValueError("thumbnail could not be encoded")
        f, m = self.features, self.mirrored
        buf = io.BytesIO()
        np.savez(
            buf,
            meta=np.array([VERSION, self.width, self.height, self.pdq_quality, *f.size], np.int64),
            scale=np.array([f.scale], np.float64),
            hashes=np.array([self.phash, self.edge_hash], np.uint64),
            pdq=np.frombuffer(self.pdq, np.uint8),
            points=f.points.astype(np.float16),
            descriptors=f.descriptors,
            mpoints=m.points.astype(np.float16),
            mdescriptors=m.descriptors,
            thumb=np.frombuffer(png.tobytes(), np.uint8),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        z = np.load(io.BytesIO(data))
        version, width, height, quality, fw, fh = (int(x) for x in z["meta"])
        if version != VERSION:
            raise ValueError(f"fingerprint version {version}, expected {VERSION}")
        scale = float(z["scale"][0])
        feats = Features(z["points"].astype(np.float32), z["descriptors"], (fw, fh), scale)
        mirror = Features(z["mpoints"].astype(np.float32), z["mdescriptors"], (fw, fh), scale)
        thumb = cv2.imdecode(z["thumb"], cv2.IMREAD_GRAYSCALE)
        ph, eh = (int(x) for x in z["hashes"])
        return cls(width, height, ph, eh, z["pdq"].tobytes(), quality, feats, mirror, thumb)


def fingerprint(rgb: np.ndarray) -> Fingerprint:
    """Describe an RGB image (uint8, H x W x 3)."""
    gray = features.grey(rgb)
    small, scale = features.resize_long(gray, features.SIDE)
    pdq, quality = hashes.pdq(rgb)
    feats = features.extract(small, side=features.SIDE, n_features=features.N_FEATURES)
    flipped = features.extract(
        cv2.flip(small, 1), side=features.SIDE, n_features=features.N_FEATURES
    )
    return Fingerprint(
        width=rgb.shape[1],
        height=rgb.shape[0],
        phash=hashes.phash(small),
        edge_hash=hashes.edge_hash(small),
        pdq=pdq,
        pdq_quality=quality,
        features=Features(feats.points, feats.descriptors, feats.size, scale),
        mirrored=Features(flipped.points, flipped.descriptors, flipped.size, scale),
        thumb=features.thumbnail(small),
    )
