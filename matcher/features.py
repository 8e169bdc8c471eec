"""Local features of an image: ORB keypoints and binary descriptors, plus a small grey thumbnail.

ORB (Rublee et al. 2011, OpenCV) gives 256-bit descriptors that survive scaling, rotation,
cropping and recolouring; compared under a geometric model (``verify``) they tell "a copy of
this photo" from "another photo of a similar product", which global hashes cannot. The
thumbnail lets verification compare pixels after aligning the two images.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIDE = 640  # features are found on the image resized to this long side
THUMB_SIDE = 200  # the grey thumbnail that verification compares pixels on
N_FEATURES = 600
MIN_SIDE = 48  # images thinner than this (after resizing) get no local features

cv2.setNumThreads(1)  # matching runs one process per core; OpenCV's own threads would fight them


@dataclass(frozen=True)
class Features:
    """Keypoint coordinates (N x 2, float32, in the resized frame), descriptors (N x 32, uint8),
    strongest first.

    ``scale`` maps the resized frame back to the original pixels (original = resized * scale).
    """

    points: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]  # (width, height) of the resized frame
    scale: float

    def __len__(self) -> int:
        return len(self.points)


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def resize_long(img: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Resize so the long side is ``side`` (area-averaged when shrinking); returns the scale back."""
    h, w = img.shape[:2]
    factor = side / max(h, w)
    if abs(factor - 1) < 1e-3:
        return img, 1.0
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    out = cv2.resize(
        img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=interp
    )
    return out, 1 / factor


_ORB: dict[int, cv2.ORB] = {}


def _orb(n: int) -> cv2.ORB:
    if n not in _ORB:
        _ORB[n] = cv2.ORB_create(
            nfeatures=n,
            scaleFactor=1.2,
            nlevels=8,
            edgeThreshold=15,
            patchSize=31,
            fastThreshold=10,
        )
    return _ORB[n]


def extract(gray: np.ndarray, *, side: int, n_features: int) -> Features:
    """ORB features of a grey image resized to ``side`` on its long side."""
    small, scale = resize_long(gray, side)
    if min(small.shape[:2]) < MIN_SIDE:  # ORB's pyramid cannot shrink a strip this thin
        keypoints, descriptors = [], None
    else:
        keypoints, descriptors = _orb(n_features).detectAndCompute(small, None)
    if descriptors is None or not keypoints:
        return Features(
            np.zeros((0, 2), np.float32),
            np.zeros((0, 32), np.uint8),
            (small.shape[1], small.shape[0]),
            scale,
        )
    order = np.argsort([-k.response for k in keypoints], kind="stable")  # strongest first
    points = np.array([keypoints[i].pt for i in order], dtype=np.float32)
    return Features(points, descriptors[order], (small.shape[1], small.shape[0]), scale)


def thumbnail(gray: np.ndarray) -> np.ndarray:
    return resize_long(gray, THUMB_SIDE)[0]
