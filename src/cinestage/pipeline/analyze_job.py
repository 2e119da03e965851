"""`cinestage analyze`: a clip's analysis written as a complete folder or not at all.

    DIR/analysis.json   shots, tracks, main pairs, per-frame features (film.analysis_json)
    DIR/overlay.mp4     the clip with skeletons, track ids, the main pair and theta/phi
    DIR/features.png    the feature curves
    DIR/manifest.json
"""

from __future__ import annotations

from pathlib import Path

from cinestage import __version__
from cinestage.film.analysis import AnalysisOptions, FilmAnalysis, Progress, analyze
from cinestage.film.analysis_json import analysis_dict
from cinestage.film.feature_plot import plot_features
from cinestage.film.overlay import write_overlay
from cinestage.pipeline.output import MANIFEST, save_json, staged_directory


def analyze_clip(clip: Path, out: Path, options: AnalysisOptions = AnalysisOptions(),
                 progress: Progress | None = None, overlay: bool = True) -> FilmAnalysis:
    analysis = analyze(clip, options, progress=progress)
    with staged_directory(out) as stage:
        save_json(stage / "analysis.json", analysis_dict(analysis), indent=None)
        files = {"analysis": "analysis.json", "plot": "features.png"}
        plot_features(analysis, stage / "features.png")
        if overlay:
            write_overlay(analysis, stage / "overlay.mp4")
            files["overlay"] = "overlay.mp4"
        save_json(stage / MANIFEST, {"cinestage": __version__, "job": "analyze", "clip": str(clip), "files": files})
    return analysis
