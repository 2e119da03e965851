"""People's identities across the frames of a clip, shot by shot (METHODS.md §3, film analysis).

Each frame's detections are matched to the tracks open in that shot by one Hungarian
assignment. The cost of a (track, detection) pair is the mean distance between the joints both
saw confidently (and the box centres), in units of the track's box height, plus a box-overlap
term, measured against where the track is expected now: its last pose moved by a damped
constant velocity. The velocity is what carries identities through handheld pans and people
crossing; the damping keeps a track that lost its person from being extrapolated off the frame
during a gap. Box centres further apart than about one body height cannot match. A pose that
disagreed with the track's previous one (MoveNet now and then returns a person scrambled or
upside down for a frame) is not trusted as a reference: the next match compares box centres.

Then gaps are filled by linear interpolation, tracks shorter than ``min_length`` or of people
smaller than ``min_height`` of the frame (median box height over the track, so someone walking
away for a moment is kept) are dropped, and ids are renumbered 0.. in order of first appearance
(people who appear together: left to right).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from cinestage.film.pose import FramePoses

__all__ = ["Track", "TrackingOptions", "track_people"]

# Per-frame factor on the velocity while extrapolating: a track unseen for a long gap is
# expected at most DAMPING / (1 - DAMPING) frames' worth of motion away.
DAMPING = 0.85
# How much of the newly observed velocity replaces the old one at each match.
VELOCITY_BLEND = 0.7
# Weight of (1 - IoU) against the normalised joint distance.
IOU_WEIGHT = 0.5
# Consecutive poses of one person further apart than this (mean point distance, in box
# heights) disagree: one of them is garbled, or the camera jumped.
TRUSTED_POSE_DISTANCE = 0.25
# Box centres further apart than this (in track box heights, after prediction) cannot match;
# the gate widens with every missed frame since the prediction gets less certain.
GATE = 1.0
GATE_PER_MISSED_FRAME = 0.03
# ...for this many missed frames. A person MoveNet misses for a second or two (arms over the
# head, a tilted camera) reappears where they were; a wider gate would only let a newcomer
# entering from the same wing take their identity.
GATE_WIDENS_FOR = 20
# Halved score of interpolated joints, so a filled frame never outranks an observed one.
FILLED_SCORE_FACTOR = 0.5
_IMPOSSIBLE = 1e6


@dataclass(frozen=True, eq=False)
class Track:
    """One person through one shot.

    ``frames`` (F,) are consecutive frame indices; ``keypoints`` (F, 17, 3) and ``boxes``
    (F, 5) are in full-frame pixels (x right, y down) like :class:`FramePoses`. Where
    ``observed`` is False the frame was a gap: positions are linearly interpolated between the
    neighbouring observations and scores (joints' and the box's) are the interpolated scores
    times 0.5.
    """

    id: int
    shot: int
    frames: np.ndarray
    keypoints: np.ndarray
    boxes: np.ndarray
    observed: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def at(self, frame: int) -> int | None:
        """The row of ``frame`` in this track's arrays, or None outside the track."""
        row = int(frame) - int(self.frames[0])
        return row if 0 <= row < len(self.frames) else None


@dataclass(frozen=True)
class TrackingOptions:
    min_height: float = 0.1
    min_length: int = 30
    max_gap: int = 50  # frames a person may go unseen and keep their track (2 s at 25 fps)
    min_keypoint_score: float = 0.2


def track_people(poses: Sequence[FramePoses], shot_ranges: Sequence[tuple[int, int]],
                 frame_size: tuple[int, int], options: TrackingOptions = TrackingOptions()) -> list[Track]:
    """Tracks of the people in ``poses`` (one entry per frame, full-frame pixels).

    ``shot_ranges`` are (start, end-exclusive) frame ranges: tracks never cross one's borders
    and frames outside every range are ignored. ``frame_size`` is (width, height).
    """
    frame_height = float(frame_size[1])
    found: list[tuple[int, int, float, Track]] = []
    for shot, (start, end) in enumerate(shot_ranges):
        start, end = max(0, int(start)), min(int(end), len(poses))
        if end <= start:
            continue
        for track in _track_shot(poses[start:end], start, shot, frame_height, options):
            found.append((int(track.frames[0]), shot, float(track.boxes[0, 0] + track.boxes[0, 2]), track))
    found.sort(key=lambda item: item[:3])
    return [Track(new_id, track.shot, track.frames, track.keypoints, track.boxes, track.observed)
            for new_id, (*_, track) in enumerate(found)]


