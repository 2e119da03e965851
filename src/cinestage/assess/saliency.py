"""Spectral-residual saliency (Hou & Zhang 2007), the saliency SAMP pools with (METHODS.md §4).

The reference implementations use OpenCV contrib's `saliency` module, which the `opencv-python`
wheel does not contain; this is the same algorithm in numpy with OpenCV core's filters:
the log amplitude spectrum of a small grayscale image, minus its 3x3 local mean, is what is
"unexpected" in the image; transformed back with the original phase, squared and blurred, it
marks the regions that stand out.
"""

from __future__ import annotations

import cv2
import numpy as np

WORKING_WIDTH = 64
SALIENCY_SIZE = 56
# Gaussian at 64 px wide: SAMP-Net's (9x9, sigma 2.5); Hou & Zhang's sigma 8 is for larger maps.
_BLUR_KERNEL = (9, 9)
_BLUR_SIGMA = 2.5
# A few isolated peaks dominate a raw map; clipping at this quantile (as SAMP-Net does) keeps
# the contrast between a salient region and the rest visible in per-partition means.
_CLIP_QUANTILE = 0.95


def spectral_residual(image: np.ndarray) -> np.ndarray:
    """Saliency at the working resolution: (h, 64) float32 in [0, 1], h keeping the aspect ratio.

    image: (H, W, 3) uint8 RGB or (H, W) grayscale. A featureless image has no saliency (zeros).
    """
    gray = _grayscale(image)
    h, w = gray.shape
    small_h = max(1, round(WORKING_WIDTH * h / w))
    small = cv2.resize(gray, (WORKING_WIDTH, small_h), interpolation=cv2.INTER_AREA).astype(np.float64)
    if np.ptp(small) < 1e-6:
        return np.zeros((small_h, WORKING_WIDTH), np.float32)
    spectrum = np.fft.fft2(small)
    # +1 (grey levels x pixels) is a noise floor: without it the exact zeros in the spectrum of a
    # clean synthetic picture (a render) dominate the residual and smear saliency along rows.
    log_amplitude = np.log(np.abs(spectrum) + 1.0)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = cv2.GaussianBlur(saliency, _BLUR_KERNEL, _BLUR_SIGMA)
    return _normalise(saliency).astype(np.float32)


def saliency_map(image: np.ndarray, size: int = SALIENCY_SIZE) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the spectral residual stretched over the whole frame.

    The network sees the frame resized to a square (no crop), so the square saliency map lies
    over the same picture cell for cell.
    """
    sal = cv2.resize(spectral_residual(image), (size, size), interpolation=cv2.INTER_LINEAR)
    return np.clip(sal, 0.0, 1.0)


def saliency_centroid(sal: np.ndarray) -> np.ndarray:
    """(2,) saliency-weighted centre in screen coordinates ([-1, 1], y up); (0, 0) for no saliency."""
    total = float(sal.sum())
    if total <= 0:
        return np.zeros(2)
    h, w = sal.shape
    x = (np.arange(w) + 0.5) / w * 2 - 1
    y = 1 - (np.arange(h) + 0.5) / h * 2
    return np.array([float((sal.sum(axis=0) * x).sum() / total), float((sal.sum(axis=1) * y).sum() / total)])


def _grayscale(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(np.float32)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    raise ValueError(f"expected an (H, W, 3) RGB or (H, W) grayscale image, got shape {image.shape}")


def _normalise(saliency: np.ndarray) -> np.ndarray:
    low = float(saliency.min())
    high = float(np.quantile(saliency, _CLIP_QUANTILE))
    if high <= low:
        high = float(saliency.max())
    if high <= low:
        return np.zeros_like(saliency)
    return np.clip((saliency - low) / (high - low), 0.0, 1.0)
