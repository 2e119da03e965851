"""What an upload must be before it is kept: a reference clip that decodes (its duration and a
thumbnail from the middle frame are taken on the way), a performance file that cinestage can
read, or a BVH motion that cinestage's reader accepts.

Performance files name their BVH motions by file name only (`motion: dance.bvh`): each is one of
the same user's `motion` uploads, and a render server puts them side by side with the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from cinestage.errors import CinestageError, PerformanceError
from cinestage.service.context import MB, Invalid
from cinestage.service.storage import safe_name

KINDS = ("clip", "performance", "motion")
DEFAULT_NAMES = {"clip": "clip.mp4", "performance": "performance.yaml", "motion": "motion.bvh"}
LIMITS = {"performance": 1 * MB}  # bytes; the others take settings.max_upload_mb
THUMB_SIDE = 320
THUMB_MAX_FRAMES = 1500  # a thumbnail of a long clip is taken at most this far in


@dataclass(frozen=True)
class Checked:
    duration: float  # seconds; 0 for performance and motion files
    thumb: Path | None  # a JPEG made from the clip, if one could be made


def check_upload(kind: str, path: Path, name: str, workdir: Path) -> Checked:
    """Validate the file at `path` (uploaded as `name`); Invalid (422) naming the upload if not."""
    try:
        if kind == "clip":
            return _clip(path, workdir)
        if kind == "performance":
            motion_names(path)
        else:
            from cinestage.stage.bvh import load_bvh

            load_bvh(path)
        return Checked(0.0, None)
    except CinestageError as exc:
        raise Invalid(name, exc.problem) from None


def _clip(path: Path, workdir: Path) -> Checked:
    from PIL import Image

    from cinestage.film.video import read_frames

    with read_frames(path, max_side=THUMB_SIDE) as reader:
        info = reader.info
        middle = min(info.estimated_frames // 2, THUMB_MAX_FRAMES)
        image = None
        try:
            for frame in reader:
                image = frame.image
                if frame.index >= middle:
                    break
        except Exception:  # damage past the first frame: the frame before it still makes a thumbnail
            pass
    thumb = None
    if image is not None:
        thumb = workdir / "thumb.jpg"
        Image.fromarray(image).save(thumb, "JPEG", quality=85)
    return Checked(float(info.duration), thumb)


def motion_names(path: Path) -> list[str]:
    """The BVH file names a performance file uses; PerformanceError when cinestage cannot read it."""
    from cinestage.stage.performance_file import PerformanceSpec
    from cinestage.yaml_files import first_problem, read_yaml

    source = path.name
    try:
        spec = PerformanceSpec.model_validate(read_yaml(path, PerformanceError))
    except ValidationError as exc:
        raise PerformanceError(source, first_problem(exc)) from None
    names = [a.name for a in spec.actors]
    if len(set(names)) != len(names):
        raise PerformanceError(source, f"actor names repeat: {names}")
    motions = []
    for i, actor in enumerate(spec.actors):
        if actor.motion is None:
            continue
        if safe_name(actor.motion) != actor.motion:
            raise PerformanceError(source, f"actors.{i}.motion: {actor.motion!r} must be the file name of an "
                                           "uploaded motion (letters, digits, '.', '_', '-'; no folders)")
        motions.append(actor.motion)
    return motions