def _track_shot(poses: Sequence[FramePoses], start: int, shot: int, frame_height: float,
                options: TrackingOptions) -> list[Track]:
    if not any(len(p.boxes) for p in poses):
        return []
    detections = _Detections(poses, options.min_keypoint_score, 0.01 * frame_height)
    track_of, detection_of = _associate(detections, options.max_gap)
    frame_of = np.searchsorted(detections.offsets, detection_of, side="right") - 1 + start
    order = np.lexsort((frame_of, track_of))
    track_of, detection_of, frame_of = track_of[order], detection_of[order], frame_of[order]
    tracks = []
    for rows in np.split(np.arange(len(track_of)), np.flatnonzero(np.diff(track_of)) + 1):
        frames = frame_of[rows]
        if frames[-1] - frames[0] + 1 < options.min_length:
            continue
        boxes = detections.boxes[detection_of[rows]]
        if np.median(boxes[:, 3] - boxes[:, 1]) < options.min_height * frame_height:
            continue
        tracks.append(_filled(shot, frames, detections.keypoints[detection_of[rows]], boxes))
    return tracks


# Columns of _Detections.table: 18 points (the 17 joints, then the box centre) as x, y pairs,
# whether each point is confidently seen, the box, its area and the distance unit (its height).
_POINTS, _SEEN, _BOX, _AREA, _SCALE = slice(0, 36), slice(36, 54), slice(54, 58), 58, 59


class _Detections:
    """Every detection of a shot (frame i's are rows offsets[i]:offsets[i+1]).

    What the matching needs is precomputed in one float table, one row per detection: a
    frame's detections are then a slice of it and the open tracks' last poses one gather, which
    keeps the per-frame cost to a few dozen small vector operations. The box centre is an
    always-seen 18th point, so poses with few confident joints are compared by their boxes.
    """

    def __init__(self, poses: Sequence[FramePoses], min_keypoint_score: float, min_scale: float):
        self.offsets = np.concatenate([[0], np.cumsum([len(p.boxes) for p in poses])])
        self.keypoints = np.concatenate([p.keypoints for p in poses]).astype(np.float32, copy=False)
        self.boxes = np.concatenate([p.boxes for p in poses]).astype(np.float32, copy=False)
        box = self.boxes[:, :4].astype(float)
        centre = (box[:, :2] + box[:, 2:]) / 2
        points = np.concatenate([self.keypoints[..., :2], centre[:, None]], axis=1)
        seen = np.concatenate([self.keypoints[..., 2] >= min_keypoint_score, np.ones((len(box), 1), bool)], axis=1)
        width, height = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
        # Degenerate boxes must not blow the normalised distances up.
        scale = np.maximum(height, min_scale)
        self.table = np.concatenate([points.reshape(-1, 36), seen, box, (width * height)[:, None], scale[:, None]],
                                    axis=1, dtype=float)


# Expected motion after `step` frames, in units of the velocity: sum of DAMPING**k, k = 1..step.
def _shift_factor(step: np.ndarray) -> np.ndarray:
    return DAMPING * (1 - DAMPING ** step) / (1 - DAMPING)


