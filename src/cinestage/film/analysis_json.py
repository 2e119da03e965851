"""FilmAnalysis <-> analysis.json: a documented, columnar file other tools (and issue 4's style
extraction) read without cinestage's classes.

Coordinates: keypoints and boxes in pixels of the displayed clip (x right, y down); camera
features in normalised screen coordinates (x right, y up, [-1, 1]); angles in radians.
"""

from __future__ import annotations

import numpy as np

from cinestage.film.analysis import FilmAnalysis
from cinestage.film.main_pair import FACING
from cinestage.film.pose import COCO_KEYPOINTS
from cinestage.stage.features import FEATURE_NAMES

FORMAT = "cinestage.film-analysis/1"


def _r(a: np.ndarray, digits: int = 4) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def analysis_dict(a: FilmAnalysis) -> dict:
    info = a.info
    return {
        "format": FORMAT,
        "clip": {"path": str(info.path), "width": info.width, "height": info.height, "fps": info.fps,
                 "duration": info.duration, "frames": int(len(a.times)), "rotation": info.rotation,
                 "codec": info.codec, "container": info.container},
        "models": {"pose": a.pose_model, "features": a.feature_model},
        "seconds": round(a.seconds, 3),
        "warnings": a.warnings,
        "keypoint_names": list(COCO_KEYPOINTS),
        "camera_feature_names": ["xA", "xB", "y_mean", "theta", "phi"],
        "character_feature_names": list(FEATURE_NAMES),
        "facing_names": list(FACING),
        "frame_times": _r(a.times, 5),
        "shots": [
            {"index": s.shot.index, "start": s.shot.start, "end": s.shot.end, "start_time": round(s.shot.start_time, 5),
             "end_time": round(s.shot.end_time, 5), "pose_input_size": s.input_size,
             "main_pair": None if s.pair is None else {"a": s.pair.a, "b": s.pair.b, "main": "AB"[s.pair.main],
                                                       "start": int(s.pair.frames[0]), "end": int(s.pair.frames[-1]) + 1,
                                                       "coverage": round(len(s.pair.frames) / max(s.shot.frames, 1), 4)},
             "problem": s.problem}
            for s in a.shots
        ],
        "tracks": [
            {"id": t.id, "shot": t.shot, "start": int(t.frames[0]), "end": int(t.frames[-1]) + 1,
             "observed": [bool(o) for o in t.observed], "keypoints": _r(t.keypoints, 2), "boxes": _r(t.boxes, 2)}
            for t in a.tracks
        ],
        "pairs": [
            {"shot": p.shot, "a": p.a, "b": p.b, "frames": [int(f) for f in p.frames], "camera": _r(p.camera),
             "character": _r(p.character), "confidence": _r(p.confidence, 3), "facing": p.facing.tolist()}
            for p in a.pairs
        ],
    }

