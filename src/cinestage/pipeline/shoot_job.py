"""`cinestage shoot`: a reference clip's camera styles re-applied to a performance, next to the
preset rigs, all rendered into one output folder.

    DIR/cameras/learned-shot<N>.*   one learned camera per reference shot with a main pair
    DIR/cameras/<preset>.*          the preset rigs
    DIR/styles.json                 the reference's styles (code, nearest canonical behaviour)
    DIR/contact_sheet.png, manifest.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from cinestage.behavior.style import DEFAULT_GATING, Style, StyleModel, clip_styles
from cinestage.camera.spec import build_track, learned_track
from cinestage.camera.track import CameraTrack
from cinestage.pipeline.render_job import RenderResult, render_performance
from cinestage.render.renderer import RenderOptions
from cinestage.stage.performance import Performance


@dataclass(frozen=True)
class ShootResult:
    render: RenderResult
    styles: list[Style]
    problem: str | None  # why no learned camera was made


def shoot(reference: Path, performance: Performance, presets: Sequence, out: Path, opts: RenderOptions,
          gating: str = DEFAULT_GATING, progress: Callable[[int, int], None] | None = None) -> ShootResult:
    tracks, styles, problem = shoot_cameras(reference, performance, presets, opts.width / opts.height, gating)
    result = render_performance(performance, tracks, out, opts, progress,
                                extra={"styles.json": styles_json(reference, gating, styles, problem)})
    return ShootResult(result, styles, problem)


def shoot_cameras(reference: Path, performance: Performance, presets: Sequence, aspect: float,
                  gating: str = DEFAULT_GATING) -> tuple[list[CameraTrack], list[Style], str | None]:
    """The preset rigs' tracks, then one learned camera per reference shot with a main pair;
    the styles learned, and why no learned camera was made (None when some were)."""
    model = StyleModel(gating)
    styles = clip_styles(reference, model)
    tracks = [build_track(spec, performance, aspect) for spec in presets]
    problem = None if styles else f"{reference}: no main pair in any shot of the reference; preset rigs only"
    if styles and len(performance.actors) < 2:
        styles, problem = [], "the performance has one actor: a learned camera frames two"
    tracks += [learned_track(f"learned-shot{st.shot}", st, model, performance, aspect) for st in styles]
    return tracks, styles, problem


def styles_json(reference: Path, gating: str, styles: Sequence[Style], problem: str | None) -> dict:
    """styles.json of a shoot."""
    return {"reference": str(reference), "gating": gating, "styles": [st.to_json() for st in styles], "problem": problem}