def _associate(d: _Detections, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """The track number of every detection: (track numbers, detection rows), in frame order."""
    # State of every track opened in the shot, by track number; `live` lists the open ones.
    # The detection a track last matched stands for its last pose; that pose is trusted unless it
    # disagreed with the one before, and an untrusted pose is compared by its box centre only.
    capacity = 16
    last_detection = np.zeros(capacity, int)
    trusted = np.zeros(capacity, bool)
    last_frame = np.zeros(capacity, int)
    velocity = np.zeros((capacity, 2))
    live = np.zeros(0, int)
    opened = 0
    match_track: list[np.ndarray] = []
    match_detection: list[np.ndarray] = []

    for frame in range(len(d.offsets) - 1):
        first, stop = d.offsets[frame], d.offsets[frame + 1]
        if stop == first:
            continue
        current = np.arange(first, stop)
        now = d.table[first:stop]
        live = live[frame - last_frame[live] <= max_gap + 1]
        unmatched = np.ones(len(current), bool)
        matched_tracks = live[:0]
        matched_detections = current[:0]
        if len(live):
            last = d.table[last_detection[live]]
            step = frame - last_frame[live]
            shift = velocity[live] * _shift_factor(step)[:, None]

            expected = last[:, _POINTS].reshape(-1, 1, 18, 2) + shift[:, None, None, :]
            offset = expected - now[:, _POINTS].reshape(1, -1, 18, 2)
            common = last[:, None, _SEEN] * now[:, _SEEN]
            n_common = common.sum(-1)
            point_distance = np.sqrt((offset * offset).sum(-1)) / last[:, _SCALE, None, None]
            pose_distance = (point_distance * common).sum(-1) / n_common
            distance = np.where(trusted[live, None], pose_distance, point_distance[..., 17])

            expected_box = last[:, None, _BOX] + np.tile(shift, 2)[:, None]
            box = now[:, _BOX]
            overlap = np.minimum(expected_box[..., 2:], box[:, 2:]) - np.maximum(expected_box[..., :2], box[:, :2])
            intersection = np.maximum(overlap, 0).prod(-1)
            iou = intersection / np.maximum(last[:, _AREA, None] + now[:, _AREA] - intersection, 1e-9)

            missed = step[:, None] - 1
            cost = distance + IOU_WEIGHT * (1 - iou)
            cost[point_distance[..., 17] > GATE + GATE_PER_MISSED_FRAME * np.minimum(missed, GATE_WIDENS_FOR)] = _IMPOSSIBLE
            rows, cols = linear_sum_assignment(cost)
            keep = cost[rows, cols] < _IMPOSSIBLE
            rows, cols = rows[keep], cols[keep]

            # How far each matched person moved: the mean shift of the points seen in both poses
            # if they agree, else of the box centre.
            agree = pose_distance[rows, cols] <= TRUSTED_POSE_DISTANCE
            pair_common = common[rows, cols]
            mean_offset = (offset[rows, cols] * pair_common[..., None]).sum(1) / pair_common.sum(-1)[:, None]
            moved = shift[rows] - np.where(agree[:, None], mean_offset, offset[rows, cols, 17])

            matched_tracks, matched_detections = live[rows], current[cols]
            velocity[matched_tracks] = (VELOCITY_BLEND * moved / step[rows, None]
                                        + (1 - VELOCITY_BLEND) * velocity[matched_tracks])
            last_detection[matched_tracks] = matched_detections
            last_frame[matched_tracks] = frame
            trusted[matched_tracks] = agree
            unmatched[cols] = False
        new = current[unmatched]
        if len(new):
            if opened + len(new) > capacity:
                capacity = 2 * (opened + len(new))
                last_detection = np.resize(last_detection, capacity)
                trusted = np.resize(trusted, capacity)
                last_frame = np.resize(last_frame, capacity)
                velocity = np.resize(velocity, (capacity, 2))
            fresh = np.arange(opened, opened + len(new))
            opened += len(new)
            last_detection[fresh] = new
            trusted[fresh] = True
            last_frame[fresh] = frame
            velocity[fresh] = 0.0
            live = np.concatenate([live, fresh])
            matched_tracks = np.concatenate([matched_tracks, fresh])
            matched_detections = np.concatenate([matched_detections, new])
        match_track.append(matched_tracks)
        match_detection.append(matched_detections)
    return np.concatenate(match_track), np.concatenate(match_detection)


def _filled(shot, frames, keypoints, boxes) -> Track:
    """A track over every frame from the first to the last observation, gaps interpolated."""
    full = np.arange(frames[0], frames[-1] + 1)
    right = np.searchsorted(frames, full)
    observed = frames[right] == full
    left = np.where(observed, right, right - 1)
    span = np.maximum(frames[right] - frames[left], 1)
    weight = ((full - frames[left]) / span).astype(np.float32)
    filled_keypoints = keypoints[left] * (1 - weight)[:, None, None] + keypoints[right] * weight[:, None, None]
    filled_keypoints[~observed, :, 2] *= FILLED_SCORE_FACTOR
    filled_boxes = boxes[left] * (1 - weight)[:, None] + boxes[right] * weight[:, None]
    filled_boxes[~observed, 4] *= FILLED_SCORE_FACTOR
    return Track(-1, shot, full, filled_keypoints.astype(np.float32), filled_boxes.astype(np.float32), observed)
