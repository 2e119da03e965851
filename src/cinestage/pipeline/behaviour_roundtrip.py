"""The behaviour round trip: a reference of every canonical category rendered on unseen motion,
read back like a real clip, its style extracted, recognised and re-applied to another duet.

Measures what a user relies on: the recovered behaviour is the one that shot the reference,
and the re-applied camera keeps the reference's layout (xA, xB, mean y of the heads).
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import numpy as np

from cinestage.behavior.dataset import CATEGORIES
from cinestage.behavior.style import DEFAULT_GATING, StyleModel, clip_styles, longest
from cinestage.behavior.synthetic import synthetic_performance
from cinestage.camera.spec import learned_track
from cinestage.geometry import project
from cinestage.pipeline.rendered_shots import rendered_reference
from cinestage.service.executor import map_each

ROUNDTRIP_SEED = 3_000_000


def layout(track, performance) -> np.ndarray:
    """(T, 3) xA, xB, mean y of the heads as a camera track sees them (A on the left)."""
    heads = np.stack([a.head() for a in performance.actors[:2]], 1)
    screen, _ = project(heads, track.positions[:, None], track.rotations[:, None], track.fov_y[:, None], track.aspect)
    xs = np.sort(screen[..., 0], axis=1)
    return np.column_stack([xs[:, 0], xs[:, 1], screen[..., 1].mean(1)])


def roundtrip(gating: str = DEFAULT_GATING, per_category: int = 1, duration: float = 10.0, width: int = 480,
              log: Callable[[str], None] = print, folder: Path | None = None, workers: int = 1,
              references: int | None = None) -> dict:
    """Reference k (category k mod 24) for k below `references` (default: `per_category` of each
    category), each rendered, read back and re-applied on its own: in this process for workers
    == 1, else in worker processes (0: one per core); the rows are the same either way."""
    count = per_category * len(CATEGORIES) if references is None else references
    trip = partial(reference_trip, gating=gating, duration=duration, width=width, folder=folder)
    rows = map_each(trip, range(count), workers, on_result=lambda k, row: log(
        f"{row['category']}: recovered {row['found']}, layout error "
        f"{'-' if row['layout_error'] is None else round(row['layout_error'], 3)}"))
    found = [r for r in rows if r["found"]]
    same = [_same_behaviour(r) for r in found]
    return {"rows": rows, "references": len(rows), "with_style": len(found),
            "behaviour_accuracy": float(np.mean(same)) if found else 0.0,
            "category_accuracy": float(np.mean([r["found"] == r["category"] for r in found])) if found else 0.0,
            "layout_error": float(np.mean([r["layout_error"] for r in found])) if found else None}


def summary(trip: dict) -> list[str]:
    """A round trip's result in words: its figures, the behaviour recognised per shot size (a
    distant pair shows an orbit least: both actors' sizes barely change as the camera circles),
    then each reference whose behaviour was missed."""
    error = trip["layout_error"]
    lines = [f"round trip, {trip['references']} rendered references read back ({trip['with_style']} with a style): "
             f"behaviour recognised {trip['behaviour_accuracy']:.1%}, category {trip['category_accuracy']:.1%}, "
             f"re-applied layout error {error if error is None else round(error, 3)}"]
    found = [r for r in trip["rows"] if r["found"]]
    right = [_same_behaviour(r) for r in found]
    size = [r["category"].split("/")[1].split("-")[0] for r in found]  # close, medium, far
    if found:
        lines.append("behaviour recognised by shot size: " + ", ".join(
            f"{s} {np.mean([ok for ok, t in zip(right, size) if t == s]):.0%} of {size.count(s)}" for s in dict.fromkeys(size)))
    missed = [f"{r['category']} as {r['found'].split('/')[0]}" for r, ok in zip(found, right) if not ok]
    return lines + ([f"behaviour missed: {'; '.join(missed)}"] if missed else [])


def _same_behaviour(row: dict) -> bool:
    return row["found"].split("/")[0] == row["category"].split("/")[0]


def reference_trip(k: int, gating: str = DEFAULT_GATING, duration: float = 10.0, width: int = 480,
                   folder: Path | None = None) -> dict:
    """Reference k's row: its category, the category its style was recognised as (None where the
    analysis found no main pair) and the re-applied camera's mean layout error."""
    model = _style_model(gating, folder)
    target = synthetic_performance(ROUNDTRIP_SEED - 1, duration)
    category = CATEGORIES[k % len(CATEGORIES)]
    with rendered_reference(ROUNDTRIP_SEED + k, category, duration, width) as (shot, video):
        styles = clip_styles(video, model)
    row = {"category": category, "found": None, "layout_error": None}
    if styles:
        style = longest(styles)
        row["found"] = style.nearest
        track = learned_track("re-applied", style, model, target, 16 / 9)
        row["layout_error"] = float(np.abs(layout(track, target) - np.median(shot.camera[:, :3], axis=0)).mean())
    return row


@lru_cache(maxsize=2)
def _style_model(gating: str, folder: Path | None) -> StyleModel:
    """One per process: each worker loads the checkpoints once, not once per reference."""
    return StyleModel(gating, folder)
