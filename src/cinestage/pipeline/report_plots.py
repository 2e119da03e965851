"""The report's figures as PNG bytes, drawn from result.json's data (see `report`).

Figures are built on matplotlib's object API with the Agg canvas, never pyplot: no global
figure state, no display needed, safe in a worker thread. Every camera keeps one colour in
every figure and in the page's tables (`camera_colours`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

DPI = 110
WIDTH = 11.0  # inches: 1210 px, the page's width at DPI
ARROW_EVERY = 2.0  # seconds between the viewing-direction marks of a track
# Tick labels that say the value: matplotlib's default puts a shared offset or power of ten
# above the axis, where it collides with the panel's title.
PLAIN = FuncFormatter(lambda v, _: f"{v:.3g}")
ACTOR_STYLES = (("#222222", "-"), ("#7a7a7a", "--"), ("#444444", ":"), ("#999999", "-."))


def camera_colours(names: Sequence[str]) -> dict[str, str]:
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
               "#bcbd22", "#7f7f7f")
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def label(name: str) -> str:
    return name.replace("_", " ")


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _grid(n: int, columns: int, row_height: float) -> tuple[Figure, list]:
    """Small multiples: n axes in rows of `columns`; the unused cells are hidden."""
    rows = math.ceil(n / columns)
    fig = Figure(figsize=(WIDTH, row_height * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def _camera_legend(fig: Figure, colours: Mapping[str, str]) -> None:
    handles = [fig.axes[0].plot([], [], color=c, lw=2.5)[0] for c in colours.values()]
    fig.legend(handles, list(colours), loc="outside upper center", ncols=min(len(colours), 6), frameon=False,
               fontsize=10)


def score_curves(curves: Mapping[str, Mapping[str, np.ndarray]], titles: Mapping[str, str], fps: float,
                 colours: Mapping[str, str]) -> bytes:
    """One panel per measure (curves: measure -> camera -> (T,) values, NaN where not scored;
    titles: measure -> panel title), every camera a line, time on x."""
    fig, axes = _grid(len(curves), 3, 2.3)
    for ax, (measure, per_camera) in zip(axes, curves.items()):
        for camera, values in per_camera.items():
            frames = np.flatnonzero(np.isfinite(values))
            ax.plot(frames / fps, values[frames], color=colours[camera], lw=1.4, marker="." if len(frames) < 30 else None)
        ax.set_title(titles[measure], fontsize=10)
        ax.yaxis.set_major_formatter(PLAIN)
        ax.set_xlabel("time (s)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    _camera_legend(fig, colours)
    return _png(fig)


def pattern_bars(distributions: Mapping[str, np.ndarray], patterns: Sequence[str], colours: Mapping[str, str],
                 xlabel: str) -> bytes:
    """One panel per camera: a horizontal bar per pattern, the dominant one darkest."""
    fig, axes = _grid(len(distributions), 3, 2.6)
    top = max(float(np.max(p)) for p in distributions.values())
    y = np.arange(len(patterns))
    for k, (ax, (camera, p)) in enumerate(zip(axes, distributions.items())):
        alpha = np.where(np.arange(len(p)) == np.argmax(p), 1.0, 0.45)
        for i in y:
            ax.barh(i, p[i], color=colours[camera], alpha=alpha[i])
            ax.text(p[i] + top * 0.02, i, f"{p[i]:.2f}", va="center", fontsize=8)
        ax.set_yticks(y, [label(n) for n in patterns] if k % 3 == 0 else [""] * len(patterns), fontsize=9)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.25)
        ax.set_title(camera, fontsize=11, color=colours[camera], fontweight="bold")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def timeline(shots: Sequence[Mapping], cameras: Sequence[str], duration: float, colours: Mapping[str, str]) -> bytes:
    """The edit: a programme row of every shot, then a row per camera showing when it is on air."""
    rows = ["programme", *cameras]
    fig = Figure(figsize=(WIDTH, 0.42 * len(rows) + 1.0), layout="constrained")
    ax = fig.subplots()
    for shot in shots:
        start, end, camera = float(shot["start_time"]), float(shot["end_time"]), shot["camera"]
        for row in (0, rows.index(camera)):
            ax.barh(row, end - start, left=start, height=0.7, color=colours[camera], edgecolor="white", lw=1.5)
        if (end - start) / duration > 0.06:
            ax.text((start + end) / 2, 0, camera, ha="center", va="center", color="white", fontsize=9,
                    fontweight="bold", clip_on=True)
    for t in sorted({float(s["start_time"]) for s in shots} - {0.0}):
        ax.axvline(t, color="#333333", lw=0.8, ls=":")
    ax.axhline(0.5, color="#333333", lw=0.8)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    ax.get_yticklabels()[0].set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, duration)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def tracks_from_above(tracks: Mapping[str, Mapping], actors: Sequence[Mapping], venue: Mapping | None,
                      colours: Mapping[str, str], fps: float) -> bytes:
    """The floor plan (x right, y upstage; the audience below): every camera's path with a dot
    where it starts and an arrow along its view every ARROW_EVERY seconds, the actors' ground
    paths, the stage and the walls. The view frames the cameras, actors and stage, not the whole
    house, whose walls are mostly far away."""
    cameras = {name: (np.asarray(t["position"], float)[:, :2], np.asarray(t["forward"], float)[:, :2])
               for name, t in tracks.items()}
    paths = [np.asarray(a["ground"], float) for a in actors]
    stage = None if not venue else (float(venue["stage_width"]), float(venue["stage_depth"]))
    seen = np.concatenate([xy for xy, _ in cameras.values()] + paths + [np.zeros((1, 2))]
                          + ([np.array([[-stage[0] / 2, -stage[1] / 2], [stage[0] / 2, stage[1] / 2]])] if stage else []))
    margin = 0.06 * float(np.max(np.ptp(seen, axis=0))) + 0.8
    low, high = seen.min(axis=0) - margin, seen.max(axis=0) + margin
    side = 7.5  # inches of the longer side of the plan; the legend sits beside it
    extent = high - low
    fig = Figure(figsize=(side * min(1.0, extent[0] / extent[1]) + 2.6, side * min(1.0, extent[1] / extent[0]) + 0.8),
                 layout="constrained")
    ax = fig.subplots()
    if stage:
        w, d = stage
        ax.add_patch(Rectangle((-w / 2, -d / 2), w, d, facecolor="#c8a27a", alpha=0.35, edgecolor="#8b5a2b", lw=1.2,
                               label="stage"))
        ax.text(-w / 2 + 0.15, -d / 2 + 0.15, "stage front", ha="left", va="bottom", fontsize=8, color="#6b4020")
        (x0, y0), (x1, y1) = venue["house"]["min"], venue["house"]["max"]
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#888888", ls="--", lw=1,
                               label="walls"))
    for name, (xy, forward) in cameras.items():
        colour = colours[name]
        ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=2, label=name)
        ax.plot(*xy[0], "o", color=colour, ms=7, mec="black", mew=0.6)
        every = max(1, round(ARROW_EVERY * fps / tracks[name]["sample_every"]))
        marks = np.arange(0, len(xy), every)
        ax.quiver(xy[marks, 0], xy[marks, 1], forward[marks, 0], forward[marks, 1], color=colour, angles="xy",
                  scale_units="inches", scale=2.5, width=0.004, headwidth=3.5, headlength=4, zorder=3)
    for actor, xy, (colour, style) in zip(actors, paths, ACTOR_STYLES * 4):
        ax.plot(xy[:, 0], xy[:, 1], color=colour, ls=style, lw=1.8, label=f"actor {actor['name']}")
        ax.plot(*xy[0], "s", color=colour, ms=6)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x (m), left to right as the audience sees the stage")
    ax.set_ylabel("y (m), audience at y < 0, upstage at y > 0")
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=9, frameon=False,
               title=f"dot / square: start\narrow: view every {ARROW_EVERY:g} s", title_fontsize=9)
    return _png(fig)
