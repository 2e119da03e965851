"""The behaviour round trip: a reference of every canonical category rendered on unseen motion,
read back like a real clip, its style extracted, recognised and re-applied to another duet.

Measures what a user relies on: the recovered behaviour is the one that shot the reference,
and the re-applied camera keeps the reference's layout (xA, xB, mean y of the heads).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from cinestage.behavior.dataset import CATEGORIES
from cinestage.behavior.style import DEFAULT_GATING, StyleModel, clip_styles, longest
from cinestage.behavior.synthetic import synthetic_performance, synthetic_shot
from cinestage.camera.spec import learned_track
from cinestage.geometry import project
from cinestage.render.renderer import RenderOptions, render_videos

ROUNDTRIP_SEED = 3_000_000


def layout(track, performance) -> np.ndarray:
    """(T, 3) xA, xB, mean y of the heads as a camera track sees them (A on the left)."""
    heads = np.stack([a.head() for a in performance.actors[:2]], 1)
    screen, _ = project(heads, track.positions[:, None], track.rotations[:, None], track.fov_y[:, None], track.aspect)
    xs = np.sort(screen[..., 0], axis=1)
    return np.column_stack([xs[:, 0], xs[:, 1], screen[..., 1].mean(1)])


def roundtrip(gating: str = DEFAULT_GATING, per_category: int = 1, duration: float = 10.0, width: int = 480,
              log: Callable[[str], None] = print, folder: Path | None = None) -> dict:
    model = StyleModel(gating, folder)
    target = synthetic_performance(ROUNDTRIP_SEED - 1, duration)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cinestage-roundtrip-") as tmp:
        for k in range(per_category * len(CATEGORIES)):
            category = CATEGORIES[k % len(CATEGORIES)]
            behaviour, shot_name = category.split("/")
            perf = synthetic_performance(ROUNDTRIP_SEED + k, duration)
            shot = synthetic_shot(ROUNDTRIP_SEED + k, behaviour, shot_name, performance=perf, aspect=16 / 9)
            video = Path(tmp) / f"{k}.mp4"
            render_videos(perf, [shot.track], [video], RenderOptions(width=width, height=int(width * 9 / 16) // 2 * 2))
            styles = clip_styles(video, model)
            row = {"category": category, "found": None, "layout_error": None}
            if styles:
                st = longest(styles)
                row["found"] = st.nearest
                track = learned_track("re-applied", st, model, target, 16 / 9)
                ref = np.median(shot.camera[:, :3], axis=0)
                row["layout_error"] = float(np.abs(layout(track, target) - ref).mean())
            rows.append(row)
            log(f"{category}: recovered {row['found']}, layout error {row['layout_error']}")
    found = [r for r in rows if r["found"]]
    same = [r["found"].split("/")[0] == r["category"].split("/")[0] for r in found]
    return {"rows": rows, "references": len(rows), "with_style": len(found),
            "behaviour_accuracy": float(np.mean(same)) if found else 0.0,
            "category_accuracy": float(np.mean([r["found"] == r["category"] for r in found])) if found else 0.0,
            "layout_error": float(np.mean([r["layout_error"] for r in found])) if found else None}
