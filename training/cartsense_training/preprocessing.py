"""The one preprocessing rule the cart and the trainer share, written out as preprocessing.json.

Rule (OpenCV, so the C++ side can do exactly the same with cv::resize and cv::cvtColor):
1. decode to 8-bit BGR (cv2.imread / cv::imread),
2. resize so the shorter side is `input_size` (aspect kept, sizes rounded to nearest),
   interpolation INTER_AREA,
3. centre crop `input_size` x `input_size` (offset floor((w - size) / 2)),
4. BGR -> RGB, float32, (pixel - mean) / std per channel (pixel in 0..255),
5. layout NCHW, batch 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

INTERPOLATIONS = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}


@dataclass(frozen=True)
class Preprocessing:
    input_size: int = 224
    resize: str = "shorter_side_to_input_size_then_center_crop"
    interpolation: str = "area"  # cv2.INTER_AREA
    color_order: str = "RGB"  # the network's channel order; images are decoded as BGR
    mean: list[float] = field(default_factory=lambda: [127.0, 127.0, 127.0])
    std: list[float] = field(default_factory=lambda: [128.0, 128.0, 128.0])
    pixel_range: str = "0-255"
    layout: str = "NCHW"
    dtype: str = "float32"
    input_name: str = "image"

    def to_json(self) -> dict:
        data = asdict(self)
        data["opencv"] = {
            "resize": "cv::resize to (round(w * s), round(h * s)), s = input_size / min(w, h)",
            "interpolation": "cv::INTER_AREA",
            "crop": "x0 = (w' - input_size) / 2, y0 = (h' - input_size) / 2 (integer division)",
            "color": "cv::cvtColor(COLOR_BGR2RGB)",
        }
        return data

    @staticmethod
    def from_json(data: dict) -> Preprocessing:
        known = {k: data[k] for k in Preprocessing.__dataclass_fields__ if k in data}
        return Preprocessing(**known)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def load(path: Path) -> Preprocessing:
        return Preprocessing.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def resize_and_crop(image_bgr: np.ndarray, size: int, interpolation: str = "area") -> np.ndarray:
    """Steps 2-3: shorter side to `size`, centre crop size x size. uint8 BGR in and out."""
    height, width = image_bgr.shape[:2]
    scale = size / min(height, width)
    new_w = max(size, int(round(width * scale)))
    new_h = max(size, int(round(height * scale)))
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=INTERPOLATIONS[interpolation])
    x0 = (new_w - size) // 2
    y0 = (new_h - size) // 2
    return resized[y0:y0 + size, x0:x0 + size]


def normalize(image_bgr: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """Step 4-5 for one image: uint8 BGR HxWx3 -> float32 3xHxW."""
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    mean = np.asarray(pre.mean, dtype=np.float32)
    std = np.asarray(pre.std, dtype=np.float32)
    return np.ascontiguousarray(((rgb - mean) / std).transpose(2, 0, 1))


def preprocess(image_bgr: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """The whole rule for one decoded BGR image: float32 3 x size x size."""
    return normalize(resize_and_crop(image_bgr, pre.input_size, pre.interpolation), pre)
