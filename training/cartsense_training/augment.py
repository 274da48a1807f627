"""Augmentations that make shelf photos look like crops from a cart's basket cameras.

The cameras look down into the basket: products lie at any rotation, are seen in perspective
from above, at varying distance, partly hidden by other items or the shopper's hand, blurred by
motion, lit by store lights that glare off packages, through cheap sensors with their own white
balance and exposure, and JPEG-compressed. Every random choice comes from the numpy Generator
passed in, so one seed gives one image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .preprocessing import INTERPOLATIONS, Preprocessing, normalize, resize_and_crop

cv2.setNumThreads(1)  # one image at a time; the trainer owns the cores


@dataclass(frozen=True)
class CartAugmentConfig:
    rotation_deg: float = 180.0  # uniform in +-; items lie any way round in a basket
    scale_range: tuple[float, float] = (0.75, 1.25)  # object size relative to the crop
    shift_fraction: float = 0.12
    perspective_fraction: float = 0.12  # corner jitter of the top-down view, fraction of size
    p_occlude_item: float = 0.35
    p_occlude_hand: float = 0.25
    occlusion_area: tuple[float, float] = (0.08, 0.3)
    p_motion_blur: float = 0.3
    motion_blur_px: tuple[int, int] = (3, 11)
    p_glare: float = 0.3
    p_color: float = 0.8
    white_balance_gain: float = 0.15  # per-channel gain in 1 +- this
    exposure_gain: tuple[float, float] = (0.6, 1.4)
    gamma: tuple[float, float] = (0.75, 1.35)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 90)
    border_grey: tuple[int, int] = (40, 200)  # basket floor behind a warped crop
    # Cart-camera resolution loss (recipe v3). The basket cameras see most items small: in the
    # 640x480 simulated frames a crop's shorter side is mostly 20-110 px, and the cart's
    # preprocessing upsamples it to the input size. With probability p_low_res the augmented
    # image is shrunk (INTER_AREA, i.e. the sensor integrating over its pixels) so that its
    # shorter side is a log-uniform draw in low_res_side_px, optionally blurred (defocus) and
    # noised at that size, JPEG-compressed there when the JPEG step fires (the camera encodes
    # its own small frame), and resized back with the cart's preprocessing interpolation
    # (preprocessing.json). low_res_side_px is in pixels of a crop that the cart resizes to
    # low_res_reference_size (the shipped input size); a smaller training size (progressive
    # resizing, the smoke run) scales it so the lost detail is the same fraction of the crop.
    # p_low_res 0 (the default, recipes v1/v2) draws nothing, so their draws are unchanged.
    p_low_res: float = 0.0
    low_res_side_px: tuple[float, float] = (20.0, 110.0)
    low_res_reference_size: int = 160
    p_low_res_blur: float = 0.3
    low_res_blur_sigma: tuple[float, float] = (0.3, 0.9)  # Gaussian sigma at the small size, px
    p_low_res_noise: float = 0.5
    low_res_noise_std: tuple[float, float] = (1.0, 5.0)  # sensor noise at the small size, 0..255
    low_res_interpolation: str = "area"  # upsampling back: preprocessing.json's interpolation


def geometric(image: np.ndarray, size: int, cfg: CartAugmentConfig,
              rng: np.random.Generator) -> np.ndarray:
    """Rotation, scale, shift and a top-down perspective in one warp to size x size."""
    height, width = image.shape[:2]
    if min(height, width) > size:  # shrink with INTER_AREA first, as the eval rule does
        shrink = size / min(height, width)
        new_size = (max(size, round(width * shrink)), max(size, round(height * shrink)))
        image = cv2.resize(image, new_size, interpolation=cv2.INTER_AREA)
        height, width = image.shape[:2]
    side = min(height, width)
    # Square centre crop of the source in source coordinates.
    src_center = np.array([width / 2.0, height / 2.0])
    angle = math.radians(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    scale = rng.uniform(*cfg.scale_range) * size / side
    shift = rng.uniform(-cfg.shift_fraction, cfg.shift_fraction, size=2) * size
    cos_a, sin_a = math.cos(angle) * scale, math.sin(angle) * scale
    affine = np.array([
        [cos_a, -sin_a, 0.0],
        [sin_a, cos_a, 0.0],
        [0.0, 0.0, 1.0],
    ])
    to_origin = np.array([[1, 0, -src_center[0]], [0, 1, -src_center[1]], [0, 0, 1.0]])
    to_output = np.array([[1, 0, size / 2 + shift[0]], [0, 1, size / 2 + shift[1]], [0, 0, 1.0]])
    jitter = cfg.perspective_fraction * size
    corners = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
    moved = corners + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
    perspective = cv2.getPerspectiveTransform(corners, moved)
    matrix = perspective @ to_output @ affine @ to_origin
    grey = int(rng.integers(cfg.border_grey[0], cfg.border_grey[1] + 1))
    return cv2.warpPerspective(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(grey, grey, grey))


def _random_polygon_mask(size: int, area: float, rng: np.random.Generator) -> np.ndarray:
    """A blob entering from one edge, covering about `area` of the crop."""
    mask = np.zeros((size, size), np.uint8)
    radius = math.sqrt(area * size * size / math.pi)
    edge = int(rng.integers(4))
    along = rng.uniform(0.1, 0.9) * size
    inset = rng.uniform(0.0, 0.6) * radius
    center = [(along, inset), (size - inset, along), (along, size - inset), (inset, along)][edge]
    count = 9
    angles = np.sort(rng.uniform(0, 2 * math.pi, count))
    radii = radius * rng.uniform(0.6, 1.4, count)
    points = np.stack([center[0] + radii * np.cos(angles), center[1] + radii * np.sin(angles)], 1)
    cv2.fillPoly(mask, [points.astype(np.int32)], 255)
    return mask


def occlude_with_item(image: np.ndarray, other: np.ndarray, cfg: CartAugmentConfig,
                      rng: np.random.Generator) -> np.ndarray:
    """Another product lying over part of this one."""
    size = image.shape[0]
    patch = resize_and_crop(other, size)
    patch = np.rot90(patch, int(rng.integers(4))).copy()
    mask = _random_polygon_mask(size, rng.uniform(*cfg.occlusion_area), rng)
    mask = cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32)[..., None] / 255.0
    return (image * (1 - mask) + patch * mask).astype(np.uint8)


def occlude_with_hand(image: np.ndarray, cfg: CartAugmentConfig,
                      rng: np.random.Generator) -> np.ndarray:
    """A hand (palm and fingers, skin tone with shading) reaching in from an edge."""
    size = image.shape[0]
    mask = np.zeros((size, size), np.uint8)
    scale = math.sqrt(rng.uniform(*cfg.occlusion_area)) * size
    # Draw the hand pointing up from the bottom edge, then rotate it to a random edge.
    palm_center = (size * rng.uniform(0.3, 0.7), size - rng.uniform(0.0, 0.3) * scale)
    cv2.ellipse(mask, (int(palm_center[0]), int(palm_center[1])),
                (int(scale * 0.45), int(scale * 0.55)), 0, 0, 360, 255, -1)
    for finger in range(4):
        x = palm_center[0] + (finger - 1.5) * scale * 0.22
        top = palm_center[1] - scale * rng.uniform(0.7, 1.1)
        cv2.line(mask, (int(x), int(palm_center[1])), (int(x), int(top)), 255,
                 max(2, int(scale * 0.16)))
    rotation = cv2.getRotationMatrix2D((size / 2, size / 2), 90.0 * int(rng.integers(4))
                                       + rng.uniform(-30, 30), 1.0)
    mask = cv2.warpAffine(mask, rotation, (size, size))
    skin_hsv = np.uint8([[[rng.uniform(5, 20), rng.uniform(60, 160), rng.uniform(90, 240)]]])
    skin = cv2.cvtColor(skin_hsv, cv2.COLOR_HSV2BGR).astype(np.float32)[0, 0]
    shading = cv2.GaussianBlur(rng.uniform(0.8, 1.15, (size, size)).astype(np.float32), (0, 0), 6)
    hand = skin[None, None, :] * shading[..., None]
    alpha = cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32)[..., None] / 255.0
    return np.clip(image * (1 - alpha) + hand * alpha, 0, 255).astype(np.uint8)


def motion_blur(image: np.ndarray, cfg: CartAugmentConfig, rng: np.random.Generator) -> np.ndarray:
    length = int(rng.integers(cfg.motion_blur_px[0], cfg.motion_blur_px[1] + 1))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(image, -1, kernel)


def glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A specular highlight: a bright soft ellipse, saturating where it lands."""
    size = image.shape[0]
    layer = np.zeros((size, size), np.float32)
    center = (int(rng.uniform(0, size)), int(rng.uniform(0, size)))
    axes = (int(size * rng.uniform(0.05, 0.3)), int(size * rng.uniform(0.02, 0.12)))
    cv2.ellipse(layer, center, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    layer = cv2.GaussianBlur(layer, (0, 0), max(1.0, axes[1] * 0.6))
    strength = rng.uniform(120, 255)
    return np.clip(image + layer[..., None] * strength, 0, 255).astype(np.uint8)


def color_and_exposure(image: np.ndarray, cfg: CartAugmentConfig,
                       rng: np.random.Generator) -> np.ndarray:
    gains = 1.0 + rng.uniform(-cfg.white_balance_gain, cfg.white_balance_gain, 3)
    gains *= rng.uniform(*cfg.exposure_gain)
    gamma = rng.uniform(*cfg.gamma)
    out = (image.astype(np.float32) / 255.0) ** gamma * gains * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """The image encoded as JPEG at `quality` and decoded again (unchanged if encoding fails)."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return image
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def jpeg(image: np.ndarray, cfg: CartAugmentConfig, rng: np.random.Generator) -> np.ndarray:
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    return jpeg_round_trip(image, quality)


def low_resolution(image: np.ndarray, cfg: CartAugmentConfig, rng: np.random.Generator,
                   jpeg_quality: int | None = None) -> np.ndarray:
    """The crop as a small, far-away item looks to a basket camera, back at the input size.

    Shrinks the square image so its side is a log-uniform draw in cfg.low_res_side_px (scaled
    by size / cfg.low_res_reference_size), with INTER_AREA (each small pixel the mean of the
    area it covers, as a sensor pixel integrates light); then optional defocus blur, sensor
    noise and JPEG (quality `jpeg_quality`, None for none) at that size; then resizes back to
    the original size with cfg.low_res_interpolation, the interpolation the cart's
    preprocessing uses on the crop (cv::INTER_AREA in preprocessing.json).
    """
    height, width = image.shape[:2]
    size = min(height, width)
    lo, hi = (side * size / cfg.low_res_reference_size for side in cfg.low_res_side_px)
    side = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    small_w = max(2, min(width, round(width * side / size)))
    small_h = max(2, min(height, round(height * side / size)))
    small = cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_AREA)
    if rng.random() < cfg.p_low_res_blur:
        small = cv2.GaussianBlur(small, (0, 0), rng.uniform(*cfg.low_res_blur_sigma))
    if rng.random() < cfg.p_low_res_noise:
        noise = rng.normal(0.0, rng.uniform(*cfg.low_res_noise_std), small.shape)
        small = np.clip(small + noise, 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        small = jpeg_round_trip(small, jpeg_quality)
    return cv2.resize(small, (width, height),
                      interpolation=INTERPOLATIONS[cfg.low_res_interpolation])


def cart_augment(image: np.ndarray, size: int, cfg: CartAugmentConfig, rng: np.random.Generator,
                 occluder: Callable[[np.random.Generator], np.ndarray] | None = None) -> np.ndarray:
    """The whole chain on a decoded BGR image; returns uint8 BGR size x size."""
    out = geometric(image, size, cfg, rng)
    if occluder is not None and rng.random() < cfg.p_occlude_item:
        out = occlude_with_item(out, occluder(rng), cfg, rng)
    if rng.random() < cfg.p_occlude_hand:
        out = occlude_with_hand(out, cfg, rng)
    if rng.random() < cfg.p_motion_blur:
        out = motion_blur(out, cfg, rng)
    if rng.random() < cfg.p_glare:
        out = glare(out, rng)
    if rng.random() < cfg.p_color:
        out = color_and_exposure(out, cfg, rng)
    if cfg.p_low_res > 0 and rng.random() < cfg.p_low_res:
        quality = None
        if rng.random() < cfg.p_jpeg:
            quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        return low_resolution(out, cfg, rng, quality)
    if rng.random() < cfg.p_jpeg:
        out = jpeg(out, cfg, rng)
    return out


class TrainTransform:
    """Picklable transform for DataLoader workers: augment, then the shared normalization."""

    def __init__(self, pre: Preprocessing, cfg: CartAugmentConfig,
                 occluder_paths: list[str] | None = None) -> None:
        self.pre = pre
        # The low-resolution step resizes back as the cart's preprocessing does.
        self.cfg = replace(cfg, low_res_interpolation=pre.interpolation)
        self.occluder_paths = occluder_paths or []
        # Progressive resizing: the trainer may train early epochs smaller than pre.input_size
        # (the network is fully convolutional with global pooling; see train.py).
        self.input_size = pre.input_size

    def _occluder(self, rng: np.random.Generator) -> np.ndarray:
        path = self.occluder_paths[int(rng.integers(len(self.occluder_paths)))]
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot decode occluder image: {path}")
        return image

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        occluder = self._occluder if self.occluder_paths else None
        augmented = cart_augment(image, self.input_size, self.cfg, rng, occluder)
        return normalize(augmented, self.pre)


class EvalTransform:
    def __init__(self, pre: Preprocessing) -> None:
        self.pre = pre

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        del rng
        return normalize(resize_and_crop(image, self.pre.input_size, self.pre.interpolation),
                         self.pre)
