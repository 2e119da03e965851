"""What the analysis saw, drawn on the clip: skeletons, track ids, the main pair, theta and phi.

A second decoding pass (the analysis keeps no pixels). Every tracked person gets a thin
skeleton in a grey tone and its id; the main pair gets thick skeletons (A orange, B cyan) and
a banner with the shot, theta and phi. Filled-in gap frames are drawn dashed-looking (thin).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cinestage.film.analysis import FilmAnalysis
from cinestage.film.video import read_frames
from cinestage.render.video import VideoWriter

# COCO limbs in MoveNet keypoint order.
LIMBS = ((0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 12),
         (11, 13), (13, 15), (12, 14), (14, 16))
A_COLOUR, B_COLOUR, OTHER_COLOUR = (255, 150, 30), (40, 220, 255), (200, 200, 200)


def write_overlay(analysis: FilmAnalysis, path: Path, max_side: int = 960, min_score: float = 0.2) -> Path:
    roles = {}
    for s in analysis.shots:
        if s.pair is not None:
            roles[s.pair.a], roles[s.pair.b] = A_COLOUR, B_COLOUR
    pair_rows = {int(f): (s, i) for s in analysis.shots if s.pair is not None for i, f in enumerate(s.pair.frames)}
    shot_of = np.zeros(len(analysis.times), int)
    for s in analysis.shots:
        shot_of[s.shot.start:s.shot.end] = s.shot.index
    writer = None
    try:
        with read_frames(analysis.info.path, max_side=max_side) as reader:
            w, h = (reader.size[0] // 2) * 2, (reader.size[1] // 2) * 2
            scale = reader.size[0] / analysis.info.width
            writer = VideoWriter(path, w, h, analysis.info.fps, crf=23)
            for frame in reader:
                img = np.ascontiguousarray(frame.image[:h, :w])
                for track in analysis.tracks:
                    row = track.at(frame.index)
                    if row is not None:
                        _skeleton(img, track.keypoints[row], scale, roles.get(track.id, OTHER_COLOUR),
                                  3 if track.id in roles else 1, track.observed[row], min_score, track.id)
                _banner(img, frame.index, frame.time, shot_of[min(frame.index, len(shot_of) - 1)], pair_rows.get(frame.index))
                writer.write(img)
        return writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def _skeleton(img, kp, scale, colour, thick, observed, min_score, track_id) -> None:
    pts = kp[:, :2] * scale
    ok = kp[:, 2] >= min_score if observed else np.ones(len(kp), bool)
    t = thick if observed else 1
    for i, j in LIMBS:
        if ok[i] and ok[j]:
            cv2.line(img, _pt(pts[i]), _pt(pts[j]), colour, t, cv2.LINE_AA)
    for p in pts[ok]:
        cv2.circle(img, _pt(p), t + 1, colour, -1, cv2.LINE_AA)
    top = pts[ok].min(axis=0) if ok.any() else pts.mean(axis=0)
    _text(img, f"#{track_id}", (int(top[0]), int(top[1]) - 8), colour)


def _banner(img, index, time, shot, pair_row) -> None:
    text = f"frame {index}  {time:6.2f}s  shot {shot}"
    if pair_row is not None:
        s, i = pair_row
        c = s.pair.camera[i]
        text += f"  A=#{s.pair.a} B=#{s.pair.b}  theta {np.degrees(c[3]):5.1f}  phi {np.degrees(c[4]):6.1f}"
    else:
        text += "  no main pair"
    cv2.rectangle(img, (0, 0), (img.shape[1], 22), (0, 0, 0), -1)
    _text(img, text, (6, 16), (255, 255, 255))


def _text(img, text, org, colour) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))
