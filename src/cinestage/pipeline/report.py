"""`cinestage report`: everything a finished output folder holds, as data and as one page.

    DIR/result.json   one document (FORMAT): per camera its rig, scores with per-frame curves,
                      composition-pattern distribution, tags and track seen from above; the
                      chosen camera and why, the programme, the actors' ground paths,
                      highlights, the reference's styles, what is missing and why, every file
    DIR/report.html   the same for people: one self-contained page (images inlined, no
                      scripts, nothing fetched), built by `report_html`

Only the render (manifest, tracks, metadata, videos) must be there; scores.json (assess),
highlights/highlights.json and tags.json (deliver) and styles.json (shoot) are used when
present, and a part that is absent or unreadable is named under `missing` with the reason.
Both files are written under temporary names and renamed, then join the manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cinestage import __version__
from cinestage.assess import aesthetics
from cinestage.assess.aesthetics import PATTERNS, AestheticScorer
from cinestage.assess.composition import SOURCES, pattern_distribution
from cinestage.assess.rules import HIPS, read_rendered_camera
from cinestage.camera.export import read_json
from cinestage.errors import CinestageError
from cinestage.film.video import frames_at
from cinestage.files import write_text
from cinestage.pipeline.assess_job import AESTHETIC_SIDE
from cinestage.pipeline.assess_job import FILES as ASSESS_FILES
from cinestage.pipeline.contact_sheet import still_frames
from cinestage.pipeline.highlights_job import RESULT as HIGHLIGHTS_RESULT
from cinestage.pipeline.output import MANIFEST, add_to_manifest, read_manifest, save_json

FORMAT = "cinestage.result/1"
RESULT = "result.json"
REPORT = "report.html"
HIGHLIGHTS_DIR = "highlights"
TAGS = "tags.json"
STYLES = "styles.json"
TRACK_SAMPLES_PER_SECOND = 10.0  # tracks and paths in result.json: enough to draw, small enough to read
COMPOSITION_FRAMES = 8

HINTS = {
    "scores": "not assessed: run `cinestage assess DIR` for scores, the chosen camera and the programme",
    "highlights": "no highlights: run `cinestage highlights DIR/programme.mp4 --out DIR/highlights`, "
                  "or `cinestage demo` / `shoot` without --no-assess",
    "tags": "no tags: run `cinestage tags DIR`",
    "styles": "not a `cinestage shoot` output: no reference styles",
}


class ReportPaths(NamedTuple):
    result: Path
    report: Path


def write_report(out_dir: str | os.PathLike) -> ReportPaths:
    """result.json and report.html of a cinestage output folder (a CinestageError when `out_dir`
    is not one), both added to its manifest."""
    from cinestage.pipeline.report_html import render_html  # matplotlib loads only when a page is drawn

    out_dir = Path(out_dir)
    doc = result_document(out_dir)
    page = render_html(doc, out_dir)
    paths = ReportPaths(save_json(out_dir / RESULT, doc), write_text(out_dir / REPORT, page))
    add_to_manifest(out_dir, paths)
    return paths


def result_document(out_dir: str | os.PathLike) -> dict:
    """The content of result.json (see the module's docstring)."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    missing: dict[str, str] = {}
    scores = _optional(out_dir / ASSESS_FILES["scores_json"], "scores", missing)
    tags = _optional(out_dir / TAGS, "tags", missing)
    highlights = _optional(out_dir / HIGHLIGHTS_DIR / HIGHLIGHTS_RESULT, "highlights", missing)
    styles = _optional(out_dir / STYLES, "styles", missing)
    fps = float(manifest["performance"]["fps"])
    step = max(1, round(fps / TRACK_SAMPLES_PER_SECOND))

    by_name = {c["camera"]: c for c in (scores or {}).get("cameras", [])}
    clips = {c["name"]: c for c in (tags or {}).get("clips", [])}
    scorer = _aesthetic_scorer(scores, missing)
    cameras = []
    for entry in manifest["cameras"]:
        name = entry["name"]
        score = by_name.get(name)
        cameras.append({
            "name": name, "rig": entry.get("rig"), "params": entry.get("params", {}), "files": entry["files"],
            "score": None if score is None else {k: v for k, v in score.items() if k != "camera"},
            "composition": _composition(out_dir / entry["files"]["video"], manifest, scorer, missing, name),
            "tags": clips[name]["tags"] if name in clips else None,
            "track": _track(out_dir / entry["files"]["track_json"], step, missing, name),
        })
    chosen = None
    if scores is not None:
        best = scores["best"]
        chosen = {**best, "fused": by_name[best["camera"]]["fused"] if best["camera"] in by_name else None}
    if highlights is not None:
        highlights = _relative_highlights(highlights, out_dir)
    return {
        "format": FORMAT,
        "cinestage": __version__,
        "folder": out_dir.name,
        "performance": manifest["performance"],
        "video": manifest.get("video"),
        "renderer": manifest.get("renderer"),
        "contact_sheet": manifest.get("contact_sheet"),
        "cameras": cameras,
        "chosen": chosen,
        "programme": None if scores is None else scores.get("programme"),
        "assessment": None if scores is None else {"options": scores.get("options"), "notes": scores.get("notes", [])},
        "actors": _ground_paths(out_dir, manifest, step, missing),
        "composition": {"patterns": list(PATTERNS), "sources": SOURCES, "frames": COMPOSITION_FRAMES},
        "highlights": highlights,
        "tags": None if tags is None else {k: tags[k] for k in ("format", "vocabulary", "units") if k in tags},
        "styles": styles,
        "missing": missing,
        "files": _files(out_dir),
    }


def _optional(path: Path, part: str, missing: dict[str, str]) -> dict | None:
    """A JSON part of the output, or None with the reason under missing[part]."""
    if not path.is_file():
        missing[part] = f"{path.name} not found; {HINTS[part]}"
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        missing[part] = f"{path.name} could not be read ({type(exc).__name__}: {exc})"
        return None
    if not isinstance(doc, dict):
        missing[part] = f"{path.name} is not a JSON object"
        return None
    return doc


def _aesthetic_scorer(scores: dict | None, missing: dict[str, str]) -> AestheticScorer | None:
    """The head the assessment used, so that patterns are the learned ones where they can be."""
    head = ((scores or {}).get("options") or {}).get("aesthetic_head")
    if not head:
        return None
    try:
        return aesthetics.from_pretrained(head)
    except CinestageError as exc:
        missing["learned_composition"] = f"the assessment's aesthetic head could not be loaded ({exc}); " \
                                         "composition patterns are the saliency fit"
        return None


def _composition(video: Path, manifest: dict, scorer: AestheticScorer | None, missing: dict[str, str],
                 camera: str) -> dict | None:
    wanted = set(still_frames(int(manifest["performance"]["n_frames"]), COMPOSITION_FRAMES))
    try:
        frames = list(frames_at(video, wanted, AESTHETIC_SIDE).values())
    except CinestageError as exc:
        missing[f"composition:{camera}"] = f"video could not be read: {exc}"
        return None
    if not frames:
        missing[f"composition:{camera}"] = f"{video.name} has no frames"
        return None
    return {**pattern_distribution(frames, scorer).to_json(), "frames": sorted(wanted)}


def _track(path: Path, step: int, missing: dict[str, str], camera: str) -> dict | None:
    try:
        track = read_json(path)
    except CinestageError as exc:
        missing[f"track:{camera}"] = str(exc)
        return None
    frames = np.arange(0, track.n_frames, step)
    return {"n_frames": track.n_frames, "fps": track.fps, "sample_every": step, "frames": frames.tolist(),
            "position": np.round(track.positions[frames], 4).tolist(),
            "forward": np.round(track.rotations[frames, :, 1], 4).tolist(),
            "fov_y_deg": np.round(np.degrees(track.fov_y[frames]), 3).tolist()}


def _ground_paths(out_dir: Path, manifest: dict, step: int, missing: dict[str, str]) -> list[dict] | None:
    """Each actor's hips on the floor plan. The metadata stores joints as the cameras saw them;
    each frame takes the camera that stood farthest from the actor, whose unprojection its
    rounding disturbs least."""
    try:
        seen = [read_rendered_camera(out_dir / Path(c["files"]["meta"]).parent, c["name"]) for c in manifest["cameras"]]
    except CinestageError as exc:
        missing["actors"] = f"the actors' paths could not be read: {exc}"
        return None
    actors = np.arange(seen[0].world.shape[1])
    hips = np.stack([c.world[:, actors, c.canonical[:, HIPS], :2] for c in seen])  # (C, T, A, 2)
    depth = np.stack([c.meta.depth[:, actors, c.canonical[:, HIPS]] for c in seen])  # (C, T, A)
    pick = np.argmax(depth, axis=0)
    ground = np.take_along_axis(hips, pick[None, ..., None], axis=0)[0]  # (T, A, 2)
    frames = np.arange(0, ground.shape[0], step)
    return [{"name": name, "n_frames": int(ground.shape[0]), "sample_every": step, "frames": frames.tolist(),
             "ground": np.round(ground[frames, a], 4).tolist()} for a, name in enumerate(seen[0].meta.actors)]


def _relative_highlights(doc: dict, out_dir: Path) -> dict:
    """highlights.json with its files named from the output folder, as every other path here."""
    doc = dict(doc)
    video = Path(str(doc.get("video", "")))
    if video.is_absolute() and video.resolve().is_relative_to(out_dir.resolve()):
        doc["video"] = video.resolve().relative_to(out_dir.resolve()).as_posix()
    doc["highlights"] = [{**h, "file": f"{HIGHLIGHTS_DIR}/{h['file']}"} for h in doc.get("highlights", [])]
    if isinstance(doc.get("thumbnail"), dict):
        doc["thumbnail"] = {**doc["thumbnail"], "file": f"{HIGHLIGHTS_DIR}/{doc['thumbnail']['file']}"}
    return doc


def _files(out_dir: Path) -> list[str]:
    """Every file of the output (temporary ones skipped), with the two this step writes."""
    found = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out_dir).parts)}
    return sorted(found | {RESULT, REPORT, MANIFEST})

