"""A camera style: the gating network's code for a reference shot, and where its camera starts.

The code (softmax weights over the experts) is what the behaviour model re-applies to another
performance; `start` is the reference shot's typical camera ([xA, xB, mean y, theta, phi]) so
the re-applied camera begins with the same layout. `nearest` names the canonical behaviour x
shot category it resembles most: the behaviour the recogniser (behavior.recognition) reads from
the reference's features, the shot size whose layout is nearest the start's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cinestage.behavior.recognition import BehaviourRecogniser, from_pretrained as recogniser_from_pretrained
from cinestage.behavior.training import checkpoint_dir, load, reference_features
from cinestage.camera.shots import nearest_shot
from cinestage.errors import CameraError
from cinestage.files import write_text
from cinestage.geometry import unwrap_angles

FORMAT = "cinestage.style/1"
DEFAULT_GATING = "lstm-sa3"


@dataclass(frozen=True)
class Style:
    gating: str
    code: np.ndarray  # (E,)
    start: np.ndarray  # (5,)
    nearest: str
    source: str = ""
    shot: int = 0
    frames: int = 0  # length of the reference stretch it was read from

    @property
    def behaviour(self) -> str:
        return self.nearest.split("/")[0]

    def to_json(self) -> dict:
        return {"format": FORMAT, "gating": self.gating, "code": np.round(self.code, 6).tolist(),
                "start": np.round(self.start, 6).tolist(), "nearest": self.nearest, "source": self.source,
                "shot": self.shot, "frames": self.frames}

    def save(self, path: Path) -> Path:
        return write_text(path, json.dumps(self.to_json(), indent=1))


def load_style(path: Path) -> Style:
    try:
        d = json.loads(Path(path).read_text())
        if d.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        return Style(d["gating"], np.asarray(d["code"], float), np.asarray(d["start"], float), d["nearest"],
                     d.get("source", ""), int(d.get("shot", 0)), int(d.get("frames", 0)))
    except FileNotFoundError:
        raise CameraError(str(path), "style file not found") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CameraError(str(path), f"not a cinestage style file: {exc}") from None


class StyleModel:
    """A trained behaviour model with its normalisation, and the recogniser that names a style."""

    def __init__(self, gating: str = DEFAULT_GATING, folder: Path | None = None,
                 recogniser: BehaviourRecogniser | None = None):
        self.gating = gating
        self.model, self.norm, self.info = load((folder or checkpoint_dir()) / f"{gating}.pt")
        self.recogniser = recogniser or recogniser_from_pretrained()

    def style(self, camera: np.ndarray, character: np.ndarray, source: str = "", shot: int = 0) -> Style:
        camera = np.asarray(camera, np.float32).copy()
        camera[:, 4] = unwrap_angles(camera[:, 4])
        with torch.inference_mode():
            code = self.model.style(reference_features(self.norm, np.asarray(character, np.float32), camera))[0].numpy()
        start = np.median(camera, axis=0)
        nearest = f"{self.recogniser.behaviour(camera, character)}/{nearest_shot(start)}"
        return Style(self.gating, code, start, nearest, source, shot, len(camera))


def clip_styles(clip: Path, model: StyleModel, min_frames: int = 30) -> list[Style]:
    """One style per shot of a real clip that has a main pair for at least `min_frames`."""
    from cinestage.film.analysis import analyze

    analysis = analyze(clip)
    return [model.style(p.camera, p.character, str(clip), p.shot) for p in analysis.pairs if len(p.frames) >= min_frames]


def resolve_style(reference: Path, gating: str = DEFAULT_GATING, shot: int | None = None) -> tuple[Style, StyleModel]:
    """A style from a saved style file or from a reference clip (its longest shot unless `shot`)."""
    model = StyleModel(gating)
    if Path(reference).suffix.lower() == ".json":
        style = load_style(reference)
        if style.gating != gating:
            model = StyleModel(style.gating)
        return style, model
    styles = clip_styles(Path(reference), model)
    if shot is not None:
        styles = [s for s in styles if s.shot == shot]
    if not styles:
        where = f"shot {shot} of " if shot is not None else "any shot of "
        raise CameraError(str(reference), f"no main pair in {where}the reference, so no camera style to learn")
    return longest(styles), model


def longest(styles: list[Style]) -> Style:
    return max(styles, key=lambda s: s.frames)
